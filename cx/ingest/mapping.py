"""Column mapping from a survey export's names to the data contract, saved per survey and reused.

A mapping is kept in ``<data>/mappings/<survey>.yaml``: ``columns`` (source name -> contract
name) and ``scales`` (attribute -> its source scale, ``1-5``, ``1-7``, ``1-10`` or ``0-10``).
Attribute scales are rescaled to 0-10 with y = (x - min) x 10 / (max - min), rounded to 2
decimals: on 1-5, 1 -> 0, 3 -> 5, 5 -> 10; on 1-7, 4 -> 5; on 1-10, 10 -> 10. NPS is only
accepted on 0-10 and never rescaled.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from cx.core.data import ATTR_PREFIX, OPTIONAL, REQUIRED
from cx.core.privacy import mask_pii

SCALES: dict[str, tuple[int, int]] = {
    "0-10": (0, 10),
    "1-5": (1, 5),
    "1-7": (1, 7),
    "1-10": (1, 10),
}
CONTRACT = (*REQUIRED, *OPTIONAL)
EXTRA_TARGETS = ("duration_seconds",)
"""Non-contract columns the importer understands (speeder detection); never written."""

SYNONYMS: dict[str, tuple[str, ...]] = {
    "response_id": (
        "id",
        "respondent_id",
        "respid",
        "resp_id",
        "record_id",
        "serial",
        "interview_id",
        "responseid",
    ),
    "wave": ("period", "survey_wave"),
    "responded_at": (
        "date",
        "datetime",
        "timestamp",
        "response_date",
        "completed_at",
        "end_date",
        "submitted_at",
        "fecha",
    ),
    "customer_id": (
        "customer",
        "client_id",
        "clientid",
        "customerid",
        "cust_id",
        "custid",
        "client",
        "cliente",
    ),
    "region": ("zone", "world_zone", "area"),
    "country": ("country_code", "pays", "pais", "iso_country"),
    "agency": (
        "store",
        "branch",
        "site",
        "shop",
        "agence",
        "agencia",
        "point_of_service",
        "outlet",
        "tienda",
        "sucursal",
        "magasin",
    ),
    "nps": ("recommend", "likelihood_to_recommend", "ltr", "nps_score", "q_nps", "recommendation"),
    "csat": ("satisfaction", "overall_satisfaction", "osat"),
    "comment": ("verbatim", "open_answer", "comments", "why", "reason", "feedback"),
    "language": ("lang", "locale"),
    "channel": ("mode", "survey_channel", "source"),
    "touchpoint": ("journey", "moment", "event"),
    "segment": ("customer_segment",),
    "advisor_id": ("advisor", "employee_id", "agent_id", "staff_id"),
    "weight": ("wt", "weighting", "survey_weight"),
    "duration_seconds": ("duration", "duration_s", "interview_duration", "time_taken", "seconds"),
}


class MappingError(ValueError):
    """A mapping that cannot be used (unknown target, bad scale, duplicate target)."""


def normalise(name: str) -> str:
    """``"Agencia (tienda)"`` -> ``"agencia_tienda"``: lower case ASCII words joined by ``_``."""
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_.lower()).strip("_")


def suggest(columns: list[str]) -> dict[str, str]:
    """A first mapping guess: exact contract names, then known synonyms, then ``attr_*`` names."""
    lookup: dict[str, str] = {c: c for c in (*CONTRACT, *EXTRA_TARGETS)}
    for contract_name, names in SYNONYMS.items():
        lookup.update({n: contract_name for n in names})
    out: dict[str, str] = {}
    taken: set[str] = set()
    for col in columns:
        key = normalise(col)
        target = lookup.get(key)
        if target is None and key.startswith(ATTR_PREFIX) and len(key) > len(ATTR_PREFIX):
            target = key
        if target is not None and target not in taken:
            out[col] = target
            taken.add(target)
    return out


def parse_scale(text: str) -> tuple[int, int]:
    """``"1-5"`` -> ``(1, 5)``; only the documented scales are accepted."""
    key = text.strip().replace("–", "-").replace(" ", "")
    if key not in SCALES:
        raise MappingError(f"unknown scale {text!r}; use one of {', '.join(SCALES)}")
    return SCALES[key]


@dataclass(frozen=True)
class Mapping:
    """Source column -> contract column, and the source scale of each attribute."""

    survey: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    scales: dict[str, str] = field(default_factory=dict)

    def validate(self) -> Mapping:
        seen: dict[str, str] = {}
        for src, target in self.columns.items():
            ok = (
                target in CONTRACT
                or target in EXTRA_TARGETS
                or (target.startswith(ATTR_PREFIX) and re.fullmatch(r"attr_[a-z0-9_]+", target))
            )
            if not ok:
                raise MappingError(
                    f"column {src!r} maps to {target!r}, which is not a data-contract column"
                )
            if target in seen:
                raise MappingError(f"columns {seen[target]!r} and {src!r} both map to {target!r}")
            seen[target] = src
        for attr, scale in self.scales.items():
            parse_scale(scale)
            if not attr.startswith(ATTR_PREFIX) and attr != "*":
                raise MappingError(
                    f"a scale is given for {attr!r}; scales apply to attr_* columns only (NPS is 0-10)"
                )
        return self

    def scale_of(self, attr: str) -> tuple[int, int]:
        return parse_scale(self.scales.get(attr) or self.scales.get("*") or "0-10")

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Rename the mapped columns and drop the rest (contract names map to themselves)."""
        keep = {src: target for src, target in self.columns.items() if src in frame.columns}
        return frame.select([pl.col(src).alias(target) for src, target in keep.items()])

    def as_dict(self) -> dict[str, object]:
        return {"survey": self.survey, "columns": dict(self.columns), "scales": dict(self.scales)}


def for_columns(
    columns: list[str],
    saved: Mapping | None = None,
    overrides: dict[str, str] | None = None,
    scales: dict[str, str] | None = None,
    survey: str = "",
) -> Mapping:
    """The mapping to use for a file: the saved one where its sources exist, else the suggestion."""
    chosen = suggest(columns)
    if saved is not None:
        saved_cols = {s: t for s, t in saved.columns.items() if s in columns}
        chosen = {
            s: t for s, t in chosen.items() if t not in saved_cols.values() and s not in saved_cols
        }
        chosen.update(saved_cols)
    for src, target in (overrides or {}).items():
        if src not in columns:
            raise MappingError(f"--map names column {src!r}, which the file does not have")
        chosen = {s: t for s, t in chosen.items() if t != target and s != src}
        if target:
            chosen[src] = target
    merged_scales = dict(saved.scales if saved else {})
    merged_scales.update(scales or {})
    return Mapping(
        survey or (saved.survey if saved else ""), dict(sorted(chosen.items())), merged_scales
    ).validate()


def _safe_name(survey: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", survey.strip()).strip("-")
    if not name:
        raise MappingError(f"survey name {survey!r} has no letters or digits")
    return name[:80]


def mapping_path(root: Path, survey: str) -> Path:
    return root / "mappings" / f"{_safe_name(survey)}.yaml"


def load(root: Path, survey: str) -> Mapping | None:
    """The saved mapping of a survey, or None."""
    path = mapping_path(root, survey)
    if not path.exists():
        return None
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return Mapping(
        str(raw.get("survey", survey)),
        {str(k): str(v) for k, v in (raw.get("columns") or {}).items()},
        {str(k): str(v) for k, v in (raw.get("scales") or {}).items()},
    ).validate()


def save(root: Path, mapping: Mapping) -> Path:
    """Write the survey's mapping atomically; the next wave of the same survey reuses it."""
    path = mapping_path(root, mapping.validate().survey)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".mapping-", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yaml.safe_dump(mapping.as_dict(), fh, allow_unicode=True, sort_keys=False)
    os.replace(tmp, path)
    return path


def rescale(column: str, lo: int, hi: int) -> pl.Expr:
    """Linear rescale of a ``lo..hi`` attribute to 0..10 (the documented formula)."""
    if (lo, hi) == (0, 10):
        return pl.col(column)
    return ((pl.col(column) - lo) * 10.0 / (hi - lo)).round(2)


def editor_rows(frame: pl.DataFrame, chosen: Mapping) -> pl.DataFrame:
    """One row per source column: its name, an example value (masked) and the contract column it maps to."""
    examples = [
        next((str(v) for v in frame[c].head(50).to_list() if v is not None and str(v).strip()), "")
        for c in frame.columns
    ]
    return pl.DataFrame(
        {
            "source": frame.columns,
            "example": examples,
            "maps to": [chosen.columns.get(c, "") for c in frame.columns],
        },
        schema={"source": pl.String, "example": pl.String, "maps to": pl.String},
    ).with_columns(  # an example may be a raw comment: masked whole, then shortened
        mask_pii(pl.col("example")).str.slice(0, 40)
    )


def from_editor(rows: Any, survey: str = "", scale: str = "0-10") -> Mapping:
    """The mapping from an edited :func:`editor_rows` table (a Polars or pandas frame)."""
    table = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(rows)
    columns = {
        str(src): str(dst)
        for src, dst in zip(table["source"].to_list(), table["maps to"].to_list(), strict=True)
        if dst is not None and str(dst).strip()
    }
    return Mapping(survey.strip(), columns, {"*": scale} if scale != "0-10" else {}).validate()


def targets(columns: list[str]) -> list[str]:
    """Choices for the editor: every contract column, the extra targets and the file's attr_* names."""
    attrs = sorted({suggest([c]).get(c, "") for c in columns} - {""})
    return [
        "",
        *CONTRACT,
        *EXTRA_TARGETS,
        *[a for a in attrs if a.startswith(ATTR_PREFIX) and a not in CONTRACT],
    ]
