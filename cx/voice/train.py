"""Train the learned model of comment themes and sentiment: ``uv run python -m cx.voice.train``.

Reads the labelled comments of ``training/voice/*.jsonl`` (written for training by helpers
from situation briefs, see ``training/voice/README.md``) and the first evaluation set, spent
(``tests/data/frozen/themes_unseen.jsonl``); computes each comment's features with
:func:`cx.voice.themes.features` (so the taxonomy's expressions and the lexicons are features
too: an analyst's new expression counts after a retrain, and at once for a theme the model does
not know); fits one L2 logistic regression per theme and a three-class one for sentiment
(negative; neutral or mixed; positive) with scikit-learn; chooses each theme's cut on 5-fold
cross-validated scores (best F1); writes ``cx/config/voice/model.parquet`` and ``model.json``.
Deterministic: the same inputs give the same files. scikit-learn is needed only here (a
development dependency); the app reads the weights with Polars.

``--exclude FILE`` leaves a labelled file out (to measure on it); ``--out PATH`` writes
elsewhere (``CX_VOICE_MODEL=PATH`` makes the app and ``cx.voice.evaluate`` use it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from cx.voice import model, themes
from cx.voice.evaluate import read_set
from cx.voice.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parents[2]
TRAIN_DIR = ROOT / "training" / "voice"
SPENT_SET = ROOT / "tests" / "data" / "frozen" / "themes_unseen.jsonl"
MIN_COMMENTS = 2
"""A feature seen in fewer training comments than this gets no weight."""
C_THEMES, C_SENTIMENT = 1.0, 0.5
CLASS_OF = {"negative": 0, "neutral": 1, "mixed": 1, "positive": 2}


def training_files(exclude: list[Path]) -> list[Path]:
    skip = {p.resolve() for p in exclude}
    files = [*sorted(TRAIN_DIR.glob("*.jsonl")), SPENT_SET]
    return [f for f in files if f.exists() and f.resolve() not in skip]


def design(frame: pl.DataFrame) -> tuple[Any, list[str]]:
    """The sparse matrix (comments x features) and the feature names, features seen in at
    least :data:`MIN_COMMENTS` comments only."""
    from scipy import sparse

    long = themes.features(frame, text="text", language="language")
    seen = long.group_by("f").agg(pl.len().alias("n")).filter(pl.col("n") >= MIN_COMMENTS)
    names = sorted(seen["f"].to_list())
    index = pl.DataFrame({"f": names, "col": np.arange(len(names), dtype=np.int64)})
    kept = long.join(index, on="f", how="inner")
    matrix = sparse.csr_matrix(
        (kept["v"].to_numpy(), (kept["row"].to_numpy(), kept["col"].to_numpy())),
        shape=(frame.height, len(names)),
    )
    return matrix, names


def _best_cut(scores: np.ndarray, truth: np.ndarray) -> float:
    """The decision value above which the theme is named, best F1 on held-out folds."""
    best, cut = -1.0, 0.0
    for c in np.unique(np.round(scores, 3)):
        pred = scores > c
        tp = float((pred & truth).sum())
        f1 = 2 * tp / (pred.sum() + truth.sum()) if pred.sum() + truth.sum() else 0.0
        if f1 > best:
            best, cut = f1, float(c)
    return cut


def fit(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    ids = [t.id for t in load_taxonomy().themes]
    x, names = design(frame)
    columns: dict[str, Any] = {"f": names}
    bias: dict[str, float] = {}
    cuts: dict[str, float] = {}
    gold = frame["gold"].to_list()
    for theme in ids:
        y = np.array([theme in g for g in gold])
        if y.sum() < 10:
            continue  # a theme without training comments is found by its expressions alone
        clf = LogisticRegression(C=C_THEMES, solver="liblinear", max_iter=2000)
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
        held = cross_val_predict(clf, x, y, cv=folds, method="decision_function")
        clf.fit(x, y)
        columns[f"t:{theme}"] = clf.coef_[0]
        bias[theme] = float(clf.intercept_[0])
        cuts[theme] = _best_cut(held, y)
    y_sent = np.array([CLASS_OF[p] for p in frame["polarity"].to_list()])
    sent = LogisticRegression(C=C_SENTIMENT, max_iter=5000)
    sent.fit(x, y_sent)
    for k, name in enumerate(model.SENTIMENT_CLASSES):
        columns[f"s:{name}"] = sent.coef_[k]
    weights = pl.DataFrame(columns)
    outputs = [c for c in weights.columns if c != "f"]
    weights = weights.filter(pl.any_horizontal([pl.col(c).abs() > 1e-9 for c in outputs]))
    weights = weights.with_columns([pl.col(c).cast(pl.Float32) for c in outputs])
    meta = {
        "themes": [t for t in ids if t in bias],
        "theme_bias": bias,
        "theme_cut": cuts,
        "sentiment_bias": {
            name: float(sent.intercept_[k]) for k, name in enumerate(model.SENTIMENT_CLASSES)
        },
    }
    return weights, meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cx.voice.train", description=__doc__)
    parser.add_argument("--out", type=Path, default=model.MODEL_FILE)
    parser.add_argument("--exclude", type=Path, action="append", default=[])
    args = parser.parse_args(argv)
    files = training_files(args.exclude)
    frame = pl.concat([read_set(f) for f in files], how="vertical")
    weights, meta = fit(frame)
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.read_bytes())
    meta["trained_on"] = {
        "files": [str(f.relative_to(ROOT)) for f in files],
        "comments": frame.height,
        "sha256": digest.hexdigest(),
        "features": weights.height,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".parquet.tmp")
    weights.write_parquet(tmp, compression="zstd", statistics=False)
    meta_path = args.out.with_suffix(".json")
    meta_path.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(args.out)
    print(
        f"trained on {frame.height} comments from {len(files)} files: "
        f"{weights.height} features, {len(meta['themes'])} themes -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
