"""``cx drivers``: the key-driver analysis of the Strengths & weaknesses screen, for scripts.

JSON keys (shared/spec/cli.md): ``attribute``, ``mean``, ``importance`` (share, sums to 1.0),
``quadrant``. A low base (< 30 complete answers) is an error, never a silent empty list.

``cx indices``: the support and criticality indices per 1,000 customers served
(:mod:`cx.analytics.indices`); ``cx served set|delete|list``: the monthly customers served that
feed them where no till count exists (:mod:`cx.ingest.served`, the acting user's role and scope
checked there).
"""

from __future__ import annotations

import argparse
from typing import Any

from cx import store
from cx.analytics import drivers, indices, overview, rfm
from cx.cli.common import (
    CliError,
    Command,
    Rows,
    add_common,
    filters_of,
    responses_of,
    root_of,
    rows_of,
    scope_of,
)
from cx.core import users
from cx.ingest import served as served_mod

KPI_COLUMNS = ("n", "promoters", "passives", "detractors", "nps", "nps_moe", "low_base", "csat")


def cmd_kpis(args: argparse.Namespace) -> Rows:
    frame = responses_of(args)
    by = [c.strip() for c in (args.by or "").split(",") if c.strip()]
    if "rfm_tier" in by:
        frame = rfm.with_rfm_tier(frame, root_of(args))
    # With wave among the --by columns and no --wave, every wave is listed.
    f = filters_of(args, frame, default_wave="wave" not in by or args.wave is not None)
    try:
        df = overview.kpis(frame, scope_of(args), f, by)
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    columns = [*by, *KPI_COLUMNS]
    if (
        df["csat"].null_count() == df.height
        and "csat" not in responses_of(args).collect_schema().names()
    ):
        columns.remove("csat")
    return rows_of(df, columns)


DRIVER_COLUMNS = ("attribute", "mean", "importance", "quadrant")


def cmd_drivers(args: argparse.Namespace) -> Rows:
    frame = responses_of(args)
    df = drivers.key_drivers(frame, scope_of(args), filters_of(args, frame))
    if df.is_empty():
        raise CliError("no attribute ratings in this scope and wave: nothing to analyse")
    if df["low_base"][0]:
        raise CliError(
            f"low base: {df['n'][0]} complete answers (fewer than 30), no driver analysis"
        )
    return rows_of(df, DRIVER_COLUMNS)


def _store_engine(args: argparse.Namespace) -> Any:
    return store.init(store.make_engine(store.database_url(root_of(args))))


def cmd_indices(args: argparse.Namespace) -> Rows:
    """Support and criticality indices per 1,000 customers served (cx.analytics.indices)."""
    if args.touchpoint or args.segment:
        raise CliError("--touchpoint and --segment do not apply: customers served have neither")
    frame = responses_of(args)
    by = [c.strip() for c in (args.by or ",".join(indices.DEFAULT_BY)).split(",") if c.strip()]
    f = filters_of(args, frame, default_wave="wave" not in by or args.wave is not None)
    engine = _store_engine(args)
    try:
        df = indices.indices_from_store(
            frame, scope_of(args), f, root=root_of(args), engine=engine, by=by
        )
    except indices.IndicesError as exc:
        raise CliError(str(exc)) from None
    finally:
        engine.dispose()
    return rows_of(df, [*by, *indices.COLUMNS])


SERVED_COLUMNS = (
    "agency",
    "country",
    "region",
    "month",
    "served",
    "entered_by",
    "entered_at",
    "version",
)


def _served_row(row: Any) -> dict[str, Any]:
    return {c: getattr(row, c) for c in SERVED_COLUMNS} | {
        "entered_at": row.entered_at.isoformat() if row.entered_at else None
    }


def cmd_served(args: argparse.Namespace) -> Rows:
    """``cx served set|delete|list``: the monthly customers served entered by hand."""
    engine = _store_engine(args)
    try:
        with store.session(engine) as s:
            if args.action == "list":
                return [
                    _served_row(r)
                    for r in served_mod.list_served(s, scope_of(args), agency=args.agency)
                ]
            actor = users.get(args.actor)
            if actor is None or actor.disabled:
                raise CliError(f"unknown user {args.actor!r} (--actor names a CX Review user)")
            month = served_mod.check_month(args.month)
            current = served_mod.entry(s, args.agency, month)
            # The command line says what the count is: it changes the version it reads now.
            version = (
                args.version if args.version is not None else getattr(current, "version", None)
            )
            if args.action == "delete":
                if version is None:
                    raise CliError(f"{args.agency} has no customers-served entry for {month}")
                served_mod.delete_served(
                    s,
                    actor,
                    agency=args.agency,
                    month=month,
                    expected_version=version,
                    root=root_of(args),
                )
                return [{"agency": args.agency, "month": month, "deleted": True}]
            row = served_mod.set_served(
                s,
                actor,
                agency=args.agency,
                month=month,
                served=args.served,
                expected_version=version,
                root=root_of(args),
            )
            return [_served_row(row)]
    except store.StaleEdit as exc:
        raise CliError(str(exc)) from None
    finally:
        engine.dispose()


def _served_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "served", help="customers served per agency and month, entered by hand (set, delete, list)"
    )
    actions = p.add_subparsers(dest="action", required=True)
    for name, text in (
        ("set", "record or change one month's count of one agency"),
        ("delete", "delete one month's count of one agency"),
        ("list", "the counts entered, inside --user's or --scope's scope"),
    ):
        a = actions.add_parser(name, help=text)
        a.add_argument("--data", help="data directory (default: data/ or CX_DATA_DIR)")
        a.add_argument("--format", choices=("table", "csv", "json"), default="table")
        a.add_argument("--agency", required=name != "list", help="agency name (org.yaml)")
        if name == "list":
            a.add_argument("--user", help="apply this user's geography scope")
            a.add_argument("--scope", action="append", help="world, region:…, country:…, agency:…")
            continue
        a.add_argument("--month", required=True, help="YYYY-MM")
        if name == "set":
            a.add_argument("--served", required=True, type=int, help="customers served that month")
        a.add_argument("--actor", required=True, help="the CX Review user entering the count")
        a.add_argument(
            "--version", type=int, help="the entry's version you read (default: the current one)"
        )


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("kpis", help="NPS, margin of error, shares and CSAT")
    add_common(p)
    p.add_argument("--by", help="comma-separated columns to group by, e.g. agency,wave")

    p = sub.add_parser(
        "drivers", help="key drivers of NPS: importance, performance and quadrant per attribute"
    )
    add_common(p)

    p = sub.add_parser(
        "indices",
        help="support and criticality indices: positive and negative ratings per 1,000 customers served",
    )
    add_common(p)
    p.add_argument(
        "--by",
        help="comma-separated columns among region,country,agency,wave,channel (default agency,wave)",
    )
    _served_parsers(sub)


COMMANDS: dict[str, Command] = {
    "kpis": cmd_kpis,
    "drivers": cmd_drivers,
    "indices": cmd_indices,
    "served": cmd_served,
}
