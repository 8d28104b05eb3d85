"""Warm caches: the server builds each data version's tables before anyone opens a screen (and
again when a wave arrives), the screens' modules are imported at start, and the warm-up after
sign-in runs the real queries of every role's first screens without an error."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from cx.core import data, users
from cx.core.filters import Filters
from cx.demo.dataset import write_demo
from cx.ui import warm
from tests.support.browser import streamlit_server
from tests.support.net import free_port
from tests.support.wait import wait_until

WAIT = 180.0


def _tag_tables(root: Path) -> set[str]:
    """The waves that have a stored comment-tag table (``<wave>-<files>.parquet``)."""
    return {p.name.rsplit("-", 1)[0] for p in (root / "precomputed" / "themes").glob("*/*.parquet")}


def _rfm_tables(root: Path) -> set[str]:
    return {p.stem for p in (root / "precomputed" / "rfm").glob("*/*.parquet")}


def _wait(condition: Callable[[], bool], what: str) -> None:
    assert wait_until(condition, WAIT, 0.5), f"not within {WAIT:.0f} s: {what}"


def _add_wave(root: Path, label: str) -> None:
    """A new wave, as an import would leave it: the latest wave's rows under a new label."""
    latest = data.list_waves(root)[-1]
    rows = pl.read_parquet(data.waves_dir(root) / f"wave={latest}" / "*.parquet")
    folder = data.waves_dir(root) / f"wave={label}"
    folder.mkdir(parents=True)
    rows = rows.with_columns(pl.col("response_id").cast(pl.String) + "-next")
    if "wave" in rows.columns:
        rows = rows.with_columns(pl.lit(label).alias("wave"))
    rows.write_parquet(folder / "part-0.parquet")


def test_server_builds_every_waves_tables_before_any_visit_and_again_for_a_new_wave(
    tmp_path: Path,
) -> None:
    root = tmp_path / "data"
    write_demo(root, rows=12_000)
    waves = set(data.list_waves(root))
    assert not (root / "precomputed").exists()
    with streamlit_server(root, free_port(), env={"CX_WARM_SECONDS": "0.5"}):
        _wait(lambda: _tag_tables(root) == waves, "comment tags of every wave")
        _wait(lambda: _rfm_tables(root) == waves, "RFM tables of every wave")
        label = "2027-Q4"
        _add_wave(root, label)
        _wait(lambda: label in _tag_tables(root), f"comment tags of the new wave {label}")
        _wait(lambda: label in _rfm_tables(root), f"RFM table of the new wave {label}")
    assert _tag_tables(root) == waves | {label}


def test_preload_imports_the_screens_modules() -> None:
    assert warm.preload() > 50
    for name in ("pandas", "cx.charts.overview", "cx.analytics.drivers", "cx.voice.verbatims"):
        assert name in sys.modules


@pytest.mark.parametrize("username", ["ceo", "es.manager", "madrid.manager", "madrid.advisor"])
def test_warm_up_runs_each_roles_first_screens_without_an_error(
    demo_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    username: str,
) -> None:
    monkeypatch.setenv("CX_DATA_DIR", str(demo_root))
    user = users.get(username)
    assert user is not None
    queries = list(warm.first_screens(user))
    assert queries, f"{username} warms nothing"
    wave = data.list_waves(demo_root)[-1]
    with caplog.at_level(logging.INFO, logger=warm.__name__):
        warm._warm_user(user, Filters(wave=wave))
    assert not [r.getMessage() for r in caplog.records if r.name == warm.__name__]


def test_warm_up_starts_once_per_session_after_the_landing_page(
    demo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.apptest import run_page

    monkeypatch.setenv("CX_WARM", "on")
    started: list[str] = []
    real = warm.threading.Thread

    def spy(*args: object, **kwargs: object) -> object:
        thread = real(*args, **kwargs)  # type: ignore[arg-type]
        if str(kwargs.get("name", "")).startswith(f"{warm.THREAD_PREFIX}-ceo"):
            started.append(thread.name)
        return thread

    monkeypatch.setattr(warm.threading, "Thread", spy)
    at = run_page("screens/overview.py", "ceo", demo_root)
    assert not at.exception
    assert at.session_state[warm.SESSION_KEY] == "ceo"
    at.run()  # the same browser session again: nothing more to warm
    assert started == ["cx-warm-ceo"]
    for thread in warm.threading.enumerate():
        if thread.name == "cx-warm-ceo":
            thread.join(120)
