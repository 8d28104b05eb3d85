"""A real reverse proxy for tests: Debian's HAProxy run in the foreground on a config file whose
addresses come from the environment (``deploy/haproxy.cfg``), and the memory of a process."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.net import wait_for_port

HAPROXY = "/usr/sbin/haproxy"


def haproxy_binary() -> str:
    """Debian's haproxy; skipped where it is not installed, a failure under CI (like Chromium)."""
    found = HAPROXY if Path(HAPROXY).exists() else shutil.which("haproxy")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("haproxy is missing: .ci/run must apt-get install haproxy")
        pytest.skip("haproxy not installed here (apt-get install haproxy)")
    return found


def check_config(
    binary: str, config: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``haproxy -c -f config`` with ``env``'s addresses: its verdict and messages."""
    return subprocess.run(
        [binary, "-c", "-f", str(config)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@contextmanager
def haproxy(
    binary: str, config: Path, env: dict[str, str], port: int, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """HAProxy on ``config`` in the foreground (``-db``), listening on ``port``; stopped afterwards."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [binary, "-db", "-f", str(config)],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, timeout=30)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def children(pid: int) -> list[int]:
    """The direct child processes of ``pid`` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def rss_mib(pid: int) -> float:
    """The resident memory of one process, in MiB (``VmRSS`` of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def command_line(pid: int) -> list[str]:
    return [a for a in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0") if a]
