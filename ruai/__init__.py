"""ruai: the domain library (Russian text, models, Qdrant) shared by every Ray workload.

Nothing here imports Ray: pipelines/, serve_apps/ and jobs/ wire these pieces into Ray workloads.
"""
