"""The answer's path after the survey page: stored once, looped (rules, callback), folded into its
wave — and a kill -9 during the fold loses and duplicates nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from cx import store
from cx.capture import answers, surveys
from cx.capture.links import Target
from cx.core import data
from cx.ingest import waves
from cx.loop import rule_store
from cx.store.models import Callback, Case, CaseEvent, Notification, SurveyAnswer

MADRID = Target(
    survey_id="experience",
    agency="Madrid",
    region="Europe",
    country="ES",
    city="Madrid",
    channel="qr",
    language="es",
    kiosk=False,
)
NOW = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def survey(root: Path) -> surveys.Survey:
    return surveys.ensure_default(root)


@pytest.fixture
def capture_store(root: Path) -> Engine:
    """The store of the data folder (``<root>/cx.db``), with the file's routing rules."""
    os.environ.pop("DATABASE_URL", None)
    engine = store.init(store.make_engine(store.database_url(root)))
    rule_store.sync_file_rules(engine)
    return engine


def detractor(**extra: object) -> dict[str, object]:
    return {
        "nps": 3,
        "attr_cleanliness": 2,
        "attr_waiting_time": 5,
        "comment": "Sucio y lento",
        **extra,
    }


def test_the_same_submission_twice_is_one_answer(
    survey: surveys.Survey, capture_store: Engine
) -> None:
    first = answers.accept(
        capture_store, survey, MADRID, detractor(), submission="n1", language="es", now=NOW
    )
    again = answers.accept(
        capture_store, survey, MADRID, detractor(), submission="n1", language="es", now=NOW
    )
    other = answers.accept(
        capture_store, survey, MADRID, {"nps": 10}, submission="n2", language="es", now=NOW
    )
    assert first.created and not again.created and other.created
    assert again.answer.response_id == first.answer.response_id != other.answer.response_id
    with store.session(capture_store) as s:
        rows = list(s.exec(select(SurveyAnswer)))
    assert len(rows) == 2
    row = json.loads(rows[0].row)
    assert (row["wave"], row["agency"], row["country"], row["region"]) == (
        "2026-Q4",
        "Madrid",
        "ES",
        "Europe",
    )
    assert row["nps"] == 3 and row["customer_id"].startswith("anon-")


def test_the_loop_opens_the_case_mails_the_cleaning_contact_and_schedules_the_callback(
    survey: surveys.Survey, root: Path, capture_store: Engine
) -> None:
    given = detractor(callback="yes", phone="+34 612 345 678", callback_slot="afternoon")
    made = answers.accept(
        capture_store, survey, MADRID, given, submission="n1", language="es", now=NOW
    )
    done = answers.close_loop(capture_store, root, now=NOW)
    assert done["answers"] == 1 and done["callbacks"] == 1 and done["cases"] == 1
    with store.session(capture_store) as s:
        case = s.exec(select(Case).where(Case.response_id == made.answer.response_id)).one()
        mails = {n.recipient: n for n in s.exec(select(Notification))}
        callback = s.exec(select(Callback).where(Callback.case_id == case.id)).one()
        kinds = [e.kind for e in s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert case.agency == "Madrid" and case.status == "callback_scheduled" and case.nps == 3
    assert (
        "cleaning.madrid@cx-demo.example" in mails
    )  # "cleanliness < 4 + Madrid → cleaning manager"
    assert not any("anon-" in r for r in mails)  # nobody to acknowledge on an open link
    assert (callback.phone, callback.slot, callback.by) == (
        "+34 612 345 678",
        "afternoon",
        "respondent",
    )
    assert callback.due_at == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert kinds == ["opened", "callback_requested"]
    assert answers.close_loop(capture_store, root, now=NOW)["answers"] == 0  # looped once


def test_folded_answers_are_read_with_the_wave_once_whatever_the_reruns(
    survey: surveys.Survey, root: Path, capture_store: Engine
) -> None:
    for i in range(5):
        answers.accept(
            capture_store,
            survey,
            MADRID,
            {"nps": 10 - i},
            submission=f"n{i}",
            language="es",
            now=NOW,
        )
    assert answers.fold(root, capture_store) == {"2026-Q4": 5}
    assert answers.fold(root, capture_store) == {}
    answers.accept(
        capture_store, survey, MADRID, {"nps": 0}, submission="late", language="es", now=NOW
    )
    assert answers.fold(root, capture_store) == {"2026-Q4": 1}
    frame = data.scan_responses(root).collect()
    assert frame.height == 6 and frame["response_id"].n_unique() == 6
    assert sorted(frame["nps"].to_list()) == [0, 6, 7, 8, 9, 10]
    assert frame.schema["responded_at"] == pl.Datetime("us", "UTC")
    assert answers.pending_counts(capture_store) == {"not_looped": 6, "not_folded": 0}


FOLD_AND_HANG = """
import sys, time
from pathlib import Path
from cx import store
from cx.capture import answers
root = Path(sys.argv[1])
engine = store.make_engine(store.database_url(root))
def hang():
    print("written", flush=True)
    time.sleep(60)
answers.fold(root, engine, before_replace=hang if sys.argv[2] == "hang" else None)
print("done", flush=True)
"""


@pytest.mark.parametrize("moment", ["before the rename", "after the rename, before the store"])
def test_a_kill_during_the_fold_loses_and_duplicates_nothing(
    survey: surveys.Survey, root: Path, capture_store: Engine, tmp_path: Path, moment: str
) -> None:
    for i in range(3):
        answers.accept(
            capture_store, survey, MADRID, {"nps": 9}, submission=f"a{i}", language="es", now=NOW
        )
    answers.fold(root, capture_store)
    for i in range(4):
        answers.accept(
            capture_store, survey, MADRID, {"nps": 2}, submission=f"b{i}", language="es", now=NOW
        )
    script = tmp_path / "fold.py"
    script.write_text(FOLD_AND_HANG, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    if moment == "before the rename":
        proc = subprocess.Popen(
            [sys.executable, str(script), str(root), "hang"],
            stdout=subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"written"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert data.scan_responses(root).collect().height == 3  # the old file, whole
    else:  # the new file is in place but the store never heard: a rerun must not append again
        target = data.waves_dir(root) / "wave=2026-Q4" / answers.CAPTURE_PART
        before = target.stat().st_mtime_ns
        with store.session(capture_store) as s:
            pending = list(s.exec(select(SurveyAnswer).where(SurveyAnswer.folded_at == None)))  # noqa: E711
        rows = answers._frame(answers.rows_of(pending))
        old = pl.read_parquet(target)
        from cx.core import atomic

        atomic.atomic_write_parquet(pl.concat([old, rows], how="diagonal_relaxed"), target)
        assert target.stat().st_mtime_ns != before
    deadline = time.monotonic() + 30
    while True:  # the killed process's wave lock is released by the kernel with the process
        try:
            answers.fold(root, capture_store, lock_timeout=5)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
    frame = data.scan_responses(root).collect()
    assert frame.height == 7 and frame["response_id"].n_unique() == 7
    assert sorted(frame["nps"].to_list()) == [2, 2, 2, 2, 9, 9, 9]
    assert not list((data.waves_dir(root) / "wave=2026-Q4").glob(".*.tmp"))
    assert answers.pending_counts(capture_store)["not_folded"] == 0


def test_an_answer_from_an_open_link_is_never_replied_to_by_e_mail(
    survey: surveys.Survey, root: Path, capture_store: Engine
) -> None:
    from cx.loop import replies
    from tests.support.apptest import demo_user

    made = answers.accept(
        capture_store, survey, MADRID, detractor(), submission="q", language="es", now=NOW
    )
    answers.close_loop(capture_store, root, now=NOW)
    with store.session(capture_store) as s:
        case = s.exec(select(Case).where(Case.response_id == made.answer.response_id)).one()
        with pytest.raises(replies.ReplyError, match="open link"):
            replies.reply(s, demo_user("madrid.teleop"), case.id, "acknowledge")  # type: ignore[arg-type]
        assert not [n for n in s.exec(select(Notification)) if n.audience == "customer"]


def _import_csv(root: Path, name: str, ids: list[str], mode: str) -> None:
    lines = ["response_id,responded_at,customer_id,region,country,agency,nps,comment"]
    lines += [
        f"{i},2026-10-01 10:00:00,C{i},Europe,ES,Madrid,{n % 11},fine" for n, i in enumerate(ids)
    ]
    path = root.parent / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    waves.import_file(path, "2026-Q4", root=root, mode=mode)


def test_captured_answers_survive_imports_into_their_wave_and_keep_folding(
    survey: surveys.Survey, root: Path, capture_store: Engine
) -> None:
    def answer(tag: str) -> None:
        answers.accept(
            capture_store, survey, MADRID, {"nps": 9}, submission=tag, language="es", now=NOW
        )

    for i in range(3):
        answer(f"before{i}")
    assert answers.fold(root, capture_store) == {"2026-Q4": 3}
    # an import into the same wave writes part-0 with the quality columns (exclusion_reason…)
    _import_csv(root, "first.csv", [f"I{i}" for i in range(4)], "append")
    answer("between")
    assert answers.fold(root, capture_store) == {"2026-Q4": 1}  # the wave's files differ: read
    assert data.scan_responses(root).collect().height == 3 + 4 + 1
    _import_csv(root, "second.csv", [f"R{i}" for i in range(5)], "replace")
    ids = set(data.scan_responses(root).collect()["response_id"].to_list())
    assert len(ids) == 5 + 4  # the import's rows replaced; the four captured answers kept
    assert {f"R{i}" for i in range(5)} <= ids and not any(i.startswith("I") for i in ids)
    waves.undo(root, "2026-Q4")  # back to the appended version: the captured answers stay too
    ids = set(data.scan_responses(root).collect()["response_id"].to_list())
    assert len(ids) == 4 + 4 and {f"I{i}" for i in range(4)} <= ids


def test_once_looped_and_folded_the_store_keeps_only_the_masked_text(
    survey: surveys.Survey, root: Path, capture_store: Engine
) -> None:
    said = "Llamadme al 612 345 678 o a ana.lopez@example.com, el baño estaba sucio"
    answers.accept(
        capture_store,
        survey,
        MADRID,
        detractor(comment=said, callback="yes", phone="+34 612 345 678", slot="morning"),
        submission="pii",
        language="es",
        now=NOW,
    )
    answers.fold(root, capture_store)
    with store.session(capture_store) as s:  # folded, not looped yet: the loop still needs it
        assert "ana.lopez@example.com" in s.exec(select(SurveyAnswer)).one().row
    answers.close_loop(capture_store, root, now=NOW)
    with store.session(capture_store) as s:
        stored = s.exec(select(SurveyAnswer)).one()
        kept = stored.row + stored.followups
        callback = s.exec(select(Callback)).one()
    assert "ana.lopez@example.com" not in kept and "612 345 678" not in kept
    assert "[email]" in kept and "sucio" in kept
    assert callback.phone == "+34 612 345 678"  # the teleoperator still has the number asked for
    wave = data.scan_responses(root).collect()
    assert wave["comment"].to_list() == [said]  # the raw text lives in the wave file only
