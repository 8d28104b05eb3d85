"""The server's background work: the capture worker (the loop of new survey answers every
second, their fold into the wave every ``CX_FOLD_SECONDS``) and the outbox sender (when SMTP or
Telegram is configured), woken as soon as a loop queued mail.

The server runs the capture worker in a child process (:func:`spawn`, ``python -m
cx.server.workers``): tagging comments and running the routing rules is CPU work that would
otherwise hold the web process's interpreter lock while customers submit answers. The child
leaves when its parent does; its work is idempotent, so a restart loses and repeats nothing."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import Engine

from cx.capture import answers
from cx.core import settings
from cx.loop import notify, rule_store

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
_STARTED: dict[str, object] = {}


def _seconds(name: str, default: float) -> float:
    return settings.number(name, default, minimum=0.05)


class CaptureWorker:
    """A daemon thread: :func:`answers.close_loop` when woken (or every second), :func:`answers.fold`
    every ``fold_every`` seconds; errors are kept in ``last_error`` and retried next round."""

    def __init__(
        self,
        root: Path,
        engine: Engine,
        *,
        fold_every: float,
        sender: notify.BackgroundSender | None = None,
    ) -> None:
        self.root, self.engine, self.fold_every, self.sender = root, engine, fold_every, sender
        self.kick = threading.Event()
        self.stopped = threading.Event()
        self.last_error: str | None = None
        self.looped = 0
        self.folded = 0
        self.thread = threading.Thread(target=self._run, name="cx-capture", daemon=True)

    def wake(self) -> None:
        self.kick.set()

    def _run(self) -> None:
        try:
            rule_store.sync_file_rules(self.engine)  # the rules of rules.yaml, as after an import
        except Exception as exc:  # a bad rules file: the app's rules still run
            self.last_error = f"rules.yaml: {exc}"
        next_fold = time.monotonic() + self.fold_every
        while not self.stopped.is_set():
            self.kick.wait(1.0)
            self.kick.clear()
            try:
                done = answers.close_loop(self.engine, self.root)
                self.looped += done["answers"]
                if done["notifications"] and self.sender is not None:
                    self.sender.wake()
                if time.monotonic() >= next_fold:
                    next_fold = time.monotonic() + self.fold_every
                    self.folded += sum(answers.fold(self.root, self.engine).values())
                self.last_error = None
            except Exception as exc:  # keep the worker alive; the next round retries
                self.last_error = f"{exc.__class__.__name__}: {exc}"
                log.warning("capture worker: %s", self.last_error, exc_info=True)

    def stop(self, timeout: float = 10.0) -> None:
        self.stopped.set()
        self.kick.set()
        self.thread.join(timeout)


def sender(root: Path, engine: Engine, *, always: bool = False) -> notify.BackgroundSender | None:
    """The process's outbox sender, started on first call. The capture worker's runs ``always``
    (webhooks, Slack/Teams and the helpdesk need no settings; e-mail and Telegram rows wait,
    pending, until theirs exist); the dashboards' only when SMTP or Telegram is configured."""
    with _LOCK:
        key = f"sender:{engine.url}"
        found = _STARTED.get(key)
        if isinstance(found, notify.BackgroundSender):
            return found
        settings = notify.NotifySettings.from_env(root)
        if not (always or settings.smtp_host or settings.telegram_token):
            return None
        started = notify.start_background_sender(
            engine, settings, interval=_seconds("CX_NOTIFY_INTERVAL", 30.0)
        )
        _STARTED[key] = started
        return started


def capture(root: Path, engine: Engine) -> CaptureWorker:
    """The process's capture worker (started once)."""
    with _LOCK:
        key = f"capture:{root}:{engine.url}"
        found = _STARTED.get(key)
    if isinstance(found, CaptureWorker):
        return found
    worker = CaptureWorker(
        root, engine, fold_every=_seconds("CX_FOLD_SECONDS", 20.0), sender=sender(root, engine)
    )
    with _LOCK:
        if key in _STARTED:
            return _STARTED[key]  # type: ignore[return-value]
        _STARTED[key] = worker
    worker.thread.start()
    return worker


def spawn(root: Path) -> subprocess.Popen[bytes]:
    """Start the capture worker of the data folder ``root`` in a child process."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",  # not ``-m``: the package already imports this module
            "import sys; from cx.server.workers import main; sys.exit(main(sys.argv[1:]))",
            "--data",
            str(root),
            "--parent",
            str(os.getpid()),
        ],
        env=os.environ.copy(),
    )


def warm_up() -> None:
    """Compile the comment taxonomy and lexicons once, before the first answer needs them."""
    import polars as pl

    from cx.voice import themes

    themes.tag(pl.DataFrame({"comment": ["ok"], "language": ["en"]}))


def main(argv: list[str] | None = None) -> int:
    """The capture worker as a process: loop and fold until the parent server is gone (or, run on
    its own without ``--parent``, until interrupted)."""
    from cx import store

    parser = argparse.ArgumentParser(prog="python -m cx.server.workers")
    parser.add_argument("--data", required=True)
    parser.add_argument(
        "--parent", type=int, help="stop when this process is gone (the server that started it)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="cx capture worker: %(message)s")
    root = Path(args.data)
    engine = store.init(store.make_engine(store.database_url(root)))
    try:
        warm_up()
    except Exception as exc:  # a broken lexicon: the loop reports it on its first answer
        log.warning("warm-up failed: %s", exc)
    worker = CaptureWorker(
        root,
        engine,
        fold_every=_seconds("CX_FOLD_SECONDS", 20.0),
        sender=sender(root, engine, always=True),
    )
    worker.thread.start()
    try:
        while (args.parent is None or os.getppid() == args.parent) and worker.thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    worker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
