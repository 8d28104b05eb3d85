"""`cx kpis --by touchpoint` on a tiny data folder: one row per touchpoint plus the relational
row (touchpoint null), with the contract's NPS, suppression and scope."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from cx.cli import main
from tests.support.datadir import write_org, write_waves


def answers() -> pl.DataFrame:
    """2026-Q1 in Madrid: relational 10 answers (5 P, 3 Pa, 2 D: NPS 30), delivery 6 (1 P, 2 Pa,
    3 D: −33.33), support 3 (suppressed); one excluded delivery promoter; 4 French relational zeros."""
    moments = (
        [(None, s) for s in [10] * 5 + [8] * 3 + [0] * 2]
        + [("delivery", s) for s in [9, 7, 8, 2, 3, 6]]
        + [("support", s) for s in [10, 10, 1]]
    )
    n = len(moments) + 1 + 4
    return pl.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(n)],
            "wave": ["2026-Q1"] * n,
            "responded_at": [datetime(2026, 2, 1, tzinfo=UTC)] * n,
            "customer_id": [f"c{i}" for i in range(n)],
            "region": ["Europe"] * n,
            "country": ["ES"] * (n - 4) + ["FR"] * 4,
            "agency": ["Madrid"] * (n - 4) + ["Paris"] * 4,
            "touchpoint": [m for m, _ in moments] + ["delivery"] + [None] * 4,
            "nps": [s for _, s in moments] + [10] + [0] * 4,
            "excluded": [False] * len(moments) + [True] + [False] * 4,
        }
    )


def kpis(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict]:
    args = ["kpis", "--data", str(root), "--by", "touchpoint", "--format", "json", *extra]
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_kpis_by_touchpoint_lists_every_touchpoint_and_the_relational_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_waves(write_org(tmp_path / "data"), answers())
    rows = kpis(root, capsys, "--scope", "country:ES")
    assert [r["touchpoint"] for r in rows] == ["delivery", "support", None]
    by = {r["touchpoint"]: r for r in rows}
    assert by[None]["n"] == 10 and by[None]["nps"] == pytest.approx(30.0)
    assert (by[None]["promoters"], by[None]["passives"], by[None]["detractors"]) == (5, 3, 2)
    assert by["delivery"]["n"] == 6  # the excluded promoter is out
    assert by["delivery"]["nps"] == pytest.approx(-100 / 3)
    assert by["delivery"]["low_base"] is True
    assert by["support"]["n"] == 3 and by["support"]["nps"] is None  # suppressed: n < 5
    assert by["support"]["nps_moe"] is None and by["support"]["promoters"] is None


def test_kpis_by_touchpoint_follows_the_scope_and_the_relational_filter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_waves(write_org(tmp_path / "data"), answers())
    world = {r["touchpoint"]: r for r in kpis(root, capsys)}
    assert world[None]["n"] == 14  # with the four French zeros
    assert world[None]["nps"] == pytest.approx(100 * (5 - 6) / 14)
    relational = kpis(root, capsys, "--scope", "country:ES", "--touchpoint", "relational")
    assert [(r["touchpoint"], r["n"]) for r in relational] == [(None, 10)]
