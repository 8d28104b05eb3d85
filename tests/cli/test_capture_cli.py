"""``cx survey link`` and ``cx invite``: the JSON rows of cli.md, the QR files, one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from PIL import Image
from pypdf import PdfReader
from sqlmodel import select

from cx import store
from cx.capture import links
from cx.cli import main
from cx.core import org
from cx.store.models import Invitation, Notification


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, Any]], str]:
    code = main([*args, "--format", "json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else []), err


@pytest.fixture(autouse=True)
def no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("CX_PUBLIC_URL", "https://cx.example.com")


def test_survey_link_prints_the_row_and_writes_each_qr_format(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, rows, _ = run(capsys, "survey", "link", "--data", str(root), "--agency", "Madrid")
    assert code == 0
    (row,) = rows
    assert set(row) >= {"agency", "channel", "language", "path", "url", "qr"}
    assert (row["agency"], row["channel"], row["language"], row["qr"]) == (
        "Madrid",
        "qr",
        None,
        None,
    )
    assert row["path"] == links.open_link("experience", "Madrid", "qr")
    assert row["url"] == "https://cx.example.com" + row["path"]
    target = links.resolve(store.make_engine("sqlite://"), org.load(root), row["path"])
    assert target.agency == "Madrid"

    for suffix in ("png", "svg", "pdf"):
        out = tmp_path / f"madrid.{suffix}"
        code, (row,), _ = run(
            capsys,
            "survey",
            "link",
            "--data",
            str(root),
            "--agency",
            "Madrid",
            "--lang",
            "es",
            "--qr",
            str(out),
        )
        assert code == 0 and row["qr"] == str(out) and row["language"] == "es"
    assert Image.open(tmp_path / "madrid.png").format == "PNG"
    assert (tmp_path / "madrid.svg").read_text().lstrip().startswith("<?xml")
    assert len(PdfReader(tmp_path / "madrid.pdf").pages) == 1


def test_survey_link_kiosk_mode(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, (row,), _ = run(
        capsys, "survey", "link", "--data", str(root), "--agency", "Paris", "--kiosk"
    )
    assert code == 0 and (row["channel"], row["kiosk"]) == ("in_person", True)
    target = links.resolve(store.make_engine("sqlite://"), org.load(root), row["path"])
    assert target.kiosk and target.channel == "in_person"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--agency", "Atlantis"), "unknown agency 'Atlantis'"),
        (("--agency", "Madrid", "--lang", "de"), "has no 'de' texts"),
        (("--agency", "Madrid", "--qr", "/nonexistent/x.gif"), "a QR file ends in"),
    ],
)
def test_survey_link_errors_are_one_line_exit_2(
    root: Path,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    message: str,
) -> None:
    code, _, err = run(capsys, "survey", "link", "--data", str(root), *args)
    assert code == 2 and message in err and err.count("\n") == 1


def test_invite_queues_the_mail_and_prints_the_row(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, rows, _ = run(
        capsys,
        "invite",
        "--data",
        str(root),
        "--customer",
        "C0000007",
        "--agency",
        "Paris",
        "--first-name",
        "Léa",
    )
    assert code == 0
    (row,) = rows
    assert set(row) >= {"customer_id", "path", "expires_at", "queued"}
    assert (row["customer_id"], row["queued"], row["language"]) == ("C0000007", True, "fr")
    assert row["path"].startswith("/s/")
    expires = datetime.fromisoformat(row["expires_at"])
    assert timedelta(days=13) < expires - datetime.now(UTC) <= timedelta(days=14)
    engine = store.make_engine(store.database_url(root))
    with store.session(engine) as s:
        (mail,) = s.exec(select(Notification)).all()
        (inv,) = s.exec(select(Invitation)).all()
    assert (
        mail.body.startswith("Bonjour Léa,") and "https://cx.example.com" + row["path"] in mail.body
    )
    assert inv.token_hash == links.invitation_hash(row["path"].removeprefix("/s/"))

    code, _, err = run(
        capsys, "invite", "--data", str(root), "--customer", "C0000007", "--agency", "Paris"
    )
    assert code == 2 and "not again within 30 days" in err and err.count("\n") == 1
    code, _, err = run(capsys, "invite", "--data", str(root), "--customer", "C0000008")
    assert code == 2 and "--customer needs --agency" in err


def test_invite_schedule_and_after_import_print_the_counts(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    today = datetime.now(UTC).date()
    (root / "crm").mkdir()
    pl.DataFrame(
        {
            "transaction_id": ["T1", "T2"],
            "customer_id": ["C1", "C2"],
            "date": [today - timedelta(days=1), today],
            "amount": [12.0, 30.0],
            "agency": ["Madrid", "Sevilla"],
        }
    ).write_parquet(root / "crm" / "transactions.parquet")
    code, (daily,), _ = run(capsys, "invite", "--data", str(root), "--schedule", "daily")
    assert code == 0
    assert (daily["frequency"], daily["from"], daily["to"]) == (
        "daily",
        (today - timedelta(days=1)).isoformat(),
        today.isoformat(),
    )
    assert (daily["invited"], daily["capped"], daily["opted_out"], daily["no_address"]) == (
        1,
        0,
        0,
        0,
    )
    code, (again,), _ = run(capsys, "invite", "--data", str(root), "--schedule", "daily")
    assert (again["invited"], again["already"]) == (0, 1)

    code, (imported,), _ = run(capsys, "invite", "--data", str(root), "--after-import")
    assert code == 0
    assert (imported["transactions"], imported["invited"], imported["already"]) == (2, 1, 1)
    code, (nothing,), _ = run(capsys, "invite", "--data", str(root), "--after-import")
    assert (nothing["transactions"], nothing["invited"]) == (0, 0)


def test_invite_needs_one_mode(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["invite", "--data", str(root)])
    assert exited.value.code == 2
    assert "one of the arguments" in capsys.readouterr().err
    assert not (root / "cx.db").exists()  # refused before touching the store
