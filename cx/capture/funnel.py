"""The live fieldwork funnel of captured surveys: invited → sent → opened → started → completed,
per wave × agency × channel, from the store (invitations, open-link events, answers).

- personal invitations: ``invited`` = invitations made, ``sent`` = their e-mail delivered by the
  outbox, ``opened`` / ``started`` / ``completed`` = invitations that reached the step (each
  counted once, in the wave it was made in);
- open links (QR codes, kiosks): no one is invited; ``opened`` and ``started`` count the events
  of :func:`cx.capture.links.record`, ``completed`` the stored answers without an invitation.

Every read goes through :func:`cx.core.scope.restrict_statement`; only the wave and channel
filters apply (as on the imported fieldwork counts).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import polars as pl
from sqlmodel import Session, col, select

from cx.core.data import wave_period
from cx.core.filters import Filters
from cx.core.scope import Scope, restrict_statement
from cx.store.models import Invitation, Notification, SurveyAnswer, SurveyEvent

KEYS = ("wave", "region", "country", "agency", "channel", "kind")
STAGES = ("invited", "sent", "opened", "started", "completed")
CADENCES = ("quarter", "month", "week")
"""The survey cadences of :data:`cx.capture.surveys.CADENCES`."""
_GEO = {"region": pl.String, "country": pl.String, "agency": pl.String, "channel": pl.String}
_TS = pl.Datetime("us", "UTC")
_STEPS = ("opened_at", "started_at", "completed_at")


def wave_label(column: str, cadence: str = "quarter") -> pl.Expr:
    """The wave a timestamp falls in: ``2026-Q1``, ``2026-03`` or ISO ``2026-W09``."""
    at = pl.col(column)
    if cadence == "quarter":
        return pl.format("{}-Q{}", at.dt.year(), at.dt.quarter())
    if cadence == "month":
        return at.dt.strftime("%Y-%m")
    if cadence == "week":
        return pl.format("{}-W{}", at.dt.iso_year(), at.dt.week().cast(pl.String).str.zfill(2))
    raise ValueError(f"unknown cadence {cadence!r}: use one of {', '.join(CADENCES)}")


def _read(
    s: Session, scope: Scope, model: Any, schema: dict[str, Any], *where: Any
) -> pl.DataFrame:
    """The ``schema`` columns of ``model``'s rows in the scope (and ``where``) as a frame."""
    stmt = select(*(getattr(model, c) for c in schema)).where(*where)
    rows = s.exec(restrict_statement(stmt, scope, model)).all()
    if len(schema) == 1:  # one column comes back as scalars, not rows
        return pl.DataFrame({next(iter(schema)): list(rows)}, schema=schema)
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def _waved(df: pl.DataFrame, at: str, filters: Filters, cadence: str) -> pl.DataFrame:
    """Rows of the filtered wave (by its period, whatever its cadence), labelled with their wave;
    then the channel filter."""
    if filters.wave is not None:
        start, end = wave_period(filters.wave)
        lo = datetime.combine(start, time.min, UTC)
        hi = datetime.combine(end, time.max, UTC)
        df = df.filter(pl.col(at).is_between(lo, hi)).with_columns(wave=pl.lit(filters.wave))
    else:
        df = df.with_columns(wave=wave_label(at, cadence))
    if filters.channels:
        df = df.filter(pl.col("channel").is_in(list(filters.channels)))
    return df


def _invitations(s: Session, scope: Scope) -> pl.DataFrame:
    schema = {"id": pl.Int64, **dict.fromkeys(("created_at", *_STEPS), _TS), **_GEO}
    return _read(s, scope, Invitation, schema)


def _deliveries(s: Session, scope: Scope) -> pl.DataFrame:
    """Invitation e-mails the outbox has sent (key ``invitation:<id>``)."""
    sent = _read(
        s,
        scope,
        Notification,
        {"dedupe_key": pl.String},
        col(Notification.dedupe_key).startswith("invitation:"),
        col(Notification.status) == "sent",
    )
    return (
        sent.select(
            id=pl.col("dedupe_key").str.strip_prefix("invitation:").cast(pl.Int64, strict=False)
        )
        .drop_nulls()
        .with_columns(delivered=pl.lit(True))
    )


def _events(s: Session, scope: Scope) -> pl.DataFrame:
    schema = {"at": _TS, "event": pl.String, **_GEO}
    return _read(s, scope, SurveyEvent, schema, col(SurveyEvent.invitation_id).is_(None))


def _open_answers(s: Session, scope: Scope) -> pl.DataFrame:
    schema = {"received_at": _TS, **_GEO}
    return _read(s, scope, SurveyAnswer, schema, col(SurveyAnswer.invitation_id).is_(None))


def _counts(df: pl.DataFrame, **aggs: pl.Expr) -> pl.DataFrame:
    group = ["wave", "region", "country", "agency", "channel"]
    return df.group_by(group).agg(**aggs)


def funnel(s: Session, scope: Scope, filters: Filters, *, cadence: str = "quarter") -> pl.DataFrame:
    """One row per wave × agency × channel × kind (``personal`` or ``open``), with the counts of
    :data:`STAGES` (``invited`` and ``sent`` null for open links) and the rates
    ``open_rate`` (opened / invited), ``completion_rate`` (completed / opened) and
    ``response_rate`` (completed / invited)."""
    group = ["wave", "region", "country", "agency", "channel"]
    personal = _counts(
        _waved(_invitations(s, scope), "created_at", filters, cadence).join(
            _deliveries(s, scope), on="id", how="left"
        ),
        invited=pl.len().cast(pl.Int64),
        sent=pl.col("delivered").fill_null(False).sum().cast(pl.Int64),
        opened=pl.col("opened_at").is_not_null().sum().cast(pl.Int64),
        started=pl.col("started_at").is_not_null().sum().cast(pl.Int64),
        completed=pl.col("completed_at").is_not_null().sum().cast(pl.Int64),
    ).with_columns(kind=pl.lit("personal"))
    events = _counts(
        _waved(_events(s, scope), "at", filters, cadence),
        opened=(pl.col("event") == "opened").sum().cast(pl.Int64),
        started=(pl.col("event") == "started").sum().cast(pl.Int64),
    )
    answers = _counts(
        _waved(_open_answers(s, scope), "received_at", filters, cadence),
        completed=pl.len().cast(pl.Int64),
    )
    opened = (
        events.join(answers, on=group, how="full", coalesce=True)
        .with_columns(
            invited=pl.lit(None, pl.Int64),
            sent=pl.lit(None, pl.Int64),
            opened=pl.col("opened").fill_null(0),
            started=pl.col("started").fill_null(0),
            completed=pl.col("completed").fill_null(0),
            kind=pl.lit("open"),
        )
        .select(personal.columns)
    )
    return with_rates(pl.concat([personal, opened]).select(*KEYS, *STAGES)).sort(
        "wave", "country", "agency", "channel", "kind"
    )


def with_rates(df: pl.DataFrame) -> pl.DataFrame:
    """Add ``open_rate``, ``completion_rate`` and ``response_rate`` (null where undefined)."""

    def rate(num: str, den: str) -> pl.Expr:
        return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).otherwise(None)

    return df.with_columns(
        open_rate=rate("opened", "invited"),
        completion_rate=rate("completed", "opened"),
        response_rate=rate("completed", "invited"),
    )


def _sums(df: pl.DataFrame, group: list[str]) -> pl.DataFrame:
    """Each stage summed per group; a stage no row of a group has (``invited`` and ``sent`` of
    open links) stays null rather than 0."""
    return df.group_by(group).agg(
        pl.when(pl.col(stage).is_not_null().any()).then(pl.col(stage).sum()).alias(stage)
        for stage in STAGES
    )


def totals(df: pl.DataFrame, by: str = "channel") -> pl.DataFrame:
    """The funnel summed per ``by`` (``channel``, ``agency``…) and kind, with its rates: personal
    invitations and open links stay apart, so a rate never divides visits by invitations."""
    return with_rates(_sums(df, [by, "kind"]).sort(by, "kind"))


def stages(df: pl.DataFrame, by: str = "channel") -> pl.DataFrame:
    """Long form for the chart: ``by``, ``stage`` (in funnel order), ``count``."""
    return (
        _sums(df, [by])
        .unpivot(index=by, on=list(STAGES), variable_name="stage", value_name="count")
        .drop_nulls("count")
        .with_columns(order=pl.col("stage").replace_strict(STAGES, range(len(STAGES))))
        .sort(by, "order")
        .drop("order")
    )


def has_activity(s: Session, scope: Scope) -> bool:
    """Whether any invitation, open-link event or captured answer lies in the scope."""
    for model in (Invitation, SurveyEvent, SurveyAnswer):
        if s.exec(restrict_statement(select(model.id), scope, model).limit(1)).first() is not None:
            return True
    return False
