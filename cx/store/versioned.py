"""Optimistic concurrency: an UPDATE that succeeds only on the version the editor read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, update
from sqlalchemy.orm import class_mapper
from sqlmodel import Session, SQLModel


class StaleEdit(RuntimeError):
    """Someone else saved this record since you opened it; reload and apply your change again."""


def update_versioned(
    s: Session, model: type[SQLModel], row_id: int, expected_version: int, values: dict[str, Any]
) -> int:
    """UPDATE ... SET values, version = version + 1 WHERE id AND version = expected.

    Raises :class:`StaleEdit` when another save came first (no lost update). Returns the new version.
    """
    table = class_mapper(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to one table")
    result = s.exec(
        update(table)
        .where(table.c.id == row_id, table.c.version == expected_version)
        .values(**values, version=expected_version + 1)
    )
    if result.rowcount != 1:
        raise StaleEdit(
            f"{model.__name__} {row_id} was changed by someone else since you opened it "
            f"(your version {expected_version}); reload it and apply your change again"
        )
    return expected_version + 1
