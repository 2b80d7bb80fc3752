.PHONY: setup main test lint bench bench-10k bench-embed-gpu bench-identity bench-serve bench-store bench-train validate-configs manifests
setup:  ## create or refresh .venv
	bash scripts/setup.sh
main:   ## the main job end to end (sample corpus → ray job submit ingest → search → serve → ask)
	bash scripts/main.sh
test:   ## the whole test suite
	bash scripts/test.sh
lint:
	.venv/bin/ruff check .
bench:  ## benchmarks/ingest.py on ~100k chunks: this job vs a plain loop vs LangChain
	.venv/bin/python benchmarks/ingest.py --copies 335 --out ingest_100k --starts defaults --variants shipped,one-actor
bench-10k:  ## the same on ~10k chunks, every Ray start and job variant
	.venv/bin/python benchmarks/ingest.py
bench-embed-gpu:  ## benchmarks/embed_gpu.py: the embed stage alone on CUDA, batch sizes 32-512
	.venv/bin/python benchmarks/embed_gpu.py
bench-identity:  ## benchmarks/identity.py: token checks, and search with an access filter at 100k chunks
	nice .venv/bin/python benchmarks/identity.py
bench-serve:  ## benchmarks/serve.py: /v1/search and RAG latency, Serve overhead, store at 100k
	.venv/bin/python benchmarks/serve.py
bench-store:  ## benchmarks/store_scale.py: Qdrant Edge recall@10 and p50 at 100k / 300k points
	nice .venv/bin/python benchmarks/store_scale.py
bench-train:  ## benchmarks/train.py: Ray Train samples/s with 1 and 2 workers
	.venv/bin/python benchmarks/train.py
validate-configs:  ## every manifest parses, validates and matches its source
	.venv/bin/python -m jobs.validate_configs
manifests:  ## re-render the KubeRay manifests from their spec
	.venv/bin/python -m jobs.render_manifests
