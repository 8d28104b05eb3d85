"""The importer: validation, quarantine, rescaling, mapping reuse, modes, idempotence, quality flags."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import yaml

from cx import cli, ingest
from cx.core import data
from cx.ingest import mapping, quality
from cx.loop import rules
from tests.support.datadir import files_under, no_hook

HEADER = "response_id,responded_at,customer_id,region,country,agency,nps,csat,attr_cleanliness,attr_price,comment"


def write(path: Path, lines: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def good(
    i: int,
    *,
    agency: str = "Madrid",
    country: str = "ES",
    region: str = "Europe",
    nps: str = "9",
    customer: str | None = None,
    attrs: tuple[str, str] = ("8", "7"),
) -> str:
    return f"R{i:04d},2026-10-0{1 + i % 9} 10:00:00,{customer or f'C{i:04d}'},{region},{country},{agency},{nps},4,{attrs[0]},{attrs[1]},fine"


def test_a_clean_file_is_written_as_the_wave_partition_with_contract_types(
    root: Path, tmp_path: Path
) -> None:
    src = write(tmp_path / "w.csv", [good(i) for i in range(10)])
    result = ingest.import_file(src, "2026-Q4", root=root, after_import=no_hook)
    assert (result.status, result.input_rows, result.accepted, result.quarantined) == (
        "written",
        10,
        10,
        0,
    )
    assert result.written == root / "waves" / "wave=2026-Q4" / "part-0.parquet"
    df = pl.read_parquet(result.written)
    assert df.schema["nps"] == pl.Int8 and df.schema["csat"] == pl.Int8
    assert df.schema["responded_at"] == pl.Datetime("us", "UTC")
    assert df["wave"].unique().to_list() == ["2026-Q4"]
    assert df["nps"].sum() == 90
    data.check_schema(root)  # the reader accepts what the importer wrote
    assert data.scan_responses(root).collect().height == 10


def test_bad_rows_are_quarantined_with_one_reason_each_and_the_counts_add_up(
    root: Path, tmp_path: Path
) -> None:
    lines = [
        good(1),
        good(2, nps="11"),
        "R0003,not a date,C3,Europe,ES,Madrid,7,4,8,7,x",
        good(4, agency="Atlantis"),
        good(5, country="FR"),
        good(1),
        good(7, nps=""),
        good(8, attrs=("12", "7")),
        "R0009,2026-10-02,C9,Europe,Spain,Madrid,7,4,8,7,x",
        good(10),
    ]
    src = write(tmp_path / "bad.csv", lines)
    result = ingest.import_file(src, "2026-Q4", root=root, after_import=no_hook)
    assert result.input_rows == 10
    assert result.accepted + result.quarantined == result.input_rows
    assert (result.accepted, result.quarantined) == (2, 8)
    q = pl.read_csv(result.quarantine_file, infer_schema=False)
    reasons = dict(zip(q["source_row"].cast(int).to_list(), q["reason"].to_list(), strict=True))
    assert reasons[2] == "nps 11 is not an integer 0..10"
    assert reasons[3] == "responded_at not a date is not a date/time"
    assert reasons[4] == "unknown agency Atlantis (not in org.yaml)"
    assert reasons[5] == "agency Madrid is in ES in org.yaml, not FR"
    assert reasons[6] == "duplicate response_id R0001 within the file"
    assert reasons[7] == "nps (empty) is not an integer 0..10"
    assert reasons[8] == "attr_cleanliness 12 is not an integer 0..10"
    assert "country Spain is not an ISO 3166-1 alpha-2 code" in reasons[9]
    assert result.quarantine_file.parent == root / "quarantine"
    stored = pl.read_parquet(result.written)
    assert sorted(stored["response_id"].to_list()) == ["R0001", "R0010"]


def test_response_ids_of_other_waves_are_quarantined_naming_that_wave(
    root: Path, tmp_path: Path
) -> None:
    ingest.import_file(
        write(tmp_path / "a.csv", [good(1), good(2)]), "2026-Q3", root=root, after_import=no_hook
    )
    result = ingest.import_file(
        write(tmp_path / "b.csv", [good(2), good(3)]), "2026-Q4", root=root, after_import=no_hook
    )
    assert (result.accepted, result.quarantined) == (1, 1)
    assert result.reasons == {"response_id in another wave": 1}
    assert "response_id R0002 already in wave 2026-Q3" in result.bad_rows["reason"].to_list()


def test_region_and_country_come_from_org_yaml_when_the_file_lacks_them(
    root: Path, tmp_path: Path
) -> None:
    src = write(
        tmp_path / "geo.csv",
        ["R1,2026-10-01,C1,Leeds,8", "R2,2026-10-01,C2,Nowhere,8"],
        header="response_id,responded_at,customer_id,agency,nps",
    )
    result = ingest.import_file(src, "2026-Q4", root=root, after_import=no_hook)
    df = pl.read_parquet(result.written)
    assert df.select("region", "country", "agency").row(0) == ("Europe", "GB", "Leeds")
    assert result.bad_rows["reason"].to_list() == ["unknown agency Nowhere (not in org.yaml)"]


def test_attribute_scales_are_rescaled_to_0_10_with_the_documented_formula(
    root: Path, tmp_path: Path
) -> None:
    lines = [
        good(1, attrs=("1", "4")),
        good(2, attrs=("3", "7")),
        good(3, attrs=("5", "1")),
        good(4, attrs=("6", "2")),
    ]
    src = write(tmp_path / "scales.csv", lines)
    result = ingest.import_file(
        src,
        "2026-Q4",
        root=root,
        scales={"attr_cleanliness": "1-5", "attr_price": "1-7"},
        after_import=no_hook,
    )
    df = pl.read_parquet(result.written).sort("response_id")
    # y = (x - min) * 10 / (max - min): 1-5 scale 1 -> 0, 3 -> 5, 5 -> 10; 1-7 scale 4 -> 5, 7 -> 10, 1 -> 0
    assert df["attr_cleanliness"].to_list() == [0.0, 5.0, 10.0]
    assert df["attr_price"].to_list() == [5.0, 10.0, 0.0]
    assert result.bad_rows["reason"].to_list() == ["attr_cleanliness 6 is not an integer 1..5"]


def test_rescale_of_1_10_maps_the_ends_to_0_and_10() -> None:
    df = pl.DataFrame({"a": [1.0, 10.0, 4.0]}).select(mapping.rescale("a", 1, 10))
    assert df["a"].to_list() == [0.0, 10.0, 3.33]


def test_a_survey_mapping_is_saved_and_reused_for_the_next_wave(root: Path, tmp_path: Path) -> None:
    header = "Resp ID,Fecha,Cliente,Tienda,Recomendación,Limpieza"
    first = write(
        tmp_path / "q3.csv",
        ["A1,2026-07-01,C1,Madrid,9,5", "A2,2026-07-02,C2,Madrid,3,1"],
        header=header,
    )
    r1 = ingest.import_file(
        first,
        "2026-Q3",
        root=root,
        survey="Store survey",
        overrides={"Recomendación": "nps", "Limpieza": "attr_cleanliness"},
        scales={"attr_cleanliness": "1-5"},
        after_import=no_hook,
    )
    assert r1.accepted == 2
    saved = yaml.safe_load((root / "mappings" / "Store-survey.yaml").read_text(encoding="utf-8"))
    assert saved["columns"]["Tienda"] == "agency" and saved["columns"]["Recomendación"] == "nps"
    second = write(tmp_path / "q4.csv", ["B1,2026-10-01,C1,Madrid,10,3"], header=header)
    r2 = ingest.import_file(
        second, "2026-Q4", root=root, survey="Store survey", after_import=no_hook
    )
    df = pl.read_parquet(r2.written)
    assert df.select("nps", "attr_cleanliness").row(0) == (10, 5.0)


def test_suggest_maps_synonyms_and_contract_names() -> None:
    got = mapping.suggest(
        ["ID", "Date", "Customer", "Store", "NPS", "attr_Waiting Time", "Comments", "noise"]
    )
    assert got == {
        "ID": "response_id",
        "Date": "responded_at",
        "Customer": "customer_id",
        "Store": "agency",
        "NPS": "nps",
        "attr_Waiting Time": "attr_waiting_time",
        "Comments": "comment",
    }


def test_new_mode_refuses_an_existing_wave_and_replace_and_append_are_explicit(
    root: Path, tmp_path: Path
) -> None:
    ingest.import_file(
        write(tmp_path / "a.csv", [good(1), good(2)]), "2026-Q4", root=root, after_import=no_hook
    )
    other = write(tmp_path / "b.csv", [good(3)])
    with pytest.raises(
        ingest.IngestError,
        match="wave 2026-Q4 already exists \\(2 responses\\); choose replace or append",
    ):
        ingest.import_file(other, "2026-Q4", root=root, after_import=no_hook)
    appended = ingest.import_file(other, "2026-Q4", root=root, mode="append", after_import=no_hook)
    assert appended.wave_rows == 3
    replaced = ingest.import_file(
        write(tmp_path / "c.csv", [good(1)]),
        "2026-Q4",
        root=root,
        mode="replace",
        after_import=no_hook,
    )
    assert replaced.wave_rows == 1
    assert pl.read_parquet(replaced.written)["response_id"].to_list() == ["R0001"]


def test_appending_rows_already_in_the_wave_quarantines_them(root: Path, tmp_path: Path) -> None:
    ingest.import_file(
        write(tmp_path / "a.csv", [good(1), good(2)]), "2026-Q4", root=root, after_import=no_hook
    )
    result = ingest.import_file(
        write(tmp_path / "b.csv", [good(2), good(3)]),
        "2026-Q4",
        root=root,
        mode="append",
        after_import=no_hook,
    )
    assert (result.accepted, result.quarantined, result.wave_rows) == (1, 1, 3)
    assert result.bad_rows["reason"].to_list() == ["response_id R0002 already in wave 2026-Q4"]


@pytest.mark.parametrize("mode", ["new", "append", "replace"])
def test_reimporting_the_same_file_changes_nothing(root: Path, tmp_path: Path, mode: str) -> None:
    src = write(tmp_path / "a.csv", [good(1), good(2, nps="11")])
    ingest.import_file(src, "2026-Q4", root=root, after_import=no_hook)
    before = files_under(root)
    again = ingest.import_file(src, "2026-Q4", root=root, mode=mode, after_import=no_hook)
    assert again.status == "unchanged"
    assert files_under(root) == before


def test_quality_flags_keep_the_rows_but_mark_them_excluded(root: Path, tmp_path: Path) -> None:
    header = "response_id,responded_at,customer_id,agency,nps,attr_a,attr_b,attr_c,attr_d,attr_e,duration,comment"
    lines = [
        "R1,2026-10-01 09:00,C1,Madrid,9,8,7,9,6,8,300,ok",
        "R2,2026-10-02 09:00,C1,Madrid,3,2,3,4,2,3,310,second answer of C1",
        "R3,2026-10-01 09:00,C3,Madrid,10,10,10,10,10,10,290,great",
        "R4,2026-10-01 09:00,TEST-01,Madrid,5,5,6,4,5,6,280,",
        "R5,2026-10-01 09:00,C5,Madrid,8,7,8,6,7,8,60,quick",
        "R6,2026-10-01 09:00,C6,Madrid,8,7,8,6,7,9,305,test",
    ]
    result = ingest.import_file(
        write(tmp_path / "q.csv", lines, header), "2026-Q4", root=root, after_import=no_hook
    )
    df = pl.read_parquet(result.written).sort("response_id")
    assert result.accepted == 6
    reasons = dict(zip(df["response_id"].to_list(), df["exclusion_reason"].to_list(), strict=True))
    assert reasons == {
        "R1": None,
        "R2": "duplicate_customer",
        "R3": "straight_lining",
        "R4": "test_record",
        "R5": "speeder",
        "R6": "test_record",
    }
    assert df["excluded"].to_list() == [False, True, True, True, True, True]
    assert result.flags == {
        "duplicate_customer": 1,
        "speeder": 1,
        "straight_lining": 1,
        "test_record": 2,
    }
    assert "duration_seconds" not in df.columns  # used for the flag, not stored


def test_the_same_customer_on_two_touchpoints_is_not_a_duplicate() -> None:
    frame = pl.DataFrame(
        {
            "response_id": ["a", "b", "c"],
            "wave": ["2026-Q4"] * 3,
            "customer_id": ["C1", "C1", "C1"],
            "touchpoint": ["delivery", "support", "support"],
            "responded_at": [1, 2, 3],
        }
    )
    flagged = quality.flag(frame).sort("response_id")
    assert flagged["excluded"].to_list() == [False, False, True]


def test_an_import_writes_only_under_the_allowed_folders(root: Path, tmp_path: Path) -> None:
    src = write(tmp_path / "a.csv", [good(1), good(2, nps="12")])
    ingest.import_file(src, "2026-Q4", root=root, survey="s", after_import=no_hook)
    allowed = (
        "waves/wave=2026-Q4/",
        "quarantine/",
        "mappings/",
        "crm/",
        "fieldwork.parquet",
        "org.yaml",
    )
    assert all(p.startswith(allowed) for p in files_under(root)), sorted(files_under(root))


def test_the_routing_rules_run_after_a_successful_import(
    root: Path, tmp_path: Path, sqlite_engine: object
) -> None:
    src = write(tmp_path / "a.csv", [good(1, nps="2"), good(2)])
    result = ingest.import_file(
        src, "2026-Q4", root=root, engine=sqlite_engine, after_import=rules.after_import
    )
    assert result.status == "written"
    assert result.after_import.startswith("routing rules ran: ")


def test_a_failing_after_import_step_is_reported_and_the_wave_stays_written(
    root: Path, tmp_path: Path
) -> None:
    def broken(root: Path, wave: str, engine: object) -> str:
        raise RuntimeError("store offline")

    result = ingest.import_file(
        write(tmp_path / "a.csv", [good(1)]), "2026-Q4", root=root, after_import=broken
    )
    assert result.after_import == "after-import step failed: RuntimeError: store offline"
    assert pl.read_parquet(result.written).height == 1


def test_cli_import_prints_what_was_written_and_quarantined_as_json(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write(tmp_path / "a.csv", [good(1), good(2, nps="11"), good(3, nps="x")])
    code = cli.main(
        [
            "import",
            str(src),
            "--wave",
            "2026-Q4",
            "--data",
            str(root),
            "--format",
            "json",
            "--survey",
            "cli",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    rows = json.loads(out.out)
    assert (
        rows[0]["outcome"] == "written"
        and rows[0]["rows"] == 1
        and rows[0]["file"] == "waves/wave=2026-Q4/part-0.parquet"
    )
    assert rows[1] == {
        "outcome": "quarantined",
        "file": rows[1]["file"],
        "wave": "2026-Q4",
        "mode": "new",
        "rows": 2,
        "reason": "nps invalid",
    }
    assert rows[1]["file"].startswith("quarantine/2026-Q4__a__")


def test_cli_import_errors_are_one_line_with_exit_code_2(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write(
        tmp_path / "a.csv",
        ["R1,2026-10-01,C1,8"],
        header="response_id,responded_at,customer_id,nps",
    )
    code = cli.main(["import", str(src), "--wave", "2026-Q4", "--data", str(root)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("cx import: a.csv: missing required column(s) region, country, agency")
    assert cli.main(["import", str(src), "--wave", "2026-13", "--data", str(root)]) == 2
    assert "is not a quarter" in capsys.readouterr().err


def test_crm_import_appends_new_transactions_and_quarantines_bad_amounts(
    root: Path, tmp_path: Path
) -> None:
    first = write(
        tmp_path / "crm1.csv",
        ["T1,C1,2026-01-05,12.50", "T2,C2,2026-01-06,abc"],
        header="transaction_id,customer_id,date,amount",
    )
    r1 = ingest.import_crm(first, root=root)
    assert (r1.accepted, r1.quarantined, r1.reasons) == (1, 1, {"amount invalid": 1})
    second = write(
        tmp_path / "crm2.csv",
        ["T1,C1,2026-01-05,13.00", "T3,C3,06/01/2026,7"],
        header="transaction_id,customer_id,date,amount",
    )
    r2 = ingest.import_crm(second, root=root)
    df = pl.read_parquet(root / "crm" / "transactions.parquet").sort("transaction_id")
    assert r2.total_rows == 2
    assert df["amount"].to_list() == [13.0, 7.0]
    assert df.schema["date"] == pl.Date


def test_fieldwork_import_upserts_counts_and_derives_geography(root: Path, tmp_path: Path) -> None:
    header = "wave,agency,channel,invitations,delivered,customers_served,target_responses"
    src = write(
        tmp_path / "fw.csv",
        [
            "2026-Q4,Leeds,email,100,90,150,12",
            "2026-Q4,Leeds,sms,10,20,15,2",
            "2026-Q4,Gotham,email,5,5,5,1",
        ],
        header,
    )
    result = ingest.import_fieldwork(src, root=root)
    assert (result.accepted, result.quarantined) == (1, 2)
    assert result.reasons == {"agency unknown": 1, "delivered over invitations": 1}
    again = write(tmp_path / "fw2.csv", ["2026-Q4,Leeds,email,200,180,300,24"], header)
    ingest.import_fieldwork(again, root=root)
    df = pl.read_parquet(root / "fieldwork.parquet")
    assert df.select("region", "country", "invitations").rows() == [("Europe", "GB", 200)]


def test_next_wave_follows_the_latest_wave_granularity(root: Path, tmp_path: Path) -> None:
    assert ingest.next_wave(root).count("-Q") == 1
    ingest.import_file(
        write(tmp_path / "a.csv", [good(1)]), "2026-Q4", root=root, after_import=no_hook
    )
    assert ingest.next_wave(root) == "2027-Q1"


def test_stage_upload_names_the_file_by_content_and_checks_size(tmp_path: Path) -> None:
    with ingest.staged_upload("../../etc/passwd.csv", b"a,b\n1,2\n") as (path, kind):
        assert kind == "csv" and path.parent.name.startswith("cx-upload-")
        assert ".." not in path.name and "passwd" not in path.name
    with (
        pytest.raises(ingest.FormatError, match="over the 10 B upload limit"),
        ingest.staged_upload("big.csv", b"x" * 11, max_bytes=10),
    ):
        pass
    with (
        pytest.raises(ingest.FormatError, match="the file is empty"),
        ingest.staged_upload("e.csv", b""),
    ):
        pass


def test_a_rare_date_format_missed_by_the_sample_still_parses(root: Path, tmp_path: Path) -> None:
    n = 40_001
    frame = pl.DataFrame(
        {
            "response_id": [f"R{i}" for i in range(n)],
            "responded_at": ["2026-10-01 10:00:00"] * (n - 1) + ["15/11/2026"],
            "customer_id": [f"C{i}" for i in range(n)],
            "agency": ["Madrid"] * n,
            "nps": [i % 11 for i in range(n)],
        }
    )
    frame.write_csv(tmp_path / "mixed.csv")
    result = ingest.import_file(tmp_path / "mixed.csv", "2026-Q4", root=root, after_import=no_hook)
    assert (result.accepted, result.quarantined) == (n, 0)
    last = pl.scan_parquet(result.written).filter(pl.col("response_id") == f"R{n - 1}").collect()
    assert last["responded_at"].dt.strftime("%Y-%m-%d").item() == "2026-11-15"


def test_accepted_plus_quarantined_equals_input_on_randomly_corrupted_rows(
    root: Path, tmp_path: Path
) -> None:
    import numpy as np

    rng = np.random.default_rng(6)
    n = 600
    cells = {
        "response_id": [f"X{i}" for i in rng.integers(0, 550, n)],  # some duplicates
        "responded_at": rng.choice(
            ["2026-10-01 10:00:00", "31/12/2026", "yesterday", ""], n, p=[0.7, 0.1, 0.1, 0.1]
        ),
        "customer_id": rng.choice(["C1", "C2", "TEST", ""], n, p=[0.45, 0.45, 0.05, 0.05]),
        "agency": rng.choice(["Madrid", "Leeds", "Paris", "Atlantis", ""], n),
        "nps": rng.choice(["0", "7", "10", "11", "-1", "8.5", "x", ""], n),
        "csat": rng.choice(["1", "5", "6", ""], n),
        "attr_price": rng.choice(["0", "10", "12", "", "n/a"], n),
    }
    src = tmp_path / "fuzz.csv"
    pl.DataFrame(cells).write_csv(src)
    result = ingest.import_file(src, "2026-Q4", root=root, after_import=no_hook)
    assert result.input_rows == n
    assert result.accepted + result.quarantined == n
    assert sum(result.reasons.values()) == result.quarantined
    quarantined = pl.read_csv(result.quarantine_file, infer_schema=False)
    assert quarantined.height == result.quarantined and quarantined["reason"].null_count() == 0
    if result.accepted:
        stored = pl.read_parquet(result.written)
        assert stored.height == result.accepted
        assert stored["nps"].is_between(0, 10).all() and stored["response_id"].is_unique().all()
