"""Geography scope: who sees which rows. The ONE place where rows are restricted.

A scope is a set of entries ``world``, ``region:<name>``, ``country:<code>`` or
``agency:<name>``. Deny by default: an empty scope sees nothing, and ``world`` must be
said explicitly. :func:`restrict` applies a scope to a LazyFrame and
:func:`restrict_statement` to a SQL statement; no other code filters by geography.
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

    @classmethod
    def parse(cls, specs: Iterable[str] | str | None) -> Scope:
        """Parse ``"world"``, ``"country:ES"``… (a string or a list); raise ScopeError if bad.

        >>> str(Scope.parse(["country:ES", "agency:Paris"]))
        'agency:Paris,country:ES'
        """
        if specs is None:
            return cls()
        if isinstance(specs, str):
            specs = [s for s in specs.split(",") if s.strip()]
        entries: set[Entry] = set()
        for raw in specs:
            spec = raw.strip()
            if spec == "world":
                entries.add(Entry("world"))
                continue
            level, sep, value = spec.partition(":")
            if not sep or not _is_geo_level(level) or not value.strip():
                raise ScopeError(
                    f"bad scope {spec!r}: use world, region:<name>, country:<code> or agency:<name>"
                )
            entries.add(Entry(level, value.strip()))
        return cls(tuple(sorted(entries)))

    @classmethod
    def world(cls) -> Scope:
        return cls((Entry("world"),))

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

    def __str__(self) -> str:
        return ",".join(str(e) for e in self.entries)


def predicate(scope: Scope) -> pl.Expr:
    """The row predicate of a scope: OR of its entries; an empty scope is ``False``."""
    if scope.is_world:
        return pl.lit(True)
    expr = pl.lit(False)
    for level, column in GEO_COLUMNS.items():
        names = scope.values(level)
        if names:
            expr = expr | pl.col(column).is_in(list(names))
    return expr


def restrict(frame: pl.LazyFrame, scope: Scope) -> pl.LazyFrame:
    """Keep only the rows inside ``scope`` (deny by default). Every query starts here.

    >>> lf = pl.LazyFrame({"region": ["EU", "EU", "AM"], "country": ["ES", "FR", "US"],
    ...                    "agency": ["Madrid", "Paris", "Boston"]})
    >>> restrict(lf, Scope.parse("country:ES,agency:Boston")).collect()["agency"].to_list()
    ['Madrid', 'Boston']
    >>> restrict(lf, Scope()).collect().height
    0
    """
    return frame.filter(predicate(scope))


class Filterable(Protocol):
    """A SQL statement that takes WHERE clauses (select, update, delete)."""

    def where(self, *whereclause: ColumnElement[bool]) -> Self: ...


StatementT = TypeVar("StatementT", bound=Filterable)


def restrict_statement(statement: StatementT, scope: Scope, model: type[Any]) -> StatementT:
    """The SQL twin of :func:`restrict`: add the scope's WHERE clause to a SQLModel select.

    ``model`` must have ``region``, ``country`` and ``agency`` columns (nullable for
    records of a wider level: a country-level record has ``agency`` NULL).
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
