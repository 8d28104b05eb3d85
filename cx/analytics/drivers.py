"""Key-driver analysis: which attributes move NPS, and how well the scope performs on them.

Method: Johnson's relative weights (Johnson 2000) of the ``attr_*`` columns on the 0-10 NPS score,
with survey weights. Relative weights split R² between correlated predictors (they agree closely
with Shapley/LMG) and need only the attribute correlation matrix, so the whole analysis is a few
weighted cross-product sums in Polars plus an eigen-decomposition of a k x k matrix in numpy.

- Missing answers: listwise deletion (a response counts when its NPS and every attribute of the
  scope are present), so the correlation matrix is positive semi-definite; ``n`` is that base.
- Importance: raw relative weights normalised to sum to 1.0 (shown as %); ``r2`` is the R².
- Significance: t-test of the attribute's standardized regression coefficient
  (SE_j = sqrt((1 - R²) / (n_eff - k - 1) * [R⁻¹]_jj), n_eff the Kish effective base);
  ``significant`` when |t| > 1.96. A non-significant driver is shown, but marked.
- Performance: the attribute mean on 0-10 over every answer in the scope (``mean``).
- Quadrants split at the mean importance and the mean performance of the scope.
- Low base (n < 30 complete answers): no driver analysis (importance, quadrant and r2 are null).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cx.analytics.evolution import attribute_trend, signed
from cx.analytics.overview import columns_of, scoped
from cx.core import metrics
from cx.core.data import attribute_label, attributes
from cx.core.filters import Filters
from cx.core.labels import QUADRANT_LABELS
from cx.core.scope import Scope

SCHEMA = {
    "attribute": pl.String,
    "label": pl.String,
    "mean": pl.Float64,
    "importance": pl.Float64,
    "significant": pl.Boolean,
    "quadrant": pl.String,
    "r2": pl.Float64,
    "n": pl.Int64,
    "low_base": pl.Boolean,
}


def relative_weights(corr: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Johnson's raw relative weights, R² and standardized coefficients from a correlation matrix.

    ``corr`` is (k+1) x (k+1) with the outcome first. The raw weights sum to R².
    """
    rxx, rxy = corr[1:, 1:], corr[1:, 0]
    lam, vec = np.linalg.eigh(rxx)
    lam = np.clip(lam, 1e-12, None)
    half = vec @ np.diag(np.sqrt(lam)) @ vec.T  # correlations of X with its orthogonal twin Z
    beta_z = vec @ np.diag(1.0 / np.sqrt(lam)) @ vec.T @ rxy
    raw = (half**2) @ (beta_z**2)
    beta = vec @ np.diag(1.0 / lam) @ vec.T @ rxy
    return raw, float(raw.sum()), beta


def coefficient_t(corr: np.ndarray, beta: np.ndarray, r2: float, n_eff: float) -> np.ndarray:
    """t statistics of standardized OLS coefficients: beta_j / sqrt((1-R²)/(n_eff-k-1) [R⁻¹]_jj)."""
    k = beta.size
    dof = max(n_eff - k - 1, 1.0)
    inv_diag = np.diag(np.linalg.pinv(corr[1:, 1:]))
    se = np.sqrt(np.clip((1.0 - r2) / dof * inv_diag, 1e-300, None))
    return beta / se


def quadrants(df: pl.DataFrame) -> pl.DataFrame:
    """Add ``quadrant`` from ``importance`` and ``mean``, split at their means over the rows shown.

    At or above both means: key strength; important but below the mean score: improvement area;
    less important, above: secondary strength; less important, below: secondary weakness.
    """
    usable = pl.col("importance").is_not_null() & pl.col("mean").is_not_null()
    imp_cut = pl.col("importance").filter(usable).mean()
    perf_cut = pl.col("mean").filter(usable).mean()
    high_imp, high_perf = pl.col("importance") >= imp_cut, pl.col("mean") >= perf_cut
    return df.with_columns(
        quadrant=pl.when(~usable)
        .then(None)
        .when(high_imp & high_perf)
        .then(pl.lit("key_strength"))
        .when(high_imp)
        .then(pl.lit("improvement_area"))
        .when(high_perf)
        .then(pl.lit("secondary_strength"))
        .otherwise(pl.lit("secondary_weakness"))
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def key_drivers(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.DataFrame:
    """Importance (share of R², sums to 1.0), performance and quadrant of each attribute.

    Sorted by importance (largest first). See the module docstring for the method.
    """
    attrs = attributes(columns_of(frame))
    if not attrs:
        return _empty()
    rows = scoped(frame, scope, filters)
    # 1st pass: coverage and performance (an attribute nobody answered in the scope is left out).
    perf = (
        rows.select(
            *[metrics.attribute_mean(a).alias(f"mean:{a}") for a in attrs],
            *[pl.col(a).count().alias(f"n:{a}") for a in attrs],
        )
        .collect()
        .row(0, named=True)
    )
    used = [a for a in attrs if perf[f"n:{a}"] > 0]
    if not used:
        return _empty()
    # 2nd pass: weighted cross-product sums of (nps, attributes) over complete answers.
    cols = ["nps", *used]
    complete = pl.all_horizontal([pl.col(c).is_not_null() for c in cols])
    w = pl.col("weight")
    x = [pl.col(c).cast(pl.Float64) for c in cols]
    sums = [
        w.filter(complete).sum().alias("sw"),
        w.pow(2).filter(complete).sum().alias("sw2"),
        complete.sum().alias("n"),
    ]
    sums += [(w * x[i]).filter(complete).sum().alias(f"s{i}") for i in range(len(cols))]
    sums += [
        (w * x[i] * x[j]).filter(complete).sum().alias(f"s{i}_{j}")
        for i in range(len(cols))
        for j in range(i, len(cols))
    ]
    s = rows.select(sums).collect().row(0, named=True)
    n = int(s["n"] or 0)
    base = pl.DataFrame(
        {
            "attribute": used,
            "label": [attribute_label(a) for a in used],
            "mean": [
                perf[f"mean:{a}"] if perf[f"n:{a}"] >= metrics.SUPPRESS_BELOW else None
                for a in used
            ],
        },
        schema={"attribute": pl.String, "label": pl.String, "mean": pl.Float64},
    )
    if n < metrics.LOW_BASE:
        return (
            base.with_columns(
                importance=pl.lit(None, pl.Float64),
                significant=pl.lit(False),
                quadrant=pl.lit(None, pl.String),
                r2=pl.lit(None, pl.Float64),
                n=pl.lit(n, pl.Int64),
                low_base=pl.lit(True),
            )
            .sort("attribute")
            .select(list(SCHEMA))
        )
    k1 = len(cols)
    mean = np.array([s[f"s{i}"] for i in range(k1)]) / s["sw"]
    second = np.empty((k1, k1))
    for i in range(k1):
        for j in range(i, k1):
            second[i, j] = second[j, i] = s[f"s{i}_{j}"] / s["sw"]
    cov = second - np.outer(mean, mean)
    var = np.diag(cov).copy()
    keep = np.flatnonzero(var > 1e-12)  # a constant attribute (or constant NPS) explains nothing
    raw = np.zeros(k1 - 1)
    t = np.zeros(k1 - 1)
    r2 = 0.0
    if keep.size > 1 and keep[0] == 0:
        sub = cov[np.ix_(keep, keep)]
        sd = np.sqrt(np.diag(sub))
        corr = sub / np.outer(sd, sd)
        raw_k, r2, beta = relative_weights(corr)
        n_eff = s["sw"] ** 2 / s["sw2"]
        raw[keep[1:] - 1] = raw_k
        t[keep[1:] - 1] = coefficient_t(corr, beta, r2, n_eff)
    importance = raw / raw.sum() if raw.sum() > 0 else raw
    out = base.with_columns(
        importance=pl.Series(importance, dtype=pl.Float64),
        significant=pl.Series(np.abs(t) > metrics.Z95, dtype=pl.Boolean),
        r2=pl.lit(r2, pl.Float64),
        n=pl.lit(n, pl.Int64),
        low_base=pl.lit(False),
    )
    return (
        quadrants(out)
        .sort(["importance", "attribute"], descending=[True, False])
        .select(list(SCHEMA))
    )


def top_drivers(frame: pl.LazyFrame, scope: Scope, filters: Filters, k: int = 3) -> list[str]:
    """The ``k`` most important attributes (the "service promise"); empty on a low base."""
    df = key_drivers(frame, scope, filters).filter(pl.col("importance").is_not_null())
    return df["attribute"].head(k).to_list()


def service_promise(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, k: int = 3
) -> pl.DataFrame:
    """The top ``k`` drivers of the filter's wave, followed across every wave (mean per wave)."""
    top = top_drivers(frame, scope, filters, k)
    trend = attribute_trend(frame, scope, filters)
    return trend.filter(pl.col("attribute").is_in(top))


def takeaway(
    drivers: pl.DataFrame, trend: pl.DataFrame | None = None, wave: str | None = None
) -> str:
    """E.g. "Cleanliness is your biggest improvement area: high impact (18 % of the explained NPS),
    score 6.1, -0.8 vs 2026-Q2 (significant)."."""
    if drivers.is_empty():
        return "No attribute ratings in this scope: no driver analysis."
    if drivers["low_base"][0]:
        return f"Only {drivers['n'][0]} complete answers in this scope: too few (fewer than 30) for a driver analysis."
    pick = drivers.filter(pl.col("quadrant") == "improvement_area")
    kind = "biggest improvement area"
    if pick.is_empty():
        pick, kind = drivers.filter(pl.col("quadrant") == "key_strength"), "biggest strength"
    if pick.is_empty():
        pick, kind = drivers, "most important driver"
    row = pick.row(0, named=True)
    text = f"{row['label']} is your {kind}: " + (
        "high impact" if row["quadrant"] in ("improvement_area", "key_strength") else "impact"
    )
    text += (
        f" ({100 * row['importance']:.0f} % of the explained NPS), score {row['mean']:.1f}"
        if row["mean"] is not None
        else ""
    )
    if trend is not None and wave is not None and not trend.is_empty():
        now = trend.filter((pl.col("wave") == wave) & (pl.col("attribute") == row["attribute"]))
        if now.height and now["change"][0] is not None and now["prev_wave"][0] is not None:
            change = now["change"][0]
            verdict = "significant" if now["significant"][0] else "not significant"
            text += f", {signed(change)} vs {now['prev_wave'][0]} ({verdict})"
    return text + f". The attributes explain {100 * row['r2']:.0f} % of the NPS score variance."


def quadrant_lists(drivers: pl.DataFrame) -> dict[str, list[str]]:
    """Attribute lines per quadrant label, e.g. ``{"Key strength": ["Staff attitude (7.6)"]}``."""
    out: dict[str, list[str]] = {label: [] for label in QUADRANT_LABELS.values()}
    for row in drivers.filter(pl.col("quadrant").is_not_null()).iter_rows(named=True):
        mark = "" if row["significant"] else " – not significant"
        out[QUADRANT_LABELS[row["quadrant"]]].append(
            f"{row['label']} ({row['mean']:.1f}/10, {100 * row['importance']:.0f} %{mark})"
        )
    return out


def improvement_areas(drivers: pl.DataFrame) -> list[tuple[str, str]]:
    """(attribute, label) of the improvement areas, most important first: what an action plan targets."""
    rows = drivers.filter(pl.col("quadrant") == "improvement_area").sort(
        "importance", descending=True
    )
    return list(zip(rows["attribute"].to_list(), rows["label"].to_list(), strict=True))
