"""The vocabulary of validation: a row rule (:class:`Check`) and the refusal of a whole import."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


class IngestError(ValueError):
    """The import was refused as a whole; one line naming the file, wave, column or value."""


@dataclass(frozen=True)
class Check:
    """One row rule: its name, when a row breaks it, and the message naming the bad value."""

    rule: str
    bad: pl.Expr
    message: pl.Expr
