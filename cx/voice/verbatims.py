"""Voice of the customer: the comment-themes and verbatim screens' questions.

Pure queries ``(LazyFrame, Scope, Filters, **kwargs) -> DataFrame`` that start from
:func:`cx.analytics.overview.scoped`. Comments are tagged by :func:`cx.voice.themes.tag` and masked by
:func:`cx.core.privacy.mask_pii` before anything is shown. Small cells follow the data contract:
a theme with fewer than 5 mentions (or fewer than 5 comments without it) shows no score, and no
verbatim of an agency x wave cell with fewer than 5 responses is ever returned. Each mention of
a theme carries its own polarity (``theme_sentiment``: "lovely staff, but the queue took ages" is
a positive staff mention and a negative waiting one); the summary, the polarity trend and the
verbatim filter read it.
"""

from __future__ import annotations

import polars as pl

from cx.analytics.overview import scoped, wave_rank
from cx.analytics.overview import waves as all_waves
from cx.core import metrics
from cx.core.filters import Filters
from cx.core.privacy import mask_pii
from cx.core.scope import Scope
from cx.core.text import escape_html, escape_html_expr
from cx.voice import stored, themes

SENTIMENT_BANDS = {"positive": (0.05, None), "negative": (None, -0.05), "neutral": (-0.05, 0.05)}
POLARITY_CUT = 0.05  # |polarity| at or under it is a neutral mention
EXPORT_LIMIT = 50_000
SCORE_BANDS = ("promoter", "passive", "detractor")
MASK_TOKENS = ["email", "phone", "card", "iban"]
ALL_WAVES = "all"


def _comments(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, *, waves: bool = True
) -> pl.LazyFrame:
    """Scoped, filtered responses that have a non-empty comment, tagged with themes/sentiment."""
    cols = frame.collect_schema().names()
    rows = scoped(frame, scope, filters, waves=waves)
    if "weight" not in cols:
        rows = rows.with_columns(weight=pl.lit(1.0))
    if "comment" not in cols:
        return rows.filter(pl.lit(False)).with_columns(
            comment=pl.lit(None, pl.String),
            themes=pl.lit([], pl.List(pl.String)),
            sentiment=pl.lit(None, pl.Float64),
            theme_sentiment=pl.lit([], pl.List(pl.Float64)),
        )
    rows = rows.filter(pl.col("comment").str.strip_chars().str.len_chars() > 0)
    return stored.tagged(rows, "language" if "language" in cols else None)


def _weighted(cond: pl.Expr) -> pl.Expr:
    return (pl.col("weight") * cond.cast(pl.Float64)).sum()


def theme_summary(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.DataFrame:
    """Per theme: mentions, share of comments, NPS of commenters mentioning it vs not, impact.

    ``nps_impact`` = NPS of all commenters minus NPS of those not mentioning the theme (what the
    theme adds to or takes from the score); ``detractor_share`` / ``promoter_share`` = share of
    detractors / promoters who mention it. Ranked by volume; by impact only when n >= 30.
    """
    tax = themes.load_taxonomy()
    tagged = _comments(frame, scope, filters).with_columns(
        wp=pl.col("weight") * metrics.is_promoter().cast(pl.Float64),
        wd=pl.col("weight") * metrics.is_detractor().cast(pl.Float64),
        pro=metrics.is_promoter(),
        det=metrics.is_detractor(),
    )
    totals = tagged.select(
        n_comments=pl.len(),
        W=pl.col("weight").sum(),
        WP=pl.col("wp").sum(),
        WD=pl.col("wd").sum(),
        PRO=pl.col("pro").sum(),
        DET=pl.col("det").sum(),
    )
    per_theme = (
        tagged.select("themes", "theme_sentiment", "weight", "wp", "wd", "pro", "det")
        .explode("themes", "theme_sentiment")
        .filter(pl.col("themes").is_not_null())
        .rename({"themes": "theme", "theme_sentiment": "polarity"})
        .group_by("theme")
        .agg(
            mentions=pl.len(),
            w=pl.col("weight").sum(),
            wp=pl.col("wp").sum(),
            wd=pl.col("wd").sum(),
            pro=pl.col("pro").sum(),
            det=pl.col("det").sum(),
            sentiment=pl.col("polarity").mean(),
            positive_share=(pl.col("polarity") > POLARITY_CUT).mean(),
            negative_share=(pl.col("polarity") < -POLARITY_CUT).mean(),
        )
    )
    df = (
        tax.label_frame()
        .lazy()
        .join(per_theme, on="theme", how="left")
        .join(totals, how="cross")
        .with_columns(
            pl.col("mentions", "pro", "det").fill_null(0), pl.col("w", "wp", "wd").fill_null(0.0)
        )
        .with_columns(
            share=pl.col("mentions") / pl.col("n_comments"),
            nps_with=100 * (pl.col("wp") - pl.col("wd")) / pl.col("w"),
            nps_without=100
            * ((pl.col("WP") - pl.col("wp")) - (pl.col("WD") - pl.col("wd")))
            / (pl.col("W") - pl.col("w")),
            nps_all=100 * (pl.col("WP") - pl.col("WD")) / pl.col("W"),
            detractor_share=pl.col("det") / pl.col("DET"),
            promoter_share=pl.col("pro") / pl.col("PRO"),
            low_base=pl.col("mentions") < metrics.LOW_BASE,
            suppressed=(pl.col("mentions") < metrics.SUPPRESS_BELOW)
            | ((pl.col("n_comments") - pl.col("mentions")) < metrics.SUPPRESS_BELOW),
        )
        .with_columns(
            nps_gap=pl.col("nps_with") - pl.col("nps_without"),
            nps_impact=pl.col("nps_all") - pl.col("nps_without"),
        )
        .collect()
    )
    hidden = [
        "nps_with",
        "nps_without",
        "nps_gap",
        "nps_impact",
        "sentiment",
        "detractor_share",
        "promoter_share",
        "positive_share",
        "negative_share",
    ]
    df = df.with_columns(
        [pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c) for c in hidden]
        + [
            pl.when(pl.col("n_comments") < metrics.SUPPRESS_BELOW)
            .then(None)
            .otherwise(pl.col("share"))
            .alias("share")
        ]
    ).sort(["mentions", "theme"], descending=[True, False])
    ranked = ~pl.col("low_base") & ~pl.col("suppressed")
    df = df.with_columns(
        rank_volume=pl.when(~pl.col("suppressed")).then(
            pl.col("mentions").rank("ordinal", descending=True)
        ),
        rank_impact=pl.when(ranked).then(
            pl.when(ranked).then(pl.col("nps_impact")).rank("ordinal").cast(pl.UInt32)
        ),
    )
    return df.select(
        "theme",
        "label",
        "mentions",
        "share",
        "nps_with",
        "nps_without",
        "nps_gap",
        "nps_impact",
        "detractor_share",
        "promoter_share",
        "sentiment",
        "positive_share",
        "negative_share",
        "n_comments",
        "low_base",
        "suppressed",
        "rank_volume",
        "rank_impact",
    )


def theme_trend(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.DataFrame:
    """Share of comments mentioning each theme per wave (chronological), with the change vs the
    previous wave and its two-proportion z-test (significant when |z| > 1.96 and both waves have
    at least 30 comments)."""
    tax = themes.load_taxonomy()
    order = all_waves(frame)
    tagged = _comments(frame, scope, filters.with_wave(None), waves=False)
    base = tagged.group_by("wave").agg(n_comments=pl.len())
    counts = (
        tagged.select("wave", "themes")
        .explode("themes")
        .filter(pl.col("themes").is_not_null())
        .group_by("wave", "themes")
        .agg(mentions=pl.len())
        .rename({"themes": "theme"})
    )
    grid = base.join(tax.label_frame().lazy(), how="cross")
    p = pl.col("mentions") / pl.col("n_comments")
    p0 = pl.col("prev_mentions") / pl.col("prev_n")
    pooled = (pl.col("mentions") + pl.col("prev_mentions")) / (
        pl.col("n_comments") + pl.col("prev_n")
    )
    se = (pooled * (1 - pooled) * (1 / pl.col("n_comments") + 1 / pl.col("prev_n"))).sqrt()
    df = (
        grid.join(counts, on=["wave", "theme"], how="left")
        .with_columns(pl.col("mentions").fill_null(0), order=wave_rank(order))
        .sort(["theme", "order"])
        .with_columns(
            prev_mentions=pl.col("mentions").shift(1).over("theme"),
            prev_n=pl.col("n_comments").shift(1).over("theme"),
        )
        .with_columns(
            share=p,
            change=p - p0,
            z=pl.when(se > 0).then((p - p0) / se),
            low_base=pl.col("n_comments") < metrics.LOW_BASE,
            suppressed=pl.col("n_comments") < metrics.SUPPRESS_BELOW,
        )
        .with_columns(
            significant=(
                (pl.col("z").abs() > metrics.Z95)
                & ~pl.col("low_base")
                & (pl.col("prev_n") >= metrics.LOW_BASE)
            ).fill_null(False)
        )
        .collect()
    )
    return df.with_columns(
        [
            pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("share", "change", "z")
        ]
    ).select(
        "wave",
        "theme",
        "label",
        "mentions",
        "n_comments",
        "share",
        "change",
        "z",
        "significant",
        "low_base",
        "suppressed",
        "order",
    )


def theme_polarity_trend(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.DataFrame:
    """Per wave (chronological) and theme: mentions and the shares of positive and negative
    mentions (each mention's own polarity); ``net`` = positive minus negative share. A cell with
    fewer than 5 mentions shows no share."""
    order = all_waves(frame)
    tagged = _comments(frame, scope, filters.with_wave(None), waves=False)
    df = (
        tagged.select("wave", "themes", "theme_sentiment")
        .explode("themes", "theme_sentiment")
        .filter(pl.col("themes").is_not_null())
        .rename({"themes": "theme", "theme_sentiment": "polarity"})
        .group_by("wave", "theme")
        .agg(
            mentions=pl.len(),
            positive_share=(pl.col("polarity") > POLARITY_CUT).mean(),
            negative_share=(pl.col("polarity") < -POLARITY_CUT).mean(),
        )
        .join(themes.load_taxonomy().label_frame().lazy(), on="theme", how="inner")
        .with_columns(
            net=pl.col("positive_share") - pl.col("negative_share"),
            suppressed=pl.col("mentions") < metrics.SUPPRESS_BELOW,
            low_base=pl.col("mentions") < metrics.LOW_BASE,
            order=wave_rank(order),
        )
        .sort(["theme", "order"])
        .collect()
    )
    return df.with_columns(
        [
            pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("positive_share", "negative_share", "net")
        ]
    ).select(
        "wave",
        "theme",
        "label",
        "mentions",
        "positive_share",
        "negative_share",
        "net",
        "low_base",
        "suppressed",
        "order",
    )


def word_frequencies(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, limit: int = 150
) -> pl.DataFrame:
    """Most frequent words of the comments (masked first, stop words of every language left out)."""
    stop = sorted(set().union(*themes.load_stopwords().values()))
    rows = _comments(frame, scope, filters)
    words = (
        rows.select(
            mask_pii(pl.col("comment"))
            .str.to_lowercase()
            .str.extract_all(r"[^\W\d_]{3,}")
            .alias("word")
        )
        .explode("word")
        .filter(pl.col("word").is_not_null())
        .filter(~themes.fold(pl.col("word")).is_in(stop + MASK_TOKENS))
        .group_by("word")
        .agg(count=pl.len())
        .sort(["count", "word"], descending=[True, False])
        .head(limit)
    )
    n = rows.select(pl.len()).collect().item()
    df = words.collect()
    return df.clear() if n < metrics.SUPPRESS_BELOW else df


def theme_labels(language: str = "en") -> dict[str, str]:
    """Display label of every theme id of the taxonomy."""
    return themes.load_taxonomy().labels(language)


def verbatim_options(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> dict[str, list[str]]:
    """Choices offered by the verbatim explorer, from rows inside the scope only."""
    rows = scoped(frame, scope, filters.with_wave(None), waves=False)
    agencies = (
        rows.select(pl.col("agency").unique()).collect().to_series().drop_nulls().sort().to_list()
    )
    return {
        "agency": agencies,
        "theme": themes.load_taxonomy().ids,
        "wave": [ALL_WAVES, *reversed(all_waves(frame))],
    }


def _highlight(text: pl.Expr, theme: str | None, search: str | None) -> pl.Expr:
    """HTML-escaped text with the chosen theme's expressions and the search term wrapped in <mark>."""
    escaped = escape_html_expr(text)
    tax = themes.load_taxonomy()
    expressions = (
        [themes.inflected(e, lang) for lang, exprs in tax.theme(theme).expressions for e in exprs]
        if theme
        else []
    )
    theme_rx = themes.highlight_regex(expressions)
    search_rx = (
        themes.literal_regex(escape_html(search.strip())) if search and search.strip() else None
    )
    if theme_rx is None and search_rx is None:
        return escaped
    # One pass, so marks never nest: group 1 = search; 2, 3, 4 = before, theme match, after.
    search_part = f"({search_rx.removeprefix('(?i)')})" if search_rx else "(\\b\\B)"
    theme_part = theme_rx.removeprefix("(?i)") if theme_rx else "(\\b\\B)(\\b\\B)(\\b\\B)"
    return escaped.str.replace_all(
        f"(?i){search_part}|{theme_part}", "${2}<mark>${1}${3}</mark>${4}"
    )


POLARITIES = ("positive", "negative", "neutral")


def _polarity_band(value: pl.Expr, polarity: str) -> pl.Expr:
    if polarity == "positive":
        return value > POLARITY_CUT
    if polarity == "negative":
        return value < -POLARITY_CUT
    return value.abs() <= POLARITY_CUT


def _matching(
    frame: pl.LazyFrame,
    scope: Scope,
    filters: Filters,
    theme: str | None,
    search: str | None,
    sentiment: str | None,
    score_band: str | None,
    agency: str | None,
    wave: str | None,
    polarity: str | None,
) -> pl.LazyFrame | None:
    """Masked, tagged comments of the scope matching the explorer's filters (None: no comments)."""
    if sentiment is not None and sentiment not in SENTIMENT_BANDS:
        raise ValueError(f"unknown sentiment {sentiment!r}; use {', '.join(SENTIMENT_BANDS)}")
    if score_band is not None and score_band not in SCORE_BANDS:
        raise ValueError(f"unknown score band {score_band!r}; use {', '.join(SCORE_BANDS)}")
    if polarity is not None and polarity not in POLARITIES:
        raise ValueError(f"unknown theme polarity {polarity!r}; use {', '.join(POLARITIES)}")
    f = filters.with_wave(None) if wave == ALL_WAVES else filters.with_wave(wave or filters.wave)
    cols = frame.collect_schema().names()
    if "comment" not in cols:
        return None
    rows = scoped(frame, scope, f, waves=f.wave is not None)
    rows = rows.with_columns(cell_n=pl.len().over(["agency", "wave"])).filter(
        pl.col("cell_n") >= metrics.SUPPRESS_BELOW
    )
    rows = rows.filter(pl.col("comment").str.strip_chars().str.len_chars() > 0).with_columns(
        comment=mask_pii(pl.col("comment"))
    )
    if agency:
        rows = rows.filter(pl.col("agency") == agency)
    if score_band:
        band = {
            "promoter": metrics.is_promoter(),
            "passive": metrics.is_passive(),
            "detractor": metrics.is_detractor(),
        }[score_band]
        rows = rows.filter(band)
    if search and search.strip():
        rows = rows.filter(
            themes.fold(pl.col("comment")).str.contains(
                themes.fold_text(search.strip()), literal=True
            )
        )
    tagged = stored.tagged(rows, "language" if "language" in cols else None)
    if theme:
        themes.load_taxonomy().theme(theme)  # unknown theme -> ThemeError naming the themes
        tagged = tagged.filter(pl.col("themes").list.contains(theme))
        position = pl.col("themes").list.eval(pl.element() == theme).list.arg_max()
        tagged = tagged.with_columns(
            theme_polarity=pl.col("theme_sentiment").list.get(position, null_on_oob=True)
        )
    else:
        tagged = tagged.with_columns(theme_polarity=pl.lit(None, pl.Float64))
    if polarity:
        if theme:
            tagged = tagged.filter(_polarity_band(pl.col("theme_polarity"), polarity))
        else:
            tagged = tagged.filter(
                pl.col("theme_sentiment")
                .list.eval(_polarity_band(pl.element(), polarity))
                .list.any()
            )
    if sentiment:
        lo, hi = SENTIMENT_BANDS[sentiment]
        if lo is not None:
            tagged = tagged.filter(
                pl.col("sentiment") > lo if sentiment == "positive" else pl.col("sentiment") >= lo
            )
        if hi is not None:
            tagged = tagged.filter(
                pl.col("sentiment") < hi if sentiment == "negative" else pl.col("sentiment") <= hi
            )
    order = [c for c in ("responded_at", "response_id") if c in cols]
    return tagged.with_columns(matches=pl.len()).sort(
        order, descending=[True] * len(order) if order else False
    )


def _keep(frame: pl.LazyFrame) -> list[str]:
    cols = frame.collect_schema().names()
    return [
        c
        for c in ("response_id", "wave", "responded_at", "country", "agency", "nps", "language")
        if c in cols
    ]


_SCORE_BAND = (
    pl.when(metrics.is_promoter())
    .then(pl.lit("promoter"))
    .when(metrics.is_passive())
    .then(pl.lit("passive"))
    .otherwise(pl.lit("detractor"))
)


def verbatims(
    frame: pl.LazyFrame,
    scope: Scope,
    filters: Filters,
    theme: str | None = None,
    search: str | None = None,
    sentiment: str | None = None,
    score_band: str | None = None,
    agency: str | None = None,
    wave: str | None = None,
    limit: int = 200,
    polarity: str | None = None,
) -> pl.DataFrame:
    """Masked comments matching the explorer's filters, newest first, with highlighted HTML.

    ``wave``: None = the shared filter's wave, ``"all"`` = every wave. ``search`` is literal text
    (case- and accent-insensitive), never a regex; it runs on the masked comment. ``polarity``
    (positive / negative / neutral) is the polarity of the chosen ``theme`` in the comment (of
    any theme without one). Comments of an agency x wave cell with fewer than 5 responses are
    never returned. ``matches`` = total hits.
    """
    rows = _matching(
        frame, scope, filters, theme, search, sentiment, score_band, agency, wave, polarity
    )
    if rows is None:
        return pl.DataFrame()
    out = (
        rows.head(limit)
        .with_columns(
            score_band=_SCORE_BAND, comment_html=_highlight(pl.col("comment"), theme, search)
        )
        .select(
            *_keep(frame),
            "score_band",
            "themes",
            "sentiment",
            "theme_polarity",
            "comment",
            "comment_html",
            "matches",
        )
    )
    return out.collect()


def normalised_text(text: pl.Expr) -> pl.Expr:
    """A comment as compared for duplicates: case and accents folded, letters and digits only.

    >>> df = pl.DataFrame({"c": ["Los precios son  demasiado caros.", "los PRECIOS son demasiado caros"]})
    >>> df.select(normalised_text(pl.col("c")))["norm"].unique().to_list()
    ['los precios son demasiado caros']
    """
    return themes.fold(text).str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars().alias("norm")


def names_theme(theme: str) -> pl.Expr:
    """Whether ``comment`` names ``theme`` once the phrases of other concepts the taxonomy lists
    under the theme's ``except`` are blanked: "rubbish in the waiting room" does not name the
    wait, "we waited an hour in the waiting room" does."""
    found = themes.load_taxonomy().theme(theme)
    naming = themes.highlight_regex(
        [themes.inflected(e, lang) for lang, ex in (*found.expressions, *found.weak) for e in ex]
    )
    other = themes.highlight_regex([e for _, ex in found.exclude for e in ex])
    text = pl.col("comment")
    if other is not None:
        text = text.str.replace_all(other, "${1} ~ ${3}")
    return text.str.contains(naming) if naming is not None else pl.lit(True)


def is_main_theme() -> pl.Expr:
    """Whether the chosen theme is what the comment is most about: no other theme of it carries a
    stronger polarity (ties count for both)."""
    strongest = pl.col("theme_sentiment").list.eval(pl.element().abs()).list.max()
    return pl.col("theme_polarity").abs() >= strongest - 1e-9


def quotes(
    frame: pl.LazyFrame,
    scope: Scope,
    filters: Filters,
    theme: str,
    *,
    score_band: str | None = "detractor",
    polarity: str | None = "negative",
    limit: int = 4,
) -> pl.DataFrame:
    """Comments that illustrate ``theme``, for a report or a slide: each names it outside another
    concept ("waiting room" is no wait, :func:`names_theme`); those whose main theme it is come
    first (:func:`is_main_theme`), about it alone before those about more, newest first within
    each; each text once (compared by :func:`normalised_text`; a text inside another chosen one
    counts as the same); masked like the explorer, never
    from an agency x wave cell of fewer than 5 responses."""
    rows = _matching(frame, scope, filters, theme, None, None, score_band, None, None, polarity)
    if rows is None:
        return pl.DataFrame()
    candidates = (
        rows.filter(names_theme(theme))
        .with_columns(
            normalised_text(pl.col("comment")),
            main=is_main_theme(),
            alone=pl.col("themes").list.len() == 1,
        )
        .unique(subset="norm", keep="first", maintain_order=True)
        .sort("main", "alone", descending=True, maintain_order=True)
        .head(limit * 8)
        .with_columns(score_band=_SCORE_BAND)
        .collect()
    )
    chosen: list[int] = []
    for i, norm in enumerate(candidates["norm"]):
        if not any(norm in other or other in norm for other in candidates["norm"][chosen]):
            chosen.append(i)
        if len(chosen) == limit:
            break
    return candidates[chosen].select(
        *_keep(frame), "score_band", "themes", "theme_polarity", "comment"
    )


def export_count(found: pl.DataFrame) -> int:
    """How many verbatims a download of the screen's filters holds (its ``matches``, capped)."""
    return 0 if found.is_empty() else min(int(found["matches"][0]), EXPORT_LIMIT)


def verbatim_export(
    frame: pl.LazyFrame,
    scope: Scope,
    filters: Filters,
    theme: str | None = None,
    search: str | None = None,
    sentiment: str | None = None,
    score_band: str | None = None,
    agency: str | None = None,
    wave: str | None = None,
    polarity: str | None = None,
) -> pl.DataFrame:
    """Every verbatim the explorer's filters match (at most 50,000, newest first) as plain columns
    for CSV / XLSX: the same scope, suppression and PII masking as the screen, themes as text,
    no HTML. Write it with :mod:`cx.core.export` (which neutralises formula-looking cells)."""
    rows = _matching(
        frame, scope, filters, theme, search, sentiment, score_band, agency, wave, polarity
    )
    if rows is None:
        return pl.DataFrame()
    return (
        rows.head(EXPORT_LIMIT)
        .with_columns(
            score_band=_SCORE_BAND,
            themes=pl.col("themes").list.join(", "),
            sentiment=pl.col("sentiment").round(3),
            theme_polarity=pl.col("theme_polarity").round(3),
        )
        .select(*_keep(frame), "score_band", "themes", "sentiment", "theme_polarity", "comment")
        .collect()
    )


# ---------------------------------------------------------------- takeaways


def themes_takeaway(summary: pl.DataFrame) -> str:
    """One sentence for the top of the themes screen: the biggest theme and the costliest one."""
    shown = summary.filter(~pl.col("suppressed"))
    if shown.is_empty() or not shown["mentions"].sum():
        return "Too few comments in this scope and filters to report themes."
    top = shown.sort(["mentions", "theme"], descending=[True, False]).row(0, named=True)
    n = top["n_comments"]
    text = (
        f"{top['label']} is the most-mentioned theme ({100 * top['share']:.0f} % of {n:,} comments)"
    )
    costly = shown.filter(pl.col("rank_impact").is_not_null() & (pl.col("nps_impact") < 0)).sort(
        "nps_impact"
    )
    if costly.height:
        c = costly.row(0, named=True)
        who = "it" if c["theme"] == top["theme"] else c["label"].lower()
        text += f"; {who} costs the most, taking {-c['nps_impact']:.1f} NPS points off commenters' score"
    return text + "."


def verbatims_takeaway(df: pl.DataFrame) -> str:
    if df.is_empty():
        return (
            "No comment matches these filters (cells with fewer than 5 responses are never shown)."
        )
    total = int(df["matches"][0])
    neg = df.filter(pl.col("sentiment") < -0.05).height / df.height
    shown = f"showing the newest {df.height:,}" if total > df.height else "all shown"
    return f"{total:,} comments match ({shown}); {100 * neg:.0f} % of those shown are negative."
