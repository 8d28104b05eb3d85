"""``cx precompute [--cluster ADDR]``: bring every precomputed table of the data folder up to
date for its data version (:func:`cx.ops.batch.run`: RFM tiers and comment tags, per wave).

In this process by default; with ``--cluster local:N`` (a LocalCluster of N worker processes)
or ``--cluster tcp://HOST:PORT`` (a running Dask scheduler) the same per-wave functions run on
the cluster's workers and this process stores their tables (:mod:`cx.ops.cluster`, imported
only then). One row per table: ``table`` (``rfm/<wave>``, ``themes/<wave>``), ``rows``,
``seconds`` (what this run spent on it: a table already current for the data version is only
checked). A missing or unreadable CRM file, a data folder without waves or one that cannot be
written, a malformed or unreachable cluster address: one line, exit code 2.
"""

from __future__ import annotations

import argparse
from typing import Any

from cx.cli.common import CliError, Command, Rows, root_of
from cx.ops import batch

COLUMNS = ("table", "rows", "seconds")


def _built(args: argparse.Namespace) -> list[dict[str, Any]]:
    root = root_of(args)
    if args.cluster is None:
        return batch.run(root)
    from cx.ops import cluster  # Dask is loaded only when a cluster is asked for

    with cluster.connect(args.cluster) as client:
        return batch.run(root, cluster.mapper(client))


def cmd_precompute(args: argparse.Namespace) -> Rows:
    try:
        built = _built(args)
    except OSError as exc:
        raise CliError(f"{exc.filename or root_of(args)}: {exc.strerror or exc}") from None
    return [{k: row[k] for k in COLUMNS} | {"seconds": round(row["seconds"], 3)} for row in built]


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "precompute",
        help="rebuild the precomputed tables (RFM tiers, comment tags) for the data version",
    )
    p.add_argument("--data", help="data directory (default: data/ or CX_DATA_DIR)")
    p.add_argument(
        "--cluster",
        metavar="ADDR",
        help="run the jobs on a Dask cluster: tcp://HOST:PORT, or local:N to start N workers",
    )
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


COMMANDS: dict[str, Command] = {"precompute": cmd_precompute}
