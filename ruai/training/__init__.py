"""Fine-tuning pieces that need no Ray: training pairs and their validation, the
MultipleNegativesRankingLoss step, recall evaluation, LoRA SFT data, MLflow tracking.

pipelines/train_embedder.py, pipelines/tune_embedder.py and pipelines/train_llm.py run them
on Ray Train and Ray Tune.
"""
