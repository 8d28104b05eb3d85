"""Geography scope: who sees which rows. The ONE place where rows are restricted.

A scope is a set of entries ``world``, ``region:<name>``, ``country:<code>`` or
``agency:<name>``. Deny by default: an empty scope sees nothing, and ``world`` must be
said explicitly. :func:`restrict` applies a scope to a LazyFrame and
:func:`restrict_statement` to a SQL statement; no other code filters by geography.

An advisor's scope also carries ``advisor:<id>`` entries (the ``advisor_id`` of the responses
they served). They *narrow* the geography instead of widening it: ``agency:Madrid,advisor:MAD-03``
sees the Madrid rows whose ``advisor_id`` is ``MAD-03``, and a frame without an ``advisor_id``
column shows such a scope nothing (deny by default: an advisor never gets the agency's figures
as if they were theirs). Operational records (cases, the rating feed) stay geographic: an
advisor works the agency's complaint cases, so :func:`restrict_statement` and :func:`contains`
read only the geography (:attr:`Scope.geography`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self, TypeGuard, TypeVar

import polars as pl

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

Level = Literal["world", "region", "country", "agency"]
LEVELS: tuple[Level, ...] = ("world", "region", "country", "agency")
GEO_COLUMNS: dict[str, str] = {"region": "region", "country": "country", "agency": "agency"}
STAFF_COLUMN = "advisor_id"
"""The response column an ``advisor:<id>`` entry narrows on."""


def _is_geo_level(text: str) -> TypeGuard[Level]:
    """Whether ``text`` is a level with a geography column (``world`` has none)."""
    return text in GEO_COLUMNS


class ScopeError(ValueError):
    """A scope entry that is not ``world`` or ``<level>:<name>`` with a known level."""


@dataclass(frozen=True, order=True)
class Entry:
    """One scope entry, e.g. ``country:ES``."""

    level: Level
    value: str = ""

    def __str__(self) -> str:
        return "world" if self.level == "world" else f"{self.level}:{self.value}"


@dataclass(frozen=True)
class Scope:
    """An immutable, hashable set of scope entries (usable as a cache key)."""

    entries: tuple[Entry, ...] = ()
    staff: tuple[str, ...] = ()
    """``advisor:<id>`` entries: only the responses these advisors served (narrows the geography)."""

    @classmethod
    def parse(cls, specs: Iterable[str] | str | None) -> Scope:
        """Parse ``"world"``, ``"country:ES"``… (a string or a list); raise ScopeError if bad.

        >>> str(Scope.parse(["country:ES", "agency:Paris"]))
        'agency:Paris,country:ES'
        >>> str(Scope.parse("advisor:MAD-03,agency:Madrid"))
        'agency:Madrid,advisor:MAD-03'
        """
        if specs is None:
            return cls()
        if isinstance(specs, str):
            specs = [s for s in specs.split(",") if s.strip()]
        entries: set[Entry] = set()
        staff: set[str] = set()
        for raw in specs:
            spec = raw.strip()
            if spec == "world":
                entries.add(Entry("world"))
                continue
            level, sep, value = spec.partition(":")
            if sep and level == "advisor" and value.strip():
                staff.add(value.strip())
                continue
            if not sep or not _is_geo_level(level) or not value.strip():
                raise ScopeError(
                    f"bad scope {spec!r}: use world, region:<name>, country:<code>, "
                    "agency:<name> (and advisor:<id> to narrow to one advisor's customers)"
                )
            entries.add(Entry(level, value.strip()))
        return cls(tuple(sorted(entries)), tuple(sorted(staff)))

    @classmethod
    def world(cls) -> Scope:
        return cls((Entry("world"),))

    @property
    def geography(self) -> Scope:
        """The same scope without its ``advisor:`` narrowing (for operational records)."""
        return Scope(self.entries) if self.staff else self

    @property
    def is_world(self) -> bool:
        return any(e.level == "world" for e in self.entries)

    @property
    def is_empty(self) -> bool:
        return not self.entries

    def values(self, level: str) -> tuple[str, ...]:
        """The names given at one level, e.g. ``values("country") == ("ES",)``."""
        return tuple(e.value for e in self.entries if e.level == level)

    @property
    def top_level(self) -> Level | None:
        """The widest level among the entries (``world`` > region > country > agency)."""
        for level in LEVELS:
            if any(e.level == level for e in self.entries):
                return level
        return None

    def specs(self) -> list[str]:
        """The entries as text, geography first, then ``advisor:`` (what :meth:`parse` reads)."""
        return [*(str(e) for e in self.entries), *(f"advisor:{a}" for a in self.staff)]

    def __str__(self) -> str:
        return ",".join(self.specs())


def predicate(scope: Scope) -> pl.Expr:
    """The row predicate of a scope: OR of its geography entries, AND its advisors (if any);
    an empty scope is ``False``. Needs an ``advisor_id`` column when the scope has advisors."""
    if scope.is_world:
        expr = pl.lit(True)
    else:
        expr = pl.lit(False)
        for level, column in GEO_COLUMNS.items():
            names = scope.values(level)
            if names:
                expr = expr | pl.col(column).is_in(list(names))
    if scope.staff:
        expr = expr & pl.col(STAFF_COLUMN).is_in(list(scope.staff))
    return expr


def restrict(frame: pl.LazyFrame, scope: Scope) -> pl.LazyFrame:
    """Keep only the rows inside ``scope`` (deny by default). Every query starts here.

    >>> lf = pl.LazyFrame({"region": ["EU", "EU", "AM"], "country": ["ES", "FR", "US"],
    ...                    "agency": ["Madrid", "Paris", "Boston"]})
    >>> restrict(lf, Scope.parse("country:ES,agency:Boston")).collect()["agency"].to_list()
    ['Madrid', 'Boston']
    >>> restrict(lf, Scope()).collect().height
    0
    >>> restrict(lf, Scope.parse("agency:Madrid,advisor:MAD-03")).collect().height
    0
    """
    if scope.staff and STAFF_COLUMN not in frame.collect_schema().names():
        return frame.filter(pl.lit(False))
    return frame.filter(predicate(scope))


class Filterable(Protocol):
    """A SQL statement that takes WHERE clauses (select, update, delete)."""

    def where(self, *whereclause: ColumnElement[bool]) -> Self: ...


StatementT = TypeVar("StatementT", bound=Filterable)


def restrict_statement(statement: StatementT, scope: Scope, model: type[Any]) -> StatementT:
    """The SQL twin of :func:`restrict`: add the scope's WHERE clause to a SQLModel select.

    ``model`` must have ``region``, ``country`` and ``agency`` columns (nullable for
    records of a wider level: a country-level record has ``agency`` NULL). Operational records
    are geographic: a scope's ``advisor:`` narrowing does not apply here (see the module doc).
    """
    from sqlalchemy import false, or_

    if scope.is_world:
        return statement
    clauses = []
    for level, column in GEO_COLUMNS.items():
        names = scope.values(level)
        if names:
            clauses.append(getattr(model, column).in_(names))
    return statement.where(or_(*clauses) if clauses else false())


def contains(scope: Scope, *, region: str | None, country: str | None, agency: str | None) -> bool:
    """Whether a record at (region, country, agency) lies inside ``scope`` (same rule as SQL)."""
    if scope.is_world:
        return True
    return (
        (region is not None and region in scope.values("region"))
        or (country is not None and country in scope.values("country"))
        or (agency is not None and agency in scope.values("agency"))
    )
