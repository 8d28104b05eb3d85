"""Theme discovery: candidate new themes from the comments no theme of the taxonomy matched.

Per language: TF-IDF of the normalised words (stop words out), then a non-negative matrix
factorisation (Lee & Seung multiplicative updates, numpy only, fixed seed) into ``k`` topics.
Each candidate comes with its top terms and a few example verbatims (masked), so an analyst can
add the theme and its expressions to ``cx/config/themes.yaml``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cx.analytics.overview import scoped
from cx.core import metrics
from cx.core.filters import Filters
from cx.core.privacy import mask_pii
from cx.core.scope import Scope
from cx.voice import stored, themes

_EPS = 1e-9


def untagged_comments(frame: pl.LazyFrame, scope: Scope, filters: Filters) -> pl.DataFrame:
    """Masked comments (language, response_id, comment, words) that matched no theme.

    Comments of agency x wave cells with fewer than 5 responses are left out (never shown).
    """
    cols = frame.collect_schema().names()
    if "comment" not in cols:
        return pl.DataFrame(
            schema={
                "response_id": pl.String,
                "language": pl.String,
                "comment": pl.String,
                "words": pl.List(pl.String),
            }
        )
    rows = (
        scoped(frame, scope, filters)
        .with_columns(cell_n=pl.len().over(["agency", "wave"]))
        .filter(
            pl.col("cell_n") >= metrics.SUPPRESS_BELOW,
            pl.col("comment").str.strip_chars().str.len_chars() > 0,
        )
        .with_columns(comment=mask_pii(pl.col("comment")))
    )
    tagged = stored.tagged(rows, "language" if "language" in cols else None)
    return (
        tagged.filter(pl.col("themes").list.len() == 0)
        .select(
            "response_id",
            "language",
            "comment",
            themes.normalise(pl.col("comment")).str.extract_all(r"[^\s|\d]{3,}").alias("words"),
        )
        .sort("response_id")
        .collect()
    )


def nmf(
    x: np.ndarray, k: int, *, iterations: int = 200, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Factorise a non-negative matrix ``x`` (docs x terms) into W (docs x k) and H (k x terms)."""
    rng = np.random.default_rng(seed)
    scale = np.sqrt(x.mean() / k) if x.size else 1.0
    w = rng.random((x.shape[0], k)) * scale + _EPS
    h = rng.random((k, x.shape[1])) * scale + _EPS
    for _ in range(iterations):
        h *= (w.T @ x) / (w.T @ w @ h + _EPS)
        w *= (x @ h.T) / (w @ (h @ h.T) + _EPS)
    return w, h


def tfidf(
    docs: pl.DataFrame, stopwords: frozenset[str], *, min_df: int, max_terms: int
) -> tuple[np.ndarray, list[str]]:
    """Row-normalised TF-IDF matrix of ``docs['words']`` and its vocabulary (by document frequency)."""
    long = (
        docs.with_row_index("doc")
        .select("doc", "words")
        .explode("words")
        .filter(pl.col("words").is_not_null() & ~pl.col("words").is_in(sorted(stopwords)))
        .group_by("doc", "words")
        .agg(tf=pl.len())
    )
    vocab = (
        long.group_by("words")
        .agg(df=pl.len())
        .filter(pl.col("df") >= min_df)
        .sort(["df", "words"], descending=[True, False])
        .head(max_terms)
        .with_row_index("term")
    )
    cells = long.join(vocab, on="words", how="inner")
    x = np.zeros((docs.height, vocab.height))
    np.add.at(
        x, (cells["doc"].to_numpy(), cells["term"].to_numpy()), cells["tf"].to_numpy().astype(float)
    )
    idf = np.log((1 + docs.height) / (1 + vocab["df"].to_numpy())) + 1.0
    x *= idf
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0), vocab["words"].to_list()


def candidate_themes(
    frame: pl.LazyFrame,
    scope: Scope,
    filters: Filters,
    k: int = 4,
    top_terms: int = 8,
    examples: int = 3,
    max_docs: int = 5000,
    min_df: int = 3,
) -> pl.DataFrame:
    """Candidate themes per language among untagged comments: top terms, size, examples.

    Candidates with fewer than 5 comments are dropped (no verbatim of a tiny group).
    """
    docs = untagged_comments(frame, scope, filters)
    stop = themes.load_stopwords()
    rows: list[dict[str, object]] = []
    for lang in sorted(docs["language"].drop_nulls().unique().to_list()):
        sub = docs.filter(pl.col("language") == lang).head(max_docs)
        x, vocab = tfidf(sub, stop.get(lang, frozenset()), min_df=min_df, max_terms=400)
        keep = x.sum(axis=1) > 0
        if keep.sum() < metrics.SUPPRESS_BELOW or len(vocab) < 2:
            continue
        x, sub = x[keep], sub.filter(pl.Series(keep))
        n_topics = min(k, len(vocab), x.shape[0])
        w, h = nmf(x, n_topics)
        assigned = w.argmax(axis=1)
        for topic in range(n_topics):
            members = np.flatnonzero(assigned == topic)
            if members.size < metrics.SUPPRESS_BELOW:
                continue
            terms = [vocab[i] for i in np.argsort(-h[topic])[:top_terms] if h[topic, i] > _EPS]
            best = members[np.argsort(-w[members, topic], kind="stable")][: examples * 10]
            rows.append(
                {
                    "language": lang,
                    "candidate": " / ".join(terms[:3]),
                    "size": int(members.size),
                    "share": members.size / sub.height,
                    "top_terms": terms,
                    "examples": sub["comment"]
                    .gather(best.tolist())
                    .unique(maintain_order=True)
                    .head(examples)
                    .to_list(),
                }
            )
    schema: dict[str, pl.DataType] = {
        "language": pl.String(),
        "candidate": pl.String(),
        "size": pl.Int64(),
        "share": pl.Float64(),
        "top_terms": pl.List(pl.String),
        "examples": pl.List(pl.String),
    }
    return pl.DataFrame(rows, schema=schema).sort(["language", "size"], descending=[False, True])
