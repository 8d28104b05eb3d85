"""The Import screen with a real upload: a folder whose waves gained columns, a bad file, masked
previews, and the accept step for new geography (audited) when there is no org.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cx import ingest
from cx.demo.accounts import write_demo_users
from tests.ingest.files import HEADER, demo_like_waves, rows
from tests.support.apptest import rendered_text, run_page
from tests.support.datadir import no_hook, write_org

MAIL = "ana.lopez@example.com"


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo accounts, written once (hashing passwords is slow) and copied into each folder."""
    folder = tmp_path_factory.mktemp("accounts")
    write_demo_users(folder)
    return folder


def folder(base: Path, accounts: Path, *, org: bool) -> Path:
    root = write_org(base / "data") if org else base / "data"
    root.mkdir(exist_ok=True)
    for f in accounts.iterdir():
        shutil.copy(f, root / f.name)
    demo_like_waves(root)
    src = base / "q4.csv"
    src.write_text("\n".join([HEADER, *rows("A", 2)]) + "\n")
    ingest.import_file(
        src, "2026-Q4", root=root, accept_geography=not org, actor="t", after_import=no_hook
    )
    return root


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader[0].upload(name, content, "text/csv")
    at.run()
    return at


def test_an_upload_into_evolved_waves_shows_the_report_with_masked_comments(
    tmp_path: Path, accounts: Path
) -> None:
    root = folder(tmp_path, accounts, org=True)
    content = "\n".join([HEADER, f"Z1,2027-01-02,Z1,Europe,ES,Madrid,9,mail me at {MAIL}"]) + "\n"
    at = upload(run_page("screens/import.py", "analyst", root), "q1.csv", content.encode())
    text = rendered_text(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Validation report" in text and "mail me at [email]" in text
    assert MAIL not in text


def test_a_bad_file_is_one_line_on_the_screen(tmp_path: Path, accounts: Path) -> None:
    root = folder(tmp_path, accounts, org=True)
    at = upload(run_page("screens/import.py", "analyst", root), "x.csv", bytes(range(256)) * 8)
    assert not at.exception
    (error,) = at.error
    assert "binary content (NUL bytes)" in error.value and "\n" not in error.value


def test_without_org_yaml_a_new_agency_waits_for_the_accept_step(
    tmp_path: Path, accounts: Path
) -> None:
    root = folder(tmp_path, accounts, org=False)
    content = "\n".join([HEADER, *rows("N", 2, day="2027-01-02", agency="Gotham")]) + "\n"
    at = upload(run_page("screens/import.py", "analyst", root), "q1.csv", content.encode())
    assert "new agency Gotham in Europe/ES" in rendered_text(at) and at.warning
    assert [m.value for m in at.metric if m.label == "Accepted"] == ["0"]
    (box,) = [c for c in at.checkbox if c.key == "import_accept_geography"]
    box.check().run()
    assert not at.exception
    assert [m.value for m in at.metric if m.label == "Accepted"] == ["2"]
    assert [b.label for b in at.button if b.label.startswith("Import")] == [
        "Import 2 rows into wave 2027-Q1 (new)"
    ]
    assert not (root / "waves" / "wave=2027-Q1").exists()  # the report is a dry run
