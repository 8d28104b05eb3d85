"""The rule store: routing rules saved in the ``RoutingRule`` table, and the versioned file rules.

A rule is a name, a condition (:mod:`cx.loop.rule_language`), the scope it applies to and a list of
actions; saving validates all three first, is audited and checks the row's version (no lost update).
The rules of ``cx/config/rules.yaml`` are synced into the table by :func:`sync_file_rules`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from cx import store
from cx.core import data
from cx.core import org as org_mod
from cx.core.roles import DATA_ADMINS
from cx.core.scope import Scope
from cx.core.users import User
from cx.loop.rule_language import RuleError, parse_rule
from cx.store.models import RoutingRule, RuleHit

RULES_FILE = Path(__file__).parent.parent / "config" / "rules.yaml"
ACTION_TYPES = ("email_contact", "open_case", "email_customer")


def check_actions(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate the actions list; raise RuleError naming the bad action."""
    if not isinstance(actions, list) or not actions:
        raise RuleError(
            "a rule needs at least one action (email_contact, open_case, email_customer)"
        )
    for i, a in enumerate(actions):
        if not isinstance(a, dict) or a.get("type") not in ACTION_TYPES:
            raise RuleError(f"action {i + 1}: type must be one of {', '.join(ACTION_TYPES)}")
        if a["type"] == "email_contact" and not str(a.get("role", "")).strip():
            raise RuleError(
                f"action {i + 1}: email_contact needs a contact role from org.yaml (e.g. cleaning)"
            )
    return actions


def _check_within(user: User, scope: str) -> None:
    if not org_mod.within(Scope.parse(scope), user.scope, org_mod.load(data.data_dir())):
        raise PermissionError(
            f"{user.username} may not write a rule for {scope}: outside their scope"
        )


def save_rule(
    s: Session,
    *,
    name: str,
    condition: str,
    scope: str = "world",
    actions: list[dict[str, Any]],
    actor: User | str,
    source: str = "app",
    enabled: bool = True,
    expected_version: int | None = None,
) -> RoutingRule:
    """Create or update a rule by name (validated first; optimistic version check); audited.

    ``actor`` is the acting user, who must be a data admin whose scope holds the rule's scope and,
    for an existing rule of that name, the scope it had; only the deployment's own sources
    (``rules.yaml``, the shell's ``cx rules``) act by name."""
    user = actor if isinstance(actor, User) else None
    by = user.username if user is not None else str(actor)
    if user is not None:
        if not user.has(*DATA_ADMINS):
            raise PermissionError(f"{user.username} may not edit routing rules")
        _check_within(user, scope)
    elif source not in ("file", "cli"):
        raise PermissionError("a routing rule saved from the app needs the acting user")
    name = name.strip()
    if not name or len(name) > 120:
        raise RuleError("a rule needs a name of 1 to 120 characters")
    parse_rule(condition)
    Scope.parse(scope)
    check_actions(actions)
    values: dict[str, Any] = {
        "condition": condition,
        "scope": scope,
        "actions": json.dumps(actions, ensure_ascii=False),
        "enabled": enabled,
        "source": source,
        "updated_by": by,
        "updated_at": store.utcnow(),
    }
    row = s.exec(select(RoutingRule).where(RoutingRule.name == name)).first()
    if row is not None and user is not None:
        _check_within(user, row.scope)  # taking over a wider rule by its name is a write to it
    if row is None:
        row = RoutingRule(name=name, **values)
        s.add(row)
        s.flush()
        action = "rule.create"
    else:
        unchanged = all(
            getattr(row, k) == v for k, v in values.items() if k not in ("updated_by", "updated_at")
        )
        if unchanged:
            return row
        assert row.id is not None  # read from the table: it has its key
        store.update_versioned(
            s,
            RoutingRule,
            row.id,
            row.version if expected_version is None else expected_version,
            values,
        )
        s.refresh(row)  # the UPDATE bypassed the ORM: reload the row, its new version included
        action = "rule.update"
    store.audit(
        s,
        actor=by,
        action=action,
        entity="rule",
        entity_id=row.id or 0,
        detail={"name": name, "condition": condition, "scope": scope, "actions": actions},
    )
    return row


def list_rules(s: Session) -> list[RoutingRule]:
    """Every stored rule, by name."""
    return list(s.exec(select(RoutingRule).order_by(RoutingRule.name)))


def load_file_rules(path: Path | None = None) -> list[dict[str, Any]]:
    """The rules of the versioned YAML file (each: name, condition, scope, actions)."""
    path = path or RULES_FILE
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = []
    for i, r in enumerate(raw.get("rules", [])):
        try:
            parse_rule(str(r["condition"]))
            check_actions(r.get("actions"))
        except (RuleError, KeyError) as exc:
            raise RuleError(f"{path}: rule {i + 1} ({r.get('name', '?')}): {exc}") from None
        out.append(
            {
                "name": str(r["name"]),
                "condition": str(r["condition"]),
                "scope": str(r.get("scope", "world")),
                "actions": r["actions"],
                "enabled": bool(r.get("enabled", True)),
            }
        )
    return out


def sync_file_rules(engine: Engine, path: Path | None = None, *, actor: str = "rules.yaml") -> int:
    """Create or update the file's rules in the store (unchanged rules are left alone)."""
    rules = load_file_rules(path)
    with store.session(engine) as s:
        for r in rules:
            save_rule(s, actor=actor, source="file", **r)
    return len(rules)


# ---------------------------------------------------------------- screen helpers


def rules_frame(s: Session) -> pl.DataFrame:
    """The stored rules with their number of hits, for the rules screen."""
    counted = s.exec(select(RuleHit.rule_id, func.count()).group_by(RuleHit.rule_id)).all()  # type: ignore[arg-type]
    hits: dict[int | None, int] = {rule_id: int(n) for rule_id, n in counted}
    rows = list_rules(s)
    return pl.DataFrame(
        {
            "id": [r.id for r in rows],
            "name": [r.name for r in rows],
            "condition": [r.condition for r in rows],
            "scope": [r.scope for r in rows],
            "actions": [
                ", ".join(
                    a["type"] + (f" ({a['role']})" if a.get("role") else "")
                    for a in json.loads(r.actions)
                )
                for r in rows
            ],
            "enabled": [r.enabled for r in rows],
            "source": [r.source for r in rows],
            "version": [r.version for r in rows],
            "hits": [int(hits.get(r.id, 0)) for r in rows],
        },
        schema={
            "id": pl.Int64,
            "name": pl.String,
            "condition": pl.String,
            "scope": pl.String,
            "actions": pl.String,
            "enabled": pl.Boolean,
            "source": pl.String,
            "version": pl.Int64,
            "hits": pl.Int64,
        },
    )


def takeaway(table: pl.DataFrame) -> str:
    """One sentence: how many rules are active and how many responses they routed."""
    if table.is_empty():
        return "No routing rule yet: write one below, test it on the data, then save it."
    active = int(table["enabled"].sum())
    top = table.sort(["hits", "name"], descending=[True, False]).row(0, named=True)
    if top["hits"] == 0:
        return f"{active} routing rule{'s' if active != 1 else ''} active; none has routed a response yet: run them below."
    return (
        f"{active} routing rule{'s' if active != 1 else ''} active, {int(table['hits'].sum()):,} responses routed so far; "
        f"the busiest is '{top['name']}' ({top['hits']:,} responses)."
    )


def contact_roles(root: Path | None = None) -> list[str]:
    """Contact roles named in org.yaml (manager, cleaning, customer_care…), for the action picker."""
    org = org_mod.load(data.data_dir(root))
    return sorted({role for a in org.agencies for role in a.contacts}) or ["manager"]
