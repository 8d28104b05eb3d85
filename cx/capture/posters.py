"""Printable QR codes of open survey links: PNG or SVG (segno), and a one-page A4 poster for the
counter (fpdf2, the report's fonts and palette): the agency, a call to action per language, the
QR code and the address under it for those who type it."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import segno

from cx.reports.layout import BRAND, INK, MUTED

FONT_DIR = Path(__file__).parent.parent / "config" / "fonts"
FORMATS = (".png", ".svg", ".pdf")
ERROR_LEVEL = "m"
"""Medium error correction: survives a scuffed or partly covered print, keeps the code small."""
PNG_SCALE = 10
BORDER = 4
A4_MM = (210.0, 297.0)

CALL_TO_ACTION: dict[str, tuple[str, str]] = {
    "en": ("How was your visit?", "Scan the code: two minutes to tell us."),
    "es": ("¿Qué tal su visita?", "Escanee el código: dos minutos para contárnoslo."),
    "fr": (
        "Comment s’est passée votre visite ?",
        "Scannez le code : deux minutes pour nous le dire.",
    ),
    "ru": ("Как прошёл ваш визит?", "Отсканируйте код: две минуты, чтобы рассказать нам."),
    "de": ("Wie war Ihr Besuch?", "Code scannen: zwei Minuten für Ihre Meinung."),
    "it": ("Com’è andata la sua visita?", "Inquadri il codice: due minuti per dircelo."),
    "pt": ("Como foi a sua visita?", "Leia o código: dois minutos para nos contar."),
}
"""Heading and line of the poster per language (a language without one is left out)."""


def qr_code(url: str) -> segno.QRCode:
    """The QR code of ``url`` (the same for every format, so every print scans the same)."""
    return segno.make(url, error=ERROR_LEVEL, micro=False)


def qr_png(url: str, *, scale: int = PNG_SCALE) -> bytes:
    """A PNG of the code: ``scale`` pixels per module, a quiet zone of 4 modules."""
    out = io.BytesIO()
    qr_code(url).save(out, kind="png", scale=scale, border=BORDER)
    return out.getvalue()


def qr_svg(url: str) -> bytes:
    """An SVG of the code (scales to any print size)."""
    out = io.BytesIO()
    qr_code(url).save(out, kind="svg", scale=PNG_SCALE, border=BORDER, xmldecl=True)
    return out.getvalue()


def poster_languages(preferred: Sequence[str | None]) -> list[str]:
    """The poster's languages: those given, in order, that have a call to action, then English."""
    out: list[str] = []
    for lang in [*preferred, "en"]:
        if lang and lang in CALL_TO_ACTION and lang not in out:
            out.append(lang)
    return out


def _display_url(url: str) -> str:
    return url.removeprefix("https://").removeprefix("http://")


def poster_pdf(
    url: str, *, agency: str, place: str = "", languages: Sequence[str] = ("en",)
) -> bytes:
    """One A4 portrait page: the agency on a brand band, one call to action per language, the
    QR code (up to 14 cm) and the address under it."""
    from fpdf import FPDF  # slow to import: only when a poster is written

    width, height = A4_MM
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(18, 18, 18)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"Survey poster — {agency}")
    pdf.add_page()
    inner = width - 36

    pdf.set_fill_color(*BRAND)
    pdf.rect(0, 0, width, 46, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_xy(18, 12)
    pdf.set_font("DejaVu", "B", 34)
    pdf.cell(inner, 14, agency, align="C")
    if place:
        pdf.set_xy(18, 29)
        pdf.set_font("DejaVu", "", 14)
        pdf.cell(inner, 8, place, align="C")

    langs = poster_languages(languages) or ["en"]
    heading = 20 if len(langs) <= 2 else 16
    y = 56.0
    for lang in langs:
        title, line = CALL_TO_ACTION[lang]
        pdf.set_xy(18, y)
        pdf.set_text_color(*INK)
        pdf.set_font("DejaVu", "B", heading)
        pdf.cell(inner, heading * 0.45, title, align="C")
        y += heading * 0.45 + 1.5
        pdf.set_xy(18, y)
        pdf.set_text_color(*MUTED)
        pdf.set_font("DejaVu", "", heading * 0.7)
        pdf.cell(inner, heading * 0.35, line, align="C")
        y += heading * 0.35 + 6

    side = min(140.0, height - y - 40)
    x = (width - side) / 2
    pdf.image(io.BytesIO(qr_png(url, scale=PNG_SCALE)), x=x, y=y + 2, w=side, h=side)
    y += side + 6

    shown = _display_url(url)
    size = 13.0
    pdf.set_font("DejaVu", "", size)
    while pdf.get_string_width(shown) > inner and size > 7:
        size -= 0.5
        pdf.set_font("DejaVu", "", size)
    pdf.set_text_color(*INK)
    pdf.set_xy(18, y)
    pdf.cell(inner, size * 0.45, shown, align="C", link=url)

    pdf.set_fill_color(*BRAND)
    pdf.rect(0, height - 8, width, 8, style="F")
    return bytes(pdf.output())


def write(
    url: str,
    path: Path | str,
    *,
    agency: str,
    place: str = "",
    languages: Sequence[str] = ("en",),
) -> Path:
    """Write the code of ``url`` to ``path`` by its suffix: ``.png``, ``.svg`` or ``.pdf`` (the poster)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path.name}: a QR file ends in {', '.join(FORMATS)}")
    if suffix == ".png":
        content = qr_png(url)
    elif suffix == ".svg":
        content = qr_svg(url)
    else:
        content = poster_pdf(url, agency=agency, place=place, languages=languages)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    tmp.replace(path)
    return path
