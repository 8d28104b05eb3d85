"""``cx indices`` and ``cx served``: the JSON contract, an independent check of the indices on the
demo's raw files, the manual counts feeding them, and one-line errors without a traceback."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from cx.analytics import indices
from cx.cli import main
from tests.support.datadir import write_org, write_waves

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    assert main([*args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def independent(root: Path, wave: str) -> dict[str, tuple[int, int, int, int]]:
    """Per agency: customers served, answers, promoters, detractors, from the raw Parquet files
    with pyarrow and plain Python (no cx code)."""
    served: dict[str, int] = {}
    fw = pq.read_table(root / "fieldwork.parquet").to_pydict()
    for w, a, n in zip(fw["wave"], fw["agency"], fw["customers_served"], strict=True):
        if w == wave:
            served[a] = served.get(a, 0) + n
    table = (
        ds.dataset(str(root / "waves"), format="parquet")
        .to_table(columns=["wave", "agency", "nps", "excluded"])
        .to_pydict()
    )
    counts: dict[str, list[int]] = {}
    for w, a, s, ex in zip(*table.values(), strict=True):
        if w == wave and not ex:
            c = counts.setdefault(a, [0, 0, 0])
            c[0] += 1
            c[1] += s >= 9
            c[2] += s <= 6
    return {a: (served[a], *counts[a]) for a in counts}


def wilson(x: int, n: int) -> tuple[float, float]:
    z = 1.96
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 1000 * (centre - half), 1000 * (centre + half)


def test_indices_json_has_the_spec_keys_and_matches_an_independent_computation(
    demo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = run(capsys, "indices", "--data", str(demo_root), "--wave", "2026-Q3")
    assert list(rows[0]) == ["agency", "wave", *indices.COLUMNS]
    spec = {"served", "responses", "support_index", "support_low", "support_high"}
    spec |= {"criticality_index", "criticality_low", "criticality_high"}
    assert spec <= set(rows[0])
    expected = independent(demo_root, "2026-Q3")
    assert len(rows) == len(expected) == 28
    for r in rows:
        served, n, pos, neg = expected[str(r["agency"])]
        assert (r["served"], r["responses"], r["positives"], r["negatives"]) == (
            served,
            n,
            pos,
            neg,
        )
        assert r["support_index"] == pytest.approx(1000 * pos / served)
        assert r["criticality_index"] == pytest.approx(1000 * neg / served)
        assert (r["criticality_low"], r["criticality_high"]) == pytest.approx(wilson(neg, served))
        assert r["response_rate"] == pytest.approx(n / served)
    assert [r["support_rank"] for r in rows] == list(range(1, 29))  # best first
    worst = max(rows, key=lambda r: float(r["criticality_index"]))  # type: ignore[arg-type]
    assert worst["agency"] == "Marseille" and worst["criticality_rank"] == 28


def test_indices_by_agency_and_wave_list_every_wave_of_the_users_scope(
    demo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = run(capsys, "indices", "--data", str(demo_root), "--user", "es.manager")
    assert {r["agency"] for r in rows} == {"Madrid", "Barcelona", "Valencia", "Sevilla"}
    assert len(rows) == 4 * 8
    assert [r["wave"] for r in rows[::4]] == sorted({str(r["wave"]) for r in rows})
    country = run(
        capsys, "indices", "--data", str(demo_root), "--scope", "country:FR", "--by", "country"
    )
    assert [list(r)[:2] for r in country] == [["country", "served"]]
    assert country[0]["country"] == "FR" and country[0]["support_rank"] == 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--by", "segment"], "unknown --by column 'segment'"),
        (["--wave", "1999-Q1"], "unknown wave '1999-Q1'"),
        (["--scope", "planet:Mars"], "bad scope 'planet:Mars'"),
        (["--segment", "Young"], "--touchpoint and --segment do not apply"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_no_traceback(
    demo_root: Path, args: list[str], words: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cx.cli", "indices", "--data", str(demo_root), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """Sevilla, 40 answers in 2026-Q3 (12 promoters, 6 detractors) and no fieldwork file."""
    root = write_org(tmp_path / "data")
    scores = [10] * 12 + [8] * 22 + [2] * 6
    frame = pl.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(len(scores))],
            "wave": "2026-Q3",
            "responded_at": datetime(2026, 8, 1, tzinfo=UTC),
            "customer_id": [f"c{i}" for i in range(len(scores))],
            "region": "Europe",
            "country": "ES",
            "agency": "Sevilla",
            "nps": scores,
        }
    )
    return write_waves(root, frame)


def test_served_set_feeds_the_indices_and_list_shows_it(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = run(capsys, "indices", "--data", str(small), "--by", "agency")
    assert (before[0]["served"], before[0]["support_index"]) == (None, None)
    for month, count in (("2026-07", "400"), ("2026-08", "300"), ("2026-09", "300")):
        [row] = run(
            capsys,
            "served",
            "set",
            "--data",
            str(small),
            "--agency",
            "Sevilla",
            "--month",
            month,
            "--served",
            count,
            "--actor",
            "es.manager",
        )
        assert (row["agency"], row["country"], row["served"], row["version"]) == (
            "Sevilla",
            "ES",
            int(count),
            1,
        )
    # set again: the command line changes the version it reads (2 now)
    [row] = run(
        capsys,
        "served",
        "set",
        "--data",
        str(small),
        "--agency",
        "Sevilla",
        "--month",
        "2026-09",
        "--served",
        "300",
        "--actor",
        "es.manager",
    )
    assert row["version"] == 2
    [r] = run(capsys, "indices", "--data", str(small), "--by", "agency")
    assert (r["served"], r["served_source"], r["support_index"], r["criticality_index"]) == (
        1000,
        "manual",
        pytest.approx(12.0),
        pytest.approx(6.0),
    )
    listed = run(capsys, "served", "list", "--data", str(small), "--user", "es.manager")
    assert [(x["agency"], x["month"], x["served"]) for x in listed] == [
        ("Sevilla", "2026-09", 300),
        ("Sevilla", "2026-08", 300),
        ("Sevilla", "2026-07", 400),
    ]
    assert run(capsys, "served", "list", "--data", str(small), "--user", "fr.manager") == []
    [gone] = run(
        capsys,
        "served",
        "delete",
        "--data",
        str(small),
        "--agency",
        "Sevilla",
        "--month",
        "2026-09",
        "--actor",
        "es.manager",
    )
    assert gone == {"agency": "Sevilla", "month": "2026-09", "deleted": True}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--agency", "Sevilla", "--actor", "madrid.manager"], "outside their scope agency:Madrid"),
        (["--agency", "Sevilla", "--actor", "madrid.advisor"], "may not enter customers served"),
        (["--agency", "Sevilla", "--actor", "nobody"], "unknown user 'nobody'"),
        (["--agency", "Atlantis", "--actor", "ceo"], "unknown agency 'Atlantis'"),
        (["--agency", "Sevilla", "--actor", "ceo", "--month", "26-07"], "is not YYYY-MM"),
    ],
)
def test_served_set_refusals_are_one_line(
    small: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    month = [] if "--month" in args else ["--month", "2026-07"]
    assert main(["served", "set", "--data", str(small), "--served", "10", *month, *args]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and err.startswith("cx served: ")
    assert main(["served", "list", "--data", str(small), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
