"""What identity and per-document access cost: a token check with cached keys, and a search with
an access filter against the same search without one, side by side in one run.

- **Token check**: ``TokenVerifier.principal`` on RS256 and ES256 access tokens whose key is
  cached (fetched once from a discovery document and JWKS served on localhost; no network call
  per check): ``first`` is a token seen for the first time (signature, exp/nbf/iss/aud, claims →
  Principal), ``repeated`` a token verified before (a client's next request with the same token:
  served from the verified-token cache while exp and its key hold). Target: p50 <= 0.1 ms.
- **Access filter**: a Qdrant Edge shard of ``--chunks`` points (300-d clustered unit vectors and
  sparse vectors, one tenant) where each point is readable by the whole tenant (20 %) or by one
  or two of ``--groups`` groups; ``--queries`` hybrid queries (dense + sparse prefetches, linear
  fusion, top 10) run twice each, alternating: as a member of three groups (the filter inside
  both prefetches) and as an operator (tenant filter only). Every filtered hit is checked to be
  readable. Target: filtered p50 within 10 % of unfiltered.

Writes ``benchmarks/results/identity.json`` and ``identity.png``.

    nice python benchmarks/identity.py [--chunks 100000] [--groups 50] [--queries 300]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from ruai.encoders.base import SparseVector
from ruai.identity import AccessScope
from ruai.identity.claims import ClaimsMapping
from ruai.identity.jwks import JwksCache
from ruai.identity.tokens import TokenVerifier
from ruai.store.base import FusionConfig, PointRecord, SearchRequest
from ruai.store.edge import EdgeStore
from tests.support.jwks_server import JwksIssuer, SigningKey

RESULTS = Path(__file__).resolve().parent / "results"
DIM = 300
VOCABULARY = 50_000
COLLECTION = "access"


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))],
        "n": len(ordered),
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


def access_filter(chunks: int, groups: int, queries: int, seed: int) -> dict:
    points, names = corpus(chunks, groups, seed)
    rng = np.random.default_rng(seed + 1)
    member = AccessScope.of(names[:3])
    fusion = FusionConfig(method="linear", dense_weight=4.0, prefetch_limit=50)
    work = tempfile.TemporaryDirectory(prefix="ruai-bench-identity-")
    with work, EdgeStore(Path(work.name)) as store:
        store.ensure_collection(COLLECTION, DIM)
        start = time.perf_counter()
        for i in range(0, len(points), 4096):
            store.upsert(COLLECTION, points[i : i + 4096])
        store.optimize(COLLECTION)
        build_s = time.perf_counter() - start
        filtered, unfiltered, checked = [], [], 0
        for q in range(queries):
            source = points[int(rng.integers(len(points)))]
            dense = (np.asarray(source.dense) + rng.normal(scale=0.02, size=DIM)).tolist()
            request = SearchRequest(dense=dense, sparse=source.sparse, tenant="acme",
                                    limit=10, fusion=fusion)  # fmt: skip
            guarded = SearchRequest(dense=dense, sparse=source.sparse, tenant="acme",
                                    limit=10, fusion=fusion, access=member.labels)  # fmt: skip
            order = [(guarded, filtered), (request, unfiltered)]
            for req, into in order if q % 2 else order[::-1]:
                start = time.perf_counter()
                hits = store.search(COLLECTION, req)
                into.append(time.perf_counter() - start)
                if req is guarded:
                    assert all(member.allows(h.payload.get("access")) for h in hits), hits
                    checked += len(hits)
    readable = sum(member.allows(p.payload["access"]) for p in points) / len(points)
    result = {
        "chunks": chunks,
        "groups": groups,
        "readable_share": round(readable, 3),
        "build_s": round(build_s, 1),
        "with_access_filter": percentiles(filtered),
        "without": percentiles(unfiltered),
        "filtered_hits_checked": checked,
    }
    result["p50_ratio"] = round(
        result["with_access_filter"]["p50_ms"] / result["without"]["p50_ms"], 3
    )
    return result


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    tokens = result["token_check"]
    algs = [a for a in tokens if " " in a]
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
    right.set_title(f"{search['chunks'] // 1000}k chunks, p50 ratio {search['p50_ratio']}")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "identity.json")
    args = parser.parse_args()
    result = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "token_check": token_checks(args.tokens),
        "search": access_filter(args.chunks, args.groups, args.queries, args.seed),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    plot(result, args.out.with_suffix(".png"))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
