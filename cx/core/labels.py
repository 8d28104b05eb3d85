"""Display names shared by queries, charts, reports and screens, so a label reads the same
everywhere (one table each, not a copy per area): entity names with their plurals, and the
attribute and theme names of customer-facing texts in the customer's language
(``cx/config/locale/names.yaml``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType

import polars as pl
import yaml

ENTITIES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "region": ("region", "regions"),
        "country": ("country", "countries"),
        "agency": ("agency", "agencies"),
        "advisor": ("advisor", "advisors"),
        "channel": ("channel", "channels"),
        "segment": ("segment", "segments"),
        "touchpoint": ("touchpoint", "touchpoints"),
        "rfm_tier": ("RFM tier", "RFM tiers"),
        "attribute": ("attribute", "attributes"),
        "theme": ("theme", "themes"),
        "wave": ("wave", "waves"),
        "response": ("response", "responses"),
        "comment": ("comment", "comments"),
        "customer": ("customer", "customers"),
        "case": ("case", "cases"),
        "plan": ("plan", "plans"),
        "task": ("task", "tasks"),
        "alert": ("alert", "alerts"),
        "row": ("row", "rows"),
    }
)
"""Entity (or breakdown level) -> its (singular, plural) in running text: the one place for both."""

_ALIASES = {"advisor_id": "advisor", "agencies": "agency", "countries": "country"}

CHANNELS: Mapping[str, str] = MappingProxyType(
    {
        "email": "E-mail",
        "sms": "SMS",
        "web": "Web",
        "qr": "QR code",
        "ivr": "IVR",
        "phone": "Phone",
        "in_person": "In person",
        "chat": "Chat",
    }
)
"""Channel code (as stored) -> its name on a screen, a chart or a report."""


def shown_values(frame: pl.DataFrame, level: str) -> pl.DataFrame:
    """``frame`` with the codes of its ``level`` column replaced by their display names (channels:
    ``in_person`` reads "In person"); other levels, already names, unchanged."""
    if level != "channel" or level not in frame.columns:
        return frame
    return frame.with_columns(pl.col(level).replace(dict(CHANNELS)))


def _forms(entity: str) -> tuple[str, str]:
    key = _ALIASES.get(entity, entity)
    if key in ENTITIES:
        return ENTITIES[key]
    word = key.replace("_", " ")
    return word, word + "s"  # an unlisted noun: the regular plural (list irregular ones above)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def singular(entity: str) -> str:
    """The entity's name as a heading or column title.

    >>> singular("agency"), singular("advisor_id"), singular("rfm_tier")
    ('Agency', 'Advisor', 'RFM tier')
    """
    return _capital(_forms(entity)[0])


def plural(entity: str) -> str:
    """The entity's plural as a heading or title ("Agencies ranked by NPS").

    >>> plural("agency"), plural("country"), plural("advisor_id"), plural("region")
    ('Agencies', 'Countries', 'Advisors', 'Regions')
    """
    return _capital(_forms(entity)[1])


def noun(entity: str, n: int) -> str:
    """The entity's word in running text for ``n`` of them (lower case but for acronyms).

    >>> noun("agency", 1), noun("agency", 3), noun("country", 0)
    ('agency', 'agencies', 'countries')
    """
    one, many = _forms(entity)
    return one if n == 1 else many


def count(n: int, entity: str) -> str:
    """``n`` and the right form of the entity's word.

    >>> count(1, "agency"), count(3, "agency"), count(1200, "response"), count(0, "country")
    ('1 agency', '3 agencies', '1,200 responses', '0 countries')
    """
    return f"{n:,} {noun(entity, n)}"


LEVEL_LABELS = {
    level: singular(level)
    for level in ("region", "country", "agency", "advisor_id", "channel", "segment")
}
"""Breakdown level (a response column) -> its name on screen."""

QUADRANTS = ("key_strength", "improvement_area", "secondary_strength", "secondary_weakness")
"""Key-driver quadrants (``cx drivers``'s ``quadrant`` values), in reading order."""

QUADRANT_LABELS = {
    "key_strength": "Key strength",
    "improvement_area": "Improvement area",
    "secondary_strength": "Secondary strength",
    "secondary_weakness": "Secondary weakness",
}
"""Quadrant id -> its name on screen.

>>> [QUADRANT_LABELS[q] for q in QUADRANTS][:2]
['Key strength', 'Improvement area']
"""


def change_note() -> pl.Expr:
    """The note of a breakdown or trend row, the same on screen and in reports: hidden (n < 5),
    low base, or a significant move up or down (from ``suppressed``, ``low_base``, ``significant``
    and ``change``).

    >>> rows = pl.DataFrame({"suppressed": [True, False, False, False], "low_base": [False, True, False, False],
    ...                      "significant": [False, False, True, False], "change": [None, 1.0, -4.2, 3.0]})
    >>> rows.select(change_note())["note"].to_list()
    ['hidden (n < 5)', 'low base', '▼ significant', '']
    """
    return (
        pl.when(pl.col("suppressed"))
        .then(pl.lit("hidden (n < 5)"))
        .when(pl.col("low_base"))
        .then(pl.lit("low base"))
        .when(pl.col("significant") & (pl.col("change") > 0))
        .then(pl.lit("▲ significant"))
        .when(pl.col("significant") & (pl.col("change") < 0))
        .then(pl.lit("▼ significant"))
        .otherwise(pl.lit(""))
        .alias("note")
    )


# ---------------------------------------------------------------- names in the reader's language

_NAMES_FILE = "cx/config/locale/names.yaml"
FALLBACK_LANGUAGE = "en"


@cache
def _names() -> Mapping[str, Mapping[str, Mapping[str, str]]]:
    """``names.yaml`` read and checked once per process: kind -> id -> language -> name."""
    raw = yaml.safe_load(
        (resources.files("cx.config") / "locale" / "names.yaml").read_text("utf-8")
    )
    out: dict[str, Mapping[str, Mapping[str, str]]] = {}
    for kind in ("attributes", "themes"):
        table = (raw or {}).get(kind) or {}
        if not isinstance(table, dict):
            raise ValueError(f"{_NAMES_FILE}: `{kind}` must map ids to names per language")
        for key, names in table.items():
            if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
                raise ValueError(f"{_NAMES_FILE}: {kind}.{key} must map languages to names")
        out[kind] = MappingProxyType({str(k): MappingProxyType(dict(v)) for k, v in table.items()})
    return MappingProxyType(out)


def _name(kind: str, key: str, language: str | None) -> str:
    names = _names()[kind].get(key, {})
    lang = (language or FALLBACK_LANGUAGE).lower()[:2]
    return names.get(lang) or names.get(FALLBACK_LANGUAGE) or _capital(key.replace("_", " "))


def attribute_name(attribute: str, language: str | None) -> str:
    """An attribute's name in ``language`` (``attr_waiting_time`` or ``waiting_time``), English
    when that language has none.

    >>> attribute_name("attr_waiting_time", "fr"), attribute_name("cleanliness", "ru")
    ("Temps d'attente", 'Чистота')
    >>> attribute_name("staff_competence", "de"), attribute_name("attr_new_one", "es")
    ('Staff competence', 'New one')
    """
    return _name("attributes", attribute.removeprefix("attr_"), language)


def theme_name(theme: str, language: str | None) -> str:
    """A comment theme's name in ``language``, English when that language has none.

    >>> theme_name("waiting_time", "es"), theme_name("digital", "en")
    ('Tiempo de espera', 'App & website')
    """
    return _name("themes", theme, language)


def attribute_ids() -> list[str]:
    """The attribute ids with names in ``names.yaml``, in file order."""
    return list(_names()["attributes"])


def theme_ids() -> list[str]:
    """The theme ids with names in ``names.yaml``, in file order."""
    return list(_names()["themes"])


def name_languages() -> list[str]:
    """Every language some name of ``names.yaml`` is written in, sorted.

    >>> name_languages()
    ['en', 'es', 'fr', 'ru']
    """
    return sorted({lang for kind in _names().values() for v in kind.values() for lang in v})
