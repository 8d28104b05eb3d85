"""Where a row says it belongs, when the data folder has no ``org.yaml`` to check it against.

Geography decides who sees a row, so a wrong region is a leak, not a typo. With ``org.yaml`` every
row's agency, region and country are checked against it (:mod:`cx.ingest.validate`). Without it,
the stored waves are the reference: a row of an agency never seen before (``agency new``), or of
a known agency under another region or country (``agency geography changed``), is quarantined with
its reason until an analyst accepts that geography (``cx import --accept-geography``, or the
accept step of the Import screen); each acceptance is written to the audit trail with who accepted
what, for which wave and file. An agency given two places in one file is never accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from cx.core import data
from cx.ingest.checks import Check

NEEDS_ACCEPT = ("agency new", "agency geography changed")
RULES = ("agency geography inconsistent in file", *NEEDS_ACCEPT)


def known(root: Path) -> pl.DataFrame:
    """Distinct agency, region, country of the stored waves."""
    files = data.wave_files(root)
    if not files:
        return pl.DataFrame(schema={"agency": pl.String, "region": pl.String, "country": pl.String})
    return (
        data.scan_files(files)
        .select(pl.col(c).cast(pl.String) for c in ("agency", "region", "country"))
        .unique()
        .collect()
    )


def annotate(lf: pl.LazyFrame, root: Path) -> pl.LazyFrame:
    """Add ``_geo_was`` (where the agency was before, null if new), ``_geo_same`` (this place was
    seen for it) and ``_geo_places`` (how many places the file gives the agency)."""
    seen = known(root)
    was = seen.group_by("agency").agg(
        pl.concat_str("region", "country", separator="/").sort().str.join(", ").alias("_geo_was")
    )
    same = seen.with_columns(_geo_same=pl.lit(True))
    return (
        lf.join(was.lazy(), on="agency", how="left", maintain_order="left")
        .join(same.lazy(), on=["agency", "region", "country"], how="left", maintain_order="left")
        .with_columns(
            _geo_same=pl.col("_geo_same").fill_null(False),
            _geo_places=pl.struct("region", "country").n_unique().over("agency"),
        )
    )


def checks(accept: bool, how: str = "--accept-geography or on the Import screen") -> list[Check]:
    """The row rules without ``org.yaml``; ``accept`` lifts the two that wait for an analyst
    (``how`` says where they accept)."""
    where = pl.format(
        "{}/{}", pl.col("region").fill_null("(empty)"), pl.col("country").fill_null("(empty)")
    )
    out = [
        Check(
            "agency geography inconsistent in file",
            pl.col("agency").is_not_null() & (pl.col("_geo_places") > 1),
            pl.format("agency {} has more than one region/country in this file", pl.col("agency")),
        )
    ]
    if not accept:
        out += [
            Check(
                "agency new",
                pl.col("agency").is_not_null() & pl.col("_geo_was").is_null(),
                pl.format(
                    "new agency {} in {} (in no earlier wave and there is no org.yaml): "
                    f"accept it with {how}",
                    pl.col("agency"),
                    where,
                ),
            ),
            Check(
                "agency geography changed",
                pl.col("_geo_was").is_not_null() & ~pl.col("_geo_same"),
                pl.format(
                    "agency {} was in {} in earlier waves, not {}: "
                    f"accept it with {how.split(' or ')[0]} if it moved",
                    pl.col("agency"),
                    pl.col("_geo_was"),
                    where,
                ),
            ),
        ]
    return out


def pending(frame: pl.DataFrame) -> pl.DataFrame:
    """agency, region, country, was, rows: each place of the file an analyst has to accept."""
    return (
        frame.filter(
            pl.col("agency").is_not_null()
            & pl.col("region").is_not_null()
            & pl.col("country").is_not_null()
            & ~pl.col("_geo_same")
            & (pl.col("_geo_places") == 1)
        )
        .group_by("agency", "region", "country", "_geo_was")
        .agg(rows=pl.len())
        .rename({"_geo_was": "was"})
        .sort("agency")
    )


def record(
    engine: Any, root: Path, places: pl.DataFrame, *, actor: str, wave: str, source: str
) -> None:
    """Audit each accepted place: who accepted which agency where, for which wave and file
    (in ``engine``'s store, else the data folder's)."""
    from cx import store  # only an acceptance needs the store: the importer stays light

    if engine is None:
        engine = store.init(store.make_engine(store.database_url(root)))
    with store.session(engine) as s:
        for row in places.iter_rows(named=True):
            store.audit(
                s,
                actor=actor,
                action="geography.accept",
                entity="agency",
                entity_id=row["agency"],
                detail={
                    "region": row["region"],
                    "country": row["country"],
                    "was": row["was"],
                    "wave": wave,
                    "file": source,
                    "rows": row["rows"],
                },
                region=row["region"],
                country=row["country"],
                agency=row["agency"],
            )
