"""Round trips: a file written with each format's own tooling comes back with the same values."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from cx import ingest
from cx.ingest import formats
from tests.support.datadir import no_hook

DATA = Path(__file__).parents[1] / "data" / "triple_s"
COLUMNS = [
    "response_id",
    "responded_at",
    "customer_id",
    "agency",
    "nps",
    "attr_cleanliness",
    "comment",
]
ROWS = [
    ("E1", datetime(2026, 10, 1, 9, 30), "C1", "Madrid", 10, 9, "Très propre, merci"),
    ("E2", datetime(2026, 10, 2, 14, 0), "C2", "Paris", 6, 4, None),
    ("E3", datetime(2026, 11, 20, 18, 15), "C3", "Córdoba", 0, 1, "Сотрудники грубые"),
]


def stored(root: Path, wave: str = "2026-Q4") -> pl.DataFrame:
    return pl.read_parquet(root / "waves" / f"wave={wave}" / "part-0.parquet").sort("response_id")


def assert_round_trip(df: pl.DataFrame) -> None:
    assert df["response_id"].to_list() == ["E1", "E2", "E3"]
    assert df["nps"].to_list() == [10, 6, 0]
    assert df["attr_cleanliness"].to_list() == [9, 4, 1]
    assert df["agency"].to_list() == ["Madrid", "Paris", "Córdoba"]
    assert df["country"].to_list() == ["ES", "FR", "AR"]
    assert df["comment"].to_list() == ["Très propre, merci", None, "Сотрудники грубые"]
    assert df["responded_at"].dt.strftime("%Y-%m-%d %H:%M").to_list() == [
        "2026-10-01 09:30",
        "2026-10-02 14:00",
        "2026-11-20 18:15",
    ]


def test_excel_written_by_xlsxwriter_round_trips(root: Path, tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "export.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Responses")
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, COLUMNS)
    for i, row in enumerate(ROWS, start=1):
        sheet.write_string(i, 0, row[0])
        sheet.write_datetime(i, 1, row[1], when)
        sheet.write_string(i, 2, row[2])
        sheet.write_string(i, 3, row[3])
        sheet.write_number(i, 4, row[4])
        sheet.write_number(i, 5, row[5])
        if row[6] is not None:
            sheet.write_string(i, 6, row[6])
    book.close()
    assert formats.sniff(path) == "xlsx"
    result = ingest.import_file(path, "2026-Q4", root=root, after_import=no_hook)
    assert (result.kind, result.accepted, result.quarantined) == ("xlsx", 3, 0)
    assert_round_trip(stored(root))


def test_spss_written_by_pyreadstat_round_trips_with_value_labels_applied(
    root: Path, tmp_path: Path
) -> None:
    import pandas as pd
    import pyreadstat

    frame = pd.DataFrame(
        {
            "respid": [r[0] for r in ROWS],
            "enddate": [r[1] for r in ROWS],
            "custid": [r[2] for r in ROWS],
            "store": [1.0, 2.0, 3.0],
            "q_nps": [float(r[4]) for r in ROWS],
            "attr_cleanliness": [float(r[5]) for r in ROWS],
            "verbatim": [r[6] or "" for r in ROWS],
        }
    )
    path = tmp_path / "wave.sav"
    pyreadstat.write_sav(
        frame,
        str(path),
        variable_value_labels={
            "store": {1.0: "Madrid", 2.0: "Paris", 3.0: "Córdoba"},
            "q_nps": {0.0: "Not at all likely", 10.0: "Extremely likely"},
        },
    )
    assert formats.sniff(path) == "sav"
    result = ingest.import_file(
        path,
        "2026-Q4",
        root=root,
        overrides={"store": "agency", "enddate": "responded_at", "verbatim": "comment"},
        after_import=no_hook,
    )
    assert (result.kind, result.accepted, result.quarantined) == ("sav", 3, 0)
    # Labels apply to the text columns (agency codes -> names), never to the NPS scale's end labels.
    assert_round_trip(stored(root))


@pytest.mark.parametrize("meta", ["store.sss", "store_csv.sss"])
def test_triple_s_fixed_width_and_csv_pairs_round_trip(root: Path, meta: str) -> None:
    result = ingest.import_file(
        DATA / meta,
        "2026-Q4",
        root=root,
        overrides={
            "RESPID": "response_id",
            "DONE": "responded_at",
            "CUST": "customer_id",
            "STORE": "agency",
            "NPS": "nps",
            "CLEAN": "attr_cleanliness",
            "WHY": "comment",
        },
        scales={"attr_cleanliness": "1-5"},
        after_import=no_hook,
    )
    assert (result.kind, result.accepted, result.quarantined) == ("triple-s", 3, 0)
    df = stored(root)
    assert df["response_id"].to_list() == ["S00001", "S00002", "S00003"]
    assert df["agency"].to_list() == [
        "Madrid",
        "Paris",
        "Leeds",
    ]  # value labels applied ("02" is code 2)
    assert df["country"].to_list() == ["ES", "FR", "GB"]
    assert df["nps"].to_list() == [10, 6, 8]
    assert df["attr_cleanliness"].to_list() == [10.0, 5.0, 0.0]  # 1-5 rescaled
    assert df["comment"].to_list() == ["Spotless, kind staff", "slow queue", None]


def test_triple_s_pair_uploaded_as_a_zip_is_staged_under_fixed_names(tmp_path: Path) -> None:
    import zipfile

    buf = tmp_path / "pair.zip"
    with zipfile.ZipFile(buf, "w") as z:
        z.write(DATA / "store.sss", "../../evil/store.sss")
        z.write(DATA / "store.asc", "store.asc")
    with ingest.staged_upload("pair.zip", buf.read_bytes()) as (path, kind):
        assert kind == "triple-s" and path.name == "survey.sss"
        assert formats.read(path).frame.height == 3
    assert not path.parent.parent.exists()  # the private staging folder is gone after use


def test_parquet_round_trips(root: Path, tmp_path: Path) -> None:
    path = tmp_path / "any-name.txt"  # the name lies: the content decides
    pl.DataFrame([list(r) for r in ROWS], schema=COLUMNS, orient="row").with_columns(
        # The same instants stored in Madrid time: the importer converts them back to UTC.
        pl.col("responded_at").dt.replace_time_zone("UTC").dt.convert_time_zone("Europe/Madrid")
    ).write_parquet(path)
    result = ingest.import_file(path, "2026-Q4", root=root, after_import=no_hook)
    assert (result.kind, result.accepted) == ("parquet", 3)
    assert_round_trip(stored(root))


def _csv_text(sep: str) -> str:
    lines = [sep.join(COLUMNS)]
    for r in ROWS:
        comment = f'"{r[6]}"' if r[6] else ""
        lines.append(
            sep.join(
                [
                    r[0],
                    r[1].strftime("%Y-%m-%d %H:%M:%S"),
                    r[2],
                    r[3],
                    str(r[4]),
                    str(r[5]),
                    comment,
                ]
            )
        )
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize(
    ("encoding", "sep", "expected"),
    [
        ("utf-8", ",", "utf-8"),
        ("utf-8-sig", ";", "utf-8-sig"),
        ("utf-8", "\t", "utf-8"),
        ("utf-8", "|", "utf-8"),
    ],
)
def test_csv_encoding_and_delimiter_are_detected(
    root: Path, tmp_path: Path, encoding: str, sep: str, expected: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(_csv_text(sep).encode(encoding))
    result = ingest.import_file(path, "2026-Q4", root=root, after_import=no_hook)
    assert expected in result.detail
    assert result.accepted == 3
    assert_round_trip(stored(root))


def test_cp1252_csv_is_decoded(root: Path, tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    text = _csv_text(";").replace("Сотрудники грубые", "Señal débil – «mal»")
    path.write_bytes(text.encode("cp1252"))
    result = ingest.import_file(path, "2026-Q4", root=root, after_import=no_hook)
    assert "cp1252" in result.detail and result.accepted == 3
    assert stored(root)["comment"].to_list()[2] == "Señal débil – «mal»"


def test_latin1_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path: Path) -> None:
    data, encoding = formats.decode("a,b\n\x81é,1\n".encode("latin-1"), "x.csv")
    assert encoding == "latin-1" and data.decode("utf-8") == "a,b\n\x81é,1\n"
