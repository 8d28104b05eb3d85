"""Optimistic concurrency: an UPDATE that succeeds only on the version the editor read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session, SQLModel


class StaleEdit(RuntimeError):
    """Someone else saved this record since you opened it; reload and apply your change again."""


def update_versioned(
    s: Session, model: type[SQLModel], row_id: int, expected_version: int, values: dict[str, Any]
) -> int:
    """UPDATE ... SET values, version = version + 1 WHERE id AND version = expected.

    Raises :class:`StaleEdit` when another save came first (no lost update). Returns the new version.
    """
    table = model.__table__  # type: ignore[attr-defined]
    result = s.execute(
        update(table)
        .where(table.c.id == row_id, table.c.version == expected_version)
        .values(**values, version=expected_version + 1)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleEdit(
            f"{model.__name__} {row_id} was changed by someone else since you opened it "
            f"(your version {expected_version}); reload it and apply your change again"
        )
    return expected_version + 1
