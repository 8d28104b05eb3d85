"""A data folder on disk for a test: the demo org, literal waves, and a view of what is written."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import yaml

from cx.demo.dataset import org_yaml


def write_org(root: Path) -> Path:
    """Write the demo organisation (``org.yaml``) into ``root``, so imports and rules check geography."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "org.yaml").write_text(yaml.safe_dump(org_yaml(), allow_unicode=True), encoding="utf-8")
    return root


def write_waves(root: Path, frame: pl.DataFrame) -> Path:
    """Write a literal responses frame as wave partitions under ``root`` (for tiny datasets)."""
    for (wave,), part in frame.partition_by("wave", as_dict=True).items():
        d = root / "waves" / f"wave={wave}"
        d.mkdir(parents=True, exist_ok=True)
        part.write_parquet(d / "part-0.parquet")
    return root


def files_under(root: Path) -> dict[str, int]:
    """Every file under ``root`` with its modification time: equal before and after = nothing written."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def no_hook(root: Path, wave: str, engine: object) -> str:
    """An ``after_import`` step that does nothing: the import alone is under test, not the rules run."""
    return ""
