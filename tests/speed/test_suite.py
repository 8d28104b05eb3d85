"""`cx bench` runs every dashboard case end to end (timings are reported, never asserted)."""

import json
import subprocess
import sys

from tests.support.apptest import ROOT


def test_bench_runs_every_case_against_duckdb_and_reports_ratios() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cx.cli",
            "bench",
            "--rows",
            "4000",
            "--repeat",
            "1",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    names = [r["query"] for r in rows]
    for prefix in (
        "overview.",
        "drivers.",
        "segments.",
        "benchmarks.",
        "zones.",
        "voice.",
        "alerts.",
        "rules.",
        "ingest.",
        "reports.",
    ):
        assert any(n.startswith(prefix) for n in names), prefix
    assert all(
        set(r) == {"query", "rows", "seconds", "reference_seconds", "ratio", "per_second", "unit"}
        for r in rows
    )
    for r in rows:
        assert r["rows"] == 4000 and r["seconds"] > 0
        if r["reference_seconds"]:
            assert abs(r["ratio"] - r["seconds"] / r["reference_seconds"]) <= 0.05 * max(
                1.0, r["ratio"]
            )  # both are rounded
    assert sum(r["reference_seconds"] is not None for r in rows) >= 20
    assert next(r for r in rows if r["query"].startswith("voice.tag"))["unit"] == "comments"
