"""The `cx` command: JSON contract, an independent check of the KPIs, clean one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import bcrypt
import numpy as np
import pyarrow.dataset as ds
import pytest
import yaml

from cx.cli import main

ROOT = Path(__file__).resolve().parents[2]


def cx(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "cx.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def independent_kpis(root: Path, country: str) -> dict[tuple[str, str], tuple[int, float, float]]:
    """The contract's definitions computed with numpy on the raw Parquet rows (no cx code)."""
    table = (
        ds.dataset(str(root / "waves"), format="parquet")
        .to_table(columns=["country", "agency", "wave", "nps", "weight", "excluded"])
        .to_pydict()
    )
    out: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for c, a, w, s, wt, ex in zip(*table.values(), strict=True):
        if c == country and not ex and s is not None:
            out.setdefault((a, w), []).append((s, wt))
    result = {}
    for key, pairs in out.items():
        s = np.array([p[0] for p in pairs])
        w = np.array([p[1] for p in pairs])
        p, d = w[s >= 9].sum() / w.sum(), w[s <= 6].sum() / w.sum()
        n_eff = w.sum() ** 2 / (w**2).sum()
        n2 = n_eff + 3
        p2, d2 = (p * n_eff + 0.75) / n2, (d * n_eff + 0.75) / n2
        moe = 1.96 * 100 * np.sqrt((p2 + d2 - (p2 - d2) ** 2) / n2)
        result[key] = (len(s), 100 * (p - d), float(moe))
    return result


def test_kpis_json_matches_an_independent_computation(
    demo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "kpis",
                "--data",
                str(demo_root),
                "--scope",
                "country:ES",
                "--by",
                "agency,wave",
                "--format",
                "json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    expected = independent_kpis(demo_root, "ES")
    assert len(rows) == len(expected) == 4 * 8
    for row in rows:
        n, nps, moe = expected[(row["agency"], row["wave"])]
        assert row["n"] == n
        assert abs(row["nps"] - nps) <= 0.01
        assert abs(row["nps_moe"] - moe) <= 0.01
    assert set(rows[0]) == {
        "agency",
        "wave",
        "n",
        "promoters",
        "passives",
        "detractors",
        "nps",
        "nps_moe",
        "low_base",
        "csat",
    }
    assert {r["agency"] for r in rows} == {"Madrid", "Barcelona", "Valencia", "Sevilla"}


def test_kpis_user_scope_and_latest_wave_by_default(
    demo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "kpis",
                "--data",
                str(demo_root),
                "--user",
                "madrid.manager",
                "--by",
                "agency",
                "--format",
                "json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [r["agency"] for r in rows] == ["Madrid"]
    n, _, _ = independent_kpis(demo_root, "ES")[("Madrid", "2026-Q3")]
    assert rows[0]["n"] == n


def test_kpis_csv_and_table_formats(demo_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "kpis",
                "--data",
                str(demo_root),
                "--scope",
                "region:Eurasia",
                "--by",
                "country",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("country,n,promoters") and lines[1].startswith("RU,")
    assert (
        main(["kpis", "--data", str(demo_root), "--scope", "region:Eurasia", "--format", "table"])
        == 0
    )
    assert "nps_moe" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kpis", "--by", "nonsense"], "unknown --by column 'nonsense'"),
        (["kpis", "--wave", "1999-Q1"], "unknown wave '1999-Q1'"),
        (["kpis", "--scope", "planet:Mars"], "bad scope 'planet:Mars'"),
        (["kpis", "--user", "nobody"], "unknown user 'nobody'"),
    ],
)
def test_bad_input_gives_one_line_and_no_traceback(
    demo_root: Path, args: list[str], message: str
) -> None:
    result = cx(*args, "--data", str(demo_root))
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_missing_data_directory_is_a_clean_error(tmp_path: Path) -> None:
    result = cx("kpis", "--data", str(tmp_path / "none"))
    assert (
        result.returncode == 2
        and "no wave files" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_a_corrupt_wave_file_is_named_in_the_error(tmp_path: Path) -> None:
    bad = tmp_path / "waves" / "wave=2026-Q1"
    bad.mkdir(parents=True)
    (bad / "part-0.parquet").write_bytes(b"not parquet at all")
    result = cx("kpis", "--data", str(tmp_path))
    assert (
        result.returncode == 2
        and "part-0.parquet" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_users_add_set_scope_remove_with_bcrypt(tmp_path: Path) -> None:
    env = {"CX_USERS_FILE": str(tmp_path / "users.yaml"), "CX_DATA_DIR": str(tmp_path)}
    added = cx(
        "users",
        "add",
        "lyon.manager",
        "--password",
        "quiet river stone 42",
        "--role",
        "agency_manager",
        "--scope",
        "agency:Lyon",
        "--format",
        "json",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    stored = yaml.safe_load((tmp_path / "users.yaml").read_text())["credentials"]["usernames"][
        "lyon.manager"
    ]
    assert stored["password"].startswith("$2") and bcrypt.checkpw(
        b"quiet river stone 42", stored["password"].encode()
    )
    assert stored["scope"] == ["agency:Lyon"] and stored["roles"] == ["agency_manager"]
    assert (
        cx("users", "set-scope", "lyon.manager", "--scope", "country:FR", env=env).returncode == 0
    )
    assert yaml.safe_load((tmp_path / "users.yaml").read_text())["credentials"]["usernames"][
        "lyon.manager"
    ]["scope"] == ["country:FR"]
    dup = cx("users", "add", "lyon.manager", "--password", "quiet river stone 42", env=env)
    assert dup.returncode == 2 and "already exists" in dup.stderr
    bad_role = cx(
        "users", "add", "x.y", "--password", "quiet river stone 42", "--role", "god", env=env
    )
    assert bad_role.returncode == 2 and "unknown role 'god'" in bad_role.stderr
    weak = cx("users", "add", "x.y", "--password", "password1234", "--role", "ceo", env=env)
    assert weak.returncode == 2 and "list of common passwords" in weak.stderr
    assert bad_role.returncode == 2 and "unknown role 'god'" in bad_role.stderr
    assert cx("users", "remove", "lyon.manager", env=env).returncode == 0
    assert (
        "lyon.manager"
        not in yaml.safe_load((tmp_path / "users.yaml").read_text())["credentials"]["usernames"]
    )


def test_demo_users_file_has_the_documented_users_and_scopes(demo_root: Path) -> None:
    from cx.core import users

    got = {u.username: (u.roles, str(u.scope)) for u in users.all_users(demo_root / "users.yaml")}
    assert got == {
        "ceo": (("ceo",), "world"),
        "es.manager": (("country_manager",), "country:ES"),
        "fr.manager": (("country_manager",), "country:FR"),
        "madrid.manager": (("agency_manager",), "agency:Madrid"),
        "paris.manager": (("agency_manager",), "agency:Paris"),
        "madrid.advisor": (("advisor",), "agency:Madrid,advisor:MAD-03"),
        "madrid.teleop": (("teleoperator",), "agency:Madrid"),
        "analyst": (("analyst",), "world"),
    }
    raw = yaml.safe_load((demo_root / "users.yaml").read_text())
    for user in raw["credentials"]["usernames"].values():
        assert bcrypt.checkpw(b"cx-demo", user["password"].encode())


def test_kpis_by_segment_and_rfm_tier(demo_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kpis", "--data", str(demo_root), "--by", "rfm_tier", "--format", "json"]) == 0
    tiers = {r["rfm_tier"]: r for r in json.loads(capsys.readouterr().out)}
    assert "Champions" in tiers and "Lost" in tiers
    assert (
        tiers["Champions"]["nps"] > tiers["Lost"]["nps"] + 20
    )  # the promoter-rich tier of the demo
    assert main(["kpis", "--data", str(demo_root), "--by", "segment", "--format", "json"]) == 0
    segments = {r["segment"] for r in json.loads(capsys.readouterr().out)}
    assert segments == {"Business", "Premium", "Retail", "Young"}


def test_user_is_found_in_the_users_file_of_the_data_folder_given(demo_root: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("CX_DATA_DIR", "CX_USERS_FILE")}
    args = [sys.executable, "-m", "cx.cli", "kpis", "--data", str(demo_root), "--format", "json"]
    run = subprocess.run(
        [*args, "--user", "madrid.advisor"], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert run.returncode == 0, run.stderr
    advisor = json.loads(run.stdout)[0]
    agency = json.loads(
        subprocess.run(
            [*args, "--scope", "agency:Madrid"], capture_output=True, text=True, cwd=ROOT, env=env
        ).stdout
    )[0]
    assert 0 < advisor["n"] < agency["n"]  # the advisor's own customers, not the whole agency
