"""The rule language: a small condition language over response columns, compiled to Polars.

The language (case-insensitive keywords; everything else is rejected with its position)::

    rule      := or
    or        := and ( OR and )*
    and       := not ( AND not )*
    not       := NOT not | predicate
    predicate := '(' rule ')'
               | operand ( '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' ) operand
               | operand [NOT] IN '(' literal ( ',' literal )* ')'
               | operand [NOT] BETWEEN operand AND operand
               | operand IS [NOT] NULL
               | 'text' [NOT] IN themes
    operand   := column | 'text' | number | TRUE | FALSE | - number
               | theme_sentiment '(' 'theme id' ')'

Columns: the response columns of the data contract, any ``attr_<id>``, and the pseudo-columns
``sentiment`` (-1..1), ``theme`` (``theme = 'cleanliness'``: the comment mentions that theme) and
``themes`` (the list), computed by :mod:`cx.voice.themes`, and ``theme_sentiment('waiting_time')``:
the polarity (-1..1) of that theme in the comment, null when the comment does not mention it
(``theme_sentiment('waiting_time') < 0``: the comment complains about waiting). A null value
never matches (SQL semantics).
Error positions count characters from 1.
Examples: ``attr_cleanliness < 4 AND city = 'Madrid'``; ``nps < 6 OR sentiment < 0``.

Safety: a hand-written tokenizer and recursive-descent parser build an AST that is compiled to
a Polars expression of column references, literals, comparisons and ``is_in`` — never ``eval``,
never SQL text, never ``pl.sql_expr``. Limits: 2,000 characters, nesting depth 20, 200 items
in an IN list. :func:`matches`, :func:`match_count` and :func:`preview` test a rule on the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from cx.analytics import overview
from cx.core import privacy
from cx.core.filters import Filters
from cx.core.scope import Scope
from cx.voice import themes

MAX_LENGTH = 2_000
MAX_DEPTH = 20
MAX_IN_ITEMS = 200

NUMBER_COLUMNS = frozenset({"nps", "csat", "weight", "sentiment"})
TEXT_COLUMNS = frozenset(
    {
        "response_id",
        "wave",
        "customer_id",
        "region",
        "country",
        "agency",
        "city",
        "channel",
        "touchpoint",
        "comment",
        "language",
        "segment",
        "advisor_id",
    }
)
BOOL_COLUMNS = frozenset({"excluded"})
DATE_COLUMNS = frozenset({"responded_at"})
THEME_COLUMNS = frozenset({"theme", "themes"})
THEMES_PSEUDO = frozenset({"sentiment", "theme", "themes", "theme_sentiment"})
THEME_SENTIMENT = "theme_sentiment"
_ATTR = re.compile(r"attr_[a-z0-9_]{1,60}")


class RuleError(ValueError):
    """A rule that is malformed, unsafe or refers to an unknown column; says where (position)."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.position = None if position is None else position + 1  # counted from 1 for people
        super().__init__(message if position is None else f"{message} at position {self.position}")


# ---------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    kind: str  # NUM STR IDENT KW OP LP RP COMMA END
    value: Any
    pos: int


KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "BETWEEN", "IS", "NULL", "TRUE", "FALSE"})
_OPS = ("<=", ">=", "!=", "<>", "=", "<", ">")
_NUM = re.compile(r"\d+(\.\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def tokenize(text: str) -> list[Token]:
    """Split a rule into tokens; any character outside the language is a RuleError."""
    if not isinstance(text, str):
        raise RuleError("a rule must be text")
    if len(text) > MAX_LENGTH:
        raise RuleError(f"rule is {len(text):,} characters long; the limit is {MAX_LENGTH:,}")
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
        elif ch == "(":
            tokens.append(Token("LP", ch, i))
            i += 1
        elif ch == ")":
            tokens.append(Token("RP", ch, i))
            i += 1
        elif ch == ",":
            tokens.append(Token("COMMA", ch, i))
            i += 1
        elif ch == "'":
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise RuleError("unterminated text literal (a quote ' is missing)", i)
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        buf.append("'")
                        j += 2
                        continue
                    break
                if ord(text[j]) < 32 and text[j] not in "\t":
                    raise RuleError("control character in a text literal", j)
                buf.append(text[j])
                j += 1
            tokens.append(Token("STR", "".join(buf), i))
            i = j + 1
        elif ch.isascii() and ch.isdigit():
            m = _NUM.match(text, i)
            assert m is not None
            raw = m.group(0)
            if len(raw) > 15:
                raise RuleError("number too long (at most 15 digits)", i)
            tokens.append(Token("NUM", float(raw) if "." in raw else int(raw), i))
            i = m.end()
        elif ch.isascii() and (ch.isalpha() or ch == "_"):
            m = _IDENT.match(text, i)
            assert m is not None
            word = m.group(0)
            if word.upper() in KEYWORDS:
                tokens.append(Token("KW", word.upper(), i))
            else:
                tokens.append(Token("IDENT", word, i))
            i = m.end()
        elif ch == "-":
            tokens.append(Token("OP", "-", i))
            i += 1
        else:
            op = next((o for o in _OPS if text.startswith(o, i)), None)
            if op is None:
                raise RuleError(f"unexpected character {ch!r}", i)
            tokens.append(Token("OP", op, i))
            i += len(op)
    tokens.append(Token("END", None, n))
    return tokens


# ---------------------------------------------------------------- AST


@dataclass(frozen=True)
class Col:
    name: str
    pos: int
    theme: str | None = None  # theme_sentiment('<theme>')


@dataclass(frozen=True)
class Lit:
    value: str | int | float | bool
    pos: int


@dataclass(frozen=True)
class Cmp:
    op: str
    left: Col | Lit
    right: Col | Lit
    pos: int


@dataclass(frozen=True)
class In:
    operand: Col | Lit
    values: tuple[Lit, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class InThemes:
    value: Lit
    column: Col
    negated: bool
    pos: int


@dataclass(frozen=True)
class Between:
    operand: Col | Lit
    lo: Col | Lit
    hi: Col | Lit
    negated: bool
    pos: int


@dataclass(frozen=True)
class IsNull:
    operand: Col | Lit
    negated: bool
    pos: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Cmp | In | InThemes | Between | IsNull | BoolOp | Not | Col | Lit


@dataclass(frozen=True)
class Rule:
    """A parsed condition: its text, AST and the columns it reads."""

    text: str
    ast: Node
    columns: tuple[str, ...] = field(default=())
    positions: tuple[int, ...] = field(default=())

    @property
    def needs_themes(self) -> bool:
        return any(c in THEMES_PSEUDO for c in self.columns)


def known_column(name: str) -> bool:
    return (
        name in NUMBER_COLUMNS | TEXT_COLUMNS | BOOL_COLUMNS | DATE_COLUMNS | THEME_COLUMNS
        or bool(_ATTR.fullmatch(name))
    )


def kind_of(name: str) -> str:
    if name in TEXT_COLUMNS:
        return "text"
    if name in BOOL_COLUMNS:
        return "bool"
    if name in DATE_COLUMNS:
        return "date"
    if name in THEME_COLUMNS:
        return "themes"
    return "number"


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.columns: dict[str, int] = {}

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def kw(self, word: str) -> bool:
        tok = self.peek()
        if tok.kind == "KW" and tok.value == word:
            self.i += 1
            return True
        return False

    def expect_kw(self, word: str) -> None:
        if not self.kw(word):
            raise RuleError(
                f"expected {word} but found {self.describe(self.peek())}", self.peek().pos
            )

    @staticmethod
    def describe(tok: Token) -> str:
        return "the end of the rule" if tok.kind == "END" else repr(str(tok.value))

    def enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RuleError(f"rule nested more than {MAX_DEPTH} levels deep", pos)

    def parse(self) -> Node:
        if self.peek().kind == "END":
            raise RuleError("empty rule: write a condition such as nps < 6", 0)
        node = self.or_()
        tok = self.peek()
        if tok.kind != "END":
            raise RuleError(f"unexpected {self.describe(tok)}", tok.pos)
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.kw("OR"):
            items.append(self.and_())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def and_(self) -> Node:
        items = [self.not_()]
        while self.kw("AND"):
            items.append(self.not_())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def not_(self) -> Node:
        tok = self.peek()
        if self.kw("NOT"):
            self.enter(tok.pos)
            node = Not(self.not_())
            self.depth -= 1
            return node
        return self.predicate()

    def predicate(self) -> Node:
        tok = self.peek()
        if tok.kind == "LP":
            self.take()
            self.enter(tok.pos)
            node = self.or_()
            self.depth -= 1
            close = self.take()
            if close.kind != "RP":
                raise RuleError(f"expected ')' but found {self.describe(close)}", close.pos)
            return node
        left = self.operand()
        nxt = self.peek()
        if nxt.kind == "OP" and nxt.value != "-":
            self.take()
            right = self.operand()
            op = "!=" if nxt.value == "<>" else nxt.value
            self.check_comparable(left, right, nxt.pos)
            return Cmp(op, left, right, nxt.pos)
        negated = False
        if nxt.kind == "KW" and nxt.value == "NOT":
            self.take()
            negated = True
            nxt = self.peek()
            if not (nxt.kind == "KW" and nxt.value in ("IN", "BETWEEN")):
                raise RuleError(
                    f"expected IN or BETWEEN after NOT but found {self.describe(nxt)}", nxt.pos
                )
        if self.kw("IN"):
            return self.in_rest(left, negated, nxt.pos)
        if self.kw("BETWEEN"):
            lo = self.operand()
            self.expect_kw("AND")
            hi = self.operand()
            self.check_comparable(left, lo, nxt.pos)
            self.check_comparable(left, hi, nxt.pos)
            return Between(left, lo, hi, negated, nxt.pos)
        if self.kw("IS"):
            neg = self.kw("NOT")
            self.expect_kw("NULL")
            return IsNull(left, neg, nxt.pos)
        if isinstance(left, Col) and kind_of(left.name) == "bool":
            return left
        raise RuleError(
            f"expected a comparison (=, <, IN, BETWEEN, IS NULL…) but found {self.describe(nxt)}",
            nxt.pos,
        )

    def in_rest(self, left: Col | Lit, negated: bool, pos: int) -> Node:
        tok = self.peek()
        if tok.kind == "IDENT":
            col = self.column(self.take())
            if (
                kind_of(col.name) != "themes"
                or not isinstance(left, Lit)
                or not isinstance(left.value, str)
            ):
                raise RuleError("only 'text' IN themes may name a column after IN", tok.pos)
            return InThemes(left, col, negated, pos)
        if tok.kind != "LP":
            raise RuleError(f"expected '(' after IN but found {self.describe(tok)}", tok.pos)
        self.take()
        values: list[Lit] = []
        while True:
            item = self.operand()
            if not isinstance(item, Lit):
                raise RuleError(
                    "an IN list holds literals only (no columns, no subqueries)", item.pos
                )
            values.append(item)
            if len(values) > MAX_IN_ITEMS:
                raise RuleError(f"IN list longer than {MAX_IN_ITEMS} items", item.pos)
            sep = self.take()
            if sep.kind == "RP":
                break
            if sep.kind != "COMMA":
                raise RuleError(
                    f"expected ',' or ')' in the IN list but found {self.describe(sep)}", sep.pos
                )
        for v in values:
            self.check_comparable(left, v, v.pos)
        return In(left, tuple(values), negated, pos)

    def column(self, tok: Token) -> Col:
        name = tok.value
        if name == THEME_SENTIMENT:
            raise RuleError(
                "write theme_sentiment('theme_id'), e.g. theme_sentiment('price') < 0", tok.pos
            )
        if not known_column(name):
            raise RuleError(f"unknown column {name!r}", tok.pos)
        self.columns.setdefault(name, tok.pos)
        return Col(name, tok.pos)

    def operand(self) -> Col | Lit:
        tok = self.take()
        if tok.kind == "IDENT":
            nxt = self.peek()
            if nxt.kind == "LP" and tok.value == THEME_SENTIMENT:
                return self.theme_sentiment(tok)
            if nxt.kind == "LP":
                raise RuleError(f"function calls are not allowed ({tok.value!r})", tok.pos)
            return self.column(tok)
        if tok.kind == "STR":
            return Lit(tok.value, tok.pos)
        if tok.kind == "NUM":
            return Lit(tok.value, tok.pos)
        if tok.kind == "OP" and tok.value == "-":
            num = self.take()
            if num.kind != "NUM":
                raise RuleError(
                    f"expected a number after '-' but found {self.describe(num)}", num.pos
                )
            return Lit(-num.value, tok.pos)
        if tok.kind == "KW" and tok.value in ("TRUE", "FALSE"):
            return Lit(tok.value == "TRUE", tok.pos)
        if tok.kind == "LP":
            raise RuleError("a sub-expression cannot be compared (no subqueries)", tok.pos)
        raise RuleError(f"expected a column or a value but found {self.describe(tok)}", tok.pos)

    def theme_sentiment(self, tok: Token) -> Col:
        """``theme_sentiment('<theme id>')``: the polarity of that theme in the comment."""
        self.take()  # (
        arg, close = self.take(), self.take()
        if arg.kind != "STR" or close.kind != "RP":
            raise RuleError(
                "theme_sentiment takes one theme id in quotes: theme_sentiment('price')", tok.pos
            )
        self.columns.setdefault(THEME_SENTIMENT, tok.pos)
        return Col(THEME_SENTIMENT, tok.pos, theme=str(arg.value))

    @staticmethod
    def check_comparable(a: Col | Lit, b: Col | Lit, pos: int) -> None:
        def kind(x: Col | Lit) -> str:
            if isinstance(x, Col):
                k = kind_of(x.name)
                return "text" if k == "themes" and x.name == "theme" else k
            if isinstance(x.value, bool):
                return "bool"
            return "text" if isinstance(x.value, str) else "number"

        ka, kb = kind(a), kind(b)
        if "themes" in (ka, kb):
            raise RuleError("use 'theme_id' IN themes (or theme = 'theme_id') to test themes", pos)
        if ka == kb or {ka, kb} == {"date", "text"} and (isinstance(a, Lit) or isinstance(b, Lit)):
            return
        raise RuleError(f"cannot compare {ka} with {kb}", pos)


def parse_rule(text: str) -> Rule:
    """Parse a condition into a :class:`Rule`; raise :class:`RuleError` naming the position."""
    p = _Parser(text)
    ast = p.parse()
    if isinstance(ast, Lit):
        raise RuleError("a rule must be a condition, not a single value", ast.pos)
    return Rule(text, ast, tuple(p.columns), tuple(p.columns.values()))


# ---------------------------------------------------------------- compile to Polars


def _date_lit(value: str, pos: int) -> datetime:
    try:
        d = date.fromisoformat(value)
    except ValueError:
        raise RuleError(f"{value!r} is not a date (YYYY-MM-DD)", pos) from None
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _theme_sentiment(theme: str) -> pl.Expr:
    position = pl.col("themes").list.eval(pl.element() == theme).list.arg_max()
    return pl.when(pl.col("themes").list.contains(pl.lit(theme))).then(
        pl.col(THEME_SENTIMENT).list.get(position, null_on_oob=True)
    )


def _operand(x: Col | Lit, other: Col | Lit | None = None) -> pl.Expr:
    if isinstance(x, Col) and x.theme is not None:
        return _theme_sentiment(x.theme)
    if isinstance(x, Col):
        if x.name == "theme":
            raise RuleError("theme is compared with = or IN: theme = 'cleanliness'", x.pos)
        return pl.col(x.name)
    if isinstance(other, Col) and kind_of(other.name) == "date" and isinstance(x.value, str):
        return pl.lit(_date_lit(x.value, x.pos))
    return pl.lit(x.value)


_CMP = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _theme_has(col: Col, value: Lit) -> pl.Expr:
    return pl.col("themes").list.contains(pl.lit(str(value.value)))


def _compile(node: Node) -> pl.Expr:
    if isinstance(node, BoolOp):
        exprs = [_compile(i) for i in node.items]
        out = exprs[0]
        for e in exprs[1:]:
            out = (out & e) if node.op == "AND" else (out | e)
        return out
    if isinstance(node, Not):
        return ~_compile(node.item)
    if isinstance(node, Col):
        return pl.col(node.name)
    if isinstance(node, Cmp):
        left, right = node.left, node.right
        for a, b in ((left, right), (right, left)):
            if isinstance(a, Col) and a.name == "theme":
                if node.op not in ("=", "!=") or not isinstance(b, Lit):
                    raise RuleError("theme is compared with = or != and a theme id", node.pos)
                has = _theme_has(a, b)
                return has if node.op == "=" else ~has
        return _CMP[node.op](_operand(left, right), _operand(right, left))
    if isinstance(node, In):
        if isinstance(node.operand, Col) and node.operand.name == "theme":
            has = pl.any_horizontal([_theme_has(node.operand, v) for v in node.values])
        else:
            base = _operand(node.operand)
            has = pl.any_horizontal([base == _operand(v, node.operand) for v in node.values])
        return ~has if node.negated else has
    if isinstance(node, InThemes):
        has = _theme_has(node.column, node.value)
        return ~has if node.negated else has
    if isinstance(node, Between):
        x = _operand(node.operand)
        inside = (x >= _operand(node.lo, node.operand)) & (x <= _operand(node.hi, node.operand))
        return ~inside if node.negated else inside
    if isinstance(node, IsNull):
        x = (
            pl.col("themes")
            if isinstance(node.operand, Col) and node.operand.name == "theme"
            else _operand(node.operand)
        )
        return x.is_not_null() if node.negated else x.is_null()
    raise RuleError("a rule must be a condition, not a single value")


def _theme_literals(node: Node) -> list[Lit]:
    """The theme ids a rule names (``theme = 'x'``, ``theme IN ('x')``, ``'x' IN themes``,
    ``theme_sentiment('x')``)."""
    operands = [] if isinstance(node, BoolOp | Not | Lit) else list(vars(node).values())
    called = [Lit(x.theme, x.pos) for x in operands if isinstance(x, Col) and x.theme is not None]
    return called + _named_themes(node)


def _named_themes(node: Node) -> list[Lit]:
    if isinstance(node, BoolOp):
        return [lit for item in node.items for lit in _theme_literals(item)]
    if isinstance(node, Not):
        return _theme_literals(node.item)
    if isinstance(node, InThemes):
        return [node.value]
    if isinstance(node, In) and isinstance(node.operand, Col) and node.operand.name == "theme":
        return list(node.values)
    if isinstance(node, Cmp):
        sides = (node.left, node.right)
        if any(isinstance(x, Col) and x.name == "theme" for x in sides):
            return [x for x in sides if isinstance(x, Lit)]
    return []


def rule_expr(rule: Rule, columns: list[str] | set[str]) -> pl.Expr:
    """The rule as a Polars boolean expression (null counts as no match) over ``columns``."""
    present = set(columns)
    names = _theme_literals(rule.ast)
    if names:
        ids = themes.load_taxonomy().ids
        for lit in names:
            if lit.value not in ids:
                raise RuleError(f"unknown theme {lit.value!r} (themes: {', '.join(ids)})", lit.pos)
    for name, pos in zip(rule.columns, rule.positions, strict=True):
        if name not in THEMES_PSEUDO and name not in present:
            raise RuleError(f"unknown column {name!r} (not in the data)", pos)
    return _compile(rule.ast).fill_null(False).alias("match")


def with_themes(frame: pl.LazyFrame, rule: Rule, *, always: bool = False) -> pl.LazyFrame:
    """Add ``themes`` and ``sentiment`` from :mod:`cx.voice.themes` when the rule reads them (or
    ``always``, e.g. to hand cases their themes: tagging all rows at once is far cheaper)."""
    names = set(frame.collect_schema().names())
    if {"sentiment", "themes"} <= names and (
        THEME_SENTIMENT in names or THEME_SENTIMENT not in rule.columns
    ):
        return frame
    if always and not rule.needs_themes and "comment" not in names:
        return frame
    if not (rule.needs_themes or always):
        return frame
    if "comment" not in names:
        raise RuleError("sentiment and theme need a comment column, and the data has none")
    try:
        return themes.tag(frame)
    except themes.ThemeError as exc:
        raise RuleError(f"comment themes could not be computed: {exc}") from None


def masked_comments(rows: pl.LazyFrame) -> pl.LazyFrame:
    """The comments with personal data masked before any condition sees them: a rule on the
    comment matches the masked text, so a match count cannot probe what masking hides."""
    if "comment" not in rows.collect_schema().names():
        return rows
    return rows.with_columns(privacy.mask_pii(pl.col("comment")).alias("comment"))


def matches(
    frame: pl.LazyFrame,
    scope: Scope,
    filters: Filters,
    *,
    rule: Rule | str,
    limit: int | None = None,
) -> pl.DataFrame:
    """Responses of the scope and filters that match ``rule`` (a query: scope first, one collect)."""
    rule = parse_rule(rule) if isinstance(rule, str) else rule
    rows = with_themes(masked_comments(overview.scoped(frame, scope, filters)), rule)
    cond = rule_expr(rule, rows.collect_schema().names())
    out = rows.filter(cond).sort("response_id")
    return (out.head(limit) if limit else out).collect()


def match_count(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, *, rule: str
) -> dict[str, int]:
    """How many responses of the scope and filters match, out of how many."""
    parsed = parse_rule(rule)
    rows = with_themes(masked_comments(overview.scoped(frame, scope, filters)), parsed)
    cond = rule_expr(parsed, rows.collect_schema().names())
    got = rows.select(matched=cond.sum(), total=pl.len()).collect().row(0, named=True)
    return {"matched": int(got["matched"]), "total": int(got["total"])}


def preview(
    frame: pl.LazyFrame, scope: Scope, filters: Filters, *, rule: str, limit: int = 20
) -> pl.DataFrame:
    """The first matching rows, with comments masked by :mod:`cx.core.privacy`."""
    parsed = parse_rule(rule)
    df = matches(frame, scope, filters, rule=parsed, limit=limit)
    used = [
        c
        for c in parsed.columns
        if c not in ("response_id", "wave", "agency", "nps", "comment", "theme")
    ]
    keep = [
        c
        for c in dict.fromkeys(("response_id", "wave", "agency", "nps", *used, "comment"))
        if c in df.columns
    ]
    df = df.select(keep)
    if "comment" in df.columns:
        df = df.with_columns(privacy.mask_pii(pl.col("comment")).alias("comment"))
    return df
