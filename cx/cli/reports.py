"""``cx report``: the scope's report as PDF / PowerPoint, the one-page infographic, the weekly mailing.

    cx report --out report.pdf --user es.manager            # PDF for Spain, latest wave
    cx report --out deck.pptx --scope agency:Madrid --wave 2026-Q2
    cx report --out spain.png --scope country:ES             # infographic (PNG; --infographic for PDF)
    cx report --email-managers --out /var/lib/cx/reports     # weekly: each manager, own scope (outbox)

Prints what was written (``--format json``: one JSON array). Cron-friendly: no prompt, one-line
errors on stderr, exit code 2 on a bad input.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from cx import reports, store
from cx.cli.common import (
    CliError,
    Command,
    Rows,
    add_common,
    filters_of,
    responses_of,
    root_of,
    scope_of,
)
from cx.loop.notify import NotifySettings
from cx.reports import mailer
from cx.reports.infographic import write_infographic


def _engine(root: Path) -> Any:
    """The operational store when there is one (plans section); a report never creates it."""
    import os

    if os.environ.get("DATABASE_URL") or (root / "cx.db").exists():
        return store.init(store.make_engine(store.database_url(root)))
    return None


def _count_pages(path: Path) -> int:
    if path.suffix.lower() == ".pptx":
        from pptx import Presentation

        return len(Presentation(str(path)).slides)
    from pypdf import PdfReader

    return len(PdfReader(str(path)).pages)


def cmd_report(args: argparse.Namespace) -> Rows:
    if not args.out:
        raise CliError(
            "--out is required (a .pdf, .pptx or .png file; a folder with --email-managers)"
        )
    frame = responses_of(args)
    f = filters_of(args, frame)
    out = Path(args.out)
    root = root_of(args)
    if args.email_managers:
        return _email_managers(args, frame, f, out, root)
    scope = scope_of(args)
    t0 = time.perf_counter()
    suffix = out.suffix.lower()
    if args.infographic or suffix == ".png":
        write_infographic(frame, scope, f, out)
        return [
            {
                "kind": "infographic",
                "file": str(out),
                "format": suffix.lstrip("."),
                "scope": str(scope),
                "wave": f.wave,
                "pages": 1,
                "sections": [],
                "skipped": [],
                "bytes": out.stat().st_size,
                "seconds": round(time.perf_counter() - t0, 2),
            }
        ]
    if suffix not in reports.FORMATS:
        raise CliError(
            f"{out}: unknown report format {suffix or '(none)'!r}; use .pdf, .pptx or .png"
        )
    if not out.parent.exists():
        raise CliError(f"{out.parent}: folder does not exist")
    if scope.is_empty:
        raise CliError("empty scope: nothing to report")
    user_name = args.user or ""
    built = reports.build_sections(frame, scope, f, engine=_engine(root), user_name=user_name)
    (reports.write_pdf if suffix == ".pdf" else reports.write_pptx)(built, out)
    return [
        {
            "kind": "report",
            "file": str(out),
            "format": suffix.lstrip("."),
            "scope": str(scope),
            "wave": built.ctx.wave,
            "pages": _count_pages(out),
            "sections": [s.title for s in built.sections],
            "skipped": built.skipped,
            "bytes": out.stat().st_size,
            "seconds": round(time.perf_counter() - t0, 2),
        }
    ]


def _email_managers(args: argparse.Namespace, frame: Any, f: Any, out: Path, root: Path) -> Rows:
    if args.user or args.scope:
        raise CliError(
            "--email-managers sends each manager their own scope: leave out --user and --scope"
        )
    settings = mailer.require_smtp(NotifySettings.from_env(root))  # before anything is written
    out.mkdir(parents=True, exist_ok=True)
    engine = store.init(store.make_engine(store.database_url(root)))
    return mailer.send_weekly(frame, out, settings, filters=f, engine=engine)


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="write the scope's report (PDF / PPTX), the infographic, or mail the weekly reports",
    )
    add_common(p)
    p.add_argument(
        "--out",
        help="output file: .pdf or .pptx report, .png infographic; a folder with --email-managers",
    )
    p.add_argument(
        "--infographic",
        action="store_true",
        help="write the one-page infographic (PNG or PDF by --out)",
    )
    p.add_argument(
        "--email-managers",
        action="store_true",
        help="e-mail each manager the PDF of their own scope through the outbox (CX_SMTP_* settings; "
        "once per ISO week)",
    )


COMMANDS: dict[str, Command] = {"report": cmd_report}
