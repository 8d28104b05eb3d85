"""Routing rules: the language (against hand-written Polars filters), the store, idempotent runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select

from cx import store
from cx.cli import main
from cx.core import data
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.core.users import User
from cx.loop import cases, rule_language, rule_store, rules
from cx.loop.rule_language import RuleError, parse_rule, rule_expr
from cx.store.models import RuleHit
from cx.voice import themes
from tests.support.datadir import write_org, write_waves
from tests.support.frames import routing_answers


def analyst_user(username: str) -> User:
    """A data admin of the world, acting on the rules."""
    return User(username=username, name=username, email="", roles=("analyst",), scope=Scope.world())


def ids(df: pl.DataFrame) -> list[str]:
    return sorted(df["response_id"].to_list())


def run(text: str, frame: pl.DataFrame | None = None) -> list[str]:
    frame = frame if frame is not None else routing_answers()
    lazy = rule_language.with_themes(frame.lazy(), parse_rule(text))
    return ids(lazy.filter(rule_expr(parse_rule(text), lazy.collect_schema().names())).collect())


def test_the_two_examples_of_the_issue_work_as_written() -> None:
    df = routing_answers()
    assert run("attr_cleanliness < 4 AND city = 'Madrid'") == ids(
        df.filter((pl.col("attr_cleanliness") < 4) & (pl.col("city") == "Madrid"))
    )
    assert run("attr_cleanliness < 4 AND city = 'Madrid'") == ["r0", "r2", "r6"]
    tagged = themes.tag(df)
    expected = ids(tagged.filter((pl.col("nps") < 6) | (pl.col("sentiment") < 0)))
    assert run("nps < 6 OR sentiment < 0") == expected
    assert {"r0", "r2", "r3", "r6"} <= set(expected)  # detractors below 6 and the waiting complaint
    assert "r1" not in expected and "r4" not in expected


VALID = [
    ("nps <= 6", pl.col("nps") <= 6),
    ("nps >= 9", pl.col("nps") >= 9),
    ("nps = 0", pl.col("nps") == 0),
    ("nps != 10 AND nps <> 9", (pl.col("nps") != 10) & (pl.col("nps") != 9)),
    ("nps > 5 AND nps < 9", (pl.col("nps") > 5) & (pl.col("nps") < 9)),
    ("nps BETWEEN 5 AND 7", pl.col("nps").is_between(5, 7)),
    ("nps NOT BETWEEN 5 AND 7", ~pl.col("nps").is_between(5, 7)),
    ("city IN ('Madrid', 'Paris')", pl.col("city").is_in(["Madrid", "Paris"])),
    ("city NOT IN ('Madrid')", ~pl.col("city").is_in(["Madrid"])),
    ("csat IS NULL", pl.col("csat").is_null()),
    ("csat IS NOT NULL AND csat <= 2", pl.col("csat").is_not_null() & (pl.col("csat") <= 2)),
    (
        "attr_cleanliness IS NULL OR attr_cleanliness < 3",
        pl.col("attr_cleanliness").is_null() | (pl.col("attr_cleanliness") < 3),
    ),
    ("NOT (nps >= 7)", pl.col("nps") < 7),
    ("not nps >= 7 or channel = 'qr'", (pl.col("nps") < 7) | (pl.col("channel") == "qr")),
    (
        "(nps < 7 OR csat < 3) AND country = 'ES'",
        ((pl.col("nps") < 7) | (pl.col("csat") < 3)).fill_null(False) & (pl.col("country") == "ES"),
    ),
    (
        "nps < 7 OR csat < 3 AND country = 'FR'",
        (pl.col("nps") < 7) | ((pl.col("csat") < 3) & (pl.col("country") == "FR")).fill_null(False),
    ),
    (
        "touchpoint IS NULL AND segment = 'Retail'",
        pl.col("touchpoint").is_null() & (pl.col("segment") == "Retail"),
    ),
    ("weight > 1.2", pl.col("weight") > 1.2),
    (
        "attr_waiting_time < attr_cleanliness",
        pl.col("attr_waiting_time") < pl.col("attr_cleanliness"),
    ),
    ("responded_at >= '2026-08-01'", pl.col("responded_at") >= datetime(2026, 8, 1, tzinfo=UTC)),
    (
        "advisor_id = 'MAD-01' and wave = '2026-Q3'",
        (pl.col("advisor_id") == "MAD-01") & (pl.col("wave") == "2026-Q3"),
    ),
    ("comment = 'Everything fine.'", pl.col("comment") == "Everything fine."),
    ("nps > -1 AND excluded = FALSE", (pl.col("nps") > -1) & ~pl.col("excluded")),
    ("NOT excluded", ~pl.col("excluded")),
    ("theme = 'cleanliness'", pl.col("themes").list.contains("cleanliness")),
    ("'waiting_time' IN themes", pl.col("themes").list.contains("waiting_time")),
    (
        "'waiting_time' NOT IN themes AND nps < 7",
        ~pl.col("themes").list.contains("waiting_time") & (pl.col("nps") < 7),
    ),
    (
        "theme IN ('cleanliness', 'waiting_time') AND sentiment < 0",
        (
            pl.col("themes").list.contains("cleanliness")
            | pl.col("themes").list.contains("waiting_time")
        )
        & (pl.col("sentiment") < 0),
    ),
    ("sentiment IS NULL", pl.col("sentiment").is_null()),
    (
        "city = 'L''Hospitalet' OR nps = 10",
        (pl.col("city") == "L'Hospitalet") | (pl.col("nps") == 10),
    ),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[t for t, _ in VALID])
def test_valid_rules_match_the_hand_written_polars_filter(text: str, expected: pl.Expr) -> None:
    tagged = themes.tag(routing_answers())
    assert run(text) == ids(tagged.filter(expected.fill_null(False)))


def test_keywords_are_case_insensitive_and_whitespace_free() -> None:
    assert (
        run("nps<6 and city='Madrid'")
        == run("NPS < 6 AND city = 'Madrid'".replace("NPS", "nps"))
        == ["r0", "r2", "r6"]
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nps < 6 AND foo = 1", "unknown column 'foo' at position 13"),
        ("nps < ", "expected a column or a value but found the end of the rule at position 7"),
        ("nps < 6 AND", "at position 12"),
        ("(nps < 6", "expected ')' but found the end of the rule at position 9"),
        ("nps < 6)", "unexpected ')' at position 8"),
        ('city = "Madrid"', "unexpected character '\"' at position 8"),
        ("city = 'Madrid", "unterminated text literal (a quote ' is missing) at position 8"),
        ("nps = 'high'", "cannot compare number with text at position 5"),
        ("city < 3", "cannot compare text with number at position 6"),
        ("nps IN (1, city)", "an IN list holds literals only"),
        ("upper(city) = 'X'", "function calls are not allowed ('upper') at position 1"),
        ("nps IS 6", "expected NULL but found '6' at position 8"),
        ("", "empty rule"),
        ("6", "expected a comparison"),
        ("responded_at > '2026-13-45'", "'2026-13-45' is not a date (YYYY-MM-DD) at position 16"),
        ("theme = 'clenliness'", "unknown theme 'clenliness'"),
        ("theme < 'price'", "theme is compared with = or != and a theme id"),
        ("themes = 'price'", "use 'theme_id' IN themes"),
    ],
)
def test_errors_point_at_the_position(text: str, message: str) -> None:
    with pytest.raises(RuleError) as err:
        run(text)
    assert message in str(err.value)


def test_limits_on_length_depth_and_in_lists() -> None:
    with pytest.raises(RuleError, match="the limit is 2,000"):
        parse_rule("nps < 6 OR " * 200 + "nps < 6")
    assert parse_rule("(" * 20 + "nps < 6" + ")" * 20)
    with pytest.raises(RuleError, match="nested more than 20 levels deep at position 21"):
        parse_rule("(" * 21 + "nps < 6" + ")" * 21)
    with pytest.raises(RuleError, match="nested more than 20"):
        parse_rule("NOT " * 21 + "nps < 6")
    assert parse_rule("nps IN (" + ", ".join(["1"] * 200) + ")")
    with pytest.raises(RuleError, match="IN list longer than 200 items"):
        parse_rule("nps IN (" + ", ".join(["1"] * 201) + ")")
    with pytest.raises(RuleError, match="number too long"):
        parse_rule("nps < 1234567890123456")


def test_a_column_missing_from_the_data_is_named_with_its_position() -> None:
    with pytest.raises(
        RuleError, match="unknown column 'attr_price' \\(not in the data\\) at position 12"
    ):
        rule_expr(parse_rule("nps < 6 OR attr_price < 3"), ["nps", "city"])


def test_matches_apply_the_scope_and_filters_first() -> None:
    frame = routing_answers().lazy()
    got = rule_language.matches(
        frame, Scope.parse("agency:Madrid"), Filters(wave="2026-Q3"), rule="nps < 7"
    )
    assert ids(got) == ["r2", "r6"]
    assert rule_language.match_count(
        frame, Scope.parse("country:FR"), Filters(wave="2026-Q3"), rule="nps < 9"
    ) == {"matched": 2, "total": 2}
    assert rule_language.match_count(frame, Scope(), Filters(), rule="nps < 11") == {
        "matched": 0,
        "total": 0,
    }


def test_customer_address_and_templates_are_deterministic_and_inert() -> None:
    assert rules.customer_email("C0001234") == "c0001234@customers.cx-demo.example"
    assert rules.customer_email("C0001234") == rules.customer_email("C0001234")
    assert (
        rules.customer_email("x'; DROP TABLE--@evil.com")
        == "xdroptable--evil.com@customers.cx-demo.example"
    )
    out = rules.render("Hi {customer_id} {customer_id.__class__} {nope} {0}", {"customer_id": "C1"})
    assert out == "Hi C1 {customer_id.__class__} {nope} {0}"


def test_the_versioned_rules_file_holds_the_two_examples() -> None:
    file_rules = {r["name"]: r for r in rule_store.load_file_rules()}
    assert (
        file_rules["Madrid cleanliness"]["condition"] == "attr_cleanliness < 4 AND city = 'Madrid'"
    )
    assert file_rules["Madrid cleanliness"]["actions"][0] == {
        "type": "email_contact",
        "role": "cleaning",
        "subject": file_rules["Madrid cleanliness"]["actions"][0]["subject"],
    }
    assert file_rules["Complaint follow-up"]["condition"] == "nps < 6 OR sentiment < 0"
    assert [a["type"] for a in file_rules["Complaint follow-up"]["actions"]] == [
        "open_case",
        "email_customer",
    ]


# ---------------------------------------------------------------- store and runs


@pytest.fixture
def root(root: Path) -> Path:
    """The demo org's data folder (the shared ``root``) holding the eight answers as two waves."""
    return write_waves(root, routing_answers())


def counts(engine: Engine) -> tuple[int, int, int]:
    with store.session(engine) as s:
        return (
            s.exec(select(func.count()).select_from(RuleHit)).one(),
            s.exec(select(func.count()).select_from(cases.Case)).one(),
            s.exec(select(func.count()).select_from(store.Notification)).one(),
        )


def test_wave_import_runs_the_file_rules_once_whatever_is_rerun(engine: Engine, root: Path) -> None:
    first = rules.on_wave_imported(root, "2026-Q3", engine)
    tagged = themes.tag(routing_answers().filter(pl.col("wave") == "2026-Q3"))
    complaints = ids(tagged.filter((pl.col("nps") < 6) | (pl.col("sentiment") < 0)))
    cleanliness = ["r2", "r6"]  # Madrid, 2026-Q3, cleanliness < 4
    assert first["matched"] == first["hits"] == len(complaints) + len(cleanliness)
    assert first["cases"] == len(complaints)
    assert first["notifications"] == len(complaints) + len(cleanliness)
    assert counts(engine) == (first["hits"], first["cases"], first["notifications"])
    again = rules.on_wave_imported(root, "2026-Q3", engine)
    assert (again["hits"], again["cases"], again["notifications"]) == (0, 0, 0)
    rules.run_rules(engine, data.scan_responses(root), Scope.world(), actor="analyst", root=root)
    assert counts(engine) == (first["hits"], first["cases"], first["notifications"])
    with store.session(engine) as s:
        mails = {n.dedupe_key: n for n in s.exec(select(store.Notification))}
        to_cleaning = [
            n for n in mails.values() if n.recipient == "cleaning.madrid@cx-demo.example"
        ]
        assert sorted(n.subject for n in to_cleaning) == [
            "[CX] Cleanliness rated low in Madrid (response r2)",
            "[CX] Cleanliness rated low in Madrid (response r6)",
        ]
        assert all(n.agency == "Madrid" for n in to_cleaning)
        to_customer = [
            n for n in mails.values() if n.recipient.endswith("@customers.cx-demo.example")
        ]
        assert len(to_customer) == len(complaints)
        r6 = next(n for n in to_customer if n.recipient == "c0000006@customers.cx-demo.example")
        case = s.exec(select(cases.Case).where(cases.Case.response_id == "r6")).one()
        assert (
            "Dear customer C0000006" in r6.body
            and f"reference {case.id}" in r6.body
            and "Madrid agency" in r6.body
        )
        assert case.rule_id is not None and case.agency == "Madrid"


def test_a_response_fires_a_rule_at_most_once_even_against_the_database(engine: Engine) -> None:
    with store.session(engine) as s:
        rule = rule_store.save_rule(
            s,
            name="low",
            condition="nps < 3",
            actions=[{"type": "email_customer"}],
            actor=analyst_user("analyst"),
        )
    with store.session(engine) as s:
        s.add(RuleHit(rule_id=rule.id, response_id="r1"))  # type: ignore[arg-type]
    with pytest.raises(IntegrityError), store.session(engine) as s:
        s.add(RuleHit(rule_id=rule.id, response_id="r1"))  # type: ignore[arg-type]


def test_rules_apply_only_inside_their_own_scope_and_the_callers(
    engine: Engine, root: Path
) -> None:
    frame = data.scan_responses(root)
    with store.session(engine) as s:
        rule_store.save_rule(
            s,
            name="paris detractors",
            condition="nps < 9",
            scope="agency:Paris",
            actions=[{"type": "email_contact", "role": "manager"}],
            actor=analyst_user("analyst"),
        )
    madrid_only = rules.run_rules(
        engine, frame, Scope.parse("agency:Madrid"), actor="madrid.manager", root=root
    )
    assert madrid_only["matched"] == 0
    done = rules.run_rules(engine, frame, Scope.world(), actor="analyst", root=root)
    assert (done["matched"], done["hits"], done["notifications"]) == (2, 2, 2)
    with store.session(engine) as s:
        assert {n.recipient for n in s.exec(select(store.Notification))} == {
            "paris.manager@cx-demo.example"
        }


def test_saving_a_rule_validates_versions_and_audits(engine: Engine) -> None:
    with pytest.raises(RuleError, match="unknown column 'ctiy'"), store.session(engine) as s:
        rule_store.save_rule(
            s,
            name="bad",
            condition="ctiy = 'Madrid'",
            actions=[{"type": "open_case"}],
            actor=analyst_user("analyst"),
        )
    with (
        pytest.raises(RuleError, match="email_contact needs a contact role"),
        store.session(engine) as s,
    ):
        rule_store.save_rule(
            s,
            name="bad",
            condition="nps < 3",
            actions=[{"type": "email_contact"}],
            actor=analyst_user("analyst"),
        )
    with store.session(engine) as s:
        rule = rule_store.save_rule(
            s,
            name="r",
            condition="nps < 3",
            actions=[{"type": "open_case"}],
            actor=analyst_user("analyst"),
        )
    with store.session(engine) as s:
        rule = rule_store.save_rule(
            s,
            name="r",
            condition="nps < 2",
            actions=[{"type": "open_case"}],
            actor=analyst_user("analyst"),
            expected_version=1,
        )
        assert (rule.condition, rule.version) == ("nps < 2", 2)
    with pytest.raises(store.StaleEdit), store.session(engine) as s:
        rule_store.save_rule(
            s,
            name="r",
            condition="nps < 4",
            actions=[{"type": "open_case"}],
            actor=analyst_user("other"),
            expected_version=1,
        )
    with store.session(engine) as s:
        trail = store.audit_trail(s, Scope.world(), entity="rule")
        assert [t.action for t in reversed(trail)] == ["rule.create", "rule.update"]
        assert json.loads(trail[0].detail)["condition"] == "nps < 2"
        table = rule_store.rules_frame(s)
        assert table.select("name", "version", "hits").rows() == [("r", 2, 0)]
        assert "none has routed a response yet" in rule_store.takeaway(table)


def test_cli_rules_check_counts_and_rejects_with_one_line(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "rules",
                "check",
                "attr_cleanliness < 4 AND city = 'Madrid'",
                "--data",
                str(root),
                "--format",
                "json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == [
        {
            "condition": "attr_cleanliness < 4 AND city = 'Madrid'",
            "valid": True,
            "matched": 2,
            "total": 7,
        }
    ]
    assert main(["rules", "check", "nps < 6 AND __import__('os')", "--data", str(root)]) == 2
    err = capsys.readouterr().err
    assert err == "cx rules: function calls are not allowed ('__import__') at position 13\n"


def test_cli_rules_run_is_idempotent(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["rules", "run", "--data", str(root), "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)[0]
    assert first["hits"] > 0 and first["synced_from_file"] == 2
    assert main(["rules", "run", "--data", str(root), "--format", "json"]) == 0
    again = json.loads(capsys.readouterr().out)[0]
    assert (again["matched"], again["hits"]) == (first["matched"], 0)


def test_comments_in_e_mails_and_previews_are_masked(engine: Engine, tmp_path: Path) -> None:
    frame = routing_answers().with_columns(
        comment=pl.when(pl.col("response_id") == "r2")
        .then(pl.lit("Dirty toilets. Call me on +34 600 123 456 or ana.lopez@example.com"))
        .otherwise(pl.col("comment"))
    )
    write_org(write_waves(tmp_path, frame))
    with store.session(engine) as s:
        rule_store.save_rule(
            s,
            name="dirty",
            condition="attr_cleanliness < 4 AND city = 'Madrid'",
            actions=[{"type": "email_contact", "role": "cleaning"}],
            actor=analyst_user("analyst"),
        )
    rules.run_rules(
        engine,
        data.scan_responses(tmp_path),
        Scope.world(),
        wave="2026-Q3",
        actor="analyst",
        root=tmp_path,
    )
    with store.session(engine) as s:
        body = (
            s.exec(select(store.Notification).where(store.Notification.dedupe_key.like("%:r2:%")))
            .one()
            .body
        )  # type: ignore[attr-defined]
    assert "Dirty toilets" in body
    assert "600 123 456" not in body and "ana.lopez@example.com" not in body
    shown = rule_language.preview(
        frame.lazy(), Scope.world(), Filters(wave="2026-Q3"), rule="nps = 5"
    )
    assert shown["response_id"].to_list() == ["r2"]
    assert (
        "ana.lopez@example.com" not in shown["comment"][0]
        and "Dirty toilets" in shown["comment"][0]
    )


def test_a_country_data_admin_may_not_take_over_a_wider_rule_by_its_name(
    engine: Engine, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CX_DATA_DIR", str(root))
    spain = User("es.analyst", "Es", "", ("analyst",), Scope.parse("country:ES"))
    with store.session(engine) as s:
        rule_store.save_rule(
            s,
            name="world detractors",
            condition="nps < 3",
            actions=[{"type": "open_case"}],
            actor=analyst_user("analyst"),
        )
    with (
        pytest.raises(PermissionError, match="may not write a rule for world: outside their scope"),
        store.session(engine) as s,
    ):
        rule_store.save_rule(  # same name, narrowed to Spain: it would rewrite the world's rule
            s,
            name="world detractors",
            condition="nps < 9",
            scope="country:ES",
            actions=[{"type": "open_case"}],
            actor=spain,
        )
    with store.session(engine) as s:
        (rule,) = rule_store.list_rules(s)
        mine = rule_store.save_rule(
            s,
            name="spain detractors",
            condition="nps < 3",
            scope="country:ES",
            actions=[{"type": "open_case"}],
            actor=spain,
        )
    assert (rule.scope, rule.condition) == ("world", "nps < 3")
    assert mine.scope == "country:ES"
