"""Customer Support Index and Customer Criticality Index: ratings per 1,000 customers served.

Spontaneous feedback (QR codes, counter buttons) is no sample, so a score over its answers says
little; what counts is how many customers said they were pleased, or unhappy, per 1,000 served.
Definitions (README, "Support and criticality indices"):

- support index = positive ratings / customers served x 1,000; criticality index = negative
  ratings / customers served x 1,000. Positive and negative as ``cx/config/indices.yaml`` says
  (default: promoters nps 9-10 and detractors nps 0-6); unweighted counts of answers, answers
  flagged ``excluded`` out, only the configured channels (default: all);
- interval: the Wilson 95 % score interval of the rate count / served, x 1,000;
- response rate = answers / customers served;
- customers served of an agency x wave: ``customers_served`` of ``fieldwork.parquet`` (the till)
  when it holds a count > 0 for that cell, else the sum of the monthly counts entered by hand
  (:class:`cx.store.models.ServedCount`) whose month lies inside the wave's period; a weekly wave
  holds no whole month and gets no manual count, and neither does a cell split by channel (a
  manual count is the agency's total). A wider cell (a country, every wave) has a served count
  only when every agency x wave in it with answers has one;
- no served count (missing or 0), or fewer customers served than answers: no index;
- suppressed: fewer than 5 answers, or a complement of 1..4 answers under a channel filter:
  only the counts of customers served and of answers are shown;
- low count: fewer than :data:`LOW_SERVED` customers served or fewer than :data:`LOW_ANSWERS`
  answers (the contract's low base): shown, marked, never ranked;
- ranks, per wave (and channel) among the geographic cells neither suppressed nor low count, best
  = 1 as in the league tables: ``support_rank`` 1 = most positives per 1,000 served,
  ``criticality_rank`` 1 = fewest negatives per 1,000 served; ties by name.

Only the wave and channel filters apply: customers served have no touchpoint or segment.
Every frame read here (answers, fieldwork counts, manual counts) goes through
:func:`cx.core.scope.restrict`; the manual counts are read from the store through
:func:`cx.core.scope.restrict_statement` first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, TypeGuard

import polars as pl
import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from cx.analytics.fieldwork import LAG_RATE
from cx.core import data, metrics
from cx.core.filters import Filters
from cx.core.filters import predicate as filter_predicate
from cx.core.scope import Scope, restrict, restrict_statement
from cx.store.engine import session
from cx.store.models import ServedCount

PER = 1000
"""The indices are counts per this many customers served."""
LOW_SERVED = 100
LOW_ANSWERS = metrics.LOW_BASE
LOW_RESPONSE = LAG_RATE
"""The takeaway warns when the least critical agency answers under this share of the scope's
response rate (the fieldwork screen's lagging threshold)."""
GEO = ("region", "country", "agency")
BY_COLUMNS = (*GEO, "wave", "channel")
DEFAULT_BY = ("agency", "wave")
FIELDWORK_FILE = "fieldwork.parquet"
CONFIG_FILE = "indices.yaml"
COLUMNS = (
    "served",
    "responses",
    "positives",
    "negatives",
    "support_index",
    "support_low",
    "support_high",
    "criticality_index",
    "criticality_low",
    "criticality_high",
    "response_rate",
    "low_count",
    "suppressed",
    "support_rank",
    "criticality_rank",
    "served_source",
    "note",
)
"""What :func:`indices` gives after the ``by`` columns (``cx indices --format json`` keys)."""
RATING_COLUMNS = ("nps", "csat")


class IndicesError(ValueError):
    """A grouping, a configuration or data the indices cannot be computed from; says which."""


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Band:
    """Ratings of ``column`` between ``low`` and ``high`` (both included)."""

    column: str
    low: float
    high: float

    def expr(self) -> pl.Expr:
        return pl.col(self.column).is_between(self.low, self.high)

    def __str__(self) -> str:
        return f"{self.column} {self.low:g}-{self.high:g}"


@dataclass(frozen=True)
class IndexConfig:
    """What counts as positive and negative, and through which channels (empty: all)."""

    positives: Band = Band("nps", 9, 10)
    negatives: Band = Band("nps", 0, 6)
    channels: tuple[str, ...] = ()


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _band(raw: Any, name: str, where: str) -> Band:
    if not isinstance(raw, dict):
        raise IndicesError(f"{where}: {name} needs column, min and max")
    column = str(raw.get("column") or "nps")
    if column not in RATING_COLUMNS and not column.startswith(data.ATTR_PREFIX):
        raise IndicesError(
            f"{where}: {name} column {column!r} is not a rating (nps, csat or attr_<id>)"
        )
    low, high = raw.get("min"), raw.get("max")
    if not (_number(low) and _number(high)):
        raise IndicesError(f"{where}: {name} min and max must be numbers, got {low!r} and {high!r}")
    if low > high:
        raise IndicesError(f"{where}: {name} min {low} is above max {high}")
    return Band(column, float(low), float(high))


def load_config(path: str | Path | None = None) -> IndexConfig:
    """Read the indices' definitions (default: the packaged ``cx/config/indices.yaml``)."""
    if path is None:
        text = resources.files("cx.config").joinpath(CONFIG_FILE).read_text(encoding="utf-8")
        where = f"cx/config/{CONFIG_FILE}"
    else:
        text, where = Path(path).read_text(encoding="utf-8"), str(path)
    raw = yaml.safe_load(text) or {}
    if not isinstance(raw, dict):
        raise IndicesError(f"{where}: expected positives, negatives and channels")
    positives = _band(raw.get("positives"), "positives", where)
    negatives = _band(raw.get("negatives"), "negatives", where)
    if (
        positives.column == negatives.column
        and positives.low <= negatives.high
        and negatives.low <= positives.high
    ):
        raise IndicesError(f"{where}: positives ({positives}) and negatives ({negatives}) overlap")
    channels = raw.get("channels") or []
    if not isinstance(channels, list) or any(c not in data.CHANNELS for c in channels):
        raise IndicesError(
            f"{where}: channels must be a list of {', '.join(data.CHANNELS)}; got {channels!r}"
        )
    return IndexConfig(positives, negatives, tuple(sorted(set(channels))))


# ---------------------------------------------------------------- the interval


def wilson(count: pl.Expr, total: pl.Expr, z: float = metrics.Z95) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval of the rate ``count / total`` (0..1): (low, high).

    centre = (p + z²/2n) / (1 + z²/n), half-width = z sqrt(p(1 - p)/n + z²/4n²) / (1 + z²/n).
    """
    p = count / total
    z2 = z * z
    scale = 1 + z2 / total
    centre = (p + z2 / (2 * total)) / scale
    half = z * (p * (1 - p) / total + z2 / (4 * total.pow(2))).sqrt() / scale
    return (centre - half).clip(lower_bound=0.0), (centre + half).clip(upper_bound=1.0)


def wilson_scalar(count: int, total: int, z: float = metrics.Z95) -> tuple[float, float]:
    """Plain-Python twin of :func:`wilson`, for single figures.

    >>> [round(PER * v, 2) for v in wilson_scalar(12, 1000)]
    [6.88, 20.86]
    """
    p = count / total
    scale = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / scale
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total**2)) / scale
    return max(centre - half, 0.0), min(centre + half, 1.0)


# ---------------------------------------------------------------- customers served by hand


class ManualServed(NamedTuple):
    """One monthly count of customers served, as read from the store (hashable: a cache key)."""

    region: str | None
    country: str | None
    agency: str
    month: str
    served: int


def manual_counts(s: Session, scope: Scope) -> tuple[ManualServed, ...]:
    """The monthly counts entered by hand inside the scope, by agency then month."""
    stmt = restrict_statement(select(ServedCount), scope, ServedCount).order_by(
        col(ServedCount.agency), col(ServedCount.month)
    )
    return tuple(
        ManualServed(r.region, r.country, r.agency or "", r.month, r.served) for r in s.exec(stmt)
    )


def wave_months(wave: str) -> tuple[str, ...]:
    """The months (``YYYY-MM``) lying whole inside a wave's period; none for a weekly wave.

    >>> wave_months("2026-Q1"), wave_months("2026-03"), wave_months("2026-W09")
    (('2026-01', '2026-02', '2026-03'), ('2026-03',), ())
    """
    start, end = data.wave_period(wave)
    months: list[str] = []
    first = date(start.year, start.month, 1)
    while first <= end:
        nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        if first >= start and nxt - timedelta(days=1) <= end:
            months.append(f"{first:%Y-%m}")
        first = nxt
    return tuple(months)


def _manual_frame(manual: Iterable[ManualServed], scope: Scope) -> pl.LazyFrame:
    rows = list(manual)
    frame = pl.LazyFrame(
        {
            "region": [m.region for m in rows],
            "country": [m.country for m in rows],
            "agency": [m.agency for m in rows],
            "month": [m.month for m in rows],
            "manual": [m.served for m in rows],
        },
        schema={
            "region": pl.String,
            "country": pl.String,
            "agency": pl.String,
            "month": pl.String,
            "manual": pl.Int64,
        },
    )
    return restrict(frame, scope)


# ---------------------------------------------------------------- the query


def _check_by(by: Sequence[str], columns: set[str]) -> list[str]:
    out = list(dict.fromkeys(c.strip() for c in by if c.strip()))
    for c in out:
        if c not in BY_COLUMNS:
            raise IndicesError(f"unknown --by column {c!r}; use {', '.join(BY_COLUMNS)}")
        if c not in columns:
            raise IndicesError(f"the responses have no {c!r} column to group by")
    return out


def _answers(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, cfg: IndexConfig, *, channel_filter: bool
) -> pl.LazyFrame:
    """The answers that count: in scope, the wave (and channel filter), configured channels,
    excluded ones out."""
    columns = set(frame.collect_schema().names())
    for band in (cfg.positives, cfg.negatives):
        if band.column not in columns:
            raise IndicesError(
                f"cx/config/{CONFIG_FILE} counts {band.column!r}, a column the responses lack"
            )
    if cfg.channels and "channel" not in columns:
        raise IndicesError(
            f"cx/config/{CONFIG_FILE} keeps channels {', '.join(cfg.channels)} but the responses have no channel column"
        )
    only = Filters(wave=filters.wave, channels=filters.channels if channel_filter else ())
    lf = restrict(frame, scope).filter(filter_predicate(only, columns, waves=True))
    if cfg.channels:
        lf = lf.filter(pl.col("channel").is_in(list(cfg.channels)))
    if "excluded" in columns:
        lf = lf.filter(~pl.col("excluded").fill_null(False))
    return lf


def _fieldwork(root: Path, scope: Scope, filters: Filters, cfg: IndexConfig) -> pl.LazyFrame:
    """``fieldwork.parquet`` in scope for the wave and channels (empty when there is none)."""
    path = root / FIELDWORK_FILE
    schema = {
        "region": pl.String,
        "country": pl.String,
        "agency": pl.String,
        "wave": pl.String,
        "channel": pl.String,
        "customers_served": pl.Int64,
    }
    if not path.exists():
        return pl.LazyFrame(schema=schema)
    lf = pl.scan_parquet(path)
    names = lf.collect_schema().names()
    lf = lf.select(
        [pl.col(c).cast(t) if c in names else pl.lit(None, t).alias(c) for c, t in schema.items()]
    )
    lf = restrict(lf, scope)
    if filters.wave is not None:
        lf = lf.filter(pl.col("wave") == filters.wave)
    for channels in (filters.channels, cfg.channels):
        if channels:
            lf = lf.filter(pl.col("channel").is_in(list(channels)))
    return lf


def _waves(frame: pl.LazyFrame, root: Path, filters: Filters) -> list[str]:
    if filters.wave is not None:
        return [filters.wave]
    labels = set(frame.select(pl.col("wave").unique()).collect().to_series().drop_nulls())
    path = root / FIELDWORK_FILE
    if path.exists():
        labels |= set(
            pl.scan_parquet(path).select(pl.col("wave").unique()).collect().to_series().drop_nulls()
        )
    return data.sort_waves(labels)


def _cells(
    frame: pl.LazyFrame,
    scope: Scope,
    filters: Filters,
    root: Path,
    manual: Iterable[ManualServed],
    cfg: IndexConfig,
    by_channel: bool,
) -> pl.LazyFrame:
    """One row per agency x wave (x channel): answers, positives, negatives and customers
    served with their source (the till first, else the manual months of the wave)."""
    grain = [*GEO, "wave", *(["channel"] if by_channel else [])]
    got = (
        _answers(frame, scope, filters, cfg, channel_filter=True)
        .group_by(grain)
        .agg(
            responses=pl.len().cast(pl.Int64),
            positives=cfg.positives.expr().sum().cast(pl.Int64),
            negatives=cfg.negatives.expr().sum().cast(pl.Int64),
        )
    )
    till = (
        _fieldwork(root, scope, filters, cfg)
        .group_by(grain)
        .agg(till=pl.col("customers_served").sum().cast(pl.Int64))
    )
    cells = got.join(till, on=grain, how="full", coalesce=True, nulls_equal=True)
    if by_channel:
        cells = cells.with_columns(
            manual=pl.lit(None, pl.Int64), months=pl.lit(0, pl.Int64), expected=pl.lit(0, pl.Int64)
        )
    else:
        pairs = [(w, m) for w in _waves(frame, root, filters) for m in wave_months(w)]
        periods = pl.LazyFrame(
            {"wave": [w for w, _ in pairs], "month": [m for _, m in pairs]},
            schema={"wave": pl.String, "month": pl.String},
        )
        expected = periods.group_by("wave").agg(expected=pl.len().cast(pl.Int64))
        by_hand = (
            _manual_frame(manual, scope)
            .join(periods, on="month", how="inner")
            .group_by(grain)
            .agg(manual=pl.col("manual").sum(), months=pl.len().cast(pl.Int64))
        )
        cells = cells.join(by_hand, on=grain, how="full", coalesce=True, nulls_equal=True).join(
            expected, on="wave", how="left"
        )
    from_till = pl.col("till").fill_null(0) > 0
    from_hand = ~from_till & pl.col("manual").is_not_null()
    return cells.with_columns(
        [pl.col(c).fill_null(0) for c in ("responses", "positives", "negatives")]
    ).with_columns(
        served=pl.when(from_till)
        .then(pl.col("till"))
        .when(from_hand)
        .then(pl.col("manual"))
        .otherwise(pl.col("till")),
        served_source=pl.when(from_till)
        .then(pl.lit("fieldwork"))
        .when(from_hand)
        .then(pl.lit("manual"))
        .otherwise(pl.lit(None, pl.String)),
        months_missing=pl.when(from_hand)
        .then(pl.col("expected").fill_null(0) - pl.col("months").fill_null(0))
        .otherwise(0)
        .cast(pl.Int64),
    )


def _rank(index: str, descending: bool, part: list[str], geo: list[str]) -> pl.Expr:
    """1 = best among the eligible rows of each partition (ties by name); null for the others."""
    eligible = ~pl.col("suppressed") & ~pl.col("low_count") & pl.col(index).is_not_null()
    key = -pl.col(index) if descending else pl.col(index)
    order = pl.struct((~eligible).alias("_out"), key.alias("_key"), *geo).rank("ordinal")
    rank = order.over(part) if part else order
    return pl.when(eligible).then(rank).cast(pl.Int32)


def _note() -> pl.Expr:
    served = pl.col("served")
    reasons = [
        pl.when(pl.col("suppressed")).then(
            pl.lit(f"fewer than {metrics.SUPPRESS_BELOW} answers: counts only")
        ),
        pl.when(~pl.col("suppressed") & (served.is_null() | (served <= 0))).then(
            pl.lit("no customers-served count")
        ),
        pl.when(served.is_not_null() & (served > 0) & (pl.col("responses") > served)).then(
            pl.lit("fewer customers served than answers: check the count")
        ),
        pl.when(pl.col("months_missing") > 0).then(
            pl.format("manual count lacks {} month(s) of the wave", pl.col("months_missing"))
        ),
        pl.when(pl.col("low_count") & ~pl.col("suppressed")).then(pl.lit("low count, not ranked")),
    ]
    note = pl.concat_str(reasons, separator="; ", ignore_nulls=True)
    return pl.when(note == "").then(pl.lit(None, pl.String)).otherwise(note).alias("note")


def indices(
    frame: pl.LazyFrame,
    scope: Scope,
    filters: Filters,
    *,
    root: str | Path,
    manual: Iterable[ManualServed] = (),
    by: Sequence[str] = DEFAULT_BY,
    config: IndexConfig | None = None,
) -> pl.DataFrame:
    """Support and criticality indices per ``by`` cell (any of region, country, agency, wave,
    channel), with Wilson 95 % intervals, the response rate, flags, ranks and a note.

    Columns: the ``by`` columns, then :data:`COLUMNS`. ``manual`` holds the monthly counts
    entered by hand (:func:`manual_counts`); with ``filters.wave`` set only that wave counts.
    Sorted by wave (chronologically), then support rank (unranked last), then name.
    """
    cfg = config or load_config()
    root = Path(root)
    columns = set(frame.collect_schema().names())
    keys = _check_by(by, columns)
    cells = _cells(frame, scope, filters, root, manual, cfg, "channel" in keys)
    uncovered = (pl.col("responses") > 0) & (pl.col("served").is_null() | (pl.col("served") <= 0))
    grouped = cells.group_by(keys) if keys else cells.group_by(pl.lit(0).alias("_all"))
    out = grouped.agg(
        served=pl.when(uncovered.any()).then(None).otherwise(pl.col("served").sum()),
        responses=pl.col("responses").sum(),
        positives=pl.col("positives").sum(),
        negatives=pl.col("negatives").sum(),
        sources=pl.col("served_source").drop_nulls().unique().sort(),
        months_missing=pl.col("months_missing").sum(),
    ).drop("_all", strict=False)
    if filters.channels:
        # A complement of 1..4 answers outside the channel filter would be revealed.
        every = _answers(frame, scope, filters, cfg, channel_filter=False)
        n_all = every.group_by(keys).agg(n_all=pl.len()) if keys else every.select(n_all=pl.len())
        out = (
            out.join(n_all, on=keys, how="left", nulls_equal=True)
            if keys
            else pl.concat([out, n_all], how="horizontal")
        )
    else:
        out = out.with_columns(n_all=pl.col("responses"))
    comp = pl.col("n_all").fill_null(0) - pl.col("responses")
    served = pl.col("served")
    shown = ~pl.col("suppressed") & (served > 0) & (pl.col("responses") <= served)
    support_low, support_high = wilson(pl.col("positives"), served)
    critical_low, critical_high = wilson(pl.col("negatives"), served)
    geo = [c for c in keys if c in GEO]
    part = [c for c in keys if c not in GEO]
    df = (
        out.with_columns(
            suppressed=(pl.col("responses") < metrics.SUPPRESS_BELOW)
            | ((comp > 0) & (comp < metrics.SUPPRESS_BELOW)),
            low_count=(served.fill_null(LOW_SERVED) < LOW_SERVED)
            | (pl.col("responses") < LOW_ANSWERS),
            served_source=pl.when(pl.col("sources").list.len() > 0).then(
                pl.col("sources").list.join("+")
            ),
        )
        .with_columns(
            support_index=pl.when(shown).then(PER * pl.col("positives") / served),
            support_low=pl.when(shown).then(PER * support_low),
            support_high=pl.when(shown).then(PER * support_high),
            criticality_index=pl.when(shown).then(PER * pl.col("negatives") / served),
            criticality_low=pl.when(shown).then(PER * critical_low),
            criticality_high=pl.when(shown).then(PER * critical_high),
            response_rate=pl.when(served > 0).then(pl.col("responses") / served),
            positives=pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("positives")),
            negatives=pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("negatives")),
        )
        .with_columns(
            support_rank=_rank("support_index", True, part, geo) if geo else pl.lit(None, pl.Int32),
            criticality_rank=_rank("criticality_index", False, part, geo)
            if geo
            else pl.lit(None, pl.Int32),
            note=_note(),
        )
        .collect()
    )
    order = data.sort_waves(df["wave"].drop_nulls().to_list()) if "wave" in keys else []
    sort_keys: list[pl.Expr] = [
        pl.col("wave").replace_strict(order, list(range(len(order))), default=-1)
        if c == "wave"
        else pl.col(c)
        for c in part
    ]
    sort_keys += [pl.col("support_rank").is_null(), pl.col("support_rank"), *map(pl.col, geo)]
    return df.sort(sort_keys, nulls_last=True).select(*keys, *COLUMNS)


def indices_from_store(
    frame: pl.LazyFrame,
    scope: Scope,
    filters: Filters,
    *,
    root: str | Path,
    engine: Engine,
    by: Sequence[str] = DEFAULT_BY,
    config: IndexConfig | None = None,
) -> pl.DataFrame:
    """:func:`indices` with the manual counts read from the store of ``engine`` (one session)."""
    with session(engine) as s:
        manual = manual_counts(s, scope)
    return indices(frame, scope, filters, root=root, manual=manual, by=by, config=config)


# ---------------------------------------------------------------- for the screens


def takeaway(df: pl.DataFrame, total: pl.DataFrame | None = None) -> str:
    """One sentence on the most critical agency, e.g. "Marseille has the highest criticality
    index of 2026-Q3: 27.4 negative ratings per 1,000 customers served (95 % 25.0-30.1), against
    16.5 for the whole scope."."""
    ranked = df.filter(pl.col("criticality_rank").is_not_null())
    if ranked.is_empty():
        missing = df.filter(pl.col("served").is_null() | (pl.col("served") <= 0)).height
        if df.height and missing == df.height:
            return "No customers-served count for this wave: no index can be computed yet."
        return "Too few answers or customers served in this wave to rank the indices."
    if ranked.height == 1:
        one = ranked.row(0, named=True)
        return (
            f"{one['agency']} in {one['wave']}: {one['support_index']:.1f} positive and "
            f"{one['criticality_index']:.1f} negative ratings per 1,000 customers served "
            f"(response rate {100 * one['response_rate']:.1f} %)."
        )
    worst = ranked.sort(["criticality_index", "agency"], descending=[True, False]).row(
        0, named=True
    )
    text = (
        f"{worst['agency']} has the highest criticality index of {worst['wave']}: "
        f"{worst['criticality_index']:.1f} negative ratings per 1,000 customers served "
        f"(95 % {worst['criticality_low']:.1f}–{worst['criticality_high']:.1f})"
    )
    whole = total.row(0, named=True) if total is not None and total.height else None
    if whole is None or whole["criticality_index"] is None:
        return text + "."
    text += f", against {whole['criticality_index']:.1f} for the whole scope."
    # An index is a count per customer served: a low one may only mean few customers answered.
    best = ranked.sort(["criticality_index", "agency"]).row(0, named=True)
    if best["response_rate"] < LOW_RESPONSE * whole["response_rate"]:
        text += (
            f" {best['agency']}'s low criticality comes with a response rate of "
            f"{100 * best['response_rate']:.1f} % (scope {100 * whole['response_rate']:.1f} %): "
            "fewer answers, not necessarily fewer unhappy customers."
        )
    return text


def _interval(low: str, high: str) -> pl.Expr:
    return (
        pl.when(pl.col(low).is_not_null())
        .then(pl.format("{} – {}", pl.col(low).round(1), pl.col(high).round(1)))
        .otherwise(pl.lit("–"))
    )


def indices_view(df: pl.DataFrame, label: str = "Agency") -> pl.DataFrame:
    """The indices as shown: ranks, entity, counts, response rate, both indices with their 95 %
    interval and the note (low counts and missing counts said in words)."""
    return df.select(
        pl.col("support_rank").alias("Support #"),
        pl.col("agency").alias(label),
        pl.col("served").alias("Served"),
        pl.col("responses").alias("Answers"),
        (100 * pl.col("response_rate")).round(1).alias("Response %"),
        pl.col("support_index").round(1).alias("Support /1,000"),
        _interval("support_low", "support_high").alias("Support 95 %"),
        pl.col("criticality_index").round(1).alias("Criticality /1,000"),
        _interval("criticality_low", "criticality_high").alias("Criticality 95 %"),
        pl.col("criticality_rank").alias("Criticality #"),
        pl.col("served_source").fill_null("–").alias("Served from"),
        pl.col("note").fill_null("").alias("Note"),
    )
