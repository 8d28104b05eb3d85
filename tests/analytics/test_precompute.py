"""Precomputed RFM tables per wave: equal to rfm_scores on the raw transactions for every demo wave,
the Segments queries unchanged, incremental, never stale, safe with two builders and a reader in
real processes, and a read-only data folder answered from memory."""

from __future__ import annotations

import io
import multiprocessing
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cx.analytics import precompute, rfm, segments
from cx.core import data
from cx.core.filters import Filters
from cx.core.scope import Scope
from tests.support.datadir import files_under

REPO = Path(__file__).resolve().parents[2]
LATEST, EARLIER = "2026-Q3", "2025-Q2"


def copy_demo(demo_root: Path, to: Path, waves: list[str] | None = None) -> Path:
    """The demo's CRM file and waves (all, or only ``waves``) in a folder of the test's own."""
    shutil.copytree(demo_root / "crm", to / "crm")
    for w in waves if waves is not None else data.list_waves(demo_root):
        add_wave(demo_root, to, w)
    return to


def add_wave(demo_root: Path, to: Path, wave: str) -> None:
    shutil.copytree(demo_root / "waves" / f"wave={wave}", to / "waves" / f"wave={wave}")


def raw_table(root: Path, wave: str, tiers: rfm.TierMap | None = None) -> pl.DataFrame:
    """What the stored table must hold: rfm_scores on the raw transactions, with the wave."""
    scores = rfm.rfm_scores(rfm.scan_transactions(root), data.wave_period(wave)[1], tiers)
    return scores.collect().select(pl.lit(wave).alias("wave"), pl.all())


def version_dirs(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "precomputed" / "rfm").iterdir())


def replace_transactions(root: Path, tx: pl.DataFrame) -> None:
    """Publish a new CRM file the way the importer does (a whole new file, renamed into place)."""
    tmp = root / "crm" / ".transactions.parquet.new"
    tx.write_parquet(tmp)
    os.replace(tmp, rfm.transactions_path(root))


@pytest.fixture(scope="module")
def built(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo whose precomputed tables were built once by ``build``."""
    root = copy_demo(demo_root, tmp_path_factory.mktemp("built"))
    precompute.build(root)
    return root


@pytest.fixture(scope="module")
def unstorable(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's CRM file in a folder where no table can be stored (``precomputed`` is a file):
    every RFM value there comes straight from rfm_scores on the raw transactions."""
    root = copy_demo(demo_root, tmp_path_factory.mktemp("unstorable"), waves=[])
    (root / "precomputed").write_text("not a folder", encoding="utf-8")
    return root


def test_every_demo_wave_table_equals_rfm_scores_on_the_raw_transactions(
    demo_root: Path, built: Path
) -> None:
    [version] = version_dirs(built)
    waves = data.list_waves(demo_root)
    assert sorted(p.stem for p in (built / "precomputed" / "rfm" / version).iterdir()) == waves
    for wave in waves:
        stored = pl.read_parquet(precompute.rfm_path(built, version, wave))
        assert list(stored.columns) == list(precompute.RFM_TABLE_COLUMNS)
        assert_frame_equal(stored, raw_table(built, wave), check_exact=True)
        assert_frame_equal(precompute.rfm_table(built, wave), stored, check_exact=True)


def test_storing_the_tables_leaves_the_data_version_alone(demo_root: Path, tmp_path: Path) -> None:
    root = copy_demo(demo_root, tmp_path / "data", waves=[LATEST])
    before = data.data_version(root)
    precompute.build(root)
    assert (root / "precomputed").is_dir() and data.data_version(root) == before
    replace_transactions(root, pl.read_parquet(rfm.transactions_path(root)).head(100))
    assert data.data_version(root) != before  # the CRM file itself is data


def test_with_rfm_adds_the_same_columns_as_joining_the_raw_scores(
    responses: pl.LazyFrame, built: Path
) -> None:
    waves = [EARLIER, LATEST]
    got = rfm.with_rfm(responses, built, rfm.RFM_COLUMNS, waves=waves).collect()
    raw = pl.concat([raw_table(built, w) for w in waves])
    expected = responses.collect().join(raw, on=["wave", "customer_id"], how="left")
    assert got.height == expected.height
    assert_frame_equal(got.sort("response_id"), expected.sort("response_id"), check_exact=True)
    assert got.filter(pl.col("wave") == LATEST)["rfm_tier"].null_count() < got.height // 20
    assert got.filter(~pl.col("wave").is_in(waves))["rfm_tier"].null_count() == (
        got.filter(~pl.col("wave").is_in(waves)).height
    )


SEGMENT_QUERIES: dict[str, Callable[[pl.LazyFrame, Scope, Filters, str], pl.DataFrame]] = {
    "tier_nps": segments.tier_nps,
    "tier_segment_grid": segments.tier_segment_grid,
    "value_by_nps_group": segments.value_by,
    "value_by_rfm_tier": lambda f, s, fl, r: segments.value_by(f, s, fl, r, by="rfm_tier"),
}


@pytest.mark.parametrize("scope", ["world", "country:ES", "agency:Madrid"])
@pytest.mark.parametrize("wave", [LATEST, EARLIER])
def test_segments_queries_on_stored_tables_answer_as_the_raw_computation(
    responses: pl.LazyFrame, built: Path, unstorable: Path, scope: str, wave: str
) -> None:
    s, f = Scope.parse(scope), Filters(wave=wave)
    before = files_under(built)
    for name, query in SEGMENT_QUERIES.items():
        got = query(responses, s, f, str(built))
        expected = query(responses, s, f, str(unstorable))
        assert not got.is_empty(), name
        # Counts and tiers exactly; NPS and revenue to float precision (a weighted float sum's
        # last bits depend on how the threads split the rows, run to run).
        assert_frame_equal(got, expected, rel_tol=1e-9)
    assert files_under(built) == before  # read from the stored tables, nothing computed again
    assert (unstorable / "precomputed").is_file()


def test_a_new_wave_computes_only_its_own_file(demo_root: Path, tmp_path: Path) -> None:
    waves = data.list_waves(demo_root)
    root = copy_demo(demo_root, tmp_path / "data", waves=waves[:-1])
    first = precompute.build(root)
    assert [r["table"] for r in first] == [f"rfm/{w}" for w in waves[:-1]]
    before = files_under(root / "precomputed")
    add_wave(demo_root, root, waves[-1])
    second = precompute.build(root)
    after = files_under(root / "precomputed")
    [new] = set(after) - set(before)
    assert new.endswith(f"/{waves[-1]}.parquet")
    assert {k: after[k] for k in before} == before  # the other waves' files are untouched
    assert [r["rows"] for r in second[:-1]] == [r["rows"] for r in first]
    assert second[-1]["rows"] == raw_table(root, waves[-1]).height


def test_a_query_stores_the_tables_of_the_waves_it_reads_and_no_other(
    demo_root: Path, tmp_path: Path
) -> None:
    root = copy_demo(demo_root, tmp_path / "data")
    frame = data.scan_responses(root)
    segments.tier_nps(frame, Scope.world(), Filters(wave=LATEST), str(root))
    [version] = version_dirs(root)
    stored = sorted(p.stem for p in (root / "precomputed" / "rfm" / version).glob("*.parquet"))
    assert stored == ["2026-Q2", LATEST]  # the wave and the one before it (the change column)
    before = files_under(root / "precomputed")
    segments.tier_nps(frame, Scope.world(), Filters(wave=LATEST), str(root))
    assert files_under(root / "precomputed") == before


def test_a_changed_transactions_file_gives_new_results_and_the_old_version_goes(
    demo_root: Path, tmp_path: Path
) -> None:
    root = copy_demo(demo_root, tmp_path / "data")
    precompute.build(root)
    [old_version] = version_dirs(root)
    old = precompute.rfm_table(root, LATEST)
    tx = pl.read_parquet(rfm.transactions_path(root))
    # The best-spending respondent of the wave stopped buying over a year before its end; a new
    # customer appears.
    answered = data.scan_responses(root).filter(pl.col("wave") == LATEST).select("customer_id")
    best = old.join(answered.collect().unique(), on="customer_id").sort(
        "monetary", descending=True
    )["customer_id"][0]
    assert old.filter(pl.col("customer_id") == best)["monetary"][0] > 0
    changed = pl.concat(
        [
            tx.filter(pl.col("customer_id") != best),
            tx.filter(pl.col("customer_id") == best).with_columns(
                date=pl.col("date").dt.offset_by("-400d")
            ),
            tx.head(1).with_columns(customer_id=pl.lit("C-NEW"), amount=pl.lit(1.0)),
        ]
    )
    replace_transactions(root, changed)
    new = precompute.rfm_table(root, LATEST)
    assert_frame_equal(new, raw_table(root, LATEST), check_exact=True)
    assert new.height == old.height + 1
    assert new.filter(pl.col("customer_id") == best)["monetary"][0] == 0.0
    got = rfm.with_rfm(data.scan_responses(root), root, ("monetary",), waves=[LATEST])
    mine = got.filter(pl.col("customer_id") == best, pl.col("wave") == LATEST).collect()
    assert set(mine["monetary"]) == {0.0}
    versions = version_dirs(root)
    assert len(versions) == 2 and old_version in versions  # the new one is not complete yet
    precompute.build(root)
    [new_version] = version_dirs(root)
    assert new_version != old_version


def test_a_changed_tier_mapping_gives_a_new_version_and_its_own_tiers(
    demo_root: Path, tmp_path: Path
) -> None:
    root = copy_demo(demo_root, tmp_path / "data", waves=[LATEST])
    mapping = tmp_path / "tiers.yaml"
    mapping.write_text("fallback: Rest\ntiers:\n  - name: Top\n    r: [5, 5]\n", encoding="utf-8")
    custom = rfm.load_tiers(mapping)
    default = rfm.load_tiers()
    assert precompute.rfm_version(root, custom) != precompute.rfm_version(root, default)
    got = precompute.rfm_tables(root, [LATEST], tiers=custom)
    assert set(got["rfm_tier"]) == {"Top", "Rest"}
    assert_frame_equal(got, raw_table(root, LATEST, custom), check_exact=True)
    assert set(precompute.rfm_table(root, LATEST)["rfm_tier"]) <= set(default.names)


# ---------------------------------------------------------------- real processes


def _builder(root: str, start: Any) -> None:
    """A process that builds every table, then stores each again (more renames under a reader)."""
    start.wait()
    precompute.build(Path(root))
    for wave in data.list_waves(Path(root)):
        precompute.store_rfm(Path(root), wave)


def _reader(root: str, start: Any, done: Any) -> None:
    """A process reading the latest wave's file while the builders write it: whole or absent."""
    expected = raw_table(Path(root), LATEST)
    path = precompute.rfm_path(
        Path(root), precompute.rfm_version(Path(root), rfm.load_tiers()), LATEST
    )
    start.wait()
    seen = 0
    while not done.is_set() or not seen:
        if path.exists():
            assert_frame_equal(pl.read_parquet(path), expected, check_exact=True)
            seen += 1


def test_two_builders_and_a_reader_in_real_processes_end_with_whole_correct_files(
    demo_root: Path, tmp_path: Path, spawn_safe: None
) -> None:
    root = copy_demo(demo_root, tmp_path / "data")
    ctx = multiprocessing.get_context("spawn")
    start, done = ctx.Barrier(3), ctx.Event()
    builders = [ctx.Process(target=_builder, args=(str(root), start)) for _ in range(2)]
    reader = ctx.Process(target=_reader, args=(str(root), start, done))
    for p in [*builders, reader]:
        p.start()
    try:
        for p in builders:
            p.join(timeout=300)
        done.set()
        reader.join(timeout=60)
    finally:
        for p in [*builders, reader]:
            if p.is_alive():
                p.kill()
                p.join()
    assert [p.exitcode for p in [*builders, reader]] == [0, 0, 0]
    [version] = version_dirs(root)
    folder = root / "precomputed" / "rfm" / version
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{w}.parquet" for w in data.list_waves(root)
    ]  # no temporary file left behind
    for wave in data.list_waves(root):
        assert_frame_equal(
            pl.read_parquet(folder / f"{wave}.parquet"), raw_table(root, wave), check_exact=True
        )


READ_ONLY_QUERY = """
import sys
from pathlib import Path
from cx.analytics import segments
from cx.core import data
from cx.core.filters import Filters
from cx.core.scope import Scope
root = Path(sys.argv[1])
frame = data.scan_responses(root)
df = segments.tier_nps(frame, Scope.world(), Filters(wave="2026-Q3"), str(root))
sys.stdout.write(df.write_json())
"""


@pytest.fixture
def read_only(demo_root: Path, tmp_path: Path) -> Iterator[tuple[Path, Callable[..., Any]]]:
    """A demo copy that is read-only for the process run through the given runner: a read-only
    bind mount in a mount namespace of its own when the suite runs as root (root ignores
    permissions), otherwise its folders made read-only."""
    root = copy_demo(demo_root, tmp_path / "data", waves=["2026-Q2", LATEST])
    prefix: list[str] = []
    locked: list[Path] = []
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("needs unshare (util-linux) to mount the data folder read-only as root")
        prefix = ["unshare", "--mount", "--propagation", "private", "sh", "-c"]
        prefix += ['mount --bind -o ro "$0" "$0" && exec "$@"', str(root)]
        probe = subprocess.run([*prefix, "true"], capture_output=True, text=True)
        if probe.returncode != 0:
            pytest.skip(f"cannot mount read-only here: {probe.stderr.strip()}")
    else:
        locked = [root, *(p for p in root.rglob("*") if p.is_dir())]
        for d in locked:
            d.chmod(0o555)

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, sys.executable, *argv], capture_output=True, text=True, cwd=REPO, timeout=300
        )

    try:
        yield root, run
    finally:
        for d in locked:
            d.chmod(0o755)


def test_a_read_only_data_folder_answers_from_memory_and_writes_nothing(
    read_only: tuple[Path, Callable[..., subprocess.CompletedProcess[str]]], unstorable: Path
) -> None:
    root, run = read_only
    before = files_under(root)
    result = run("-c", READ_ONLY_QUERY, str(root))
    assert result.returncode == 0, result.stderr
    got = pl.read_json(io.StringIO(result.stdout))
    frame = data.scan_responses(root)
    expected = segments.tier_nps(frame, Scope.world(), Filters(wave=LATEST), str(unstorable))
    assert_frame_equal(got, pl.read_json(io.StringIO(expected.write_json())), rel_tol=1e-9)
    assert files_under(root) == before and not (root / "precomputed").exists()
    # Building on purpose is refused in one line naming where it could not write.
    cli = run("-m", "cx.cli", "precompute", "--data", str(root))
    assert cli.returncode == 2 and "Traceback" not in cli.stderr
    [line] = cli.stderr.splitlines()
    assert line.startswith(f"cx precompute: {root / 'precomputed'}")
    assert "Read-only file system" in line or "Permission denied" in line
    assert files_under(root) == before
