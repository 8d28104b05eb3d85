"""Attribute alerts: which entity x attribute went wrong at the latest wave, why, and how badly.

For every agency and country inside the scope and every ``attr_*`` column, at the target wave
(``filters.wave`` or the latest), four signals are computed from wave-level aggregates only:

- ``trend_down``: the inverse-variance weighted regression slope over the last 4 waves is
  significantly negative (z < -1.96), the latest wave is significantly (z test) and at least
  0.5 points below the window's first wave, and the wave before the latest is already
  significantly and at least 0.25 points below it (a sustained decline, not a one-wave wobble);
- ``below_peers``: significantly below the pooled mean of similar entities (other agencies of the
  same country, other countries of the same region): z < -1.96 and a gap of at least 0.5 points.
  Only with at least :data:`~cx.analytics.benchmarks.MIN_PEERS` peers holding 5 answers or more,
  and only when the peers outside the viewer's scope are none or at least that many: a pooled
  mean never stands for one other entity, directly or once the viewer subtracts what they see;
- ``unexpected``: below the 95 % prediction interval of the entity's own history
  (mean - t * sd * sqrt(1 + 1/k) over the k previous waves with n >= 30) and at least 0.5 points
  below that history's mean (a drop that matters, not a rounding);
- ``high_importance``: the attribute is among the entity's top-3 drivers (correlation of the
  attribute with NPS at the target wave); it never alerts alone, it raises the score by 50 %.

No alert when the entity's base at the target wave is low (n < 30). The score is the sum over
the firing signals of (1 + the size of the gap in points), times 1.5 for a top driver.

Peers outside the user's scope are used only as one pooled mean of several entities (the
benchmark exception of the data contract); no row, name or figure of an entity outside the scope
is returned, and no peer mean is shown when it would be one entity's figure.

State of an alert (open / acknowledged / dismissed, linked plan or reference) lives in the
:class:`AlertState` table; every change is audited with :func:`cx.store.audit`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from sqlmodel import Session, select

from cx import store
from cx.analytics import overview
from cx.analytics.benchmarks import MIN_PEERS
from cx.core import data, metrics
from cx.core import org as org_mod
from cx.core.data import data_dir
from cx.core.filters import Filters
from cx.core.roles import DASHBOARD_READERS
from cx.core.scope import Scope, contains, predicate, restrict, restrict_statement
from cx.core.users import User
from cx.loop import events, webhooks
from cx.store.models import AlertState

WINDOW = 4
"""Waves in the trend window (the latest and the three before)."""
MIN_GAP = 0.5
"""Smallest gap on the 0-10 scale worth an alert (below peers, below the expected range)."""
TOP_DRIVERS = 3
IMPORTANCE_BOOST = 1.5
REASONS = ("trend_down", "below_peers", "high_importance", "unexpected")
STATUSES = ("open", "acknowledged", "dismissed")
LEVEL_PARENT = {"agency": "country", "country": "region"}

# Two-sided 95 % Student t quantiles by degrees of freedom (no SciPy in the stack).
_T975 = {
    1: 12.706,
    2: 4.303,
    3: 3.182,
    4: 2.776,
    5: 2.571,
    6: 2.447,
    7: 2.365,
    8: 2.306,
    9: 2.262,
    10: 2.228,
    11: 2.201,
    12: 2.179,
    13: 2.160,
    14: 2.145,
    15: 2.131,
    16: 2.120,
    17: 2.110,
    18: 2.101,
    19: 2.093,
    20: 2.086,
    25: 2.060,
    30: 2.042,
    40: 2.021,
    60: 2.000,
    120: 1.980,
}

ALERT_SCHEMA = pl.Schema(
    {
        "level": pl.String(),
        "entity": pl.String(),
        "region": pl.String(),
        "country": pl.String(),
        "attribute": pl.String(),
        "label": pl.String(),
        "wave": pl.String(),
        "score": pl.Float64(),
        "reasons": pl.List(pl.String()),
        "sentence": pl.String(),
        "mean": pl.Float64(),
        "n": pl.UInt32(),
        "peer_mean": pl.Float64(),
        "expected_lo": pl.Float64(),
        "first_mean": pl.Float64(),
        "history_waves": pl.List(pl.String()),
        "history": pl.List(pl.Float64()),
        "key": pl.String(),
    }
)


def t975(df: int) -> float:
    """Two-sided 95 % t quantile for ``df`` degrees of freedom (next lower tabulated df).

    >>> t975(6), t975(200)
    (2.447, 1.96)
    """
    if df > 120:
        return metrics.Z95
    return _T975[max(k for k in _T975 if k <= max(df, 1))]


def _t_expr(df: pl.Expr) -> pl.Expr:
    dfs = list(range(1, 121))
    return df.replace_strict(
        dfs, [t975(d) for d in dfs], default=metrics.Z95, return_dtype=pl.Float64
    )


def _widened(frame: pl.LazyFrame, scope: Scope) -> Scope:
    """The scope plus the parents needed for peers: an agency's country, a country's region."""
    if scope.is_world or scope.is_empty:
        return scope
    geo = restrict(frame, scope).select("region", "country", "agency").unique().collect()
    specs = [str(e) for e in scope.entries]
    for e in scope.entries:
        if e.level == "agency":
            specs += [
                f"country:{c}"
                for c in geo.filter(pl.col("agency") == e.value)["country"].unique().to_list()
            ]
        elif e.level == "country":
            specs += [
                f"region:{r}"
                for r in geo.filter(pl.col("country") == e.value)["region"].unique().to_list()
            ]
    return Scope.parse(specs)


def _agency_sums(rows: pl.LazyFrame, attrs: list[str], rank: pl.Expr) -> pl.LazyFrame:
    """Per agency x wave x attribute: count and weighted sums (additive, so countries reuse them)."""
    w, v = pl.col("weight"), pl.col("value")
    return (
        rows.with_columns(wave_i=rank)
        .select("region", "country", "agency", "wave", "wave_i", "weight", *attrs)
        .unpivot(
            index=["region", "country", "agency", "wave", "wave_i", "weight"],
            on=attrs,
            variable_name="attribute",
            value_name="value",
        )
        .filter(v.is_not_null())
        .with_columns(v.cast(pl.Float64))
        .group_by("region", "country", "agency", "wave", "wave_i", "attribute")
        .agg(n=pl.len(), sw=w.sum(), sw2=(w * w).sum(), swv=(w * v).sum(), swv2=(w * v * v).sum())
    )


def _peers_shown(scope: Scope, grp: list[str]) -> pl.Expr:
    """Whether an entity's pooled peers may be shown to a viewer with ``scope``: at least
    MIN_PEERS peers with a shown cell (n >= 5), and the peers the viewer cannot see whole either
    none or at least MIN_PEERS of them with a shown cell (else subtracting the peers the viewer
    sees would leave one or two foreign entities' figure)."""
    shown = pl.col("n") >= metrics.SUPPRESS_BELOW
    foreign = ~predicate(scope).fill_null(False)

    def others(flag: pl.Expr) -> pl.Expr:
        return flag.cast(pl.Int64).sum().over(grp) - flag.cast(pl.Int64)

    return (others(shown) >= MIN_PEERS) & (
        (others(foreign) == 0) | (others(foreign & shown) >= MIN_PEERS)
    )


def _entity_stats(sums: pl.LazyFrame, level: str, scope: Scope) -> pl.LazyFrame:
    """Per entity x wave x attribute: n, weighted mean and SE, and the pooled peers' mean and SE
    (null when :func:`_peers_shown` says no)."""
    parent = LEVEL_PARENT[level]
    if level == "country":
        sums = sums.group_by("region", "country", "wave", "wave_i", "attribute").agg(
            pl.col("n", "sw", "sw2", "swv", "swv2").sum()
        )
        sums = sums.with_columns(agency=pl.lit(None, pl.String))  # a country is seen whole or not
    grp = [parent, "wave_i", "attribute"]
    sums = sums.with_columns(peers_shown=_peers_shown(scope, grp))
    ok = pl.col("peers_shown")
    p = {
        c: pl.when(ok).then(pl.col(c).sum().over(grp) - pl.col(c))
        for c in ("sw", "sw2", "swv", "swv2", "n")
    }

    def se(sw: pl.Expr, sw2: pl.Expr, swv: pl.Expr, swv2: pl.Expr) -> pl.Expr:
        return ((swv2 / sw - (swv / sw).pow(2)).clip(lower_bound=1e-9) / (sw.pow(2) / sw2)).sqrt()

    return sums.with_columns(
        level=pl.lit(level),
        entity=pl.col(level),
        mean=pl.col("swv") / pl.col("sw"),
        se=se(pl.col("sw"), pl.col("sw2"), pl.col("swv"), pl.col("swv2")),
        peer_n=p["n"],
        peer_mean=p["swv"] / p["sw"],
        peer_se=se(p["sw"], p["sw2"], p["swv"], p["swv2"]),
    ).select(
        "level",
        "entity",
        "region",
        "country",
        "wave",
        "wave_i",
        "attribute",
        "n",
        "mean",
        "se",
        "peer_n",
        "peer_mean",
        "peer_se",
    )


def _importance(rows: pl.LazyFrame, level: str, attrs: list[str]) -> pl.LazyFrame:
    """Top-3 drivers per entity: the attributes most correlated with NPS (one group_by)."""
    corr = rows.group_by(level).agg([pl.corr(a, "nps").alias(a) for a in attrs])
    return (
        corr.unpivot(index=level, on=attrs, variable_name="attribute", value_name="r")
        .with_columns(rk=pl.col("r").fill_nan(None).rank("ordinal", descending=True).over(level))
        .select(
            pl.col(level).alias("entity"),
            "attribute",
            high_importance=(pl.col("rk") <= TOP_DRIVERS).fill_null(False),
        )
    )


def detect(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.DataFrame:
    """Alerts for every agency and country of the scope x attribute at the target wave.

    Columns: level, entity, region, country, attribute, label, wave, score, reasons, sentence,
    mean, n, peer_mean, expected_lo, first_mean, history_waves, history, key; best score first.
    """
    cols = overview.columns_of(frame)
    attrs = data.attributes(cols)
    order = overview.waves(frame)
    wave = filters.wave or (order[-1] if order else None)
    if not attrs or wave not in order:
        return pl.DataFrame(schema=ALERT_SCHEMA)
    t = order.index(wave)
    rank = overview.wave_rank(order)
    rows = overview.scoped(frame, _widened(frame, scope), filters.with_wave(None)).filter(rank <= t)
    latest = rows.filter(pl.col("wave") == wave)
    sums = _agency_sums(rows, attrs, rank).collect().lazy()  # a few thousand rows, read twice
    stats = pl.concat(
        [_entity_stats(sums, lvl, scope) for lvl in ("agency", "country")], how="vertical"
    )
    imp = pl.concat(
        [_importance(latest, lvl, attrs) for lvl in ("agency", "country")], how="vertical"
    )

    x, y = pl.col("wave_i"), pl.col("mean")
    win = (x > t - WINDOW) & (pl.col("n") >= metrics.SUPPRESS_BELOW)
    wt = (1 / pl.col("se").pow(2)).filter(win)
    xw, yw = x.filter(win).cast(pl.Float64), y.filter(win)
    hist = (x < t) & (pl.col("n") >= metrics.LOW_BASE)
    at = x == t

    def pick(col: str, cond: pl.Expr) -> pl.Expr:
        return pl.col(col).filter(cond).first()

    per = (
        stats.sort("wave_i")
        .group_by("level", "entity", "attribute")
        .agg(
            region=pl.col("region").first(),
            country=pl.col("country").first(),
            n=pick("n", at),
            mean=pick("mean", at),
            se=pick("se", at),
            peer_n=pick("peer_n", at),
            peer_mean=pick("peer_mean", at),
            peer_se=pick("peer_se", at),
            first_mean=pick("mean", win & (x == t - WINDOW + 1)),
            first_se=pick("se", win & (x == t - WINDOW + 1)),
            prev_mean=pick("mean", win & (x == t - 1)),
            prev_se=pick("se", win & (x == t - 1)),
            W=wt.sum(),
            Sx=(wt * xw).sum(),
            Sy=(wt * yw).sum(),
            Sxx=(wt * xw * xw).sum(),
            Sxy=(wt * xw * yw).sum(),
            k=y.filter(hist).len(),
            h_mean=y.filter(hist).mean(),
            h_sd=y.filter(hist).std(ddof=1),
            history_waves=pl.col("wave").filter(pl.col("n") >= metrics.SUPPRESS_BELOW),
            history=y.filter(pl.col("n") >= metrics.SUPPRESS_BELOW),
        )
    )
    den = pl.col("W") * pl.col("Sxx") - pl.col("Sx").pow(2)
    slope = (pl.col("W") * pl.col("Sxy") - pl.col("Sx") * pl.col("Sy")) / den
    slope_z = slope / (pl.col("W") / den).sqrt()

    def z_below(a: str, sa: str, b: str, sb: str) -> pl.Expr:
        return (pl.col(a) - pl.col(b)) / (pl.col(sa).pow(2) + pl.col(sb).pow(2)).sqrt()

    expected_lo = (
        pl.col("h_mean") - _t_expr(pl.col("k") - 1) * pl.col("h_sd") * (1 + 1 / pl.col("k")).sqrt()
    )
    ok = pl.col("n") >= metrics.LOW_BASE
    flags = (
        per.with_columns(
            expected_lo=pl.when(pl.col("k") >= 3).then(expected_lo),
        )
        .with_columns(
            trend_down=(
                ok
                & (slope_z < -metrics.Z95)
                & (z_below("mean", "se", "first_mean", "first_se") < -metrics.Z95)
                & (pl.col("first_mean") - pl.col("mean") >= MIN_GAP)
                & (z_below("prev_mean", "prev_se", "first_mean", "first_se") < -metrics.Z95)
                & (pl.col("first_mean") - pl.col("prev_mean") >= MIN_GAP / 2)
            ).fill_null(False),
            below_peers=(
                ok
                & (pl.col("peer_n") >= metrics.LOW_BASE)
                & (z_below("mean", "se", "peer_mean", "peer_se") < -metrics.Z95)
                & (pl.col("peer_mean") - pl.col("mean") >= MIN_GAP)
            ).fill_null(False),
            unexpected=(
                ok
                & (pl.col("mean") < pl.col("expected_lo"))
                & (pl.col("h_mean") - pl.col("mean") >= MIN_GAP)
            ).fill_null(False),
        )
        .join(imp, on=["entity", "attribute"], how="left")
        .with_columns(pl.col("high_importance").fill_null(False))
    )

    def part(flag: str, gap: pl.Expr) -> pl.Expr:
        return pl.when(pl.col(flag)).then(1 + gap.clip(lower_bound=0)).otherwise(0.0)

    alerting = pl.col("trend_down") | pl.col("below_peers") | pl.col("unexpected")
    out = (
        flags.filter(alerting)
        .with_columns(
            score=(
                (
                    part("trend_down", pl.col("first_mean") - pl.col("mean"))
                    + part("below_peers", pl.col("peer_mean") - pl.col("mean"))
                    + part("unexpected", pl.col("h_mean") - pl.col("mean"))
                )
                * pl.when(pl.col("high_importance")).then(IMPORTANCE_BOOST).otherwise(1.0)
            ).round(2),
            reasons=pl.concat_list(
                [pl.when(pl.col(r)).then(pl.lit(r)) for r in REASONS]
            ).list.drop_nulls(),
            label=pl.col("attribute")
            .str.strip_prefix(data.ATTR_PREFIX)
            .str.replace_all("_", " ")
            .str.to_lowercase(),
            wave=pl.lit(wave),
        )
        .with_columns(sentence=_sentence(), key=alert_key_expr())
        # Only entities inside the user's scope are reported (peers served as one pooled mean).
        .with_columns(agency=pl.when(pl.col("level") == "agency").then(pl.col("entity")))
    )
    return (
        restrict(out, scope)
        .with_columns(
            label=pl.col("label").str.slice(0, 1).str.to_uppercase() + pl.col("label").str.slice(1)
        )
        .select(list(ALERT_SCHEMA))
        .cast(ALERT_SCHEMA)
        .sort(["score", "level", "entity", "attribute"], descending=[True, False, False, False])
        .collect()
    )


def _sentence() -> pl.Expr:
    """One sentence in words: what is wrong, with figures, joined by '; '."""
    where = pl.when(pl.col("level") == "agency").then(pl.lit("in ")).otherwise(
        pl.lit("in country ")
    ) + pl.col("entity")
    f1 = pl.format("{}", pl.col("mean").round(1))
    parts = [
        pl.when(pl.col("trend_down")).then(
            pl.format("fell from {} to {} over the last 4 waves", pl.col("first_mean").round(1), f1)
        ),
        pl.when(pl.col("below_peers")).then(
            pl.format(
                "is {} points below {} ({})",
                (pl.col("peer_mean") - pl.col("mean")).round(1),
                pl.when(pl.col("level") == "agency")
                .then(pl.format("the other agencies of {}", pl.col("country")))
                .otherwise(pl.format("the other countries of {}", pl.col("region"))),
                pl.col("peer_mean").round(1),
            )
        ),
        pl.when(pl.col("unexpected")).then(
            pl.format(
                "at {} is below its usual range (expected at least {})",
                f1,
                pl.col("expected_lo").round(1),
            )
        ),
    ]
    body = pl.concat_list(parts).list.drop_nulls().list.join("; ")
    tail = (
        pl.when(pl.col("high_importance"))
        .then(pl.lit("; it is a top-3 driver of NPS here"))
        .otherwise(pl.lit(""))
    )
    return pl.format(
        "{} {} {}{}.",
        pl.col("label").str.slice(0, 1).str.to_uppercase() + pl.col("label").str.slice(1),
        where,
        body,
        tail,
    )


def alert_key_expr() -> pl.Expr:
    """``level:entity:attribute:wave``: one alert per entity, attribute and wave."""
    return pl.format("{}:{}:{}:{}", "level", "entity", "attribute", "wave")


def sparkline_frame(alert: dict[str, Any]) -> pl.DataFrame:
    """The attribute's history of one alert row (wave, mean), for :func:`cx.charts.alerts.sparkline_chart`."""
    return pl.DataFrame(
        {"wave": alert["history_waves"] or [], "mean": alert["history"] or []},
        schema={"wave": pl.String, "mean": pl.Float64},
    ).with_columns(latest=pl.col("wave") == alert["wave"])


# ---------------------------------------------------------------- state (operational store)


def states(s: Session, scope: Scope) -> dict[str, AlertState]:
    """Alert states inside the scope, by alert key."""
    stmt = restrict_statement(select(AlertState), scope, AlertState)
    return {row.key: row for row in s.exec(stmt)}


def _placed(key: str, alert: dict[str, Any]) -> dict[str, Any]:
    """Level, entity and place of an alert from its key (``level:entity:attribute:wave``) and
    ``org.yaml``; without an ``org.yaml`` the caller's region and country are kept."""
    parts = key.split(":")
    if len(parts) != 4 or parts[0] not in ("agency", "country") or not parts[1]:
        raise ValueError(f"malformed alert key {key!r}")
    level, entity, attribute, wave = parts
    org = org_mod.load(data_dir())
    placed: dict[str, Any] = {
        "level": level,
        "entity": entity,
        "attribute": attribute,
        "wave": wave,
    }
    if not org.agencies:
        return {**placed, "region": alert.get("region"), "country": alert.get("country")}
    where = org.place(f"{level}:{entity}")
    if where is None:
        raise ValueError(f"alert {key!r}: no {level} {entity!r} in the organisation")
    return {**placed, "region": where["region"], "country": where["country"]}


def set_state(
    s: Session,
    user: User,
    alert: dict[str, Any],
    *,
    status: str,
    action_ref: str | None = None,
    expected_version: int | None = None,
) -> AlertState:
    """Acknowledge, dismiss, reopen or link an alert (``status`` kept, ``action_ref`` set); audited.

    The acting ``user`` must read dashboards (front-line staff may not) and see the alert's place,
    which comes from the alert's key and ``org.yaml``, never from the caller's dict. Raises
    PermissionError for a role or place the user may not act on, ValueError for an unknown status
    or a malformed key, and :class:`cx.store.StaleEdit` when someone else changed the state since
    ``expected_version``.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown alert status {status!r}; use one of {', '.join(STATUSES)}")
    if not user.has(*DASHBOARD_READERS):
        raise PermissionError(
            f"{user.username} may not act on alerts (role {', '.join(user.roles) or 'none'})"
        )
    alert = {**alert, **_placed(str(alert.get("key") or ""), alert)}
    actor = user.username
    agency = alert["entity"] if alert["level"] == "agency" else None
    if not contains(user.scope, region=alert["region"], country=alert["country"], agency=agency):
        raise PermissionError(f"alert {alert['key']} is outside your scope")
    ref = (action_ref or "").strip()[:200] or None
    row = s.exec(select(AlertState).where(AlertState.key == alert["key"])).first()
    before = None if row is None else {"status": row.status, "action_ref": row.action_ref}
    if row is None:
        row = AlertState(
            key=alert["key"],
            level=alert["level"],
            entity=alert["entity"],
            attribute=alert["attribute"],
            wave=alert["wave"],
            status=status,
            action_ref=ref,
            updated_by=actor,
            region=alert["region"],
            country=alert["country"],
            agency=agency,
        )
        s.add(row)
        s.flush()
        events.emit(  # first time anyone acts on this alert: it is raised to subscribers
            s,
            "alert.raised",
            {
                **{k: alert.get(k) for k in ("key", "level", "entity", "attribute", "wave")},
                "status": status,
            },
            region=alert["region"],
            country=alert["country"],
            agency=agency,
            key=f"alert:{alert['key']}",
        )
    else:
        version = row.version if expected_version is None else expected_version
        assert row.id is not None, "a stored alert state has an id"
        new_version = store.update_versioned(
            s,
            AlertState,
            row.id,
            version,
            {
                "status": status,
                "action_ref": ref if ref is not None else row.action_ref,
                "updated_by": actor,
                "updated_at": store.utcnow(),
            },
        )
        s.expire(row)
        row = s.get(AlertState, row.id)  # type: ignore[assignment]
        assert row is not None and row.version == new_version
    linked = ref is not None and before is not None and before["status"] == status
    store.audit(
        s,
        actor=actor,
        action="alert.link" if linked else f"alert.{status}",
        entity="alert",
        entity_id=alert["key"],
        detail={"before": before, "status": status, "action_ref": row.action_ref},
        region=alert["region"],
        country=alert["country"],
        agency=agency,
    )
    return row


def raise_new(engine: Any, root: Path, waves: list[str]) -> int:
    """Tell the ``alert.raised`` subscribers about every alert of ``waves`` (world scope), once
    per alert and subscription (dedupe ``alert:<key>``); called when a wave is imported and when
    survey answers are folded, so an alert reaches them when the data shows it, not when someone
    first acts on it. Returns the deliveries queued (0 at once when nobody subscribes)."""
    with store.session(engine) as s:
        if not any("alert.raised" in sub.events for sub in webhooks.subscriptions(s)):
            return 0
    frame = data.scan_responses(root)
    found = [detect(frame, Scope.world(), Filters(wave=w)) for w in dict.fromkeys(waves)]
    queued = 0
    with store.session(engine) as s:
        for alert in (row for table in found for row in table.iter_rows(named=True)):
            agency = alert["entity"] if alert["level"] == "agency" else None
            queued += len(
                events.emit(
                    s,
                    "alert.raised",
                    {
                        **{
                            k: alert.get(k) for k in ("key", "level", "entity", "attribute", "wave")
                        },
                        "sentence": alert.get("sentence"),
                        "status": "open",
                    },
                    region=alert["region"],
                    country=alert["country"],
                    agency=agency,
                    key=f"alert:{alert['key']}",
                )
            )
    return queued


def with_states(alerts: pl.DataFrame, found: dict[str, AlertState]) -> pl.DataFrame:
    """Join the stored status, linked action and version onto detected alerts (default: open)."""
    st = pl.DataFrame(
        {
            "key": list(found),
            "status": [r.status for r in found.values()],
            "action_ref": [r.action_ref for r in found.values()],
            "version": [r.version for r in found.values()],
        },
        schema={
            "key": pl.String,
            "status": pl.String,
            "action_ref": pl.String,
            "version": pl.Int64,
        },
    )
    return alerts.join(st, on="key", how="left").with_columns(pl.col("status").fill_null("open"))


# ---------------------------------------------------------------- screen helpers


def takeaway(alerts: pl.DataFrame, wave: str | None) -> str:
    """The screen's one sentence: how many alerts, and the most urgent one in words."""
    at = f" at {wave}" if wave else ""
    if alerts.is_empty():
        return (
            f"No attribute alert in your scope{at}: every attribute with a solid base is in line "
            "with its history and its peers."
        )
    top = alerts.row(0, named=True)
    many = f"{alerts.height} attribute alerts" if alerts.height > 1 else "One attribute alert"
    return f"{many} in your scope{at}; the most urgent: {top['sentence']}"


def cards(
    alerts: pl.DataFrame,
    found: dict[str, AlertState],
    show: tuple[str, ...] = ("open", "acknowledged"),
    limit: int = 30,
) -> list[dict[str, Any]]:
    """Alerts with their stored state, filtered by status, as plain dicts for the screen."""
    merged = with_states(alerts, found)
    return merged.filter(pl.col("status").is_in(list(show))).head(limit).to_dicts()


SIGNALS_NOTE = (
    "Signals: trend_down = significant decline over the last 4 waves (not a one-wave wobble); below_peers = "
    "significantly and ≥ 0.5 point below the other agencies of the country (countries: of the region), "
    f"only with at least {MIN_PEERS} of them, so a peer mean is never one other entity's figure; unexpected = "
    "below the 95 % prediction interval of its own history; high_importance = a top-3 driver here (raises the score). "
    "No alert on a low base (n < 30)."
)
"""What the reasons on an alert card mean (the screen's footnote)."""


def link_request(alert: dict[str, Any], plan_option: str | None, reference: str) -> tuple[str, str]:
    """The (status, action_ref) that links ``alert`` to a plan option (``plan:<id> · title``) or a free
    reference: the status is kept, except that linking an open alert acknowledges it."""
    status = alert["status"] if alert["status"] != "open" else "acknowledged"
    return status, (plan_option or "").split(" · ")[0] or reference


def done_message(alert: dict[str, Any], status: str, ref: str | None = None) -> str:
    """E.g. ``Cleanliness · Madrid: acknowledged, linked to plan:3.``"""
    linked = f", linked to {ref}" if ref else ""
    return f"{alert['label']} · {alert['entity']}: {status}{linked}."
