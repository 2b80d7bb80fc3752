"""Answer generation without Ray: RAG prompts, context trimming, the extractive answerer."""
