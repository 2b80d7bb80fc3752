.PHONY: setup main test lint bench
setup:  ## create or refresh .venv
	bash scripts/setup.sh
main:   ## the main job end to end (sample corpus → ray job submit ingest → search)
	bash scripts/main.sh
test:   ## the whole test suite
	bash scripts/test.sh
lint:
	.venv/bin/ruff check .
bench:  ## benchmarks/ingest.py: this job vs a plain loop vs LangChain
	.venv/bin/python benchmarks/ingest.py
