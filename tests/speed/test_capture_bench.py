"""`cx bench --capture` drives the real server with concurrent respondents and accounts for every
acknowledged answer (latencies are reported, never asserted)."""

import json
import os
import subprocess
import sys

from tests.support.apptest import ROOT


def test_capture_bench_loses_and_duplicates_no_acknowledged_answer() -> None:
    result = subprocess.run(
        [
            *(sys.executable, "-m", "cx.cli", "bench", "--capture"),
            *("--respondents", "5", "--seconds", "5", "--think", "0.2", "--rows", "3000"),
            *("--format", "json"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "CX_FOLD_SECONDS": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert all(set(r) == {"figure", "value", "unit"} for r in rows)
    figures = {r["figure"]: r["value"] for r in rows}
    assert {
        "completed surveys",
        "submit p95",
        "any request p95",
        "errors",
        "dashboard p95 loaded",
        "dashboard p95 unloaded",
        "dashboard p95 ratio",
        "fold delay",
    } <= set(figures)
    assert figures["respondents"] == 5
    assert figures["completed surveys"] > 0
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    # every acknowledged answer (the run's and the warm-up's) is stored once and folded once
    assert figures["stored"] == figures["in Parquet"] >= figures["completed surveys"]
    assert figures["dashboard probes failed"] == 0
    assert figures["fold delay"] is not None
