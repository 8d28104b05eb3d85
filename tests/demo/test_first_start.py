"""The quickstart's first start opens demo cases in the data folder's own store, and never in a
configured ``DATABASE_URL`` (which may be production's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import func, select

from cx import store
from cx.core.data import has_waves
from cx.demo import complaints
from cx.demo.dataset import write_demo
from cx.store.models import Case


def _small_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        complaints,
        "ensure_demo",
        lambda root, progress=None: None if has_waves(root) else write_demo(root, rows=4_000),
    )


def _cases(url: str) -> int:
    engine = store.init(store.make_engine(url))
    try:
        with store.session(engine) as s:
            return int(s.exec(select(func.count()).select_from(Case)).one())
    finally:
        engine.dispose()


def test_the_first_start_never_writes_demo_cases_into_a_configured_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_demo(monkeypatch)
    production = f"sqlite:///{tmp_path / 'production.db'}"
    monkeypatch.setenv("DATABASE_URL", production)
    assert complaints.first_start(tmp_path / "data") is not None  # the demo dataset is written
    assert _cases(production) == 0
    assert not (tmp_path / "data" / "cx.db").exists()  # nor a second store beside it


def test_the_first_start_opens_the_demo_cases_in_the_folders_own_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_demo(monkeypatch)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert complaints.first_start(tmp_path / "data") is not None
    assert _cases(f"sqlite:///{tmp_path / 'data' / 'cx.db'}") > 0
    assert complaints.first_start(tmp_path / "data") is None  # data there: nothing rewritten
