"""Front-staff scorecards: per advisor and period, the satisfaction of the customers they served,
for the motivation system the seed describes (and an HR export).

Per advisor (``advisor_id``) and period (calendar month ``2026-03`` or quarter ``2026-Q1`` of
``responded_at``):

- ``n``, NPS and its margin of error, CSAT where the data has it (the contract's definitions,
  weights applied, excluded answers out); ``low_base`` under 30 answers; a cell of fewer than 5
  answers is *suppressed*: its count only, no score;
- ``negatives`` (NPS 0–6, unweighted) and ``commented_share``: the share of them the agency's staff
  commented in the rating feed (every negative rating must be commented);
- ``cases`` opened for the advisor's customers in the period and ``sla_share``: the share closed
  within the close SLA (7 days);
- the change vs the advisor's previous period and whether it is significant (the contract's z-test).

Who sees what is decided here, not in the page: an advisor sees only their own scorecard (their
scope's ``advisor:`` entries); an agency manager the advisors of their agency, ranked by NPS
among advisors with 30+ answers (never on a low base). Nobody else: a country manager or the
CEO gets the agency figures, not a person's.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from sqlmodel import Session, col, select

from cx.core import filters as filters_mod
from cx.core import metrics, roles
from cx.core.filters import Filters
from cx.core.scope import Scope, restrict, restrict_statement
from cx.core.users import User
from cx.loop.cases import CLOSE_SLA
from cx.store.models import Case, RatingComment

PERIODS = ("month", "quarter")


class ScorecardForbidden(PermissionError):
    """The user may not see these scorecards (role, or an advisor account without advisor id)."""


def readable_scope(user: User) -> Scope:
    """The rows of the scorecards ``user`` may see; raise :class:`ScorecardForbidden` otherwise.

    An advisor sees their own (their scope's ``advisor:`` entries), an agency manager their
    agencies' advisors; any other role none (a person's figures go to their own manager only).
    """
    if user.has(*roles.OWN_DASHBOARDS) and not user.has(*roles.DASHBOARD_READERS):
        if not user.scope.staff:
            raise ScorecardForbidden(
                f"{user.username} has no advisor id: an administrator adds advisor:<id> to the "
                "account's scope (cx users add NAME --role advisor --scope agency:A "
                "--scope advisor:ID)"
            )
        return user.scope
    if user.has(*roles.SCORECARD_READERS):
        agencies = user.scope.values("agency")
        if not agencies:
            raise ScorecardForbidden("scorecards are for an agency manager's own agency")
        return Scope.parse([f"agency:{a}" for a in agencies])
    raise ScorecardForbidden(
        "a front-staff scorecard is shown to the advisor and their agency manager only"
    )


def period_expr(period: str, column: str = "responded_at") -> pl.Expr:
    """The period label of ``column``: ``2026-03`` (month) or ``2026-Q1`` (quarter).

    >>> from datetime import datetime
    >>> df = pl.DataFrame({"responded_at": [datetime(2026, 2, 14), datetime(2026, 11, 1)]})
    >>> df.select(period_expr("quarter"))["period"].to_list()
    ['2026-Q1', '2026-Q4']
    >>> df.select(period_expr("month"))["period"].to_list()
    ['2026-02', '2026-11']
    """
    at = pl.col(column)
    if period == "month":
        return at.dt.strftime("%Y-%m").alias("period")
    if period == "quarter":
        return pl.format("{}-Q{}", at.dt.year(), at.dt.quarter()).alias("period")
    raise ValueError(f"unknown period {period!r}; use {' or '.join(PERIODS)}")


def _commented(s: Session, scope: Scope) -> pl.DataFrame:
    rows = s.exec(
        restrict_statement(
            select(RatingComment.response_id).distinct(),  # type: ignore[call-overload]
            scope.geography,
            RatingComment,
        )
    ).all()
    return pl.DataFrame({"response_id": list(rows)}, schema={"response_id": pl.String})


def _cases(s: Session, scope: Scope, period: str) -> pl.DataFrame:
    rows = s.exec(
        restrict_statement(
            select(Case.advisor_id, Case.created_at, Case.closed_at).where(  # type: ignore[call-overload]
                col(Case.advisor_id).is_not(None)
            ),
            scope.geography,
            Case,
        )
    ).all()
    frame = pl.DataFrame(
        [tuple(r) for r in rows],
        schema={
            "advisor_id": pl.String,
            "created_at": pl.Datetime("us", "UTC"),
            "closed_at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )
    if scope.staff:
        frame = frame.filter(pl.col("advisor_id").is_in(list(scope.staff)))
    return (
        frame.with_columns(period_expr(period, "created_at"))
        .group_by("advisor_id", "period")
        .agg(
            cases=pl.len().cast(pl.Int64),
            within_sla=(pl.col("closed_at") - pl.col("created_at") <= CLOSE_SLA)
            .fill_null(False)
            .sum()
            .cast(pl.Int64),
        )
    )


def _previous(df: pl.DataFrame) -> pl.DataFrame:
    """Each advisor's previous period (in their own sequence of periods) joined as ``prev_*``."""
    ordered = df.sort("advisor_id", "period")
    prev = ordered.select(
        "advisor_id",
        pl.col("period").shift(-1).over("advisor_id").alias("period"),
        pl.col("nps").alias("prev_nps"),
        pl.col("nps_moe").alias("prev_moe"),
    ).drop_nulls("period")
    return df.join(prev, on=["advisor_id", "period"], how="left")


def scorecards(
    frame: pl.LazyFrame,
    user: User,
    filters: Filters,
    s: Session,
    *,
    period: str = "quarter",
) -> pl.DataFrame:
    """The scorecards ``user`` may see, one row per advisor and period, latest period first.

    The wave filter does not apply (periods are calendar months or quarters of the answer date);
    channel, touchpoint and segment filters do.
    """
    scope = readable_scope(user)
    cols = set(frame.collect_schema().names())
    if "advisor_id" not in cols:
        return pl.DataFrame()
    has_csat = "csat" in cols
    rows = filters_mod.apply(restrict(frame, scope), filters, waves=False).filter(
        pl.col("advisor_id").is_not_null()
    )
    if "weight" not in cols:
        rows = rows.with_columns(weight=pl.lit(1.0))
    rows = rows.with_columns(period_expr(period))
    got = (
        rows.group_by("region", "country", "agency", "advisor_id", "period")
        .agg(*metrics.base_aggs(), *([metrics.csat()] if has_csat else []))
        .with_columns(metrics.moe_from_columns(), negatives=pl.col("detractors").cast(pl.Int64))
        .collect()
    )
    if not has_csat:
        got = got.with_columns(csat=pl.lit(None, pl.Float64))
    commented = (
        rows.filter(metrics.is_detractor())
        .select("response_id", "advisor_id", "period")
        .collect()
        .join(_commented(s, scope), on="response_id", how="semi")
        .group_by("advisor_id", "period")
        .agg(negatives_commented=pl.len().cast(pl.Int64))
    )
    out = (
        got.join(commented, on=["advisor_id", "period"], how="left")
        .join(_cases(s, scope, period), on=["advisor_id", "period"], how="left")
        .with_columns(pl.col("negatives_commented", "cases", "within_sla").fill_null(0))
        .with_columns(
            commented_share=pl.when(pl.col("negatives") > 0).then(
                pl.col("negatives_commented") / pl.col("negatives")
            ),
            sla_share=pl.when(pl.col("cases") > 0).then(pl.col("within_sla") / pl.col("cases")),
            low_base=metrics.low_base(),
            suppressed=metrics.suppressed(),
        )
    )
    blank = [
        pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("nps", "nps_moe", "csat", "promoters", "passives", "detractors", "negatives")
    ]
    out = _previous(out.with_columns(blank)).with_columns(change=pl.col("nps") - pl.col("prev_nps"))
    out = out.with_columns(
        significant=metrics.significant(
            pl.col("nps"), pl.col("nps_moe"), pl.col("prev_nps"), pl.col("prev_moe")
        ).fill_null(False)
    )
    ranked = user.has(*roles.SCORECARD_READERS) and not scope.staff
    out = out.with_columns(
        rank=(
            pl.when(~pl.col("low_base") & pl.lit(ranked))
            .then(pl.col("nps"))
            .rank("min", descending=True)
            .over("agency", "period")
            .cast(pl.Int64)
        )
    )
    return out.select(
        "period",
        "region",
        "country",
        "agency",
        "advisor_id",
        "n",
        "nps",
        "nps_moe",
        "csat",
        "prev_nps",
        "change",
        "significant",
        "negatives",
        "negatives_commented",
        "commented_share",
        "cases",
        "within_sla",
        "sla_share",
        "low_base",
        "suppressed",
        "rank",
    ).sort(["period", "rank", "advisor_id"], descending=[True, False, False], nulls_last=True)


def periods(df: pl.DataFrame) -> list[str]:
    """The periods of a scorecard frame, latest first."""
    return sorted(set(df["period"].to_list()), reverse=True) if not df.is_empty() else []


def takeaway(df: pl.DataFrame, period: str, *, own: bool) -> str:
    """One sentence for the screen: the advisor's own NPS and its change, or the agency's spread."""
    rows = df.filter(pl.col("period") == period)
    if rows.is_empty():
        return f"No answer from the customers served in {period}."
    if own:
        r = rows.row(0, named=True)
        if r["suppressed"]:
            return f"{r['n']} answers in {period}: too few to show a score (5 are needed)."
        change = (
            ""
            if r["change"] is None
            else f", {r['change']:+.1f} pts vs the previous period"
            + (" (significant)" if r["significant"] else " (not significant)")
        )
        base = " — low base, read with care" if r["low_base"] else ""
        return f"Your customers' NPS in {period}: {r['nps']:+.1f} (n = {r['n']}){change}{base}."
    ranked = rows.filter(pl.col("rank").is_not_null())
    if ranked.height < 2:
        return (
            f"{rows.height} advisors answered for in {period}; fewer than two have 30+ answers, "
            "so none is ranked."
        )
    top, low = ranked.row(0, named=True), ranked.row(-1, named=True)
    return (
        f"{ranked.height} advisors with 30+ answers in {period}: NPS from {low['nps']:+.1f} "
        f"({low['advisor_id']}) to {top['nps']:+.1f} ({top['advisor_id']})."
    )


def export_frame(df: pl.DataFrame, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """The scorecard rows as an HR export: rounded figures, suppressed cells left empty."""
    out = df.with_columns(
        pl.col("nps", "nps_moe", "csat", "prev_nps", "change").round(1),
        pl.col("commented_share", "sla_share").round(3),
    )
    return out.select(columns) if columns else out
