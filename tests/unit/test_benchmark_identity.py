"""benchmarks/identity.py runs as docs/benchmarks.md says (from any directory), on a small corpus:
every token check after the first fetch is served from the cached JWKS, and every filtered query
returns its full top 10 of readable points. Its timings are measured, not asserted."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_identity_benchmark_runs_and_reports_each_round(tmp_path):
    out = tmp_path / "identity.json"
    queries, rounds = 12, 2
    # fmt: off
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "identity.py"), "--chunks", "3000",
         "--groups", "10", "--queries", str(queries), "--rounds", str(rounds), "--tokens", "20",
         "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    # fmt: on
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    tokens = result["token_check"]
    assert tokens["jwks_fetches"] == 1
    for alg in ("RS256", "ES256"):
        assert tokens[f"{alg} first"]["n"] == tokens[f"{alg} repeated"]["n"] == 20
    search = result["search"]
    assert len(search["p50_ratio_by_round"]) == rounds
    assert search["with_access_filter"]["n"] == search["without"]["n"] == queries * rounds
    assert search["filtered_hits_checked"] == 10 * queries * rounds
    assert 0 < search["readable_share"] < 1
    assert out.with_suffix(".png").stat().st_size > 0
