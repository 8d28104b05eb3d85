"""The batch jobs of :mod:`cx.ops.batch` on a Dask cluster (``cx precompute --cluster ADDR``).

``local:N`` starts a LocalCluster of N worker processes (one thread each; Polars inside each
worker gets its share of the cores), ``tcp://HOST:PORT`` connects to a running scheduler. The
workers run the very same per-wave functions (``client.map``) and send each wave's table back;
this process stores it (:func:`cx.ops.batch.run`). Workers must see the data folder at the
same path (a shared file system, or the same machine) and run the same cx-review, Polars and
tagging engine: :func:`connect` refuses a worker whose :func:`fingerprint` differs, since its
tables would not be those of this process. The only module that imports Dask, and only when a
cluster is asked for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator, Sequence
from importlib import metadata

import polars as pl
from distributed import Client, LocalCluster

from cx.analytics import precompute
from cx.ops.batch import Call, Mapper, timed
from cx.voice import stored

CONNECT_SECONDS = 5.0
"""How long to wait for a scheduler to answer and for its first worker."""
MAX_LOCAL_WORKERS = 64
_LOCAL = re.compile(r"^local:(\d+)$")
_TCP = re.compile(r"^tcp://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$")


class ClusterError(ValueError):
    """The cluster address is malformed, unreachable or its workers unfit: one line."""


def parse(address: str) -> int | str:
    """``local:N`` gives N (workers to start), ``tcp://HOST:PORT`` the address itself."""
    if m := _LOCAL.match(address):
        n = int(m.group(1))
        if not 1 <= n <= MAX_LOCAL_WORKERS:
            raise ClusterError(f"--cluster {address}: N must be 1 to {MAX_LOCAL_WORKERS}")
        return n
    if (m := _TCP.match(address)) and 1 <= int(m.group(2)) <= 65535:
        return address
    raise ClusterError(f"--cluster {address!r}: expected tcp://HOST:PORT or local:N")


def fingerprint() -> str:
    """What a worker's tables depend on besides the data: the code, Polars and the engines."""
    return ":".join(
        [
            metadata.version("cx-review"),
            pl.__version__,
            f"rfm-layout-{precompute.LAYOUT}",
            stored.engine_version(),
        ]
    )


def _local(n: int) -> LocalCluster:
    threads = os.environ.get("POLARS_MAX_THREADS") or str(max(1, (os.cpu_count() or 1) // n))
    return LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        env={"POLARS_MAX_THREADS": threads},
    )


@contextlib.contextmanager
def connect(address: str, timeout: float = CONNECT_SECONDS) -> Iterator[Client]:
    """A client of the cluster at ``address`` with at least one fit worker; a LocalCluster it
    started is shut down on exit. ClusterError (one line) otherwise."""
    target = parse(address)
    logging.getLogger("distributed").setLevel(logging.ERROR)  # its warnings are not our output
    with contextlib.ExitStack() as stack:
        try:
            if isinstance(target, int):
                cluster = stack.enter_context(_local(target))
                client = stack.enter_context(Client(cluster, timeout=timeout))
            else:
                client = stack.enter_context(Client(target, timeout=timeout))
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"--cluster {address}: cannot connect ({exc})") from None
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise ClusterError(f"--cluster {address}: no worker joined in {timeout:g} s") from None
        mine = fingerprint()
        for worker, theirs in sorted(client.run(fingerprint, on_error="return").items()):
            if theirs != mine:
                raise ClusterError(
                    f"--cluster {address}: worker {worker} runs {theirs!s}, this process {mine}; "
                    "install the same cx-review on every worker"
                )
        yield client


def mapper(client: Client) -> Mapper:
    """Run the calls on the cluster's workers at once; results in the calls' order, each
    released once read (the client stores it). What is left when a run fails is cancelled when
    the client closes."""

    def run(calls: Sequence[Call]) -> Iterator[tuple[pl.DataFrame, float]]:
        if not calls:
            return
        futures = client.map(timed, *zip(*calls, strict=True), pure=False)
        for future in futures:
            yield future.result()  # a worker's exception is raised here, with its own type
            future.release()

    return run
