"""Deterministic demo dataset: 8 quarterly waves, 7 countries, 28 agencies, CRM and fieldwork.

The data tells stories a reviewer can find (listed in the README):
Madrid's cleanliness falls over the last three waves; Marseille sits well below its French
peers; a spike of app-login complaints in 2026-Q2; the ``Young`` segment's NPS slides while
``Business`` improves; the ``Champions`` RFM tier is promoter-rich.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from cx.core.data import has_waves, wave_period
from cx.demo.accounts import write_demo_users

GEOGRAPHY: dict[str, dict[str, list[str]]] = {
    "Europe": {
        "ES": ["Madrid", "Barcelona", "Valencia", "Sevilla"],
        "FR": ["Paris", "Lyon", "Marseille", "Toulouse"],
        "GB": ["London", "Manchester", "Birmingham", "Leeds"],
    },
    "Latin America": {
        "MX": ["Ciudad de México", "Guadalajara", "Monterrey", "Puebla"],
        "AR": ["Buenos Aires", "Córdoba", "Rosario", "Mendoza"],
    },
    "Eurasia": {"RU": ["Moscow", "Saint Petersburg", "Kazan", "Novosibirsk"]},
    "North America": {"US": ["New York", "Chicago", "Houston", "Miami"]},
}
COUNTRY_INFO = {
    "ES": ("Spain", "es"),
    "FR": ("France", "fr"),
    "GB": ("United Kingdom", "en"),
    "MX": ("Mexico", "es"),
    "AR": ("Argentina", "es"),
    "RU": ("Russia", "ru"),
    "US": ("United States", "en"),
}
LANGUAGES = ("es", "fr", "en", "ru")
WAVES = ("2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3")
ATTRIBUTES = (
    "cleanliness",
    "waiting_time",
    "staff_attitude",
    "staff_competence",
    "price",
    "product_quality",
    "digital",
    "opening_hours",
)
# True weights of the attributes in the demo's NPS model (the key drivers a reviewer should find).
ATTRIBUTE_WEIGHTS = (0.12, 0.18, 0.22, 0.14, 0.10, 0.16, 0.05, 0.03)
SEGMENTS = ("Retail", "Premium", "Business", "Young")
SEGMENT_P = (0.45, 0.20, 0.15, 0.20)
CHANNEL_P = {
    "email": 0.34,
    "sms": 0.15,
    "web": 0.15,
    "qr": 0.08,
    "ivr": 0.05,
    "phone": 0.08,
    "in_person": 0.10,
    "chat": 0.05,
}
TOUCHPOINTS = (None, "purchase", "delivery", "support")
TOUCHPOINT_P = (0.30, 0.32, 0.20, 0.18)
DRAG_TOUCHPOINT = "delivery"
"""The touchpoint whose bad experiences drag the relational score (the demo's story)."""
DRAG_RHO = 0.8
"""How closely a paired customer's relational answer follows their delivery answer (0: not at all)."""
RESPONSE_RATE = {
    "email": 0.12,
    "sms": 0.09,
    "web": 0.06,
    "qr": 0.04,
    "ivr": 0.10,
    "phone": 0.20,
    "in_person": 0.30,
    "chat": 0.15,
}
DELIVERY_RATE = {
    "email": 0.93,
    "sms": 0.97,
    "web": 1.0,
    "qr": 1.0,
    "ivr": 0.95,
    "phone": 0.90,
    "in_person": 1.0,
    "chat": 0.99,
}
DEFAULT_ROWS = 200_000
DEFAULT_SEED = 42
ATTRIBUTE_THEMES = ATTRIBUTES
EXTRA_THEMES = ("billing", "phone_support", "problem_resolution", "delivery")


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`write_demo` wrote."""

    root: Path
    responses: int
    waves: int
    agencies: int
    transactions: int
    fieldwork_rows: int

    def as_rows(self) -> list[dict[str, object]]:
        return [
            {
                "file": "waves/wave=*/part-0.parquet",
                "rows": self.responses,
                "detail": f"{self.waves} waves, {self.agencies} agencies",
            },
            {
                "file": "crm/transactions.parquet",
                "rows": self.transactions,
                "detail": "CRM purchases for RFM",
            },
            {
                "file": "fieldwork.parquet",
                "rows": self.fieldwork_rows,
                "detail": "wave x agency x channel",
            },
            {
                "file": "org.yaml",
                "rows": self.agencies,
                "detail": "region -> country -> agency, contacts",
            },
        ]


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


def agency_code(name: str) -> str:
    """Three-letter code used in advisor ids: ``Madrid`` -> ``MAD``."""
    return _ascii(name).replace(" ", "")[:3].upper()


def _slug(name: str) -> str:
    return _ascii(name).lower().replace(" ", "-")


def _geo_table() -> pl.DataFrame:
    rows = []
    for region, countries in GEOGRAPHY.items():
        for country, agencies in countries.items():
            for i, agency in enumerate(agencies):
                rows.append(
                    {
                        "region": region,
                        "country": country,
                        "agency": agency,
                        "language": COUNTRY_INFO[country][1],
                        "size": 1.8 if i == 0 else 1.0 - 0.1 * i,
                    }
                )
    return pl.DataFrame(rows)


def _templates() -> dict:
    text = resources.files("cx.config").joinpath("demo_comments.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _attribute_means(geo: pl.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Mean of each attribute per agency x wave, with the planted stories. Shape (A, W, K)."""
    n_ag, n_w, n_k = geo.height, len(WAVES), len(ATTRIBUTES)
    base = (
        7.1 + rng.normal(0, 0.25, size=(n_ag, 1, n_k)) + rng.normal(0, 0.08, size=(n_ag, n_w, n_k))
    )
    base = base + np.array([0.2, -0.4, 0.3, 0.1, -0.6, 0.2, -0.1, 0.3])[None, None, :]
    agencies = geo["agency"].to_list()
    k = ATTRIBUTES.index
    mad = agencies.index("Madrid")
    base[mad, :, k("cleanliness")] = [7.9, 7.8, 7.9, 7.8, 7.9, 7.2, 6.5, 5.8]
    mar = agencies.index("Marseille")
    base[mar] -= 0.8
    q2 = WAVES.index("2026-Q2")
    base[:, q2, k("digital")] -= 1.6
    return np.clip(base, 1.0, 9.6)


def generate(
    rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED, *, comments: bool = True
) -> dict[str, pl.DataFrame]:
    """Build the demo frames in memory: responses, transactions, fieldwork (deterministic)."""
    rng = np.random.default_rng(seed)
    geo = _geo_table()
    n_ag, n_w = geo.height, len(WAVES)
    means = _attribute_means(geo, rng)

    # Customers: a loyalty latent drives purchase frequency, spend and NPS (promoter-rich Champions).
    n_cust = max(200, rows // 3)
    size = geo["size"].to_numpy()
    cust_agency = np.sort(rng.choice(n_ag, size=n_cust, p=size / size.sum()))
    cust_segment = rng.choice(len(SEGMENTS), size=n_cust, p=SEGMENT_P)
    loyalty = rng.normal(0, 1, size=n_cust)
    starts = np.searchsorted(cust_agency, np.arange(n_ag))
    counts = np.bincount(cust_agency, minlength=n_ag)

    per_wave = np.full(n_w, rows // n_w)
    per_wave[: rows % n_w] += 1
    wave_idx = np.repeat(np.arange(n_w), per_wave)
    n = rows
    agency_idx = rng.choice(n_ag, size=n, p=size / size.sum())
    cust_idx = starts[agency_idx] + (rng.random(n) * np.maximum(counts[agency_idx], 1)).astype(
        np.int64
    )
    cust_idx = np.minimum(cust_idx, n_cust - 1)
    agency_idx = cust_agency[cust_idx]
    seg = cust_segment[cust_idx]
    loy = loyalty[cust_idx]

    halo = rng.normal(0, 1.0, size=n)
    mu = means[agency_idx, wave_idx, :]
    attrs = np.clip(
        np.rint(mu + 0.9 * halo[:, None] + rng.normal(0, 1.3, size=(n, len(ATTRIBUTES)))), 0, 10
    )
    weights = np.array(ATTRIBUTE_WEIGHTS)
    seg_effect = np.zeros(n)
    seg_effect[seg == SEGMENTS.index("Young")] = -0.05 - 0.16 * np.maximum(
        wave_idx[seg == SEGMENTS.index("Young")] - 2, 0
    )
    seg_effect[seg == SEGMENTS.index("Business")] = (
        0.08 * wave_idx[seg == SEGMENTS.index("Business")]
    )
    seg_effect[seg == SEGMENTS.index("Premium")] = 0.3
    latent = (
        7.85
        + 1.05 * ((attrs - 7.0) @ weights) / weights.sum()
        + 0.45 * halo
        + 0.55 * loy
        + seg_effect
        + rng.normal(0, 1.25, size=n)
    )
    score = np.clip(np.rint(latent), 0, 10).astype(np.int64)
    csat = np.clip(np.rint(1.2 + (latent - 1.0) / 2.3 + rng.normal(0, 0.5, size=n)), 1, 5).astype(
        np.int64
    )
    attr_missing = rng.random((n, len(ATTRIBUTES))) < 0.06

    wave_start = np.array([np.datetime64(wave_period(w)[0]) for w in WAVES])
    wave_days = np.array([(wave_period(w)[1] - wave_period(w)[0]).days + 1 for w in WAVES])
    offset_s = (rng.random(n) * wave_days[wave_idx] * 86400).astype("int64")
    responded = (
        wave_start[wave_idx].astype("datetime64[s]") + offset_s.astype("timedelta64[s]")
    ).astype("datetime64[us]")

    channels = list(CHANNEL_P)
    channel_idx = rng.choice(len(channels), size=n, p=list(CHANNEL_P.values()))
    tp_idx = rng.choice(len(TOUCHPOINTS), size=n, p=TOUCHPOINT_P)
    advisor = rng.integers(1, 9, size=n)
    weight = np.round(np.clip(np.exp(rng.normal(0, 0.25, size=n)), 0.4, 2.5), 3)
    excluded = rng.random(n) < 0.01
    # The touchpoint story deals answers out again after every draw: the random stream is unchanged.
    dealt = _touchpoint_drag(
        cust_idx, wave_idx, agency_idx, seg, responded, tp_idx, score, excluded, seed
    )
    score, csat, weight = score[dealt], csat[dealt], weight[dealt]

    agencies = geo["agency"].to_numpy()
    codes = np.array([agency_code(a) for a in agencies])
    frame = pl.DataFrame(
        {
            "wave_i": wave_idx.astype(np.int32),
            "agency_i": agency_idx.astype(np.int32),
            "responded_at": responded,
            "customer_i": cust_idx.astype(np.int64),
            "nps": score.astype(np.int8),
            "csat": csat.astype(np.int8),
            "csat_missing": (rng.random(n) < 0.1)[dealt],
            "channel": np.array(channels)[channel_idx],
            "tp_i": tp_idx.astype(np.int8),
            "advisor_n": advisor.astype(np.int8),
            "segment": np.array(SEGMENTS)[seg],
            "weight": weight,
            "excluded": excluded,
        }
    ).with_row_index("row")
    for j, a in enumerate(ATTRIBUTES):
        frame = frame.with_columns(
            pl.Series(f"attr_{a}", np.where(attr_missing[:, j], np.nan, attrs[:, j]))
            .fill_nan(None)
            .cast(pl.Int8)
        )
    geo_i = geo.with_row_index("agency_i").with_columns(
        pl.col("agency_i").cast(pl.Int32), pl.Series("code", codes)
    )
    waves = pl.DataFrame({"wave_i": np.arange(n_w, dtype=np.int32), "wave": list(WAVES)})
    tps = pl.DataFrame(
        {"tp_i": np.arange(len(TOUCHPOINTS), dtype=np.int8), "touchpoint": list(TOUCHPOINTS)},
        schema={"tp_i": pl.Int8, "touchpoint": pl.String},
    )
    responses = (
        frame.join(geo_i, on="agency_i", how="left")
        .join(waves, on="wave_i", how="left")
        .join(tps, on="tp_i", how="left")
        .with_columns(
            response_id=pl.format(
                "{}-{}", pl.col("wave"), pl.col("row").cast(pl.String).str.zfill(8)
            ),
            customer_id=pl.format("C{}", pl.col("customer_i").cast(pl.String).str.zfill(7)),
            city=pl.col("agency"),
            advisor_id=pl.format(
                "{}-{}", pl.col("code"), pl.col("advisor_n").cast(pl.String).str.zfill(2)
            ),
            csat=pl.when(pl.col("csat_missing")).then(None).otherwise(pl.col("csat")),
            responded_at=pl.col("responded_at").dt.cast_time_unit("us").dt.replace_time_zone("UTC"),
        )
    )
    if comments:
        responses = _with_comments(responses, rng)
    else:
        responses = responses.with_columns(comment=pl.lit(None, pl.String))
    columns = [
        "response_id",
        "wave",
        "responded_at",
        "customer_id",
        "region",
        "country",
        "agency",
        "city",
        "channel",
        "touchpoint",
        "nps",
        "csat",
        *[f"attr_{a}" for a in ATTRIBUTES],
        "comment",
        "language",
        "segment",
        "advisor_id",
        "weight",
        "excluded",
    ]
    responses = responses.select(columns).sort("wave", "responded_at")

    customers = pl.DataFrame(
        {"customer_i": np.arange(n_cust), "loyalty": loyalty, "segment_i": cust_segment}
    )
    return {
        "responses": responses,
        "transactions": _transactions(customers, rng),
        "fieldwork": _fieldwork(responses, rng),
    }


def _touchpoint_drag(
    customer: np.ndarray,
    wave: np.ndarray,
    agency: np.ndarray,
    segment: np.ndarray,
    responded: np.ndarray,
    touchpoint: np.ndarray,
    score: np.ndarray,
    excluded: np.ndarray,
    seed: int,
) -> np.ndarray:
    """Row order that makes :data:`DRAG_TOUCHPOINT` drag the relationship: an index per row.

    A relational answer is paired, as ``cx.analytics.touchpoints`` pairs them, with the same
    customer's latest answer at the touchpoint given before it, in the same wave or the wave
    before. Within each wave × agency × segment, the paired relational answers (score, CSAT and
    weight together) are dealt out again so that a worse touchpoint answer tends to get a worse
    relational one (rank order of ``DRAG_RHO`` × the touchpoint score plus noise). Every
    wave × agency × segment figure keeps exactly the answers it had; other rows keep their own.
    """
    n = score.size
    rows = pl.DataFrame(
        {
            "i": np.arange(n),
            "c": customer,
            "w": wave.astype(np.int32),
            "a": agency.astype(np.int32),
            "g": segment.astype(np.int32),
            "at": responded,
            "tp": touchpoint.astype(np.int8),
            "s": score,
            "x": excluded,
        }
    )
    experience = rows.filter(
        (pl.col("tp") == TOUCHPOINTS.index(DRAG_TOUCHPOINT)) & ~pl.col("x")
    ).select("c", tw="w", t_at="at", t_score="s")
    paired = (
        rows.filter((pl.col("tp") == TOUCHPOINTS.index(None)) & ~pl.col("x"))
        .join(experience, on="c")
        .filter((pl.col("t_at") < pl.col("at")) & (pl.col("tw") >= pl.col("w") - 1))
        .sort("i", "t_at")
        .group_by("i", maintain_order=True)
        .agg(pl.col("w", "a", "g", "s", "t_score").last())
    )
    dealt = np.arange(n)
    if paired.is_empty():
        return dealt
    t = paired["t_score"].to_numpy().astype(np.float64)
    spread = t.std() or 1.0
    noise = np.random.default_rng([seed, 18]).normal(0, 1, size=paired.height)
    key = DRAG_RHO * (t - t.mean()) / spread + np.sqrt(1 - DRAG_RHO**2) * noise
    cell = ["w", "a", "g"]
    takers = (
        paired.with_columns(key=key)
        .sort([*cell, "key", "i"])
        .with_columns(k=pl.int_range(pl.len()).over(cell))
        .select(*cell, "k", "i")
    )
    answers = (
        paired.sort([*cell, "s", "i"])
        .with_columns(k=pl.int_range(pl.len()).over(cell))
        .select(*cell, "k", src="i")
    )
    moved = takers.join(answers, on=[*cell, "k"])
    dealt[moved["i"].to_numpy()] = moved["src"].to_numpy()
    return dealt


def _with_comments(responses: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Attach a comment in the country's language to ~55 % of responses (vectorised)."""
    tpl = _templates()
    n = responses.height
    attr_cols = [f"attr_{a}" for a in ATTRIBUTES]
    attrs = responses.select(attr_cols).to_numpy().astype(float)
    score = responses["nps"].to_numpy()
    negative = score <= 7
    filled = np.where(np.isnan(attrs), np.where(negative[:, None], 99.0, -99.0), attrs)
    # The attribute that explains the score: the worst one for critics, the best for fans.
    primary = np.where(negative, filled.argmin(axis=1), filled.argmax(axis=1))
    themes = np.array(ATTRIBUTE_THEMES, dtype=object)[primary]
    tp = responses["touchpoint"].to_numpy()
    swap = rng.random(n) < 0.35
    themes = np.where(swap & (tp == "delivery"), "delivery", themes)
    themes = np.where(
        swap & (tp == "support") & negative,
        np.where(rng.random(n) < 0.5, "phone_support", "problem_resolution"),
        themes,
    )
    themes = np.where((rng.random(n) < 0.04) & negative, "billing", themes)
    waves = responses["wave"].to_numpy()
    login = (waves == "2026-Q2") & negative & (rng.random(n) < 0.22)
    themes = np.where(login, "_login_spike", themes)
    themes = np.where(rng.random(n) < 0.10, "_generic", themes)
    polarity = np.where(negative, "neg", "pos")

    rows = []
    for theme, langs in tpl.items():
        if theme == "_pii":
            continue
        for lang, pol in langs.items():
            for p, phrases in pol.items():
                for k, phrase in enumerate(phrases):
                    rows.append(
                        {
                            "theme": theme,
                            "language": lang,
                            "polarity": p,
                            "k": k,
                            "phrase": phrase,
                            "of": len(phrases),
                        }
                    )
    phrases = pl.DataFrame(rows)
    counts = phrases.group_by("theme", "language", "polarity").agg(pl.col("of").first())
    second = np.array(ATTRIBUTE_THEMES, dtype=object)[
        rng.integers(0, len(ATTRIBUTE_THEMES), size=n)
    ]
    pii = rng.random(n) < 0.006
    keys = pl.DataFrame(
        {
            "row_n": np.arange(n),
            "theme": themes.astype(str),
            "theme2": second.astype(str),
            "polarity": polarity,
            "has": rng.random(n) < 0.55,
            "two": (rng.random(n) < 0.22) & (second != themes),
            "pii": pii,
            "u1": rng.random(n),
            "u2": rng.random(n),
            "u3": rng.integers(0, 2, size=n),
        }
    ).with_columns(language=responses["language"])
    pii_df = pl.DataFrame(
        [
            {"language": lang, "u3": i, "pii_text": t}
            for lang, texts in tpl["_pii"].items()
            for i, t in enumerate(texts)
        ],
        schema={"language": pl.String, "u3": pl.Int64, "pii_text": pl.String},
    )

    def pick(theme_col: str, u_col: str, out: str) -> pl.LazyFrame:
        return (
            keys.lazy()
            .select("row_n", "language", "polarity", pl.col(theme_col).alias("theme"), u_col)
            .join(counts.lazy(), on=["theme", "language", "polarity"], how="left")
            .with_columns(k=(pl.col(u_col) * pl.col("of").fill_null(1)).floor().cast(pl.Int64))
            .join(
                phrases.lazy().select("theme", "language", "polarity", "k", "phrase"),
                on=["theme", "language", "polarity", "k"],
                how="left",
            )
            .select("row_n", pl.col("phrase").alias(out))
        )

    built = (
        keys.lazy()
        .join(pick("theme", "u1", "p1"), on="row_n", how="left")
        .join(pick("theme2", "u2", "p2"), on="row_n", how="left")
        .join(pii_df.lazy(), on=["language", "u3"], how="left")
        .with_columns(
            comment=pl.when(pl.col("has"))
            .then(
                pl.concat_str(
                    [
                        pl.col("p1"),
                        pl.when(pl.col("two")).then(pl.col("p2")),
                        pl.when(pl.col("pii")).then(pl.col("pii_text")),
                    ],
                    separator=" ",
                    ignore_nulls=True,
                )
            )
            .otherwise(None)
        )
        .sort("row_n")
        .select("comment")
        .collect()
    )
    return responses.with_columns(built["comment"])


def _transactions(customers: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """CRM purchases from 2024-01-01 to the end of the last wave; loyal customers buy more."""
    first, last = date(2024, 1, 1), wave_period(WAVES[-1])[1]
    span = (last - first).days + 1
    loyalty = customers["loyalty"].to_numpy()
    segment = customers["segment_i"].to_numpy()
    rate = 3.2 * np.exp(0.55 * loyalty)  # purchases a year
    n_tx = rng.poisson(rate * span / 365.25)
    owner = np.repeat(np.arange(customers.height), n_tx)
    total = int(n_tx.sum())
    # Loyal customers bought more recently: skew the day towards the end for high loyalty.
    skew = 1.0 / (1.0 + np.exp(-loyalty[owner]))
    day = (span * rng.random(total) ** (1.0 - 0.6 * skew)).astype(np.int64)
    spend = np.array([60.0, 180.0, 140.0, 35.0])[segment[owner]] * np.exp(
        0.25 * loyalty[owner] + rng.normal(0, 0.5, size=total)
    )
    return (
        pl.DataFrame(
            {
                "transaction_id": pl.Series(np.arange(total)).cast(pl.String).str.zfill(9),
                "customer_id": pl.Series(owner).cast(pl.String).str.zfill(7),
                "date": pl.Series(np.datetime64(first) + day.astype("timedelta64[D]")).cast(
                    pl.Date
                ),
                "amount": np.round(spend, 2),
            }
        )
        .with_columns(
            transaction_id=pl.lit("T") + pl.col("transaction_id"),
            customer_id=pl.lit("C") + pl.col("customer_id"),
        )
        .sort("date", "transaction_id")
    )


def _fieldwork(responses: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Invitations, deliveries and customers served per wave x agency x channel; Leeds lags."""
    got = responses.group_by("wave", "region", "country", "agency", "channel").agg(
        pl.len().alias("responses")
    )
    rr = pl.DataFrame(
        {
            "channel": list(RESPONSE_RATE),
            "rr": list(RESPONSE_RATE.values()),
            "dr": [DELIVERY_RATE[c] for c in RESPONSE_RATE],
        }
    )
    got = got.join(rr, on="channel").sort("wave", "agency", "channel")
    noise = rng.normal(1.0, 0.08, size=got.height)
    lag = np.where(got["agency"].to_numpy() == "Leeds", 1.8, 1.0)
    return (
        got.with_columns(
            invitations=(pl.col("responses") / pl.col("rr") * pl.Series(noise * lag))
            .round()
            .cast(pl.Int64),
        )
        .with_columns(
            delivered=(pl.col("invitations") * pl.col("dr")).round().cast(pl.Int64),
            customers_served=(pl.col("invitations") / 0.7).round().cast(pl.Int64),
            target_responses=(pl.col("invitations") / pl.Series(lag) * pl.col("rr") * 1.05)
            .round()
            .cast(pl.Int64),
        )
        .select(
            "wave",
            "region",
            "country",
            "agency",
            "channel",
            "customers_served",
            "invitations",
            "delivered",
            "target_responses",
        )
    )


def org_yaml() -> dict:
    """The demo organisation as written to ``org.yaml`` (with routing contacts)."""
    regions = []
    for region, countries in GEOGRAPHY.items():
        cs = []
        for code, agencies in countries.items():
            name, lang = COUNTRY_INFO[code]
            cs.append(
                {
                    "code": code,
                    "name": name,
                    "language": lang,
                    "contacts": {"manager": f"{code.lower()}.manager@cx-demo.example"},
                    "agencies": [
                        {
                            "name": a,
                            "city": a,
                            "contacts": {
                                "manager": f"{_slug(a)}.manager@cx-demo.example",
                                "cleaning": f"cleaning.{_slug(a)}@cx-demo.example",
                                "customer_care": f"care.{_slug(a)}@cx-demo.example",
                            },
                        }
                        for a in agencies
                    ],
                }
            )
        regions.append({"name": region, "countries": cs})
    return {"regions": regions}


def write_demo(
    root: Path,
    rows: int = DEFAULT_ROWS,
    seed: int = DEFAULT_SEED,
    *,
    comments: bool = True,
    progress: Callable[[str, float], None] | None = None,
) -> DemoSummary:
    """Generate the demo dataset and write it under ``root`` atomically (temp dir, then rename)."""
    say = progress or (lambda _msg, _frac: None)
    say("Generating responses…", 0.05)
    frames = generate(rows, seed, comments=comments)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".demo-", dir=root))
    try:
        responses = frames["responses"]
        waves = responses.partition_by("wave", as_dict=True)
        for i, ((wave,), part) in enumerate(sorted(waves.items())):
            say(f"Writing wave {wave}…", 0.3 + 0.5 * i / len(waves))
            d = tmp / "waves" / f"wave={wave}"
            d.mkdir(parents=True)
            part.write_parquet(d / "part-0.parquet", statistics=True)
        say("Writing CRM and fieldwork…", 0.85)
        (tmp / "crm").mkdir()
        frames["transactions"].write_parquet(tmp / "crm" / "transactions.parquet")
        frames["fieldwork"].write_parquet(tmp / "fieldwork.parquet")
        (tmp / "org.yaml").write_text(
            yaml.safe_dump(org_yaml(), allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        for name in ("waves", "crm", "fieldwork.parquet", "org.yaml"):
            target = root / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            os.replace(tmp / name, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say("Creating the demo accounts…", 0.9)
    write_demo_users(root)
    say("Demo data ready.", 1.0)
    return DemoSummary(
        root,
        responses.height,
        len(WAVES),
        len(_geo_table()),
        frames["transactions"].height,
        frames["fieldwork"].height,
    )


def ensure_demo(
    root: Path, progress: Callable[[str, float], None] | None = None
) -> DemoSummary | None:
    """Write the demo dataset when ``root`` has no waves; return None when data is already there."""
    if has_waves(root):
        return None
    return write_demo(root, progress=progress)


def today_of_demo() -> datetime:
    """The demo's "now": the last day of its last wave (keeps the demo deterministic)."""
    return datetime.combine(wave_period(WAVES[-1])[1], datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=18
    )
