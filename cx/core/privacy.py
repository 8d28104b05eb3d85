"""Masking of personal data in free text: every comment shown, exported or e-mailed goes through
:func:`mask_pii` first (the wave files alone keep the raw text).

What is masked, in this order:

- e-mail addresses → ``[email]``: Unicode and internationalised ones (``josé.garcía@correo.es``,
  ``ivan@почта.рф``) and spelled-out ones (``ana arroba correo punto es``, ``ana [at] mail [dot]
  com``, ``иван собака mail точка ru``, ``jean arobase orange point fr``);
- IBANs → ``[iban]``;
- national identity, passport, tax and social-security numbers of the demo countries → ``[id]``:
  by shape (ES DNI/NIE, FR NIR, GB NINO, US SSN, MX CURP/RFC, AR CUIL/CUIT, RU passport/SNILS,
  FR passport) and, for the shapes that are only digits (AR DNI, RU INN, passports…), next to a
  keyword such as ``DNI``, ``passport``, ``паспорт``, ``ИНН``, ``sécurité sociale``;
- payment cards → ``[card]``: 13-19 digit card-shaped numbers whose Luhn checksum holds and whose
  first digit is a card network's (2-6); a card-shaped number failing Luhn (an order number) is
  left as it is and is not mistaken for a phone number afterwards;
- phone numbers → ``[phone]``: international (``+CC …``, ``(+CC) …``, ``00CC …``), the national
  formats of ES, FR, GB, MX, AR, RU and US with spaces, dots, dashes, slashes or brackets
  (``612/345/678``, ``(91) 234 56 78``, ``555-1234``), any other run of 3 to 6 digit groups
  joined by single separators holding 9 to 13 digits in all, and a local 7-digit number
  (``555 1234``, ``123-45-67``) after a word such as "call", "llámame", "позвоните".

Dates (``12/05/2024``), times, prices, postcodes, versions and short order numbers stay intact.
Everything runs as Polars operations on a whole column (no per-row Python): regex replacements,
the Luhn check and the digit count on the distinct candidates, and the costly patterns only on
the rows a cheap test lets through (a digit, an ``@`` or an "at" word).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

B = r"(?-u:\b)"  # ASCII word boundary: fast on any script, and digits are ASCII anyway
SEP = r"[ .\-/]?"

# ---------------------------------------------------------------- e-mail addresses

_W = r"\p{L}\p{M}\p{N}"
_LABEL = rf"[{_W}](?:[{_W}\-]*[{_W}])?"
EMAIL = (
    rf"[{_W}_%+\-'’](?:[{_W}._%+\-'’]*[{_W}_%+\-])?"  # local part, any script
    rf"\s?[@＠]\s?{_LABEL}(?:\.{_LABEL})*\.(?:\p{{L}}{{2,}}|xn--[a-z0-9\-]+)"
)
_AT_WORD = r"(?:at|arroba|arobase|arrobase|собака|собачка)"
_DOT_WORD = r"(?:dot|punto|point|точка)"
_AT = (
    rf"(?:\s*[\(\[\{{<«\"']\s*(?:{_AT_WORD}|@)\s*[\)\]\}}>»\"']\s*"
    rf"|\s+{_AT_WORD}\s+|\s*[@＠]\s*|\s*-at-\s*|\s*_at_\s*)"
)
_DOT = (
    rf"(?:\s*[\(\[\{{<«\"']\s*(?:{_DOT_WORD}|\.)\s*[\)\]\}}>»\"']\s*"
    rf"|\s+{_DOT_WORD}\s+|\.|\s*-dot-\s*|\s*_dot_\s*)"
)
_TLDS = (
    "com|net|org|info|biz|edu|gov|gob|gouv|mil|int|io|co|tv|eu|es|fr|ru|uk|us|mx|ar|de|pt|"
    "br|ca|ch|nl|cl|pe|uy|ve|ec|bo|py|cat|gal|eus|ua|kz|su|рф|online|site|email|mail|"
    "xyz|app|dev|cloud"
)
_PART = rf"[{_W}_%+\-]+"
SPELLED_EMAIL = (
    rf"(?i:{_PART}(?:{_DOT}{_PART})*{_AT}{_PART}(?:{_DOT}{_PART})*{_DOT})"
    rf"(?:{_TLDS}|{_TLDS.upper()})\b"  # a top-level domain in one case: not "home.It"
)

# ---------------------------------------------------------------- bank accounts

IBAN = (
    rf"{B}[A-Z]{{2}}\d{{2}}(?: ?[A-Z0-9]{{4}}){{2,7}}(?: ?[A-Z0-9]{{1,3}})?{B}"
    rf"|(?i:{B}[a-z]{{2}}\d{{2}}(?: ?\d{{4}}){{3,7}}(?: ?\d{{1,3}})?{B})"
)

# ---------------------------------------------------------------- identity numbers

_MONTH = r"(?:0[1-9]|1[0-2])"
_DAY = r"(?:0[1-9]|[12]\d|3[01])"
_DNI_LETTER = "A-HJ-NP-TV-Z"
_ID_SHAPES = [
    # ES DNI 12345678Z, 12.345.678-Z, 12345678 Z; NIE X1234567L
    rf"{B}(?:\d{{8}}|\d{{2}}\.\d{{3}}\.\d{{3}})(?:[ \-]?[{_DNI_LETTER}]|[a-hj-np-tv-z]){B}",
    rf"{B}[XYZxyz][ \-]?\d{{7}}[ \-]?[A-Za-z]{B}",
    # FR NIR 1 85 05 78 006 084 36 (13 digits and a 2-digit key; Corsica 2A/2B); bare: all 15
    rf"{B}[12][ .]\d{{2}}[ .]\d{{2}}[ .](?:\d{{2}}|2[ABab])[ .]\d{{3}}[ .]\d{{3}}(?:[ .]\d{{2}})?{B}",
    rf"{B}[12]\d{{2}}(?:{_MONTH}|[2-9]\d)(?:\d{{2}}|2[ABab])\d{{8}}{B}",
    # GB National Insurance number AB 12 34 56 C
    rf"(?i:{B}[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{{2}} ?\d{{2}} ?\d{{2}} ?[A-D]{B})",
    # US SSN 123-45-6789, 123 45 6789
    rf"{B}\d{{3}}-\d{{2}}-\d{{4}}{B}|{B}\d{{3}} \d{{2}} \d{{4}}{B}",
    # MX CURP GODE561231HDFRRN09 and RFC GODE561231GR8 / ABC-561231-XY1
    rf"(?i:{B}[A-Z]{{4}}\d{{2}}{_MONTH}{_DAY}[HMX][A-Z]{{5}}[A-Z0-9]\d{B})",
    rf"{B}[A-Z&Ñ]{{3,4}}[ \-]?\d{{2}}{_MONTH}{_DAY}[ \-]?[A-Z0-9]{{3}}{B}",
    # AR CUIL / CUIT 20-12345678-3, 27.12.345.678.4
    rf"{B}(?:20|23|24|27|30|33|34)[ \-.]?(?:\d{{8}}|\d{{2}}\.\d{{3}}\.\d{{3}})[ \-.]?\d{B}",
    # RU passport 45 06 123456, 4506 123456 (серия 4506 номер 123456: RU_PASSPORT); SNILS
    rf"{B}\d{{2}} \d{{2}} (?:№ ?)?\d{{6}}{B}|{B}\d{{4}} (?:№ ?)?\d{{6}}{B}",
    rf"{B}\d{{3}}[\- ]\d{{3}}[\- ]\d{{3}}[\- ]\d{{2}}{B}",
    # FR passport 12AB34567; ES social security 28/12345678/40
    rf"{B}\d{{2}}[A-Z]{{2}}\d{{5}}{B}",
    rf"{B}\d{{2}}/\d{{7,8}}/\d{{2}}{B}",
]
ID_SHAPES = "|".join(_ID_SHAPES)
RU_PASSPORT = r"(?i:серии|серия)\s*\d{2}\s?\d{2}\s*(?:(?:номер|№|н\.)\s*)?\d{6}\b"
_ID_KEYWORDS = (
    r"d\.?n\.?i|n\.?i\.?e|n\.?i\.?f|documento(?: nacional)?(?: de identidad)?|c[ée]dula"
    r"|pasaporte|passport|passeport|паспорта?|паспорте|загранпаспорта?"
    r"|ssn|social security(?: number| no)?|national insurance(?: number| no)?|nino|ni number"
    r"|seguridad social|seguro social|s[ée]curit[ée] sociale|s[ée]cu|carte vitale|nir|nss|imss"
    r"|cuil|cuit|curp|rfc|clave de elector|ine|cif"
    r"|снилс|инн|номер паспорта|паспортные данные"
    r"|carte d'identit[ée]|carte nationale d'identit[ée]|cni|id card|national id|identity card"
    r"|driver'?s licen[cs]e|permis de conduire|carn[ée] de conducir|licencia de conducir"
)
_ID_NUMBER = rf"(?:[A-Z]{{1,4}}-?)?(?:\d[ .\-/]?){{4,}}\d(?:[A-Z0-9]*|[ \-][A-Z]{B})"  # ≥ 6 digits
ID_AFTER_KEYWORD = rf"(?i)(\b(?:{_ID_KEYWORDS})\b[^\d\n\[\];!?]{{0,25}}?){_ID_NUMBER}"
ID_BEFORE_KEYWORD = rf"(?i){B}(?:\d{{1,2}}\.\d{{3}}\.\d{{3}}|\d{{7,12}}){B}([^\d\n\[\];!?]{{0,20}}?\b(?:{_ID_KEYWORDS})\b)"
"""``30123456 es mi DNI``: a bare number named by a keyword right after it."""
KEYWORD_GATE = (
    r"(?i)dni|d\.n\.i|nie|nif|document|c[ée]dula|pasaport|passport|passeport|паспорт|ssn|social"
    r"|insurance|nino|ni number|segur|s[ée]cu|vitale|nir|nss|imss|cuil|cuit|curp|rfc|elector|ine|cif"
    r"|снилс|инн|identit|cni|id card|national id|licen[cs]e|permis|carn|серия|серии"
)
"""Rows where an identity keyword may stand (a cheap literal test before the costly pattern)."""
_PHONE_KEYWORDS = (
    r"tel|tél|tfno|telf|tel[ée]fono|t[ée]l[ée]phone|phone|call|cell|mobile|whatsapp|m[óo]vil"
    r"|celular|portable|fixe|ll[aá]m\w*|appel\w*|rappel\w*|номер|тел\.?|телефон\w*|звон\w*"
    r"|позвон\w*|перезвон\w*"
)
PHONE_AFTER_KEYWORD = (
    rf"(?i)(\b(?:{_PHONE_KEYWORDS})(?:\b|\.)[^\d\n\[\];!?]{{0,20}}?)"
    rf"(?:\d{{3}}[ .\-]\d{{4}}|\d{{3}}[ .\-]\d{{2}}[ .\-]\d{{2}}){B}"
)
"""Local 7-digit numbers (US ``555 1234``, RU ``123-45-67``) are phones when a word says so."""
PHONE_GATE = (
    r"(?i)tel|tél|tfno|phone|call|cell|mobile|whatsapp|vil|celular|portable|fixe|llam|llám|ppel"
    r"|номер|тел|звон"
)

# ---------------------------------------------------------------- payment cards

CARD_SHAPE = (
    rf"{B}[1-9]\d{{3}}(?:[ .\-]?\d{{4}}){{2}}[ .\-]?\d{{1,7}}{B}"  # 4-4-4-(1..7) or 13-19 in a row
    rf"|{B}3\d{{3}}[ \-]?\d{{6}}[ \-]?\d{{4,5}}{B}"  # Amex 4-6-5, Diners 4-6-4
)
_PROTECT = {" ": "\ue000", "-": "\ue001", ".": "\ue002"}
"""Separators of a Luhn-invalid card-shaped number while phones are masked (private-use code
points), so that ``1234 5678 9012 3456`` is not read as a phone number followed by digits."""

# ---------------------------------------------------------------- phone numbers

PHONE_INTERNATIONAL = (
    # +CC or (+CC), then at least two more digit groups (brackets allowed)
    rf"(?:\(\+?\d{{1,3}}\)|\+\d{{1,3}}){SEP}(?:\(\d{{1,4}}\){SEP})?\d{{1,4}}(?:{SEP}\d{{1,4}}){{1,5}}"
)
_PHONES = [
    # 00CC, then at least three more digit groups (after the cards: 5500-0000-0000-0004 is one)
    rf"{B}00[1-9]\d{{0,2}}[ .\-/](?:\(\d{{1,4}}\){SEP})?\d{{1,4}}(?:[ .\-/]\d{{1,4}}){{1,5}}{B}",
    rf"{B}00[1-9]\d{{8,13}}{B}",
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
    # US (212) 555-0123, 1-800-555-0199, 555-1234; MX (55) 1234-5678, 55 1234 5678
    rf"(?:{B}1{SEP})?\(\d{{2,3}}\){SEP}\d{{3,4}}{SEP}\d{{4}}{B}",
    rf"(?:{B}1{SEP})?{B}\d{{3}}{SEP}\d{{3}}{SEP}\d{{4}}{B}",
    rf"{B}\d{{3}}[\-.]\d{{4}}{B}",
    rf"{B}\d{{2}}{SEP}\d{{4}}{SEP}\d{{4}}{B}",
    # ES 612 345 678, 612/345/678, 612345678, 91 234 56 78, 912 34 56 78, (91) 234 56 78
    rf"{B}[6789]\d{{2}}(?:{SEP}\d{{3}}){{2}}{B}",
    rf"{B}[6789]\d{{2}}(?:{SEP}\d{{2}}){{3}}{B}",
    rf"{B}[6789]\d{SEP}\d{{3}}(?:{SEP}\d{{2}}){{2}}{B}",
    rf"\([6789]\d{{1,2}}\){SEP}\d{{2,3}}(?:{SEP}\d{{2,3}}){{1,3}}{B}",
]
PHONE_NATIONAL = "|".join(_PHONES)
PHONE_GROUPS = rf"\(?{B}\d{{2,4}}\)?(?:[ .\-/]\(?\d{{1,4}}\)?){{2,5}}{B}"
"""Any other run of digit groups: a phone number when it holds 9 to 13 digits (counted below)."""
PHONE_DIGITS = (9, 13)
DATE = (
    rf"{B}\d{{1,2}}[./\-]\d{{1,2}}[./\-](?:\d{{4}}|\d{{2}}){B}"
    rf"|{B}\d{{4}}[./\-]\d{{1,2}}[./\-]\d{{1,2}}{B}|\d{{1,2}}[.:]\d{{2}}(?:[ \-]\d{{1,2}}[.:]\d{{2}})+"
)
"""Dates and runs of times inside a group run: never a phone number."""

AT_GATE = r"[@＠]|_at_|(?i:(?-u:\b)at(?-u:\b)|arroba|arobase|собак)"
DOT_GATE = rf"(?i:dot|punto|point|точка)|\.(?:{_TLDS})"
"""Rows that may hold a spelled-out address: an "at" and a "dot" (cheap tests first)."""
DIGIT_GATE = r"\d"
"""Rows that may hold a number: only they go through the IBAN, identity, card and phone steps."""
PLACEHOLDERS = ("[email]", "[iban]", "[id]", "[card]", "[phone]")


def luhn_valid(digits: pl.Expr) -> pl.Expr:
    """Whether a string of digits passes the Luhn checksum (payment cards), as an expression.

    >>> pl.select(luhn_valid(pl.Series(["4111111111111111", "4111111111111112"]))).to_series().to_list()
    [True, False]
    """
    d = digits.str.reverse().str.split("").list.eval(pl.element().cast(pl.Int64))
    doubled = d.list.gather_every(2, 1).list.eval(
        pl.when(pl.element() >= 5).then(pl.element() * 2 - 9).otherwise(pl.element() * 2)
    )
    return (d.list.gather_every(2, 0).list.sum() + doubled.list.sum()) % 10 == 0


def _distinct(texts: pl.Series, pattern: str) -> pl.Series:
    """The distinct matches of ``pattern`` over a whole column."""
    return texts.str.extract_all(pattern).explode().drop_nulls().unique()


def _replace(texts: pl.Series, found: pl.Series, values: pl.Series | str) -> pl.Series:
    """Replace each string of ``found`` (longest first, so a candidate never splits a longer one)."""
    if found.is_empty():
        return texts
    order = found.str.len_chars().arg_sort(descending=True)
    patterns = found.gather(order).to_list()
    replace = (
        [values] * len(patterns) if isinstance(values, str) else values.gather(order).to_list()
    )
    return texts.str.replace_many(patterns, replace, leftmost=True)


def _emails(texts: pl.Series) -> pl.Series:
    texts = _where(texts, "[@＠]", lambda t: t.str.replace_all(EMAIL, "[email]"))
    return _where(texts, DOT_GATE, lambda t: t.str.replace_all(SPELLED_EMAIL, "[email]"))


def _numbers(texts: pl.Series) -> pl.Series:
    """IBANs, international phones, cards, identity numbers, then the other phone numbers.

    Cards: Luhn on the distinct card-shaped candidates, one multi-pattern replacement; a candidate
    failing Luhn keeps protected separators until the phones are done. Phones: runs of digit
    groups holding 9 to 13 digits (counted on the distinct runs), then the national formats.
    """
    texts = texts.str.replace_all(IBAN, "[iban]").str.replace_all(PHONE_INTERNATIONAL, "[phone]")
    cards = _distinct(texts, CARD_SHAPE).to_frame("c")
    if cards.height:
        cards = cards.with_columns(digits=pl.col("c").str.replace_all(r"\D", "")).with_columns(
            card=luhn_valid(pl.col("digits")) & pl.col("digits").str.contains("^[2-6]")
        )
        texts = _replace(texts, cards.filter("card")["c"], "[card]")
        kept = cards.filter(~pl.col("card"))["c"]
        texts = _replace(texts, kept, kept.str.replace_many(_PROTECT))
    texts = texts.str.replace_all(ID_SHAPES, "[id]")
    texts = _where(
        texts,
        KEYWORD_GATE,
        lambda t: (
            t.str.replace_all(RU_PASSPORT, "[id]")
            .str.replace_all(ID_AFTER_KEYWORD, "${1}[id]")
            .str.replace_all(ID_BEFORE_KEYWORD, "[id]${1}")
        ),
    )
    groups = _distinct(texts, PHONE_GROUPS)
    phones = groups.filter(
        groups.str.count_matches(r"\d").is_between(*PHONE_DIGITS) & ~groups.str.contains(DATE)
    )
    texts = _replace(texts, phones, "[phone]").str.replace_all(PHONE_NATIONAL, "[phone]")
    texts = _where(
        texts, PHONE_GATE, lambda t: t.str.replace_all(PHONE_AFTER_KEYWORD, "${1}[phone]")
    )
    return texts.str.replace_many(list(_PROTECT.values()), list(_PROTECT))


def _where(texts: pl.Series, gate: str, step: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """Apply ``step`` to the rows matching the cheap ``gate`` pattern only."""
    hit = texts.str.contains(gate).fill_null(False)
    if not hit.any():
        return texts
    out = texts.clone()
    out.scatter(hit.arg_true(), step(texts.filter(hit)))
    return out


def mask_series(texts: pl.Series) -> pl.Series:
    """:func:`mask_pii` on a whole column at once (what the expression runs, batch by batch)."""
    texts = texts.cast(pl.String)
    return _where(_where(texts, AT_GATE, _emails), DIGIT_GATE, _numbers)


def mask_pii(expr: pl.Expr) -> pl.Expr:
    """Replace e-mails, IBANs, identity, card and phone numbers in a text expression by placeholders.

    >>> pl.select(mask_pii(pl.lit("Call +34 612 345 678 or mail josé.garcía@correo.es"))).item()
    'Call [phone] or mail [email]'
    >>> pl.select(mask_pii(pl.lit("DNI 12345678Z, card 4111 1111 1111 1111, order 1234 5678 9012 3456"))).item()
    'DNI [id], card [card], order 1234 5678 9012 3456'
    """
    return expr.map_batches(mask_series, return_dtype=pl.String, is_elementwise=True)


def mask_text(text: str) -> str:
    """:func:`mask_pii` for one Python string (CLI messages, e-mail bodies)."""
    return mask_texts([text])[0]


def mask_texts(texts: list[str]) -> list[str]:
    """:func:`mask_pii` for many Python strings in one pass (a batch of answers).

    >>> mask_texts(["ana@x.es", "no personal data", ""])
    ['[email]', 'no personal data', '']
    """
    if not texts:
        return []
    return [str(v) for v in mask_series(pl.Series(texts, dtype=pl.String)).to_list()]


def mask_frame(frame: pl.DataFrame, columns: tuple[str, ...] = ("comment",)) -> pl.DataFrame:
    """The frame with its free-text columns masked (exports, previews, quarantine files).

    >>> mask_frame(pl.DataFrame({"comment": ["mail ana@x.es"], "nps": [3]})).row(0)
    ('mail [email]', 3)
    """
    present = [c for c in columns if c in frame.columns and frame.schema[c] == pl.String]
    return frame.with_columns(mask_pii(pl.col(c)).alias(c) for c in present) if present else frame
