"""Model lifecycle without Ray: the MLflow Model Registry (versions, lineage, aliases) and the
evaluation gate that moves ``champion``."""
