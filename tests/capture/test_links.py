"""Survey links: open links are stable and signed, personal ones single-use and expiring; the
funnel events they record; their QR codes and the counter poster."""

from __future__ import annotations

import io
import string
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import segno
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import select

from cx import store
from cx.capture import links, posters
from cx.core import org
from cx.core.org import Org
from cx.store.models import Invitation, SurveyEvent

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def organisation(root: Path) -> Org:
    return org.load(root)


def _invitation(engine: Engine, token: str, **values: object) -> Invitation:
    row = Invitation(
        token_hash=links.invitation_hash(token),
        survey_id="experience",
        customer_id="C0000042",
        channel="email",
        language="fr",
        first_name="Léa",
        created_at=NOW - timedelta(days=1),
        expires_at=NOW + timedelta(days=13),
        region="Europe",
        country="FR",
        agency="Paris",
    )
    for k, v in values.items():
        setattr(row, k, v)
    with store.session(engine) as s:
        s.add(row)
    return row


# ---------------------------------------------------------------- open links


def test_same_inputs_give_the_same_path_and_any_input_changes_it() -> None:
    path = links.open_link("experience", "Madrid", "qr", language="es")
    assert path == links.open_link("experience", "Madrid", "qr", language="es")
    assert path.startswith("/s/") and len(path) < 80
    assert set(path.removeprefix("/s/")) <= set(string.ascii_letters + string.digits + "-_.")
    others = {
        links.open_link("experience", "Madrid", "qr"),
        links.open_link("experience", "Madrid", "email", language="es"),
        links.open_link("experience", "Barcelona", "qr", language="es"),
        links.open_link("experience", "Madrid", "qr", language="es", kiosk=True),
        links.open_link("other", "Madrid", "qr", language="es"),
    }
    assert path not in others and len(others) == 5


def test_an_open_link_resolves_to_its_agency_channel_language_and_kiosk_mode(
    sqlite_engine: Engine, organisation: Org
) -> None:
    path = links.open_link("experience", "Madrid", "in_person", language="es", kiosk=True)
    target = links.resolve(sqlite_engine, organisation, path.removeprefix("/s/"))
    assert (target.survey_id, target.agency, target.region, target.country, target.city) == (
        "experience",
        "Madrid",
        "Europe",
        "ES",
        "Madrid",
    )
    assert (target.channel, target.language, target.kiosk) == ("in_person", "es", True)
    assert target.invitation_id is None and target.customer_id is None
    assert target.link == path.removeprefix("/s/")
    plain = links.resolve(sqlite_engine, organisation, links.open_link("experience", "Paris"))
    assert (plain.channel, plain.language, plain.kiosk) == ("qr", None, False)


def test_one_flipped_character_anywhere_in_an_open_link_is_refused(
    sqlite_engine: Engine, organisation: Org
) -> None:
    link = links.open_link("experience", "Madrid", "qr", language="es").removeprefix("/s/")
    for i, char in enumerate(link):
        if char == ".":
            continue
        flipped = link[:i] + ("B" if char == "A" else "A") + link[i + 1 :]
        with pytest.raises(links.LinkError) as refused:
            links.resolve(sqlite_engine, organisation, flipped)
        assert refused.value.status == 404, flipped
        assert str(refused.value) == "This survey link is not valid."


def test_forged_truncated_and_foreign_agency_links_are_refused_alike(
    sqlite_engine: Engine, organisation: Org
) -> None:
    good = links.open_link("experience", "Madrid").removeprefix("/s/")
    payload, mac = good.split(".")
    forged = links.open_link("experience", "Atlantis").removeprefix("/s/")  # signed, not in org
    for bad in (
        payload,
        f"{payload}.",
        f".{mac}",
        f"{payload}.{mac[:-1]}",
        forged,
        "",
        "a/b",
        "x" * 500,
    ):
        with pytest.raises(links.LinkError) as refused:
            links.resolve(sqlite_engine, organisation, bad)
        assert (refused.value.status, refused.value.reason) == (404, links.INVALID)


def test_bad_link_inputs_are_refused_when_making_it() -> None:
    with pytest.raises(ValueError, match="channel"):
        links.open_link("experience", "Madrid", "pigeon")
    with pytest.raises(ValueError, match="language"):
        links.open_link("experience", "Madrid", language="Spanish")
    with pytest.raises(ValueError, match="agency"):
        links.open_link("experience", "Mad\nrid")


def test_absolute_url_uses_the_public_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CX_PUBLIC_URL", raising=False)
    assert links.absolute_url("/s/abc") == "http://localhost:8501/s/abc"
    monkeypatch.setenv("CX_PUBLIC_URL", "https://cx.example.com/")
    assert links.absolute_url("/s/abc") == "https://cx.example.com/s/abc"


# ---------------------------------------------------------------- personal invitations


def test_a_personal_invitation_resolves_to_its_customer(
    sqlite_engine: Engine, organisation: Org
) -> None:
    row = _invitation(sqlite_engine, "tok-valid-123")
    target = links.resolve(sqlite_engine, organisation, "tok-valid-123", now=NOW)
    assert (target.invitation_id, target.customer_id, target.first_name) == (
        row.id,
        "C0000042",
        "Léa",
    )
    assert (target.agency, target.country, target.city, target.language) == (
        "Paris",
        "FR",
        "Paris",
        "fr",
    )
    assert target.kiosk is False and target.personal


@pytest.mark.parametrize(
    ("values", "status", "reason"),
    [
        ({"expires_at": NOW - timedelta(seconds=1)}, 410, links.EXPIRED),
        ({"completed_at": NOW - timedelta(hours=1)}, 410, links.ANSWERED),
    ],
)
def test_expired_and_answered_invitations_are_gone(
    sqlite_engine: Engine, organisation: Org, values: dict[str, object], status: int, reason: str
) -> None:
    _invitation(sqlite_engine, "tok-old-456", **values)
    with pytest.raises(links.LinkError) as refused:
        links.resolve(sqlite_engine, organisation, "/s/tok-old-456", now=NOW)
    assert (refused.value.status, refused.value.reason) == (status, reason)


def test_an_unknown_token_is_not_found(sqlite_engine: Engine, organisation: Org) -> None:
    _invitation(sqlite_engine, "tok-known-789")
    with pytest.raises(links.LinkError) as refused:
        links.resolve(sqlite_engine, organisation, "tok-known-78", now=NOW)
    assert (refused.value.status, refused.value.reason) == (404, links.INVALID)


# ---------------------------------------------------------------- funnel events


def test_open_link_events_are_appended(sqlite_engine: Engine, organisation: Org) -> None:
    target = links.resolve(sqlite_engine, organisation, links.open_link("experience", "Madrid"))
    links.record(sqlite_engine, target, "opened", now=NOW)
    links.record(sqlite_engine, target, "opened", now=NOW + timedelta(minutes=1))
    links.record(sqlite_engine, target, "started", now=NOW + timedelta(minutes=2))
    with store.session(sqlite_engine) as s:
        events = s.exec(select(SurveyEvent).order_by(SurveyEvent.at)).all()
    assert [(e.event, e.agency, e.country, e.channel) for e in events] == [
        ("opened", "Madrid", "ES", "qr"),
        ("opened", "Madrid", "ES", "qr"),
        ("started", "Madrid", "ES", "qr"),
    ]
    with pytest.raises(ValueError, match="unknown survey event"):
        links.record(sqlite_engine, target, "clicked")


def test_an_invitation_keeps_the_first_time_of_each_step(
    sqlite_engine: Engine, organisation: Org
) -> None:
    row = _invitation(sqlite_engine, "tok-steps-1")
    target = links.resolve(sqlite_engine, organisation, "tok-steps-1", now=NOW)
    links.record(sqlite_engine, target, "opened", now=NOW)
    links.record(sqlite_engine, target, "opened", now=NOW + timedelta(hours=1))
    links.record(sqlite_engine, target, "completed", now=NOW + timedelta(hours=2), response_id="R1")
    with store.session(sqlite_engine) as s:
        stored = s.get(Invitation, row.id)
        assert stored is not None
        assert stored.opened_at == NOW
        assert stored.started_at == stored.completed_at == NOW + timedelta(hours=2)
        assert stored.response_id == "R1"
        assert s.exec(select(SurveyEvent)).all() == []


# ---------------------------------------------------------------- QR codes and the poster

URL = "https://cx.example.com" + links.open_link("experience", "Madrid", language="es")


def test_the_png_is_the_code_of_the_url_at_the_expected_size() -> None:
    code = segno.make(URL, error="m")
    assert posters.qr_code(URL).matrix == code.matrix
    image = Image.open(io.BytesIO(posters.qr_png(URL)))
    side = (code.symbol_size(scale=1, border=0)[0] + 2 * posters.BORDER) * posters.PNG_SCALE
    assert image.size == (side, side)
    # the top-left finder pattern: dark 7x7 modules after the quiet zone, a light ring inside
    px = image.convert("L")
    at = posters.BORDER * posters.PNG_SCALE
    module = posters.PNG_SCALE
    assert px.getpixel((at + module // 2, at + module // 2)) < 64
    assert px.getpixel((at + module + module // 2, at + module + module // 2)) > 192
    assert px.getpixel((at - module // 2, at - module // 2)) > 192


def test_the_png_decodes_back_to_the_url_when_a_decoder_is_installed() -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(posters.qr_png(URL))))
    assert [r.text for r in found] == [URL]


def test_the_svg_draws_the_same_code() -> None:
    svg = ET.fromstring(posters.qr_svg(URL))
    assert svg.tag.endswith("svg")
    side = (segno.make(URL, error="m").symbol_size(scale=1, border=0)[0] + 2 * posters.BORDER) * 10
    assert (float(svg.get("width") or 0), float(svg.get("height") or 0)) == (side, side)
    expected = io.BytesIO()
    segno.make(URL, error="m").save(
        expected, kind="svg", scale=10, border=posters.BORDER, xmldecl=True
    )
    assert posters.qr_svg(URL) == expected.getvalue()


def test_the_poster_is_one_a4_page_with_the_agency_and_the_address(tmp_path: Path) -> None:
    path = posters.write(
        URL, tmp_path / "madrid.pdf", agency="Madrid", place="Madrid, Spain", languages=["es"]
    )
    reader = PdfReader(path)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    text = reader.pages[0].extract_text()
    assert "Madrid" in text and "¿Qué tal su visita?" in text and "How was your visit?" in text
    assert URL.removeprefix("https://") in text.replace("\n", "")
    assert reader.pages[0].images, "the QR code is an image on the page"


def test_write_picks_the_format_by_suffix(tmp_path: Path) -> None:
    assert posters.write(URL, tmp_path / "a.png", agency="Madrid").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in posters.write(URL, tmp_path / "a.svg", agency="Madrid").read_bytes()
    with pytest.raises(ValueError, match="ends in"):
        posters.write(URL, tmp_path / "a.gif", agency="Madrid")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "a.svg"]
