"""Automatic reports: the PDF and the deck open, hold only the scope's entities and the queries'
figures; the infographic, the CLI and the weekly e-mail to each manager for their own scope."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from aiosmtpd.controller import Controller
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import reports, store
from cx.analytics import overview
from cx.cli import main
from cx.core import data, users
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.loop import notify, transport
from cx.loop.notify import NotifySettings
from cx.reports import infographic, mailer, sections
from tests.support.datadir import write_waves
from tests.support.net import free_port
from tests.support.smtp import Sink

ES = Scope.parse("country:ES")
NOT_SPAIN = [
    "France",
    "Paris",
    "Lyon",
    "Marseille",
    "Toulouse",
    "London",
    "Manchester",
    "Birmingham",
    "Leeds",
    "Mexico",
    "México",
    "Guadalajara",
    "Monterrey",
    "Puebla",
    "Argentina",
    "Buenos Aires",
    "Córdoba",
    "Rosario",
    "Mendoza",
    "Russia",
    "Moscow",
    "Saint Petersburg",
    "Kazan",
    "Novosibirsk",
    "United States",
    "New York",
    "Chicago",
    "Houston",
    "Miami",
    "United Kingdom",
]
NOT_SPAIN_CODES = ["FR", "GB", "MX", "AR", "RU", "US"]


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def pptx_text(path: Path) -> str:
    parts: list[str] = []
    for slide in Presentation(str(path)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
            if shape.has_table:
                parts += [cell.text for row in shape.table.rows for cell in row.cells]
    return "\n".join(parts)


def assert_only_spain(text: str) -> None:
    for name in NOT_SPAIN:
        assert name not in text, f"a report for country:ES names {name!r}"
    for code in NOT_SPAIN_CODES:
        assert not re.search(rf"\b{code}\b", text), f"a report for country:ES names {code!r}"


@pytest.fixture(scope="module")
def es_files(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The Spain report as PDF and PPTX (latest wave), built once for the module."""
    frame = data.scan_responses(demo_root)
    out = tmp_path_factory.mktemp("reports")
    return {
        "pdf": reports.build_report(frame, ES, Filters(), out / "es.pdf", user_name="Javier Ruiz"),
        "pptx": reports.build_report(frame, ES, Filters(), out / "es.pptx"),
    }


# ---------------------------------------------------------------- PDF and deck


def test_spain_pdf_opens_and_names_no_entity_outside_spain(es_files: dict[str, Path]) -> None:
    text = pdf_text(es_files["pdf"])
    assert "CX Review report" in text and "Spain (ES)" in text
    for agency in ("Madrid", "Barcelona", "Valencia", "Sevilla"):
        assert agency in text
    assert_only_spain(text)


def test_spain_pdf_key_figures_equal_the_headline_query(
    es_files: dict[str, Path], demo_root: Path
) -> None:
    frame = data.scan_responses(demo_root)
    head = overview.headline(frame, ES, Filters(wave=overview.waves(frame)[-1])).row(0, named=True)
    text = pdf_text(es_files["pdf"])
    assert f"{head['nps']:.1f}" in text
    assert f"± {head['nps_moe']:.1f} (95 % margin)" in text
    assert f"{head['n']:,}" in text
    assert f"{head['change']:+.1f}" in text
    assert f"{head['csat']:.0f} %" in text


def test_spain_pdf_has_a_cover_and_one_titled_page_per_section(
    es_files: dict[str, Path], demo_root: Path
) -> None:
    from pypdf import PdfReader

    frame = data.scan_responses(demo_root)
    built = reports.build_sections(frame, ES, Filters())
    firsts = [s.title for s in built.sections if s.part[0] == 1]
    assert firsts[:3] == ["Summary", "Key figures", "Evolution"]
    assert "By agency" in firsts
    pages = PdfReader(str(es_files["pdf"])).pages
    assert len(pages) == len(built.sections) + 1  # a section split over pages says so: (1/2)
    starts = [p.extract_text().strip().splitlines()[0] for p in pages[1:]]
    assert starts == [s.heading for s in built.sections]


def test_spain_deck_has_one_slide_per_section_with_native_tables_and_chart_images(
    es_files: dict[str, Path], demo_root: Path
) -> None:
    deck = Presentation(str(es_files["pptx"]))
    built = reports.build_sections(data.scan_responses(demo_root), ES, Filters())
    assert len(deck.slides) == len(built.sections) + 1  # + the title slide
    tables = [sh for slide in deck.slides for sh in slide.shapes if sh.has_table]
    pictures = [
        sh
        for slide in deck.slides
        for sh in slide.shapes
        if sh.shape_type == MSO_SHAPE_TYPE.PICTURE
    ]
    assert tables and pictures
    agency_table = next(t.table for t in tables if t.table.cell(0, 1).text == "Agency")
    names = sorted(agency_table.cell(i, 1).text for i in range(1, len(agency_table.rows)))
    assert names == ["Barcelona", "Madrid", "Sevilla", "Valencia"]
    text = pptx_text(es_files["pptx"])
    assert "Spain (ES)" in text
    assert_only_spain(text)


def test_breakdown_section_table_equals_the_breakdown_query(demo_root: Path) -> None:
    frame = data.scan_responses(demo_root)
    f = Filters(wave=overview.waves(frame)[-1])
    section = next(
        s
        for s in sections.breakdowns_section(
            reports.ReportContext(frame, ES, f, tuple(overview.waves(frame)))
        )
    )
    table = section.tables[0].frame
    expected = overview.breakdown(frame, ES, f, "agency")
    assert table["Agency"].to_list() == expected["agency"].to_list()
    assert table["NPS"].to_list() == [str(round(v, 1)) for v in expected["nps"]]


# ---------------------------------------------------------------- small bases, errors


def tiny_frame() -> pl.DataFrame:
    """Madrid with 40 answers, Getafe with 3 (suppressed), one wave."""
    n_big, n_small = 40, 3
    scores = [10, 9, 8, 3] * 10 + [10, 0, 9]
    agencies = ["Madrid"] * n_big + ["Getafe"] * n_small
    return pl.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(n_big + n_small)],
            "wave": ["2026-Q3"] * (n_big + n_small),
            "responded_at": [datetime(2026, 8, 1)] * (n_big + n_small),
            "customer_id": [f"c{i}" for i in range(n_big + n_small)],
            "region": ["Europe"] * (n_big + n_small),
            "country": ["ES"] * (n_big + n_small),
            "agency": agencies,
            "nps": scores,
        }
    )


def test_a_suppressed_scope_shows_no_score_in_the_report(tmp_path: Path) -> None:
    root = write_waves(tmp_path / "d", tiny_frame())
    frame = data.scan_responses(root)
    built = reports.build_sections(frame, Scope.parse("agency:Getafe"), Filters())
    figures = {f.label: f.value for f in built.sections[1].figures}
    assert figures["NPS"] == "hidden"
    out = reports.write_pdf(built, tmp_path / "getafe.pdf")
    text = pdf_text(out)
    assert "hidden" in text
    # Getafe's real NPS is (2 - 1) / 3 = 33.3: it must not be printed anywhere.
    assert "33.3" not in text


def test_a_suppressed_agency_cannot_be_revealed_by_subtraction_in_the_country_report(
    tmp_path: Path,
) -> None:
    root = write_waves(tmp_path / "d", tiny_frame())
    frame = data.scan_responses(root)
    built = reports.build_sections(frame, Scope.parse("country:ES"), Filters())
    table = next(s for s in built.sections if s.key == "by_agency").tables[0].frame
    getafe = table.filter(pl.col("Agency") == "Getafe").row(0, named=True)
    assert getafe["NPS"] == "–" and getafe["Note"] == "hidden (n < 5)"
    # Madrid (NPS 25.0) is hidden too: the country total minus Madrid would reveal Getafe.
    madrid = table.filter(pl.col("Agency") == "Madrid").row(0, named=True)
    assert madrid["NPS"] == "–"
    assert "25.0" not in pdf_text(reports.write_pdf(built, tmp_path / "es.pdf"))


def test_unknown_format_empty_scope_and_missing_folder_are_refused(tmp_path: Path) -> None:
    root = write_waves(tmp_path / "d", tiny_frame())
    frame = data.scan_responses(root)
    with pytest.raises(reports.ReportError, match="use .pdf or .pptx"):
        reports.build_report(frame, ES, Filters(), tmp_path / "r.docx")
    with pytest.raises(reports.ReportError, match="empty scope"):
        reports.build_report(frame, Scope(), Filters(), tmp_path / "r.pdf")
    with pytest.raises(reports.ReportError, match="does not exist"):
        reports.build_report(frame, ES, Filters(), tmp_path / "nowhere" / "r.pdf")
    with pytest.raises(reports.ReportError, match="unknown wave"):
        reports.build_sections(frame, ES, Filters(wave="2020-Q1"))


# ---------------------------------------------------------------- plans section (SQL scope)


def test_plans_section_lists_only_the_plans_inside_the_scope(
    engine: Engine, tmp_path: Path
) -> None:
    plans = pytest.importorskip("cx.improve.plans")
    root = write_waves(tmp_path / "d", tiny_frame())
    frame = data.scan_responses(root)
    ceo = users.User("ceo", "CEO", "", ("ceo",), Scope.world())
    with store.session(engine) as s:
        plans.create_plan(
            s,
            user=ceo,
            title="Clean Madrid lobby",
            owner="madrid.manager",
            region="Europe",
            country="ES",
            agency="Madrid",
        )
        plans.create_plan(
            s,
            user=ceo,
            title="Shorter queues in Paris",
            owner="paris.manager",
            region="Europe",
            country="FR",
            agency="Paris",
        )
    built = reports.build_sections(frame, ES, Filters(), engine=engine)
    section = next(s for s in built.sections if s.key == "plans")
    assert section.tables[0].frame["Plan"].to_list() == ["Clean Madrid lobby"]
    text = pdf_text(reports.write_pdf(built, tmp_path / "es.pdf"))
    assert "Clean Madrid lobby" in text and "Paris" not in text


# ---------------------------------------------------------------- infographic


def test_infographic_png_and_pdf_are_one_page_of_the_scope(demo_root: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    frame = data.scan_responses(demo_root)
    png = infographic.write_infographic(frame, ES, Filters(), tmp_path / "es.png")
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = reports.png_size(png.read_bytes())
    assert width >= 2000 and height >= 1500  # 2x scale, readable on a wall
    pdf = infographic.write_infographic(frame, ES, Filters(), tmp_path / "es.pdf")
    assert len(PdfReader(str(pdf)).pages) == 1
    spec = json.dumps(
        infographic.infographic_chart(frame, ES, Filters(), scope_name="Spain").to_dict(),
        ensure_ascii=False,
    )
    assert "Madrid" in spec and "Paris" not in spec and "France" not in spec
    with pytest.raises(infographic.InfographicError, match="use .png or .pdf"):
        infographic.write_infographic(frame, ES, Filters(), tmp_path / "es.svg")


def test_infographic_tiles_equal_the_headline(demo_root: Path) -> None:
    frame = data.scan_responses(demo_root)
    f = Filters(wave=overview.waves(frame)[-1])
    head = overview.headline(frame, ES, f)
    row = head.row(0, named=True)
    tiles = infographic.tiles(head)
    assert tiles["value"].to_list()[0] == f"{row['nps']:.1f}"
    assert tiles["note"].to_list()[0] == f"± {row['nps_moe']:.1f} (95 % margin)"
    assert tiles["value"].to_list()[2] == f"{row['n']:,}"


# ---------------------------------------------------------------- CLI


def test_cli_report_for_a_user_writes_the_pdf_and_prints_json(
    demo_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fr.pptx"
    assert (
        main(
            [
                "report",
                "--data",
                str(demo_root),
                "--user",
                "fr.manager",
                "--out",
                str(out),
                "--format",
                "json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert (
        rows[0]["file"] == str(out)
        and rows[0]["scope"] == "country:FR"
        and rows[0]["format"] == "pptx"
    )
    assert rows[0]["pages"] == len(rows[0]["sections"]) + 1
    text = pptx_text(out)
    assert "Paris" in text and "Madrid" not in text and "Spain" not in text


def test_cli_report_bad_extension_is_one_line_exit_2(
    demo_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--data", str(demo_root), "--out", str(tmp_path / "r.txt")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown report format" in err


# ---------------------------------------------------------------- weekly e-mail


def test_weekly_mail_sends_each_manager_their_own_scope_once_a_week(
    demo_root: Path,
    tmp_path: Path,
    engine: Engine,
    smtp: tuple[Sink, int, list[Controller]],
) -> None:
    sink, port, _ = smtp
    frame = data.scan_responses(demo_root)
    settings = NotifySettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="cx@test.example",
        directory=notify.recipient_directory(),
    )
    managers = [
        users.User(
            "es.manager", "Javier Ruiz", "es.manager@cx-demo.example", ("country_manager",), ES
        ),
        users.User(
            "madrid.advisor",
            "Pablo",
            "madrid.advisor@cx-demo.example",
            ("advisor",),
            Scope.parse("agency:Madrid"),
        ),
    ]
    now = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)
    rows = mailer.send_weekly(frame, tmp_path, settings, engine=engine, now=now, only=managers)
    assert [(r["user"], r["status"]) for r in rows] == [("es.manager", "sent")]  # advisors get none
    assert len(sink.messages) == 1
    msg = sink.messages[0]
    assert msg["To"] == "es.manager@cx-demo.example" and "Spain (ES)" in msg["Subject"]
    assert msg["Message-ID"] == transport.message_id(mailer.dedupe_key(managers[0], now))
    attachment = next(p for p in msg.walk() if p.get_content_type() == "application/pdf")
    saved = tmp_path / "received.pdf"
    saved.write_bytes(attachment.get_payload(decode=True))
    text = pdf_text(saved)
    assert "Madrid" in text
    assert_only_spain(text)
    again = mailer.send_weekly(frame, tmp_path, settings, engine=engine, now=now, only=managers)
    assert [r["status"] for r in again] == ["skipped"] and len(sink.messages) == 1
    with store.session(engine) as s:
        sent = s.exec(select(store.Notification)).all()
        assert [(n.recipient, n.status, n.country) for n in sent] == [
            ("es.manager@cx-demo.example", "sent", "ES")
        ]
        assert sent[0].attachment_name == attachment.get_filename()
        assert (
            s.exec(
                select(store.AuditLog).where(store.AuditLog.action == "weekly_report_queued")
            ).first()
            is not None
        )


def test_weekly_mail_failure_is_reported_and_retried_by_the_outbox(
    demo_root: Path,
    tmp_path: Path,
    sqlite_engine: Engine,
    smtp: tuple[Sink, int, list[Controller]],
) -> None:
    sink, port, _ = smtp
    frame = data.scan_responses(demo_root)
    dead = NotifySettings(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout=2)
    manager = [
        users.User(
            "fr.manager",
            "Claire",
            "fr.manager@cx-demo.example",
            ("country_manager",),
            Scope.parse("country:FR"),
        )
    ]
    now = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)
    rows = mailer.send_weekly(frame, tmp_path, dead, engine=sqlite_engine, now=now, only=manager)
    assert rows[0]["status"] == "failed" and "Error" in rows[0]["error"]
    with store.session(sqlite_engine) as s:
        [queued] = s.exec(select(store.Notification)).all()
        assert (queued.status, queued.attempts) == ("pending", 1)  # kept: the outbox retries it
    live = NotifySettings(smtp_host="127.0.0.1", smtp_port=port, smtp_timeout=5)
    later = store.utcnow() + timedelta(minutes=2)  # after the first backoff
    assert notify.deliver_pending(sqlite_engine, live, now=later)["sent"] == 1
    [msg] = sink.messages
    assert msg["To"] == "fr.manager@cx-demo.example"
    attachment = next(p for p in msg.walk() if p.get_content_type() == "application/pdf")
    saved = tmp_path / "received.pdf"
    saved.write_bytes(attachment.get_payload(decode=True))
    text = pdf_text(saved)
    assert "France (FR)" in text and "Paris" in text and "Madrid" not in text
    again = mailer.send_weekly(frame, tmp_path, live, engine=sqlite_engine, now=now, only=manager)
    assert [r["status"] for r in again] == ["skipped"] and len(sink.messages) == 1


def test_queued_weekly_reports_wait_in_the_outbox_until_cx_notify_sends_them(
    demo_root: Path,
    tmp_path: Path,
    smtp: tuple[Sink, int, list[Controller]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sink, port, _ = smtp
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for key in ("CX_TELEGRAM_TOKEN", "CX_SMTP_USER", "CX_SMTP_TLS"):
        monkeypatch.delenv(key, raising=False)
    folder = tmp_path / "data"
    folder.mkdir()
    engine = store.init(store.make_engine(f"sqlite:///{folder / 'cx.db'}"))
    madrid = users.User(
        "madrid.manager",
        "Lucía",
        "madrid.manager@cx-demo.example",
        ("agency_manager",),
        Scope.parse("agency:Madrid"),
    )
    rows = mailer.queue_weekly(
        data.scan_responses(demo_root), tmp_path, engine=engine, only=[madrid]
    )
    engine.dispose()
    assert [r["status"] for r in rows] == ["queued"] and not sink.messages
    monkeypatch.setenv("CX_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CX_SMTP_PORT", str(port))
    assert main(["notify", "--data", str(folder), "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["sent"], row["pending"]) == (1, 0)
    [msg] = sink.messages
    assert msg["To"] == "madrid.manager@cx-demo.example"
    attachment = next(p for p in msg.walk() if p.get_content_type() == "application/pdf")
    assert attachment.get_filename() == Path(rows[0]["file"]).name
    saved = tmp_path / "received.pdf"
    saved.write_bytes(attachment.get_payload(decode=True))
    text = pdf_text(saved)
    assert "Madrid" in text and "Barcelona" not in text and "Paris" not in text


def test_quoted_comments_are_masked_and_come_from_the_scope_only(tmp_path: Path) -> None:
    pytest.importorskip("cx.voice.verbatims")
    n = 120
    scores = [2, 10, 9, 8] * (n // 4)
    rows = {
        "response_id": [f"r{i}" for i in range(2 * n)],
        "wave": ["2026-Q3"] * (2 * n),
        "responded_at": [datetime(2026, 8, 1, 9, i % 60) for i in range(2 * n)],
        "customer_id": [f"c{i}" for i in range(2 * n)],
        "region": ["Europe"] * (2 * n),
        "country": ["ES"] * n + ["FR"] * n,
        "agency": ["Madrid"] * n + ["Paris"] * n,
        "nps": scores * 2,
        "comment": [
            "Waiting time was far too long, I queued 40 minutes. Call me on +34 612 345 678 or juan.perez@example.com"
            if s <= 6
            else "Friendly staff, very kind and helpful."
            for s in scores
        ]
        + [
            "Attente beaucoup trop longue à Paris, appelez-moi au 06 12 34 56 78"
            if s <= 6
            else "Personnel aimable."
            for s in scores
        ],
        "language": ["en"] * n + ["fr"] * n,
    }
    root = write_waves(tmp_path / "d", pl.DataFrame(rows))
    built = reports.build_sections(
        data.scan_responses(root), Scope.parse("agency:Madrid"), Filters()
    )
    quotes = next(s for s in built.sections if s.key == "quotes")
    assert quotes.highlights and all(
        line.startswith("Madrid · NPS 2|") for line in quotes.highlights
    )
    text = pdf_text(reports.write_pdf(built, tmp_path / "madrid.pdf"))
    assert "[email]" in text and "[phone]" in text
    for leaked in ("juan.perez@example.com", "612 345 678", "Paris", "Attente"):
        assert leaked not in text


def test_cli_email_managers_refuses_a_forced_scope_and_a_missing_smtp_host(
    demo_root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CX_SMTP_HOST", raising=False)
    base = [
        "report",
        "--data",
        str(demo_root),
        "--email-managers",
        "--out",
        str(tmp_path / "weekly"),
    ]
    assert main([*base, "--scope", "world"]) == 2
    assert "leave out --user and --scope" in capsys.readouterr().err
    assert main(base) == 2
    assert "CX_SMTP_HOST is not set" in capsys.readouterr().err


def test_key_figures_follow_the_shared_filters(demo_root: Path) -> None:
    frame = data.scan_responses(demo_root)
    waves = tuple(overview.waves(frame))
    f = Filters(wave=waves[-2], channels=("email",))
    section = sections.key_figures_section(reports.ReportContext(frame, ES, f, waves))
    row = overview.headline(frame, ES, f).row(0, named=True)
    values = {fig.label: fig.value for fig in section.figures}
    assert values["NPS"] == f"{row['nps']:.1f}"
    assert values["Responses (n)"] == f"{row['n']:,}"
    assert row["n"] < overview.headline(frame, ES, Filters(wave=waves[-2])).row(0, named=True)["n"]
    assert f"Change vs {waves[-3]}" in values
