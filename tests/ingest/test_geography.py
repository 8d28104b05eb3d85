"""Region, country and agency are checked on import: against org.yaml when there is one, else
against the stored waves, with new or moved agencies held until an analyst accepts them."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from cx import cli, ingest, store
from cx.core import data
from cx.core.scope import Scope, restrict
from cx.store.models import AuditLog
from tests.ingest.files import csv, rows
from tests.support.datadir import no_hook

WAVE = "2026-Q4"
LATAM = "Latin America"


def test_madrid_rows_labelled_latin_america_are_quarantined_naming_the_region(
    root: Path, tmp_path: Path
) -> None:
    src = csv(
        tmp_path / "a.csv",
        [
            f"M1,2026-10-01,C1,{LATAM},ES,Madrid,2,call me on 612 345 678",
            "M2,2026-10-01,C2,Europe,ES,Madrid,9,ok",
            "M3,2026-10-01,C3,Europe,FR,Madrid,9,ok",
            "M4,2026-10-01,C4,Europe,ES,Gotham,9,ok",
        ],
    )
    result = ingest.import_file(src, WAVE, root=root, after_import=no_hook)
    assert result.reasons == {
        "agency region mismatch": 1,
        "agency country mismatch": 1,
        "agency unknown": 1,
    }
    reasons = pl.read_csv(result.quarantine_file)["reason"].to_list()
    assert f"agency Madrid is in region Europe in org.yaml, not {LATAM}" in reasons
    latam = restrict(data.scan_responses(root), Scope.parse(f"region:{LATAM}")).collect()
    assert latam.is_empty()  # before: M1 and its comment were visible to a Latin America manager


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """A data folder without org.yaml."""
    folder = tmp_path / "bare"
    folder.mkdir()
    return folder


def test_without_org_yaml_new_agencies_wait_for_an_analyst_who_is_audited(
    bare: Path, tmp_path: Path, engine: Engine
) -> None:
    src = csv(tmp_path / "a.csv", rows("A", 3) + rows("P", 2, agency="Paris"))
    held = ingest.import_file(src, WAVE, root=bare, after_import=no_hook)
    assert (held.status, held.reasons) == ("nothing accepted", {"agency new": 5})
    assert not (bare / "waves").exists()
    assert held.geography.rows() == [
        ("Madrid", "Europe", "ES", None, 3),
        ("Paris", "Europe", "ES", None, 2),
    ]
    with pytest.raises(ingest.IngestError, match="needs the name of who accepts it"):
        ingest.import_file(src, WAVE, root=bare, accept_geography=True, after_import=no_hook)
    done = ingest.import_file(
        src,
        WAVE,
        root=bare,
        accept_geography=True,
        actor="ana.analyst",
        engine=engine,
        after_import=no_hook,
    )
    assert (done.status, done.accepted) == ("written", 5)
    with store.session(engine) as s:
        trail = s.exec(select(AuditLog).where(AuditLog.action == "geography.accept")).all()
    assert sorted((a.actor, a.entity_id, a.region, a.country) for a in trail) == [
        ("ana.analyst", "Madrid", "Europe", "ES"),
        ("ana.analyst", "Paris", "Europe", "ES"),
    ]
    assert json.loads(trail[0].detail)["wave"] == WAVE


def test_without_org_yaml_a_known_agency_moved_to_another_region_is_held(
    bare: Path, tmp_path: Path, engine: Engine
) -> None:
    first = csv(tmp_path / "a.csv", rows("A", 2) + rows("K", 1, agency="Barcelona"))
    ingest.import_file(
        first,
        WAVE,
        root=bare,
        accept_geography=True,
        actor="ana",
        engine=engine,
        after_import=no_hook,
    )
    moved = csv(
        tmp_path / "b.csv",
        [
            f"B1,2027-01-02,C1,{LATAM},ES,Madrid,3,x",
            "B2,2027-01-02,C2,Europe,ES,Barcelona,9,y",
            "B3,2027-01-02,C3,Europe,ES,Lyon,9,y",
            "B4,2027-01-02,C4,Europe,FR,Lyon,9,y",
        ],
    )
    result = ingest.import_file(moved, "2027-Q1", root=bare, after_import=no_hook)
    assert result.accepted == 1
    assert result.reasons == {
        "agency geography inconsistent in file": 2,
        "agency geography changed": 1,
    }
    reasons = pl.read_csv(result.quarantine_file)["reason"].to_list()
    assert f"agency Madrid was in Europe/ES in earlier waves, not {LATAM}/ES" in reasons[0]
    assert restrict(data.scan_responses(bare), Scope.parse(f"region:{LATAM}")).collect().is_empty()
    # Accepting lifts the move; an agency given two places in one file is never accepted.
    forced = ingest.import_file(
        moved, "2027-Q2", root=bare, accept_geography=True, dry_run=True, after_import=no_hook
    )
    assert forced.reasons == {
        "agency geography inconsistent in file": 2,
        "response_id in another wave": 1,  # B2, stored in 2027-Q1 above
    }
    assert forced.accepted == 1 and forced.geography["region"].to_list() == [LATAM]


def test_cli_accept_geography_records_the_actor(
    bare: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    src = csv(tmp_path / "a.csv", rows("A", 2))
    args = ["import", str(src), "--wave", WAVE, "--data", str(bare), "--format", "json"]
    assert cli.main(args) == 0
    held = json.loads(capsys.readouterr().out)
    assert held[1]["reason"] == "agency new" and held[1]["rows"] == 2
    assert cli.main([*args, "--accept-geography", "--actor", "ana"]) == 0
    out = json.loads(capsys.readouterr().out)
    accepted = [r for r in out if r["outcome"] == "geography accepted"]
    assert accepted[0]["reason"].startswith("agency Madrid in Europe/ES (new)")
    engine = store.make_engine(store.database_url(bare))
    with store.session(engine) as s:
        (row,) = s.exec(select(AuditLog).where(AuditLog.action == "geography.accept")).all()
    engine.dispose()
    assert (row.actor, row.agency) == ("ana", "Madrid")


def test_fieldwork_counts_are_held_when_their_region_is_wrong(root: Path, tmp_path: Path) -> None:
    header = "wave,region,country,agency,channel,invitations"
    src = csv(
        tmp_path / "fw.csv",
        [f"{WAVE},{LATAM},ES,Madrid,email,100", f"{WAVE},Europe,ES,Madrid,sms,10"],
        header,
    )
    result = ingest.import_fieldwork(src, root=root)
    assert (result.accepted, result.reasons) == (1, {"agency region mismatch": 1})
    stored = pl.read_parquet(root / "fieldwork.parquet")
    assert stored["region"].to_list() == ["Europe"]


def test_without_org_yaml_fieldwork_of_a_new_agency_waits_for_an_analyst_who_is_audited(
    bare: Path, tmp_path: Path, engine: Engine
) -> None:
    ingest.import_file(  # Madrid is known from a wave; Sevilla is in no wave yet
        csv(tmp_path / "a.csv", rows("A", 2)),
        WAVE,
        root=bare,
        accept_geography=True,
        actor="ana",
        engine=engine,
        after_import=no_hook,
    )
    header = "wave,region,country,agency,channel,invitations"
    src = csv(
        tmp_path / "fw.csv",
        [f"{WAVE},Europe,ES,Madrid,email,100", f"{WAVE},Europe,ES,Sevilla,email,40"],
        header,
    )
    held = ingest.import_fieldwork(src, root=bare)
    assert (held.accepted, held.reasons) == (1, {"agency new": 1})
    assert pl.read_parquet(bare / "fieldwork.parquet")["agency"].to_list() == ["Madrid"]
    with pytest.raises(ingest.IngestError, match="needs the name of who accepts it"):
        ingest.import_fieldwork(src, root=bare, accept_geography=True)
    done = ingest.import_fieldwork(
        src, root=bare, accept_geography=True, actor="ana.analyst", engine=engine
    )
    assert done.accepted == 2
    assert sorted(pl.read_parquet(bare / "fieldwork.parquet")["agency"]) == ["Madrid", "Sevilla"]
    with store.session(engine) as s:
        trail = s.exec(
            select(AuditLog).where(
                AuditLog.action == "geography.accept", AuditLog.actor == "ana.analyst"
            )
        ).all()
    assert [(a.entity_id, a.region, a.country) for a in trail] == [("Sevilla", "Europe", "ES")]
