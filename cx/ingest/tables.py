"""CRM transactions and fieldwork counts: the two side tables, each validated, quarantined and
written atomically like a wave (``crm/transactions.parquet``, ``fieldwork.parquet``).

Fieldwork geography is checked like a wave's (against ``org.yaml``, else a known agency must keep
its place), so counts never land in another scope. Each import holds its table's lock (:mod:`cx.ingest.locks`) from reading the stored table to
publishing the new one, so overlapping imports never drop each other's rows. A quarantine file
holds the table's own columns only (an extra column of the file, a name or an e-mail, is never
copied out of it), masked and formula-safe (:mod:`cx.ingest.quarantine`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from cx.core.atomic import atomic_write_parquet
from cx.core.data import CHANNELS
from cx.ingest import geography, locks, quarantine, versions
from cx.ingest import mapping as mapping_mod
from cx.ingest.checks import Check, IngestError
from cx.ingest.formats import Source, check_size, read
from cx.ingest.validate import as_number, as_text, file_sha256, org_frame

FIELDWORK_KEYS = ("wave", "agency", "channel")
FIELDWORK_COUNTS = ("customers_served", "invitations", "delivered", "target_responses")
CRM_COLUMNS = ("transaction_id", "customer_id", "date", "amount")
FIELDWORK_COLUMNS = (*FIELDWORK_KEYS, "region", "country", *FIELDWORK_COUNTS)
CRM_SYNONYMS = {
    "customer": "customer_id",
    "client_id": "customer_id",
    "transaction": "transaction_id",
    "id": "transaction_id",
    "order_id": "transaction_id",
    "purchase_date": "date",
    "value": "amount",
    "total": "amount",
}
FIELDWORK_SYNONYMS = {
    "sent": "invitations",
    "invited": "invitations",
    "served": "customers_served",
    "customers": "customers_served",
    "target": "target_responses",
    "store": "agency",
    "branch": "agency",
}


@dataclass
class TableResult:
    """Outcome of a CRM or fieldwork import."""

    source: str
    target: Path
    input_rows: int
    accepted: int
    quarantined: int
    total_rows: int
    reasons: dict[str, int]
    quarantine_file: Path | None = None

    def as_rows(self, root: Path) -> list[dict[str, Any]]:
        """One row per outcome: the table written, each quarantine reason."""
        rows: list[dict[str, Any]] = [
            {
                "outcome": "written",
                "file": str(self.target.relative_to(root)),
                "rows": self.accepted,
                "reason": f"{self.input_rows} input rows, {self.accepted} accepted, {self.quarantined} quarantined; file now {self.total_rows} rows",
            }
        ]
        q = str(self.quarantine_file.relative_to(root)) if self.quarantine_file else None
        rows += [
            {"outcome": "quarantined", "file": q, "rows": n, "reason": r}
            for r, n in self.reasons.items()
        ]
        return rows


def _table_frame(path: Path, synonyms: dict[str, str]) -> tuple[pl.DataFrame, Source]:
    """The file as text columns under contract names (synonyms applied), numbered from 1."""
    src = read(path)
    names = {
        c: synonyms.get(mapping_mod.normalise(c), mapping_mod.normalise(c))
        for c in src.frame.columns
    }
    frame = src.frame.rename(names)
    frame = frame.select([as_text(c, frame.schema[c]) for c in frame.columns])
    return frame.with_row_index("source_row", offset=1), src


def _split(frame: pl.DataFrame, rules: list[Check]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Good rows, and bad rows with the first broken rule and every reason."""
    marked = frame.with_columns(
        reason=pl.concat_str(
            [pl.when(c.bad.fill_null(False)).then(c.message) for c in rules],
            separator="; ",
            ignore_nulls=True,
        ),
        rule=pl.coalesce([pl.when(c.bad.fill_null(False)).then(pl.lit(c.rule)) for c in rules]),
    )
    return marked.filter(pl.col("rule").is_null()).drop("rule", "reason"), marked.filter(
        pl.col("rule").is_not_null()
    )


def _reasons(bad: pl.DataFrame) -> dict[str, int]:
    """Rows per broken rule, most frequent first."""
    if bad.is_empty():
        return {}
    counts = bad.group_by("rule").len().sort(["len", "rule"], descending=[True, False])
    return dict(zip(counts["rule"].to_list(), counts["len"].to_list(), strict=True))


def import_crm(
    path: Path | str,
    *,
    root: Path,
    mode: str = "append",
    lock_timeout: float = locks.LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> TableResult:
    """CRM transactions (customer_id, date, amount[, transaction_id]) into ``crm/transactions.parquet``.

    ``append`` adds new transactions (an existing ``transaction_id`` is replaced by the new one);
    ``replace`` swaps the whole file. Rows without a transaction_id get a stable id from their content.
    """
    path, root = Path(path), Path(root)
    if mode not in ("append", "replace"):
        raise IngestError(f"mode {mode!r}: CRM imports are append or replace")
    _check_file(path)
    with locks.exclusive(root, "crm", timeout=lock_timeout, on_wait=on_wait):
        return _import_crm(path, root, mode)


def undo(
    table: str,
    *,
    root: Path,
    lock_timeout: float = locks.LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> versions.Restored:
    """Put the CRM transactions or the fieldwork counts back to the file before their last
    import (under the table's lock)."""
    if table not in versions.TABLES:
        raise IngestError(f"unknown table {table!r}: use one of {', '.join(versions.TABLES)}")
    with locks.exclusive(Path(root), table, timeout=lock_timeout, on_wait=on_wait):
        return versions.undo_table(Path(root), table)


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    check_size(path)


def _import_crm(path: Path, root: Path, mode: str) -> TableResult:
    frame, _ = _table_frame(path, CRM_SYNONYMS)
    missing = [c for c in ("customer_id", "date", "amount") if c not in frame.columns]
    if missing:
        raise IngestError(
            f"{path.name}: missing CRM column(s) {', '.join(missing)}; the file has {', '.join(frame.columns[1:13])}"
        )
    if "transaction_id" not in frame.columns:
        frame = frame.with_columns(
            transaction_id=pl.lit("H")
            + pl.concat_str(["customer_id", "date", "amount"], separator="|", ignore_nulls=True)
            .hash(seed=6)
            .cast(pl.String)
        )
    typed = frame.with_columns(
        _date=pl.coalesce(
            [
                pl.col("date").str.to_date(f, strict=False)
                for f in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d")
            ]
        ),
        _amount=as_number("amount"),
    )
    rules = [
        Check(
            "customer_id missing", pl.col("customer_id").is_null(), pl.lit("customer_id is empty")
        ),
        Check(
            "date invalid",
            pl.col("_date").is_null(),
            pl.format("date {} is not a date", pl.col("date").fill_null("(empty)")),
        ),
        Check(
            "amount invalid",
            pl.col("_amount").is_null() | ~pl.col("_amount").is_finite(),
            pl.format("amount {} is not a number", pl.col("amount").fill_null("(empty)")),
        ),
        Check(
            "duplicate transaction_id in file",
            ~pl.col("transaction_id").is_first_distinct(),
            pl.format("duplicate transaction_id {} within the file", pl.col("transaction_id")),
        ),
    ]
    good, bad = _split(typed, rules)
    new = good.select(
        "transaction_id",
        "customer_id",
        pl.col("_date").alias("date"),
        pl.col("_amount").alias("amount"),
    )
    target = root / "crm" / "transactions.parquet"
    if mode == "append" and target.exists():
        old = pl.read_parquet(target).join(
            new.select("transaction_id"), on="transaction_id", how="anti"
        )
        new = pl.concat([old, new], how="diagonal_relaxed")
    return _write_table(
        "crm", path, root, frame, good, bad, new.sort("date", "transaction_id"), target, CRM_COLUMNS
    )


def import_fieldwork(
    path: Path | str,
    *,
    root: Path,
    lock_timeout: float = locks.LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
    accept_geography: bool = False,
    actor: str = "",
    engine: Any = None,
) -> TableResult:
    """Fieldwork counts per wave x agency x channel into ``fieldwork.parquet`` (upsert on those keys).

    Region and country come from ``org.yaml`` when the file lacks them; unknown agencies are
    quarantined. Without ``org.yaml``, an agency in no wave yet or under another region/country
    than in the waves is quarantined until an analyst accepts it (``accept_geography``, recorded
    in the audit trail under ``actor``), as for the waves.
    """
    path, root = Path(path), Path(root)
    if accept_geography and not actor.strip():
        raise IngestError("accepting new geography needs the name of who accepts it (actor)")
    _check_file(path)
    with locks.exclusive(root, "fieldwork", timeout=lock_timeout, on_wait=on_wait):
        return _import_fieldwork(path, root, accept_geography, actor, engine)


def _import_fieldwork(
    path: Path, root: Path, accept_geography: bool = False, actor: str = "", engine: Any = None
) -> TableResult:
    frame, _ = _table_frame(path, FIELDWORK_SYNONYMS)
    missing = [c for c in (*FIELDWORK_KEYS, "invitations") if c not in frame.columns]
    if missing:
        raise IngestError(
            f"{path.name}: missing fieldwork column(s) {', '.join(missing)}; the file has {', '.join(frame.columns[1:13])}"
        )
    org = org_frame(root)
    for c in ("region", "country", *FIELDWORK_COUNTS):
        if c not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(c))
    typed = frame.with_columns(
        [as_number(c).alias(f"_{c}") for c in FIELDWORK_COUNTS]
    ).with_columns(pl.col("channel").str.to_lowercase())
    if org is not None:
        typed = typed.join(org, on="agency", how="left", maintain_order="left").with_columns(
            region=pl.coalesce("region", "_org_region"),
            country=pl.coalesce("country", "_org_country"),
        )
    wave_ok = pl.col("wave").str.contains(
        r"^\d{4}-(Q[1-4]|0[1-9]|1[0-2]|W(0[1-9]|[1-4]\d|5[0-3]))$"
    )
    rules = [
        Check(
            "wave invalid",
            ~wave_ok.fill_null(False),
            pl.format(
                "wave {} is not 2026-Q1, 2026-03 or 2026-W09", pl.col("wave").fill_null("(empty)")
            ),
        ),
        Check("agency missing", pl.col("agency").is_null(), pl.lit("agency is empty")),
        Check(
            "channel unknown",
            ~pl.col("channel").is_in(list(CHANNELS)).fill_null(False),
            pl.format(
                "channel {} is not one of " + ", ".join(CHANNELS),
                pl.col("channel").fill_null("(empty)"),
            ),
        ),
    ]
    if org is None:
        rules.append(
            Check(
                "region/country missing",
                pl.col("region").is_null() | pl.col("country").is_null(),
                pl.lit("region or country is empty"),
            )
        )
        # A known agency under another place would put its counts in the wrong scope.
        typed = geography.annotate(typed.lazy(), root).collect()
        rules += geography.checks(
            accept=accept_geography, how="cx import-fieldwork --accept-geography"
        )
    else:
        rules.append(
            Check(
                "agency unknown",
                pl.col("agency").is_not_null() & pl.col("_org_country").is_null(),
                pl.format("unknown agency {} (not in org.yaml)", pl.col("agency")),
            )
        )
        rules += [
            Check(
                f"agency {level} mismatch",
                pl.col(f"_org_{level}").is_not_null() & (pl.col(level) != pl.col(f"_org_{level}")),
                pl.format(
                    f"agency {{}} is in {level} {{}} in org.yaml, not {{}}",
                    pl.col("agency"),
                    pl.col(f"_org_{level}"),
                    pl.col(level),
                ),
            )
            for level in ("region", "country")
        ]
    for c in FIELDWORK_COUNTS:
        rules.append(
            Check(
                f"{c} invalid",
                pl.col(c).is_not_null()
                & ~(
                    (pl.col(f"_{c}") >= 0) & (pl.col(f"_{c}") == pl.col(f"_{c}").round())
                ).fill_null(False),
                pl.format(f"{c} {{}} is not a count >= 0", pl.col(c)),
            )
        )
    rules.append(
        Check(
            "delivered over invitations",
            (pl.col("_delivered") > pl.col("_invitations")).fill_null(False),
            pl.format(
                "delivered {} exceeds invitations {}", pl.col("delivered"), pl.col("invitations")
            ),
        )
    )
    rules.append(
        Check(
            "duplicate key in file",
            ~pl.struct(FIELDWORK_KEYS).is_first_distinct(),
            pl.format(
                "duplicate wave x agency x channel {} {} {}",
                pl.col("wave"),
                pl.col("agency"),
                pl.col("channel"),
            ),
        )
    )
    good, bad = _split(typed, rules)
    if org is None and accept_geography and "_geo_same" in good.columns:
        places = geography.pending(good)
        if places.height:
            waves = ", ".join(sorted({str(w) for w in good["wave"].unique().to_list()}))
            geography.record(engine, root, places, actor=actor, wave=waves, source=path.name)
    new = good.select(
        "wave",
        "region",
        "country",
        "agency",
        "channel",
        *[pl.col(f"_{c}").cast(pl.Int64).alias(c) for c in FIELDWORK_COUNTS],
    )
    target = root / "fieldwork.parquet"
    if target.exists():
        old = pl.read_parquet(target).join(
            new.select(FIELDWORK_KEYS), on=list(FIELDWORK_KEYS), how="anti"
        )
        new = pl.concat([old, new], how="diagonal_relaxed")
    return _write_table(
        "fieldwork",
        path,
        root,
        frame,
        good,
        bad,
        new.sort("wave", "agency", "channel"),
        target,
        FIELDWORK_COLUMNS,
    )


def _write_table(
    kind: str,
    path: Path,
    root: Path,
    frame: pl.DataFrame,
    good: pl.DataFrame,
    bad: pl.DataFrame,
    final: pl.DataFrame,
    target: Path,
    columns: tuple[str, ...],
) -> TableResult:
    """Quarantine the bad rows (reason per row) and atomically write the table when any row is good."""
    q = None
    if bad.height:
        q = quarantine.write(
            bad.select("source_row", "rule", "reason", *[c for c in columns if c in frame.columns]),
            root,
            kind,
            path,
            file_sha256(path),
        )
    if good.height:
        versions.keep_table(root, kind)  # the file this import replaces stays restorable
        atomic_write_parquet(final, target)
    return TableResult(
        path.name,
        target,
        frame.height,
        good.height,
        bad.height,
        final.height if good.height else 0,
        _reasons(bad),
        q,
    )
