"""The organisation: geography hierarchy (region -> country -> agency) and routing contacts.

Read from ``org.yaml`` in the data directory; derived from the waves when the file is absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import yaml

from cx.core.scope import Scope, contains

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it

COUNTRY_NAMES = {
    "ES": "Spain",
    "FR": "France",
    "GB": "United Kingdom",
    "US": "United States",
    "MX": "Mexico",
    "AR": "Argentina",
    "RU": "Russia",
    "DE": "Germany",
    "IT": "Italy",
    "PT": "Portugal",
    "BR": "Brazil",
    "CO": "Colombia",
    "CL": "Chile",
    "KZ": "Kazakhstan",
}


@dataclass(frozen=True)
class Agency:
    name: str
    country: str
    region: str
    city: str
    contacts: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    chat: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    """The agency's team chat (``org.yaml`` ``chat: {kind: slack|teams|telegram, url|chat_id}``)
    as ``{"kind": ..., "target": <url or chat id>}``; empty: none of its own."""


CHAT_KINDS = ("slack", "teams", "telegram")


def chat_of(raw: object, agency: str) -> dict[str, str]:
    """The ``chat`` entry of an agency in ``org.yaml``, checked for shape (the URL itself is
    checked by the outbox); ValueError naming the agency when it is malformed.

    >>> chat_of({"kind": "slack", "url": "https://hooks.slack.com/services/T/B/x"}, "Madrid")
    {'kind': 'slack', 'target': 'https://hooks.slack.com/services/T/B/x'}
    """
    if not raw:
        return {}
    if not isinstance(raw, dict) or raw.get("kind") not in CHAT_KINDS:
        raise ValueError(f"org.yaml: agency {agency}: chat needs kind {' | '.join(CHAT_KINDS)}")
    key = "chat_id" if raw["kind"] == "telegram" else "url"
    target = str(raw.get(key) or "").strip()
    if not target:
        raise ValueError(f"org.yaml: agency {agency}: chat of kind {raw['kind']} needs {key}")
    return {"kind": str(raw["kind"]), "target": target}


@dataclass(frozen=True)
class Org:
    """The hierarchy as flat tuples, easy to query and to cache."""

    agencies: tuple[Agency, ...]
    country_names: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    country_languages: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    country_contacts: dict[str, dict[str, str]] = field(
        default_factory=dict, hash=False, compare=False
    )
    """Each country's own contacts of ``org.yaml`` (``{"ES": {"manager": "…"}}``)."""

    def regions(self) -> list[str]:
        return sorted({a.region for a in self.agencies})

    def countries(self, region: str | None = None) -> list[str]:
        return sorted({a.country for a in self.agencies if region in (None, a.region)})

    def agencies_of(self, country: str) -> list[str]:
        return sorted(a.name for a in self.agencies if a.country == country)

    def agency(self, name: str) -> Agency | None:
        return next((a for a in self.agencies if a.name == name), None)

    def region_of_country(self, country: str) -> str | None:
        return next((a.region for a in self.agencies if a.country == country), None)

    def place(self, spec: str) -> dict[str, str | None] | None:
        """Region, country and agency of ``world``, ``region:X``, ``country:ES`` or
        ``agency:Madrid``, parents from the hierarchy; None for a place it does not hold.

        >>> o = Org((Agency("Madrid", "ES", "Europe", "Madrid"),))
        >>> o.place("agency:Madrid"), o.place("country:FR")
        ({'region': 'Europe', 'country': 'ES', 'agency': 'Madrid'}, None)
        """
        level, _, name = spec.partition(":")
        if spec == "world":
            return {"region": None, "country": None, "agency": None}
        if level == "region" and name in self.regions():
            return {"region": name, "country": None, "agency": None}
        if level == "country" and name in self.countries():
            return {"region": self.region_of_country(name), "country": name, "agency": None}
        if level == "agency" and (agency := self.agency(name)) is not None:
            return {"region": agency.region, "country": agency.country, "agency": agency.name}
        return None

    def country_name(self, code: str) -> str:
        return self.country_names.get(code) or COUNTRY_NAMES.get(code, code)

    def frame(self) -> pl.DataFrame:
        """region, country, agency rows."""
        return pl.DataFrame(
            {
                "region": [a.region for a in self.agencies],
                "country": [a.country for a in self.agencies],
                "agency": [a.name for a in self.agencies],
            },
            schema={"region": pl.String, "country": pl.String, "agency": pl.String},
        )


_READ: dict[str, tuple[tuple[int, int, int], Org]] = {}
"""``org.yaml`` as last read, per path, with the file's (inode, size, mtime) it was read at."""


def _read(path: Path) -> Org:
    stat = path.stat()
    stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    cached = _READ.get(str(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
    agencies: list[Agency] = []
    names: dict[str, str] = {}
    langs: dict[str, str] = {}
    contacts: dict[str, dict[str, str]] = {}
    for region in raw.get("regions", []) or []:
        for country in region.get("countries", []) or []:
            code = str(country["code"])
            names[code] = str(country.get("name", code))
            if country.get("language"):
                langs[code] = str(country["language"])
            if country.get("contacts"):
                contacts[code] = {str(k): str(v) for k, v in country["contacts"].items()}
            for agency in country.get("agencies", []) or []:
                agencies.append(
                    Agency(
                        name=str(agency["name"]),
                        country=code,
                        region=str(region["name"]),
                        city=str(agency.get("city", agency["name"])),
                        contacts={
                            str(k): str(v) for k, v in (agency.get("contacts") or {}).items()
                        },
                        chat=chat_of(agency.get("chat"), str(agency["name"])),
                    )
                )
    found = Org(tuple(agencies), names, langs, contacts)
    _READ[str(path)] = (stamp, found)
    return found


def load(root: Path, responses: pl.LazyFrame | None = None) -> Org:
    """Read ``org.yaml`` (parsed again only when the file changed); without it, derive the
    hierarchy from the responses."""
    path = root / "org.yaml"
    if path.exists():
        return _read(path)
    if responses is None:
        return Org(())
    geo = (
        responses.select("region", "country", "agency")
        .unique()
        .sort("region", "country", "agency")
        .collect()
    )
    return Org(
        tuple(
            Agency(r["agency"], r["country"], r["region"], r["agency"])
            for r in geo.iter_rows(named=True)
        )
    )


def within(inner: Scope, outer: Scope, org: Org) -> bool:
    """Whether every place of ``inner`` lies inside ``outer`` (parents from ``org``).

    >>> o = Org((Agency("Madrid", "ES", "Europe", "Madrid"),))
    >>> within(Scope.parse("agency:Madrid"), Scope.parse("country:ES"), o)
    True
    >>> within(Scope.parse("country:ES"), Scope.parse("agency:Madrid"), o)
    False
    >>> within(Scope.world(), Scope.parse("region:Europe"), o)
    False
    """
    if outer.staff and not (inner.staff and set(inner.staff) <= set(outer.staff)):
        return False  # an advisor's scope holds only their own customers
    if outer.is_world:
        return True
    if inner.is_world or not inner.entries:
        return False
    for entry in inner.entries:
        if entry.level == "agency":
            found = org.agency(entry.value)
            ok = contains(
                outer,
                region=found.region if found else None,
                country=found.country if found else None,
                agency=entry.value,
            )
        elif entry.level == "country":
            ok = contains(
                outer, region=org.region_of_country(entry.value), country=entry.value, agency=None
            )
        else:
            ok = contains(outer, region=entry.value, country=None, agency=None)
        if not ok:
            return False
    return True
