"""Masking of personal data in free text: every comment shown, exported or e-mailed goes through
:func:`mask_pii` first.

E-mail addresses become ``[email]``, IBANs ``[iban]``, payment-card numbers ``[card]`` and phone
numbers ``[phone]``. Phone formats cover international numbers (``+CC …`` or ``00CC …``) and the
national formats of the demo countries (ES, FR, GB, MX, AR, RU, US) with spaces, dots, dashes or
brackets. Plain Polars regex replacements: vectorised, no per-row Python.
"""

from __future__ import annotations

import polars as pl

B = r"(?-u:\b)"  # ASCII word boundary: fast on any script, and digits are ASCII anyway
SEP = r"[ .\-]?"

EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
IBAN = (
    rf"{B}[A-Z]{{2}}\d{{2}}(?: ?[A-Z0-9]{{4}}){{2,7}}(?: ?[A-Z0-9]{{1,3}})?{B}"
    rf"|(?i:{B}[a-z]{{2}}\d{{2}}(?: ?\d{{4}}){{3,7}}(?: ?\d{{1,3}})?{B})"
)
CARD = (
    rf"{B}3[47]\d{{2}}[ \-]?\d{{6}}[ \-]?\d{{5}}{B}"
    rf"|{B}\d{{4}}[ \-]?\d{{4}}[ \-]?\d{{4}}[ \-]?\d{{1,7}}{B}"
)
_PHONES = [
    # international: +CC or 00CC, then at least two more digit groups (brackets allowed)
    rf"\+\d{{1,3}}{SEP}(?:\(\d{{1,4}}\){SEP})?\d{{1,4}}(?:{SEP}\d{{1,4}}){{1,5}}",
    rf"{B}00\d{{1,3}}{SEP}(?:\(\d{{1,4}}\){SEP})?\d{{1,4}}(?:{SEP}\d{{1,4}}){{2,5}}{B}",
    # RU 8 (912) 345-67-89
    rf"{B}8{SEP}\(?\d{{3}}\)?{SEP}\d{{3}}{SEP}\d{{2}}{SEP}\d{{2}}{B}",
    # AR 011 15-4123-4567, (011) 4123-4567, 11 15 4123 4567
    rf"\(0?\d{{2,4}}\){SEP}(?:15{SEP})?\d{{3,4}}{SEP}\d{{4}}{B}",
    rf"{B}0\d{{2,4}}{SEP}(?:15{SEP})?\d{{3,4}}{SEP}\d{{4}}{B}",
    rf"{B}\d{{2,4}}{SEP}15{SEP}\d{{4}}{SEP}\d{{4}}{B}",
    # FR 06 12 34 56 78
    rf"{B}0[1-9](?:{SEP}\d{{2}}){{4}}{B}",
    # GB 07700 900123, 020 7946 0958, 0161 496 0000
    rf"{B}0\d{{2,4}}[ \-]?\d{{3,4}}[ \-]?\d{{3,4}}{B}",
    # US (212) 555-0123, 1-800-555-0199; MX (55) 1234-5678, 55 1234 5678
    rf"(?:{B}1{SEP})?\(\d{{2,3}}\){SEP}\d{{3,4}}{SEP}\d{{4}}{B}",
    rf"(?:{B}1{SEP})?{B}\d{{3}}{SEP}\d{{3}}{SEP}\d{{4}}{B}",
    rf"{B}\d{{2}}{SEP}\d{{4}}{SEP}\d{{4}}{B}",
    # ES 612 345 678, 612345678, 91 234 56 78, 912 34 56 78
    rf"{B}[6789]\d{{2}}(?:{SEP}\d{{3}}){{2}}{B}",
    rf"{B}[6789]\d{{2}}(?:{SEP}\d{{2}}){{3}}{B}",
    rf"{B}[6789]\d{SEP}\d{{3}}(?:{SEP}\d{{2}}){{2}}{B}",
]
PHONE = "|".join(_PHONES)

MASKS: tuple[tuple[str, str], ...] = (
    (EMAIL, "[email]"),
    (IBAN, "[iban]"),
    (CARD, "[card]"),
    (PHONE, "[phone]"),
)


def mask_pii(expr: pl.Expr) -> pl.Expr:
    """Replace e-mails, IBANs, card and phone numbers in a text expression by placeholders.

    >>> pl.select(mask_pii(pl.lit("Call +34 612 345 678 or mail ana@x.es"))).item()
    'Call [phone] or mail [email]'
    """
    for pattern, placeholder in MASKS:
        expr = expr.str.replace_all(pattern, placeholder)
    return expr


def mask_text(text: str) -> str:
    """:func:`mask_pii` for one Python string (CLI messages, e-mail bodies)."""
    return str(pl.select(mask_pii(pl.lit(text, pl.String))).item())
