"""Cluster manifests: render them from their sources, derive their schemas, validate them."""
