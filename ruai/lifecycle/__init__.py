"""Model lifecycle without Ray: the MLflow Model Registry (versions, lineage, aliases), the
evaluation gate that moves ``champion``, A/B experiment arms with sticky assignment and canary
guardrails."""
