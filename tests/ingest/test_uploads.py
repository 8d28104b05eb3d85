"""Uploads are staged in a fresh private folder (0700, this user's, unpredictable) and removed
after use, whatever happens; never in a fixed folder under the system temp folder."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from cx import ingest

CSV = b"response_id,nps\nR1,9\n"


def test_each_upload_gets_a_new_private_folder_removed_after_use() -> None:
    with ingest.staged_upload("a.csv", CSV) as (first, kind):
        folder = first.parent
        info = folder.lstat()
        assert kind == "csv" and stat.S_IMODE(info.st_mode) == 0o700
        assert info.st_uid == os.getuid()
        assert stat.S_IMODE(first.stat().st_mode) == 0o600
        assert (
            folder != Path(tempfile.gettempdir()) / f"cx-upload-{os.getuid()}"
        )  # the old fixed path
        with ingest.staged_upload("a.csv", CSV) as (second, _):
            assert second.parent != folder and second.read_bytes() == CSV
        assert not second.parent.exists()
    assert not folder.exists()


def test_the_folder_is_removed_when_the_import_fails_inside_the_block() -> None:
    with pytest.raises(RuntimeError), ingest.staged_upload("a.csv", CSV) as (path, _):
        raise RuntimeError("the import failed")
    assert not path.parent.exists()
