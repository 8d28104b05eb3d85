"""Benchmarks: league tables per level and a scope's attributes against its parent and the world.

League tables rank the entities of one level inside the user's scope (agencies of a country,
countries, regions) by NPS with a 95 % interval, test each against its parent aggregate
(agency -> its country, country -> the world, region -> the world) and show the rank movement
since the previous wave. Low bases (n < 30) are listed but never ranked nor flagged; cells with
n < 5 are suppressed.

Aggregate-only widening (deliberate, and the only one in the app): the parent and world figures
may cover rows outside the user's scope (an agency manager compares with the whole country).
They are computed with :func:`cx.core.scope.restrict` on the parent scope and aggregated at once;
only numbers leave this module, never another entity's name, rows or comments. A parent figure
is also hidden when the part of the parent outside the user's own rows holds fewer than 5
answers, since subtracting the user's own figure would then reveal that small cell, and when
that part comes from one or two entities (fewer than :data:`MIN_PEERS` with 5 answers or more):
"the rest of Spain" must never be Barcelona's figure in disguise.

Significance vs the parent uses the contract's test for two NPS (|d| / sqrt(SE1² + SE2²) > 1.96,
SE = MoE / 1.96). The entity is part of its parent, so the test is conservative. Attribute means
are compared the same way with SE = s / sqrt(n_eff) (weighted sample variance, Kish base).
"""

from __future__ import annotations

import polars as pl

from cx.analytics import overview
from cx.analytics.zones import country_name
from cx.core import metrics
from cx.core.data import attribute_label, attributes, previous_wave
from cx.core.filters import Filters
from cx.core.scope import Scope, predicate, restrict

MIN_PEERS = 3
"""Fewest peer entities a peer or rest-of-parent aggregate may pool: fewer, and it would print one
foreign entity's figure (or two, one of which the viewer may know). Alerts use it too."""
LEVELS = ("region", "country", "agency")
PARENT_LEVEL = {"agency": "country", "country": "world", "region": "world"}
WORLD = "World"
NPS_ROW = "nps"


class BenchmarkError(ValueError):
    """A benchmark asked for a level the data or the app does not know."""


def _wave(frame: pl.LazyFrame, filters: Filters) -> tuple[str, str | None]:
    ordered = overview.waves(frame)
    wave = filters.wave or ordered[-1]
    return wave, previous_wave(ordered, wave)


def _rank(df: pl.DataFrame, level: str, name: str) -> pl.DataFrame:
    """Rank by NPS (best = 1, ties by name) among cells that are neither low base nor suppressed."""
    eligible = df.filter(~pl.col("low_base") & ~pl.col("suppressed") & pl.col("nps").is_not_null())
    ranks = eligible.sort(["nps", level], descending=[True, False]).select(
        level, pl.int_range(1, pl.len() + 1).cast(pl.Int32).alias(name)
    )
    return df.join(ranks, on=level, how="left")


def _parent_scope(codes: list[str], level: str) -> Scope:
    parent = PARENT_LEVEL[level]
    if parent == "world":
        return Scope.world()
    return Scope.parse([f"{parent}:{c}" for c in codes])


def _foreign_entities(
    frame: pl.LazyFrame, wide: Scope, scope: Scope, filters: Filters, level: str, key: pl.Expr
) -> pl.LazyFrame:
    """Per ``key`` (a parent) of the rows of ``wide``: how many entities of ``level`` the viewer
    (``scope``) does not see whole, in all (``foreign_any``) and with 5 answers or more
    (``foreign_shown``). A rest-of-parent figure of 1..MIN_PEERS-1 such entities is hidden."""
    geo = list(LEVELS[: LEVELS.index(level) + 1])
    missing = [pl.lit(None, pl.String).alias(c) for c in LEVELS if c not in geo]
    entities = (
        overview.scoped(frame, wide, filters)
        .filter(pl.col(level).is_not_null())
        .group_by(key.alias("parent"), *geo)
        .agg(n=pl.len())
        .with_columns(missing)
        .with_columns(foreign=~predicate(scope).fill_null(False))
    )
    return entities.group_by("parent").agg(
        foreign_any=pl.col("foreign").sum(),
        foreign_shown=(pl.col("foreign") & (pl.col("n") >= metrics.SUPPRESS_BELOW)).sum(),
    )


def _too_few_peers() -> pl.Expr:
    """A rest of parent made of one or two foreign entities (see :data:`MIN_PEERS`)."""
    return (pl.col("foreign_any").fill_null(0) > 0) & (
        pl.col("foreign_shown").fill_null(0) < MIN_PEERS
    )


def _entity_parent(frame: pl.LazyFrame, scope: Scope, filters: Filters, level: str) -> pl.DataFrame:
    """Each entity of ``level`` inside the scope with its parent key (``World`` for the top)."""
    parent = PARENT_LEVEL[level]
    rows = overview.scoped(frame, scope, filters)
    key = pl.col(parent) if parent != "world" else pl.lit(WORLD)
    return (
        rows.filter(pl.col(level).is_not_null())
        .group_by(level)
        .agg(key.first().alias("parent"))
        .sort(level)
        .collect()
    )


def _parent_kpis(
    frame: pl.LazyFrame, filters: Filters, level: str, parents: list[str]
) -> pl.DataFrame:
    """NPS of each parent aggregate: the deliberate aggregate-only widening (numbers only)."""
    parent = PARENT_LEVEL[level]
    wide = _parent_scope(parents, level)
    if parent == "world":
        out = overview.kpis(frame, wide, filters).with_columns(parent=pl.lit(WORLD))
    else:
        out = overview.kpis(frame, wide, filters, [parent]).rename({parent: "parent"})
    return out.select(
        "parent",
        pl.col("n").alias("parent_n"),
        pl.col("nps").alias("parent_nps"),
        pl.col("nps_moe").alias("parent_moe"),
        pl.col("suppressed").alias("parent_suppressed"),
    )


def league_table(frame: pl.LazyFrame, scope: Scope, filters: Filters, level: str) -> pl.DataFrame:
    """Entities of ``level`` in the scope, ranked by NPS, vs their parent, with rank movement.

    Columns: ``<level>``, ``n``, ``nps``, ``nps_moe``, ``lo``, ``hi``, ``parent``, ``parent_nps``,
    ``parent_moe``, ``vs_parent`` (points), ``vs_parent_z`` (signed), ``vs_parent_significant``,
    ``rank``, ``prev_rank``, ``rank_change`` (positive = moved up), ``low_base``, ``suppressed``,
    ``wave``, ``prev_wave``. Ranked entities first (best first), then low bases by name.
    """
    if level not in LEVELS:
        raise BenchmarkError(f"unknown league level {level!r}: use one of {', '.join(LEVELS)}")
    if level not in overview.columns_of(frame):
        raise BenchmarkError(f"the responses have no {level!r} column")
    wave, prev = _wave(frame, filters)
    current = overview.secondary_suppression(
        overview.kpis(frame, scope, filters.with_wave(wave), [level])
        .filter(pl.col(level).is_not_null())
        .with_columns(
            change=pl.lit(None, pl.Float64),
            prev_nps=pl.lit(None, pl.Float64),
            z=pl.lit(None, pl.Float64),
            significant=pl.lit(False),
        )
    )
    current = _rank(current, level, "rank")
    if prev is not None:
        before = overview.kpis(frame, scope, filters.with_wave(prev), [level]).filter(
            pl.col(level).is_not_null()
        )
        before = _rank(before, level, "prev_rank").select(level, "prev_rank")
    else:
        before = pl.DataFrame(schema={level: pl.String, "prev_rank": pl.Int32})
    links = _entity_parent(frame, scope, filters.with_wave(wave), level)
    parents = _parent_kpis(
        frame, filters.with_wave(wave), level, sorted(links["parent"].unique().to_list())
    )
    df = (
        current.join(before, on=level, how="left")
        .join(links, on=level, how="left")
        .join(parents, on="parent", how="left")
    )
    # The user's own rows inside each parent; a remainder of 1..4 answers would be revealed, and
    # so would a remainder made of one or two entities the user does not see.
    own = df.group_by("parent").agg(pl.col("n").sum().alias("own_n"))
    parent_key = pl.col(PARENT_LEVEL[level]) if PARENT_LEVEL[level] != "world" else pl.lit(WORLD)
    foreign = _foreign_entities(
        frame,
        _parent_scope(sorted(links["parent"].unique().to_list()), level),
        scope,
        filters.with_wave(wave),
        level,
        parent_key,
    ).collect()
    rest = pl.col("parent_n") - pl.col("own_n")
    hide_parent = (
        pl.col("parent_suppressed").fill_null(True)
        | ((rest > 0) & (rest < metrics.SUPPRESS_BELOW))
        | _too_few_peers()
    )
    df = (
        df.join(own, on="parent", how="left")
        .join(foreign, on="parent", how="left")
        .with_columns(
            parent_nps=pl.when(hide_parent).then(None).otherwise(pl.col("parent_nps")),
            parent_moe=pl.when(hide_parent).then(None).otherwise(pl.col("parent_moe")),
        )
    )
    z = (pl.col("nps") - pl.col("parent_nps")) / (
        (pl.col("nps_moe") / metrics.Z95).pow(2) + (pl.col("parent_moe") / metrics.Z95).pow(2)
    ).sqrt()
    df = df.with_columns(
        lo=pl.col("nps") - pl.col("nps_moe"),
        hi=pl.col("nps") + pl.col("nps_moe"),
        vs_parent=pl.col("nps") - pl.col("parent_nps"),
        vs_parent_z=z,
        rank_change=(pl.col("prev_rank") - pl.col("rank")).cast(pl.Int32),
        wave=pl.lit(wave),
        prev_wave=pl.lit(prev, pl.String),
    ).with_columns(
        vs_parent_significant=(
            (pl.col("vs_parent_z").abs() > metrics.Z95)
            & ~pl.col("low_base")
            & ~pl.col("suppressed")
        ).fill_null(False),
    )
    names = [entity_label(level, v) for v in df[level].to_list()]
    df = df.with_columns(pl.Series("name", names, dtype=pl.String))
    columns = [
        level,
        "name",
        "n",
        "nps",
        "nps_moe",
        "lo",
        "hi",
        "parent",
        "parent_nps",
        "parent_moe",
        "vs_parent",
        "vs_parent_z",
        "vs_parent_significant",
        "rank",
        "prev_rank",
        "rank_change",
        "low_base",
        "suppressed",
        "wave",
        "prev_wave",
    ]
    return df.select(columns).sort([pl.col("rank").is_null(), "rank", level], nulls_last=True)


def _attr_aggs(columns: list[str]) -> list[pl.Expr]:
    """Per attribute: weighted mean, its standard error and the unweighted base, as wide columns."""
    w = pl.col("weight")
    out: list[pl.Expr] = [
        metrics.n().alias("nps__n"),
        metrics.nps().alias("nps__mean"),
        (metrics.nps_moe() / metrics.Z95).alias("nps__se"),
        pl.len().alias("rows"),
    ]
    for a in attributes(columns):
        x = pl.col(a)
        ws = w.filter(x.is_not_null())
        mean = (w * x).filter(x.is_not_null()).sum() / ws.sum()
        var = (w * x.pow(2)).filter(x.is_not_null()).sum() / ws.sum() - mean.pow(2)
        n_eff = ws.sum().pow(2) / ws.pow(2).sum()
        out += [
            x.count().alias(f"{a}__n"),
            mean.alias(f"{a}__mean"),
            (var * n_eff / (n_eff - 1) / n_eff).clip(lower_bound=0).sqrt().alias(f"{a}__se"),
        ]
    return out


def parent_of(frame: pl.LazyFrame, scope: Scope) -> tuple[Scope | None, str | None]:
    """The wider scope a scope is benchmarked against, and its label.

    Agencies -> their country (or countries); a country or region -> the world; the world has none.
    """
    if scope.is_world or scope.is_empty:
        return None, None
    if all(e.level == "agency" for e in scope.entries):
        codes = sorted(
            c
            for c in restrict(frame, scope)
            .select(pl.col("country").unique())
            .collect()
            .to_series()
            .to_list()
            if c is not None
        )
        if not codes:
            return None, None
        label = ", ".join(country_name(c) for c in codes)
        return Scope.parse([f"country:{c}" for c in codes]), label
    return Scope.world(), WORLD


def attribute_benchmark(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.DataFrame:
    """The scope vs its parent and the world, NPS first then attribute by attribute.

    Columns: ``attribute`` (``nps`` or ``attr_*``), ``label``, ``own_mean``, ``own_n``,
    ``parent_mean``, ``parent_n``, ``world_mean``, ``world_n``, ``diff_parent``, ``z_parent``,
    ``significant_parent``, ``diff_world``, ``z_world``, ``significant_world``, ``low_base``,
    ``suppressed``, ``parent``. The NPS row is in points, attribute rows on 0..10.
    Parent and world figures are aggregates only (see the module docstring).
    """
    wave, _ = _wave(frame, filters)
    f = filters.with_wave(wave)
    cols = overview.columns_of(frame)
    parent_scope, parent_label = parent_of(frame, scope)
    groups = {"own": scope, "parent": parent_scope, "world": Scope.world()}
    aggs = _attr_aggs(cols)
    parts = []
    for name, s in groups.items():
        if s is None:
            continue
        rows = overview.scoped(frame, s, f).select(aggs).with_columns(group=pl.lit(name))
        # Rows in the cell before the non-wave filters: a complement of 1..4 would be revealed.
        every = overview.scoped(frame, s, Filters(wave=wave)).select(pl.len().alias("rows_all"))
        parts.append(pl.concat([rows, every], how="horizontal"))
    wide = pl.concat(parts, how="diagonal_relaxed").collect()
    peer_level = next(
        (lvl for lvl in ("agency", "country", "region") if scope.values(lvl)), "region"
    )
    peers = pl.concat(
        [
            _foreign_entities(frame, s, scope, f, peer_level, pl.lit(name))
            for name, s in groups.items()
            if s is not None and name != "own"
        ]
        or [
            pl.LazyFrame(
                schema={"parent": pl.String, "foreign_any": pl.UInt32, "foreign_shown": pl.UInt32}
            )
        ],
        how="vertical_relaxed",
    ).collect()
    long = (
        wide.unpivot(index=["group", "rows", "rows_all"])
        .with_columns(
            pl.col("variable").str.split_exact("__", 1).struct.rename_fields(["attribute", "stat"])
        )
        .unnest("variable")
        .pivot(on="stat", index=["group", "attribute", "rows", "rows_all"], values="value")
    )
    own_rows = long.filter(pl.col("group") == "own").select(
        "attribute", pl.col("rows").alias("own_rows")
    )
    comp = pl.col("rows_all") - pl.col("rows")
    rest = pl.col("rows") - pl.col("own_rows")
    hidden = (
        (pl.col("n") < metrics.SUPPRESS_BELOW)
        | ((comp > 0) & (comp < metrics.SUPPRESS_BELOW))
        | ((pl.col("group") != "own") & (rest > 0) & (rest < metrics.SUPPRESS_BELOW))
        | ((pl.col("group") != "own") & _too_few_peers())
    )
    long = (
        long.join(own_rows, on="attribute", how="left").join(
            peers.rename({"parent": "group"}), on="group", how="left"
        )
    ).with_columns(
        mean=pl.when(hidden).then(None).otherwise(pl.col("mean")),
        se=pl.when(hidden).then(None).otherwise(pl.col("se")),
        hidden=hidden,
    )
    table = long.pivot(on="group", index="attribute", values=["mean", "se", "n", "hidden"])
    for g in ("own", "parent", "world"):
        for stat, dtype in (
            ("mean", pl.Float64),
            ("se", pl.Float64),
            ("n", pl.Float64),
            ("hidden", pl.Boolean),
        ):
            if f"{stat}_{g}" not in table.columns:
                table = table.with_columns(pl.lit(None, dtype).alias(f"{stat}_{g}"))

    def z(other: str) -> pl.Expr:
        return (pl.col("mean_own") - pl.col(f"mean_{other}")) / (
            pl.col("se_own").pow(2) + pl.col(f"se_{other}").pow(2)
        ).sqrt()

    low = pl.col("n_own") < metrics.LOW_BASE
    order = ["nps", *attributes(cols)]
    labels = {NPS_ROW: "NPS"} | {a: attribute_label(a) for a in attributes(cols)}
    return (
        table.with_columns(
            z_parent=z("parent"),
            z_world=z("world"),
            diff_parent=pl.col("mean_own") - pl.col("mean_parent"),
            diff_world=pl.col("mean_own") - pl.col("mean_world"),
            low_base=low,
            suppressed=pl.col("hidden_own").fill_null(True),
        )
        .with_columns(
            significant_parent=((pl.col("z_parent").abs() > metrics.Z95) & ~low).fill_null(False),
            significant_world=((pl.col("z_world").abs() > metrics.Z95) & ~low).fill_null(False),
            label=pl.col("attribute").replace_strict(labels, default=pl.col("attribute")),
            order=pl.col("attribute").replace_strict(
                order, list(range(len(order))), default=len(order)
            ),
            parent=pl.lit(parent_label, pl.String),
            wave=pl.lit(wave),
        )
        .sort("order")
        .select(
            "attribute",
            "label",
            pl.col("mean_own").alias("own_mean"),
            pl.col("n_own").cast(pl.Int64).alias("own_n"),
            pl.col("mean_parent").alias("parent_mean"),
            pl.col("n_parent").cast(pl.Int64).alias("parent_n"),
            pl.col("mean_world").alias("world_mean"),
            pl.col("n_world").cast(pl.Int64).alias("world_n"),
            "diff_parent",
            "z_parent",
            "significant_parent",
            "diff_world",
            "z_world",
            "significant_world",
            "low_base",
            "suppressed",
            "parent",
            "wave",
        )
    )


def entity_label(level: str, value: str | None) -> str:
    """Display name of an entity: country codes become names."""
    if value is None:
        return ""
    return country_name(value) if level == "country" else value


def league_takeaway(df: pl.DataFrame, level: str) -> str:
    """E.g. "Marseille is 12.3 points below the France average: significant (NPS 8.1 vs 20.4)."."""
    shown = df.filter(~pl.col("suppressed") & pl.col("vs_parent").is_not_null())
    if shown.is_empty():
        return "Too few responses in this wave to compare with the average."
    sig = shown.filter(pl.col("vs_parent_significant"))
    below = sig.filter(pl.col("vs_parent") < 0).sort(["vs_parent", level])
    above = sig.filter(pl.col("vs_parent") > 0).sort(["vs_parent", level], descending=[True, False])
    pick = below if below.height else above
    if pick.is_empty():
        row = shown.row(0, named=True)
        parent = "world" if row["parent"] == WORLD else f"{country_name(row['parent'])}"
        low = shown.sort(["vs_parent", level]).row(0, named=True)
        return (
            f"No {level} differs significantly from the {parent} average in {row['wave']}; "
            f"lowest: {entity_label(level, low[level])} at {low['nps']:.1f} ({low['vs_parent']:+.1f}, not significant)."
        )
    row = pick.row(0, named=True)
    parent = "world" if row["parent"] == WORLD else country_name(row["parent"])
    side = "below" if row["vs_parent"] < 0 else "above"
    text = (
        f"{entity_label(level, row[level])} is {abs(row['vs_parent']):.1f} points {side} the {parent} "
        f"average: significant (NPS {row['nps']:.1f} vs {row['parent_nps']:.1f})"
    )
    others = sig.height - 1
    if others > 0:
        text += f"; {others} more {'differs' if others == 1 else 'differ'} significantly"
    return text + "."


def attribute_takeaway(df: pl.DataFrame, own_label: str) -> str:
    """E.g. "Madrid trails Spain most on Cleanliness: 6.1 vs 7.3, significant; NPS 18.2 vs 21.0."."""
    if df.is_empty() or bool(df.filter(pl.col("attribute") == NPS_ROW)["suppressed"].item()):
        return "Too few responses in this wave to compare with the wider average."
    parent = df["parent"][0] or WORLD
    nps_row = df.filter(pl.col("attribute") == NPS_ROW).row(0, named=True)
    attrs = df.filter((pl.col("attribute") != NPS_ROW) & pl.col("significant_parent"))
    below = attrs.filter(pl.col("diff_parent") < 0).sort("diff_parent")
    above = attrs.filter(pl.col("diff_parent") > 0).sort("diff_parent", descending=True)
    if below.height:
        row = below.row(0, named=True)
        text = f"{own_label} trails {parent} most on {row['label']}: {row['own_mean']:.1f} vs {row['parent_mean']:.1f}, significant"
    elif above.height:
        row = above.row(0, named=True)
        text = f"{own_label} leads {parent} most on {row['label']}: {row['own_mean']:.1f} vs {row['parent_mean']:.1f}, significant"
    else:
        text = f"{own_label} is in line with {parent} on every attribute (no significant gap)"
    if nps_row["parent_mean"] is not None:
        verdict = "significant" if nps_row["significant_parent"] else "not significant"
        text += f"; NPS {nps_row['own_mean']:.1f} vs {nps_row['parent_mean']:.1f} ({verdict})"
    return text + "."


def league_levels(scope: Scope) -> list[str]:
    """The league tables a scope gets: world -> countries and regions; region -> countries;
    country -> agencies; an agency scope gets none (it sees its attribute benchmark)."""
    top = scope.top_level
    if top == "world":
        return ["country", "region"]
    if top == "region":
        return ["country"]
    if top == "country":
        return ["agency"]
    return []


def parent_label(df: pl.DataFrame) -> str:
    """How charts name the parent: ``World``, a country's name, or ``country average``."""
    parents = df["parent"].drop_nulls().unique().to_list() if "parent" in df.columns else []
    if len(parents) != 1:
        return "country average"
    return WORLD if parents[0] == WORLD else country_name(parents[0])


def league_view(df: pl.DataFrame, level: str, label: str) -> pl.DataFrame:
    """The league table as shown: rank, entity, n, NPS ± MoE, gap to the parent, movement, note."""
    parent = parent_label(df)
    return df.select(
        pl.col("rank").alias("#"),
        pl.col("name").alias(label),
        pl.col("n"),
        pl.col("nps").round(1).alias("NPS"),
        pl.col("nps_moe").round(1).alias("± MoE"),
        pl.col("vs_parent").round(1).alias(f"vs {parent}"),
        pl.when(pl.col("rank_change") > 0)
        .then(pl.format("▲ {}", pl.col("rank_change")))
        .when(pl.col("rank_change") < 0)
        .then(pl.format("▼ {}", -pl.col("rank_change")))
        .when(pl.col("rank_change") == 0)
        .then(pl.lit("="))
        .otherwise(pl.lit("–"))
        .alias("Move"),
        pl.when(pl.col("suppressed"))
        .then(pl.lit("hidden (n < 5)"))
        .when(pl.col("low_base"))
        .then(pl.lit("low base, not ranked"))
        .when(pl.col("vs_parent_significant") & (pl.col("vs_parent") > 0))
        .then(pl.lit("▲ significant"))
        .when(pl.col("vs_parent_significant") & (pl.col("vs_parent") < 0))
        .then(pl.lit("▼ significant"))
        .otherwise(pl.lit(""))
        .alias("Note"),
    )


def own_parent(df: pl.DataFrame) -> str | None:
    """The parent's label of an attribute benchmark, or None when it is the world itself."""
    parent = df["parent"][0] if df.height else None
    return None if parent in (None, WORLD) else parent


def attribute_view(df: pl.DataFrame, own_label: str) -> pl.DataFrame:
    """The attribute benchmark as shown: scope, parent and world means with the gaps."""
    parent = own_parent(df)
    cols = [
        pl.col("label").alias("Measure"),
        pl.col("own_n").alias("n"),
        pl.col("own_mean").round(2).alias(own_label),
    ]
    if parent:
        cols += [
            pl.col("parent_mean").round(2).alias(parent),
            pl.col("diff_parent").round(2).alias(f"vs {parent}"),
            pl.when(pl.col("significant_parent"))
            .then(pl.lit("yes"))
            .otherwise(pl.lit(""))
            .alias("significant"),
        ]
    cols += [
        pl.col("world_mean").round(2).alias(WORLD),
        pl.col("diff_world").round(2).alias(f"vs {WORLD}"),
        pl.when(pl.col("significant_world"))
        .then(pl.lit("yes"))
        .otherwise(pl.lit(""))
        .alias("significant (world)" if parent else "significant"),
    ]
    return df.select(cols)
