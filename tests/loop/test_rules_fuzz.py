"""Fuzz of the rule language: malformed and hostile rules are all rejected and none executes.

Tripwires (not mocks of our code): ``eval``, ``exec``, ``__import__`` of new modules, the Polars
file readers and ``pl.sql_expr`` raise if anything reaches them while rules are parsed and compiled;
the working directory is a fresh folder that must stay empty.
"""

from __future__ import annotations

import builtins
import os
import random
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest

from cx.loop import rule_language
from cx.loop.rule_language import RuleError

COLUMNS = [
    "response_id",
    "wave",
    "region",
    "country",
    "agency",
    "city",
    "channel",
    "nps",
    "csat",
    "comment",
    "language",
    "segment",
    "weight",
    "excluded",
    "attr_cleanliness",
    "attr_waiting_time",
    "responded_at",
]
VALID = [
    "attr_cleanliness < 4 AND city = 'Madrid'",
    "nps < 6 OR csat <= 2",
    "nps BETWEEN 0 AND 6 AND channel IN ('sms', 'web')",
    "NOT (nps >= 7) AND csat IS NOT NULL",
    "(city = 'Paris' OR city = 'Lyon') AND attr_waiting_time < 5",
]
HOSTILE = [
    "__import__('os').system('touch pwned')",
    "__import__('os')",
    "nps < 6 AND __import__('os').system('id')",
    "read_csv('x')",
    "read_csv('/etc/passwd') IS NOT NULL",
    "nps IN (SELECT nps FROM read_csv('x'))",
    "nps < (SELECT 1)",
    "(SELECT * FROM responses)",
    "nps < 6; DROP TABLE routingrule",
    "nps < 6 -- comment",
    "nps < 6 /* x */",
    "nps < 6 UNION SELECT 1",
    "city = 'x' OR 1=1; --",
    "eval('1')",
    "exec('import os')",
    "open('pwned', 'w')",
    "pl.read_csv('pwned')",
    "nps.__class__",
    "nps.__class__.__mro__",
    "city = `Madrid`",
    'city = "Madrid"',
    "${jndi:ldap://x}",
    "{{7*7}}",
    "nps < 6 && city = 'Madrid'",
    "nps < 6 || city = 'Madrid'",
    "nps < 6 AND city == 'Madrid'",
    "nps =< 6",
    "nps => 6",
    "nps ! 6",
    "nps < 6 AND",
    "OR nps < 6",
    "nps < 6 nps > 1",
    "nps IN ()",
    "nps IN (1,)",
    "nps IN 1, 2",
    "nps BETWEEN 1",
    "nps BETWEEN 1 OR 2",
    "nps IS",
    "nps IS NOT",
    "nps NOT 6",
    "'a' IN city",
    "themes",
    "sentiment",
    "TRUE",
    "NULL",
    "nps < 0x10",
    "nps < 1e3",
    "nps < 1.",
    "nps < .5",
    "nps < 6.5.5",
    "nps < --6",
    "nps < - 'x'",
    "nps\x00 < 6",
    "nps < 6\x00",
    "city = 'Mad\x00rid'",
    "nps < 6 \\",
    "nps[0] < 6",
    "nps < 6 AND city = 'Madrid' AND attr_foo_bar_baz_qux_quux_corge_grault_garply_waldo_fred_plugh_xyzzy_thud = 1",
    "Nps < 6",
    "NPS < 6",
    "attr_ < 6",
    "attr_Cleanliness < 6",
    "foo < 6",
    "responses.nps < 6",
    "select < 6",
    "lambda: 1",
    "import os",
    "@nps < 6",
    "#nps",
    "nps < 6 %",
    "nps * 2 < 6",
    "nps + 1 < 6",
    "nps / 2 < 6",
    "~nps",
    "nps < 6 ?",
    "city = 'Madrid' :",
    "[nps]",
    "{nps}",
    "nps < 6 AND (city = 'Madrid'",
    "nps < 6) AND (city = 'Madrid'",
    "((((nps < 6)))",
    "())",
    "(",
    ")",
    "'",
    "''",
    "' OR '1'='1",
    "city = '' OR ''='",
]
UNICODE_TRICKS = [
    "nps < ６",  # fullwidth digit
    "ｎｐｓ < 6",  # fullwidth letters
    "nрs < 6",  # Cyrillic er
    "сity = 'Madrid'",  # Cyrillic es
    "nps\u200b < 6",  # zero-width space
    "nps < 6 \u202eAND city = 'x'",  # right-to-left override
    "nps\u00a0< 6",  # no-break space
    "nps ＜ 6",  # fullwidth less-than
    "nps ≤ 6",
    "nps < ٦",  # Arabic-Indic digit
    "nps < 6 ＡＮＤ city = 'x'",
    "city = ‘Madrid’",  # curly quotes
    "nps < 6 AND ci\u0301ty = 'x'",  # combining accent
    "\ufeffnps < 6",  # byte-order mark
    "nps < 6\u2028OR csat < 2",  # line separator
    "ǹps < 6",
    "nps < ⁶",
    "nps < 𝟔",
]
FORBIDDEN = list(';"`[]{}.$@#%^&*/+?:\\|~!') + ["\x00", "\x1b", "\u200b", "\u202e", "é", "—", "𝟔"]


def hostile_rules() -> list[str]:
    """At least 1,000 rules, all invalid: fixed attacks, unicode tricks, huge, deep and mutated rules."""
    rng = random.Random(20261125)
    out = list(HOSTILE) + list(UNICODE_TRICKS)
    out += [
        "nps < 6 OR " * 100_000,
        "'" + "a" * 1_048_576 + "'",
        "(" * 1_000_000,
        "NOT " * 5_000 + "nps < 6",
    ]
    out += ["(" * d + "nps < 6" + ")" * d for d in (21, 25, 50, 200, 900)]
    out += ["nps IN (" + ", ".join(str(i) for i in range(n)) + ")" for n in (201, 250, 400)]
    for _ in range(300):  # a valid rule with a character outside the language between two tokens
        tokens = rng.choice(VALID).split(" ")
        i = rng.randrange(len(tokens) + 1)
        out.append(" ".join(tokens[:i] + [rng.choice(FORBIDDEN)] + tokens[i:]))
    for _ in range(200):  # a valid rule cut right after a keyword or an operator
        tokens = rng.choice(VALID).split(" ")
        cuts = [
            i
            for i, t in enumerate(tokens)
            if t in ("AND", "OR", "NOT", "<", "=", "<=", ">=", "BETWEEN", "IN", "IS")
        ]
        out.append(" ".join(tokens[: rng.choice(cuts) + 1]))
    for _ in range(200):  # an unknown column in place of a known one
        rule = rng.choice(VALID)
        junk = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(1, 12)))
        name = "x" + junk if rng.random() < 0.5 else "attr_" + junk.upper() + "Q"
        present = [
            c
            for c in ("nps", "city", "csat", "channel", "attr_cleanliness", "attr_waiting_time")
            if c in rule
        ]
        out.append(rule.replace(rng.choice(present), name))
    for _ in range(150):  # function-call and attribute-access shapes with random names
        fn = rng.choice(
            [
                "__import__",
                "read_csv",
                "scan_parquet",
                "open",
                "eval",
                "exec",
                "getattr",
                "sql",
                "system",
                "col",
            ]
        )
        arg = rng.choice(["'x'", "'/etc/passwd'", "nps", "", "'os'", "1"])
        out.append(
            rng.choice(
                [
                    f"{fn}({arg})",
                    f"nps < 6 AND {fn}({arg})",
                    f"{fn}({arg}) = 1",
                    f"nps.{fn}",
                    f"city = 'a' OR {fn}({arg}) < 2",
                ]
            )
        )
    for _ in range(100):  # subqueries
        inner = rng.choice(
            ["SELECT 1", "SELECT nps FROM responses", "SELECT * FROM read_csv('x')", "VALUES (1)"]
        )
        out.append(
            rng.choice([f"nps IN ({inner})", f"nps < ({inner})", f"({inner})", f"EXISTS ({inner})"])
        )
    return out


@contextmanager
def tripwired() -> Iterator[list[str]]:
    """Make code execution, new imports, file reads and SQL parsing fail loudly while active."""
    calls: list[str] = []
    saved: list[tuple[object, str, object]] = []

    def trip(name: str) -> Callable[..., None]:
        def fail(*args: object, **kwargs: object) -> None:
            calls.append(name)
            raise AssertionError(f"{name} was reached by a rule")

        return fail

    real_import = builtins.__import__
    before = set(sys.modules)

    def guarded_import(name: str, *args: object, **kwargs: object) -> object:
        if name not in before:
            calls.append(f"import {name}")
            raise AssertionError(f"a rule imported {name}")
        return real_import(name, *args, **kwargs)

    patches: list[tuple[object, str, object]] = [
        (builtins, n, trip(n)) for n in ("eval", "exec", "compile", "open")
    ]
    patches += [
        (pl, n, trip(f"pl.{n}"))
        for n in (
            "read_csv",
            "scan_csv",
            "read_parquet",
            "scan_parquet",
            "read_json",
            "sql_expr",
            "sql",
            "read_database",
        )
        if hasattr(pl, n)
    ]
    patches.append((builtins, "__import__", guarded_import))
    for target, name, value in patches:
        saved.append((target, name, getattr(target, name)))
        setattr(target, name, value)
    try:
        yield calls
    finally:
        for target, name, value in saved:
            setattr(target, name, value)


@pytest.fixture
def workdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh, empty working directory: nothing a rule does may create a file in it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_at_least_1000_hostile_rules_are_all_rejected_and_none_executes(workdir: Path) -> None:
    candidates = hostile_rules()
    assert len(candidates) >= 1_000
    accepted: list[str] = []
    silent: list[str] = []
    rule_language.parse_rule("theme = 'price'")  # warm the lazy imports of the valid path
    with tripwired() as calls:
        for text in candidates:
            try:
                parsed = rule_language.parse_rule(text)
                rule_language.rule_expr(parsed, COLUMNS)
            except RuleError as exc:
                if not str(exc):
                    silent.append(text)
                continue
            accepted.append(text)
    assert calls == [], "nothing was executed, imported or read"
    assert accepted == []
    assert silent == [], "every rejection says why"
    assert list(workdir.iterdir()) == [], "no file was created"


def test_rejections_point_inside_the_rule() -> None:
    for text in hostile_rules()[:400]:
        with pytest.raises(RuleError) as err:
            rule_language.rule_expr(rule_language.parse_rule(text), COLUMNS)
        pos = err.value.position
        assert pos is None or 1 <= pos <= len(text) + 1


def test_hostile_text_inside_a_literal_is_only_ever_compared_as_text(workdir: Path) -> None:
    frame = pl.DataFrame(
        {"city": ["Madrid", "__import__('os').system('touch pwned')"], "nps": [3, 4]}
    )
    frame.filter(pl.col("city") == "warm-up")
    with tripwired() as calls:
        for text in [
            "city = '__import__(''os'').system(''touch pwned'')'",
            "city = 'read_csv(''x'')'",
            "city IN ('(SELECT 1)', ';DROP TABLE x')",
        ]:
            expr = rule_language.rule_expr(rule_language.parse_rule(text), frame.columns)
            frame.filter(expr)
    assert calls == []
    hit = frame.filter(
        rule_language.rule_expr(
            rule_language.parse_rule("city = '__import__(''os'').system(''touch pwned'')'"),
            frame.columns,
        )
    )
    assert hit["nps"].to_list() == [4]
    assert list(workdir.iterdir()) == [] and not os.path.exists("pwned")


def test_the_compiled_expression_reads_only_the_named_columns() -> None:
    expr = rule_language.rule_expr(
        rule_language.parse_rule("attr_cleanliness < 4 AND city = 'Madrid' OR nps IN (0, 1)"),
        COLUMNS,
    )
    assert sorted(set(expr.meta.root_names())) == ["attr_cleanliness", "city", "nps"]
