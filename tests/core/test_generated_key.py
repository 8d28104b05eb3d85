"""The signing key made on first use: processes starting together all read one whole key."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from cx.core import keys


def _read_key(_: int) -> str:
    return keys._generated()


def test_processes_making_the_key_at_once_all_read_the_same_whole_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keys, "GENERATED_FILE", tmp_path / "secrets" / "signing.key")
    with multiprocessing.get_context("fork").Pool(8) as pool:
        got = pool.map(_read_key, range(32))
    assert len(set(got)) == 1 and len(got[0]) == 64
    assert keys.check(got[0]) is None
    assert [p.name for p in (tmp_path / "secrets").iterdir()] == ["signing.key"]
