"""What identity and per-document access cost: a token check with cached keys, and a search with
an access filter against the same search without one, side by side in one run.

- **Token check**: ``TokenVerifier.principal`` on RS256 and ES256 access tokens whose key is
  cached (fetched once from a discovery document and JWKS served on localhost; no network call
  per check): ``first`` is a token seen for the first time (signature, exp/nbf/iss/aud, claims →
  Principal), ``repeated`` a token verified before (a client's next request with the same token:
  served from the verified-token cache while exp and its key hold). Target: p50 <= 0.1 ms.
  ``first_check_parts`` splits a first check: reading the token (three segments, strict
  base64url, header and payload JSON), the signature alone, the claim checks, claims → Principal.
- **Access filter**: a Qdrant Edge shard of ``--chunks`` points (300-d clustered unit vectors and
  sparse vectors, one tenant) where each point is readable by the whole tenant (20 %) or by one
  or two of ``--groups`` groups; ``--rounds`` rounds of ``--queries`` fresh hybrid queries (dense
  + sparse prefetches, linear fusion, top 10), each run twice, alternating: as a member of three
  groups (the filter inside both prefetches) and as an operator (tenant filter only). Every
  filtered hit is checked to be readable. Target: filtered p50 within 10 % of unfiltered; the
  ratio of each round is kept beside the ratio over all rounds, so that one run shows how far
  it moves. ``filter_shapes`` times the same
  queries straight on the shard with other filters (the best of 3 runs of each, so that other
  load on the machine weighs less): none at all, the tenant alone, the access filter as shipped
  (one integer condition on ids bound to the tenant), the same beside a tenant condition, and
  the labels matched as keywords beside the tenant (``access`` empty or sharing a label).
  ``dense_prefetch_recall_at_50``: the dense prefetch alone against exact search, as the tenant
  and as the member: what the filtered HNSW walk finds of what it should; ``hybrid_top10_as_exact``:
  the share of each hybrid top 10 that the same query with an exact dense prefetch returns too.

Writes ``benchmarks/results/identity.json`` and ``identity.png``. With ``--tokens-only`` the
token checks are timed and the search results already in ``--out`` are kept.

    nice python benchmarks/identity.py [--chunks 100000] [--groups 50] [--queries 300]
        [--rounds 5]
    nice python benchmarks/identity.py --tokens-only [--tokens 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import qdrant_edge as qe

from ruai.encoders.base import SparseVector
from ruai.identity import AccessScope
from ruai.identity.claims import ClaimsMapping
from ruai.identity.jwks import JwksCache
from ruai.identity.tokens import TokenVerifier, _base64url, _json_object, _segments
from ruai.store import edge
from ruai.store.base import (
    ACCESS,
    ACCESS_IDS,
    FusionConfig,
    PointRecord,
    SearchRequest,
    reader_access_ids,
)
from ruai.store.edge import EdgeStore
from ruai.store.hnsw import HnswSearch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for the test suite's JWKS issuer
from tests.support.jwks_server import JwksIssuer, SigningKey  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
DIM = 300
VOCABULARY = 50_000
COLLECTION = "access"
RECALL_QUERIES = 200


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))],
        "n": len(ordered),
    }


def median_ms(call, items) -> float:
    seconds = []
    for item in items:
        start = time.perf_counter()
        call(item)
        seconds.append(time.perf_counter() - start)
    return round(1000 * statistics.median(seconds), 4)


def read(token: str) -> tuple[dict, dict, bytes, bytes]:
    """What a first check reads before the signature: header, claims, signing input, signature."""
    header, payload, signature = _segments(token)
    return (
        _json_object(header, "header"),
        _json_object(payload, "payload"),
        token[: token.rindex(".")].encode("ascii"),
        _base64url(signature, "signature"),
    )


def first_check_parts(verifier: TokenVerifier, tokens: list[str]) -> dict[str, float]:
    parsed = [read(token) for token in tokens]
    key = verifier.keys.key(parsed[0][0]["kid"])
    claims = [claims for _, claims, _, _ in parsed]
    return {
        "read_ms": median_ms(read, tokens),
        "signature_ms": median_ms(lambda t: key.Algorithm.verify(t[2], key.key, t[3]), parsed),
        "claim_checks_ms": median_ms(verifier._check_claims, claims),
        "claims_to_principal_ms": median_ms(verifier.mapping.principal, claims),
    }


def token_checks(count: int) -> dict[str, dict]:
    issuer = JwksIssuer(keys=[SigningKey.generate("RS256"), SigningKey.generate("ES256")])
    try:
        keys = JwksCache(issuer.url)
        keys.refresh()
        verifier = TokenVerifier(issuer.url, "ruai", ClaimsMapping(), keys=keys)
        claims = {"groups": ["/tenants/acme/legal", "/hr"], "realm_access": {"roles": ["r"]}}
        out = {}
        for key in issuer.keys:
            tokens = [issuer.token(key, jti=uuid.uuid4().hex, **claims) for _ in range(count)]
            verifier.principal(issuer.token(key, **claims))  # warm
            for kind in ("first", "repeated"):
                seconds = []
                for token in tokens:
                    start = time.perf_counter()
                    verifier.principal(token)
                    seconds.append(time.perf_counter() - start)
                out[f"{key.alg} {kind}"] = percentiles(seconds)
            out[f"{key.alg} first_check_parts"] = first_check_parts(verifier, tokens)
        out["jwks_fetches"] = issuer.jwks_requests
        return out
    finally:
        issuer.stop()


def corpus(n: int, groups: int, seed: int) -> tuple[list[PointRecord], list[str]]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(2000, DIM))
    vectors = centres[rng.integers(2000, size=n)] + rng.normal(scale=DIM**-0.5, size=(n, DIM))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    names = [f"/dept-{i:02d}" for i in range(groups)]
    points = []
    for i, vector in enumerate(vectors.astype(np.float32)):
        access = [] if rng.random() < 0.2 else sorted(rng.choice(names, rng.integers(1, 3), False))
        indices = sorted(set(rng.integers(VOCABULARY, size=12).tolist()))
        sparse = SparseVector(indices, rng.random(len(indices)).astype(float).tolist())
        payload = {"tenant": "acme", "doc_id": f"d{i // 8}", "access": list(access)}
        points.append(PointRecord(str(uuid.UUID(int=i + 1)), vector.tolist(), sparse, payload))
    return points, names


def shapes(labels: frozenset[str]) -> dict[str, qe.Filter | None]:
    tenant = edge._match("tenant", "acme")
    ids = qe.FieldCondition(ACCESS_IDS, match=qe.MatchAny(reader_access_ids("acme", labels)))
    keywords = qe.FieldCondition(ACCESS, match=qe.MatchAny(sorted(labels)))
    return {
        "no filter": None,
        "tenant only": qe.Filter(must=[tenant]),
        "shipped: access_ids any (tenant-bound ids)": edge._filter("acme", None, labels),
        "tenant AND access_ids any": qe.Filter(must=[tenant, ids]),
        "keyword labels: tenant AND (access is_empty OR any)": qe.Filter(
            must=[tenant, qe.Filter(should=[qe.IsEmptyCondition(ACCESS), keywords])]),
    }  # fmt: skip


def filter_shapes(store: EdgeStore, requests: list[SearchRequest], labels) -> dict[str, float]:
    """p50 (ms) of each filter shape on the same hybrid queries, best of 3 runs each."""
    shard, params = store._shard(COLLECTION), edge._search_params(store.hnsw_search)
    best: dict[str, list[float]] = {name: [] for name in shapes(labels)}
    for q, request in enumerate(requests):
        named = list(shapes(labels).items())
        for name, where in named[q % len(named) :] + named[: q % len(named)]:
            limit = request.fusion.prefetch_limit
            query = qe.QueryRequest(
                limit=request.limit,
                prefetches=[
                    qe.Prefetch(limit, query=edge._dense(request), filter=where, params=params),
                    qe.Prefetch(limit, query=edge._sparse(request), filter=where),
                ],
                query=edge._fusion(request.fusion),
                with_payload=True,
                with_vector=False,
            )
            runs = []
            for _ in range(3):
                start = time.perf_counter()
                shard.query(query)
                runs.append(time.perf_counter() - start)
            best[name].append(min(runs))
    return {name: round(1000 * statistics.median(runs), 3) for name, runs in best.items()}


def dense_recall(
    store: EdgeStore, points: list[PointRecord], requests: list[SearchRequest], member: AccessScope
) -> dict[str, float]:
    """Recall@50 of the dense prefetch alone (the HNSW walk) against exact search over the same
    points: as the tenant (every point) and as the member (the points it may read)."""
    vectors = np.asarray([p.dense for p in points], dtype=np.float32)
    index = {p.id: i for i, p in enumerate(points)}
    readable = np.asarray([member.allows(p.payload["access"]) for p in points])
    found: dict[str, list[float]] = {"tenant only": [], "with access filter": []}
    for request in requests:
        scores = vectors @ np.asarray(request.dense, dtype=np.float32)
        for name, access, mask in (
            ("tenant only", None, None),
            ("with access filter", member.labels, readable),
        ):
            exact = np.where(mask, scores, -np.inf) if mask is not None else scores
            truth = set(np.argsort(-exact)[:50].tolist())
            dense = SearchRequest(dense=request.dense, tenant="acme", limit=50, access=access)
            hits = {index[h.id] for h in store.search(COLLECTION, dense)}
            found[name].append(len(hits & truth) / 50)
    return {name: round(float(np.mean(values)), 3) for name, values in found.items()}


def hybrid_top10_as_exact(
    store: EdgeStore, requests: list[SearchRequest], member: AccessScope
) -> dict[str, float]:
    """The share of each hybrid top 10 that the same query with an exact dense prefetch (brute
    force under the same filter) also returns: what the walk's misses cost the answer."""
    shared: dict[str, list[float]] = {"tenant only": [], "with access filter": []}
    for request in requests:
        for name, access in (("tenant only", None), ("with access filter", member.labels)):
            walked = replace(request, access=access)
            exact = replace(walked, hnsw=HnswSearch(exact=True))
            top = {h.id for h in store.search(COLLECTION, walked)}
            shared[name].append(len(top & {h.id for h in store.search(COLLECTION, exact)}) / 10)
    return {name: round(float(np.mean(values)), 3) for name, values in shared.items()}


def timed_round(
    store: EdgeStore, points: list[PointRecord], rng, queries: int, member: AccessScope
) -> tuple[list[float], list[float], list[SearchRequest], int]:
    """``queries`` fresh hybrid queries, each run as the member and as the tenant (alternating
    which goes first): (seconds filtered, seconds unfiltered, the tenant's requests, the
    filtered hits checked to be readable)."""
    fusion = FusionConfig(method="linear", dense_weight=4.0, prefetch_limit=50)
    filtered, unfiltered, asked, checked = [], [], [], 0
    for q in range(queries):
        source = points[int(rng.integers(len(points)))]
        dense = (np.asarray(source.dense) + rng.normal(scale=0.02, size=DIM)).tolist()
        request = SearchRequest(dense=dense, sparse=source.sparse, tenant="acme",
                                limit=10, fusion=fusion)  # fmt: skip
        asked.append(request)
        guarded = replace(request, access=member.labels)
        order = [(guarded, filtered), (request, unfiltered)]
        for req, into in order if q % 2 else order[::-1]:
            start = time.perf_counter()
            hits = store.search(COLLECTION, req)
            into.append(time.perf_counter() - start)
            if req is guarded:
                assert all(member.allows(h.payload.get("access")) for h in hits), hits
                checked += len(hits)
    return filtered, unfiltered, asked, checked


def access_filter(chunks: int, groups: int, queries: int, rounds: int, seed: int) -> dict:
    points, names = corpus(chunks, groups, seed)
    rng = np.random.default_rng(seed + 1)
    member = AccessScope.of(names[:3])
    work = tempfile.TemporaryDirectory(prefix="ruai-bench-identity-")
    with work, EdgeStore(Path(work.name)) as store:
        store.ensure_collection(COLLECTION, DIM)
        keywords = qe.KeywordIndexParams()  # for the keyword-labels shape only
        store._shard(COLLECTION).update(qe.UpdateOperation.create_field_index(ACCESS, keywords))
        start = time.perf_counter()
        for i in range(0, len(points), 4096):
            store.upsert(COLLECTION, points[i : i + 4096])
        store.optimize(COLLECTION)
        build_s = time.perf_counter() - start
        filtered, unfiltered, ratios, asked, checked = [], [], [], [], 0
        for _ in range(rounds):
            member_s, tenant_s, round_asked, hits = timed_round(store, points, rng, queries, member)
            checked += hits
            ratios.append(round(statistics.median(member_s) / statistics.median(tenant_s), 3))
            filtered += member_s
            unfiltered += tenant_s
            asked = asked or round_asked
        shaped = filter_shapes(store, asked, member.labels)
        recalls = dense_recall(store, points, asked[:RECALL_QUERIES], member)
        top10 = hybrid_top10_as_exact(store, asked[:RECALL_QUERIES], member)
    readable = sum(member.allows(p.payload["access"]) for p in points) / len(points)
    result = {
        "chunks": chunks,
        "groups": groups,
        "readable_share": round(readable, 3),
        "build_s": round(build_s, 1),
        "with_access_filter": percentiles(filtered),
        "without": percentiles(unfiltered),
        "filtered_hits_checked": checked,
        "p50_ratio_by_round": ratios,
        "filter_shapes_p50_ms": shaped,
        "dense_prefetch_recall_at_50": recalls,
        "hybrid_top10_as_exact": top10,
    }
    result["p50_ratio"] = round(
        result["with_access_filter"]["p50_ms"] / result["without"]["p50_ms"], 3
    )
    return result


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right, shapes_ax) = plt.subplots(1, 3, figsize=(15, 4))
    tokens = result["token_check"]
    algs = [a for a, v in tokens.items() if isinstance(v, dict) and "p50_ms" in v]
    xs = np.arange(len(algs))
    left.bar(xs - 0.2, [tokens[a]["p50_ms"] for a in algs], 0.4, label="p50")
    left.bar(xs + 0.2, [tokens[a]["p95_ms"] for a in algs], 0.4, label="p95")
    left.axhline(0.1, color="grey", linestyle="--", label="target p50 0.1 ms")
    left.set_xticks(xs, [a.replace(" ", "\n") for a in algs], fontsize=8)
    left.set_yscale("log")
    left.set_ylabel("ms per token check (cached keys)")
    left.legend(fontsize=8)
    search = result["search"]
    kinds = ["without", "with_access_filter"]
    xs = np.arange(2)
    right.bar(xs - 0.2, [search[k]["p50_ms"] for k in kinds], 0.4, label="p50")
    right.bar(xs + 0.2, [search[k]["p95_ms"] for k in kinds], 0.4, label="p95")
    right.set_xticks(xs, ["tenant only", f"+ access ({search['groups']} groups)"])
    right.set_ylabel("ms per hybrid top-10 query")
    by_round = search.get("p50_ratio_by_round") or [search["p50_ratio"]]
    right.set_title(
        f"{search['chunks'] // 1000}k chunks, p50 ratio {search['p50_ratio']} "
        f"(rounds {min(by_round)}–{max(by_round)})"
    )
    right.legend(fontsize=8)
    shaped = search["filter_shapes_p50_ms"]
    shapes_ax.barh(list(shaped)[::-1], list(shaped.values())[::-1])
    shapes_ax.set_xlabel("ms p50, best of 3 (on the shard)")
    shapes_ax.set_title("filter shapes", fontsize=9)
    shapes_ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--queries", type=int, default=300, help="hybrid queries per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of fresh queries")
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "identity.json")
    parser.add_argument(
        "--tokens-only",
        action="store_true",
        help="time the token checks; keep the search results already in --out",
    )
    args = parser.parse_args()
    kept = json.loads(args.out.read_text(encoding="utf-8"))["search"] if args.tokens_only else None
    result = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "load_average_1_5_15_min": os.getloadavg(),
        "token_check": token_checks(args.tokens),
        "search": kept
        or access_filter(args.chunks, args.groups, args.queries, args.rounds, args.seed),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    plot(result, args.out.with_suffix(".png"))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
