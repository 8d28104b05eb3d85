"""``cx themes FILE --text-column C [--id-column C]``: theme ids and sentiment per input row.

FILE is CSV or Parquet. JSON keys (shared/spec/cli.md): the id column (``row``, 1-based, when
no ``--id-column`` is given), ``themes`` (list of theme ids), ``sentiment`` (-1..1, null for an
empty text), ``theme_sentiment`` (object: theme id -> -1..1, the polarity of each theme found;
``id:value`` pairs joined by ``;`` in csv and table). The text is never printed, so no personal
data leaves through this command.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import polars as pl

from cx.cli.common import CliError, Command, Rows, rows_of
from cx.voice import themes


def read_table(path: Path) -> pl.DataFrame:
    """A CSV or Parquet file as a frame; CliError naming the file when it cannot be read."""
    if not path.exists():
        raise CliError(f"{path}: file not found")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            return pl.read_csv(path, infer_schema_length=10_000)
        if suffix in (".parquet", ".pq"):
            return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: cannot read as {suffix[1:]}: {str(exc).splitlines()[0]}") from None
    raise CliError(f"{path}: unsupported file type {suffix or '(none)'}; use .csv or .parquet")


def cmd_themes(args: argparse.Namespace) -> Rows:
    df = read_table(Path(args.file))
    for option, column in (
        ("--text-column", args.text_column),
        ("--id-column", args.id_column),
        ("--language-column", args.language_column),
    ):
        if column is not None and column not in df.columns:
            raise CliError(
                f"{option} {column!r} is not a column of {args.file}; columns are {', '.join(df.columns)}"
            )
    taxonomy = themes.load_taxonomy(args.taxonomy) if args.taxonomy else None
    id_column = args.id_column or "row"
    frame = df.select(
        pl.col(args.id_column) if args.id_column else pl.int_range(1, pl.len() + 1).alias("row"),
        pl.col(args.text_column).cast(pl.String).alias("__text"),
        *(
            [pl.col(args.language_column).cast(pl.String).alias("__language")]
            if args.language_column
            else []
        ),
    )
    try:
        out = themes.tag(
            frame,
            text="__text",
            language="__language" if args.language_column else None,
            taxonomy=taxonomy,
        )
    except themes.ThemeError as exc:
        raise CliError(str(exc)) from None
    rows = rows_of(
        out.with_columns(pl.col("sentiment").round(3)),
        [id_column, "themes", "sentiment", "theme_sentiment"],
    )
    for row in rows:
        pairs = {t: round(v, 3) for t, v in zip(row["themes"], row["theme_sentiment"], strict=True)}
        row["theme_sentiment"] = (
            pairs if args.format == "json" else ";".join(f"{t}:{v}" for t, v in pairs.items())
        )
    return rows


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "themes", help="tag comments of a CSV/Parquet file with theme ids and sentiment"
    )
    p.add_argument("file", help="a .csv or .parquet file")
    p.add_argument("--text-column", required=True, help="the column holding the comment text")
    p.add_argument(
        "--id-column", help="a column to echo as the row id (default: row number from 1)"
    )
    p.add_argument(
        "--language-column", help="ISO 639-1 language column (default: detected from the text)"
    )
    p.add_argument("--taxonomy", help="a themes.yaml to use instead of the default taxonomy")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


COMMANDS: dict[str, Command] = {"themes": cmd_themes}
