"""``cx serve [--port P] [--host H] [--data DIR]``: start the one server (dashboards, sign-in,
and the route groups later issues add) with ``streamlit run app.py``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from cx.cli.common import CliError, Command, Rows

APP = Path(__file__).resolve().parents[2] / "app.py"


def cmd_serve(args: argparse.Namespace) -> Rows | None:
    if not APP.exists():
        raise CliError(f"{APP} not found: run cx serve from the source tree")
    if args.data:
        os.environ["CX_DATA_DIR"] = str(Path(args.data).resolve())
    argv = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(args.port),
        "--server.address",
        args.host,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    os.chdir(APP.parent)
    os.execv(sys.executable, argv)  # the server replaces this process (signals reach it directly)


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("serve", help="start the one server: dashboards, sign-in, survey pages, API")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--data", help="data directory (default: data/ or CX_DATA_DIR)")


COMMANDS: dict[str, Command] = {"serve": cmd_serve}
