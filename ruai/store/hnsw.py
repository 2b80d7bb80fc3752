"""HNSW parameters of the dense index: how the graph is built (fixed per collection, when it is
created) and how a query walks it (per store, overridable per request). Both backends take them.

Qdrant's defaults are kept: m=16, ef_construct=100, full_scan_threshold=10,000 KB, and a search
ef of ef_construct. Sparse (BM25) vectors use an inverted index, which these do not touch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HnswBuild:
    """Graph construction, applied when a collection is created.

    ``m``: edges per node (0 builds no global graph: with ``payload_m`` only per-tenant graphs);
    ``ef_construct``: candidates kept while inserting; ``full_scan_threshold_kb``: below this
    many KB of dense vectors in a segment (or matching a filter) the engine scans instead of
    walking the graph; ``payload_m``: edges of the per-tenant graphs (None: same as ``m``);
    ``indexing_threshold_kb``: a segment gets a graph only past this many KB of vectors
    (None: the engine's default, 10,000 KB on a server; a server reads 0 as "never index")."""

    m: int = 16
    ef_construct: int = 100
    full_scan_threshold_kb: int = 10_000
    payload_m: int | None = None
    indexing_threshold_kb: int | None = None


@dataclass(frozen=True, slots=True)
class HnswSearch:
    """Query-time: ``ef`` candidates kept while walking the graph (None: the engine's default,
    ef_construct); ``exact=True`` scans every vector instead (brute force: exact, slow)."""

    ef: int | None = None
    exact: bool = False


DEFAULT_HNSW_BUILD = HnswBuild()
DEFAULT_HNSW_SEARCH = HnswSearch()
