"""Ingestion's library (no Ray): one file's way from bytes to store points.

- ``documents``: the data model (Document, Part, Chunk) and the stable ids;
- ``extraction``: parse + chunk under the per-document limits (formats: ``ruai.loaders``);
- ``isolated_extraction``: the same call in a killable per-document child process;
- ``processing``: a document's chunks with lemmas, BM25 and entities;
- ``payload``: the payload schema of a point and its one builder;
- ``rows``: the Arrow rows ingestion's stages exchange, and chunk rows → store points;
- ``inline_index``: files → points in this process, through the same rows (no Ray).
"""
