"""The append-only audit trail: one row per change, written in the caller's transaction."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from cx.core.scope import Scope, restrict_statement
from cx.store.models import AuditLog


def audit(
    s: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int,
    detail: dict[str, Any] | None = None,
    region: str | None = None,
    country: str | None = None,
    agency: str | None = None,
) -> AuditLog:
    """Append an audit row in the caller's transaction."""
    row = AuditLog(
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        detail=json.dumps(detail or {}, default=str, ensure_ascii=False),
        region=region,
        country=country,
        agency=agency,
    )
    s.add(row)
    return row


def audit_trail(
    s: Session,
    scope: Scope,
    *,
    entity: str | None = None,
    entity_id: str | int | None = None,
    limit: int = 500,
) -> list[AuditLog]:
    """Audit rows inside the scope, newest first."""
    stmt = restrict_statement(select(AuditLog), scope, AuditLog)
    if entity:
        stmt = stmt.where(AuditLog.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditLog.entity_id == str(entity_id))
    return list(
        s.exec(stmt.order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc()).limit(limit))
    )
