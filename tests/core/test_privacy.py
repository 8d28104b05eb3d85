"""PII masking: recall on a generated set of e-mails and phone numbers (7 demo countries,
national and international formats), cards and IBANs, and no masking of ordinary numbers."""

from __future__ import annotations

import random

import polars as pl
import pytest

from cx.core.privacy import mask_pii, mask_text

TEMPLATES = [
    "Llámenme al {} por favor",
    "Rappelez-moi au {} svp",
    "Call me back on {}.",
    "Перезвоните мне: {}",
    "mi número es {}, gracias",
    "({}) c'est mon portable",
    "Tel:{}",
    "{}",
]


def d(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


def phone_numbers(rng: random.Random) -> list[str]:
    """One random number per format (national and international) of ES FR GB MX AR RU US."""
    return [
        f"+34 6{d(rng, 2)} {d(rng, 3)} {d(rng, 3)}",
        f"6{d(rng, 8)}",
        f"9{d(rng, 2)} {d(rng, 2)} {d(rng, 2)} {d(rng, 2)}",
        f"0034 6{d(rng, 2)} {d(rng, 3)} {d(rng, 3)}",
        f"7{d(rng, 2)}-{d(rng, 3)}-{d(rng, 3)}",
        f"06 {d(rng, 2)} {d(rng, 2)} {d(rng, 2)} {d(rng, 2)}",
        f"07.{d(rng, 2)}.{d(rng, 2)}.{d(rng, 2)}.{d(rng, 2)}",
        f"+33 6 {d(rng, 2)} {d(rng, 2)} {d(rng, 2)} {d(rng, 2)}",
        f"+33{d(rng, 9)}",
        f"01{d(rng, 8)}",
        f"07{d(rng, 3)} {d(rng, 6)}",
        f"020 {d(rng, 4)} {d(rng, 4)}",
        f"+44 7{d(rng, 3)} {d(rng, 6)}",
        f"+44 (0)20 {d(rng, 4)} {d(rng, 4)}",
        f"01{d(rng, 2)} {d(rng, 3)} {d(rng, 4)}",
        f"55 {d(rng, 4)} {d(rng, 4)}",
        f"(55) {d(rng, 4)}-{d(rng, 4)}",
        f"+52 1 55 {d(rng, 4)} {d(rng, 4)}",
        f"+52 33 {d(rng, 4)} {d(rng, 4)}",
        f"011 {d(rng, 4)}-{d(rng, 4)}",
        f"(011) 15-{d(rng, 4)}-{d(rng, 4)}",
        f"11 15 {d(rng, 4)} {d(rng, 4)}",
        f"+54 9 11 {d(rng, 4)}-{d(rng, 4)}",
        f"8 (9{d(rng, 2)}) {d(rng, 3)}-{d(rng, 2)}-{d(rng, 2)}",
        f"+7 9{d(rng, 2)} {d(rng, 3)}-{d(rng, 2)}-{d(rng, 2)}",
        f"8 9{d(rng, 2)} {d(rng, 3)} {d(rng, 2)} {d(rng, 2)}",
        f"+7 (495) {d(rng, 3)}-{d(rng, 2)}-{d(rng, 2)}",
        f"(2{d(rng, 2)}) {d(rng, 3)}-{d(rng, 4)}",
        f"2{d(rng, 2)}-{d(rng, 3)}-{d(rng, 4)}",
        f"2{d(rng, 2)}.{d(rng, 3)}.{d(rng, 4)}",
        f"1-800-{d(rng, 3)}-{d(rng, 4)}",
        f"+1 (2{d(rng, 2)}) {d(rng, 3)}-{d(rng, 4)}",
    ]


def emails(rng: random.Random) -> list[str]:
    users = [
        "lucia.garcia",
        "j.martin",
        "ivan_petrov",
        "john+cx",
        "ana-maria.lopez",
        "x1977",
        "Pierre.Dupont",
    ]
    domains = [
        "ejemplo.es",
        "exemple.fr",
        "example.co.uk",
        "mail.ru",
        "correo.com.mx",
        "fibertel.com.ar",
        "gmail.com",
    ]
    return [f"{rng.choice(users)}{rng.randint(0, 99)}@{rng.choice(domains)}" for _ in range(10)]


def masked(texts: list[str]) -> list[str]:
    return pl.DataFrame({"t": texts}).select(mask_pii(pl.col("t")).alias("t"))["t"].to_list()


def recall(values: list[str], placeholder: str, rng: random.Random) -> float:
    texts = [rng.choice(TEMPLATES).format(v) for v in values]
    out = masked(texts)
    hits = [placeholder in o and v not in o for v, o in zip(values, out, strict=True)]
    return sum(hits) / len(hits)


def test_phone_recall_is_at_least_95_percent_over_a_generated_set() -> None:
    rng = random.Random(7)
    values = [p for _ in range(20) for p in phone_numbers(rng)]
    assert len(values) >= 600
    assert recall(values, "[phone]", rng) >= 0.95


def test_email_recall_is_at_least_99_percent_over_a_generated_set() -> None:
    rng = random.Random(11)
    values = [e for _ in range(40) for e in emails(rng)]
    assert len(values) == 400
    assert recall(values, "[email]", rng) >= 0.99


def test_cards_and_ibans_are_masked() -> None:
    out = masked(
        [
            "tarjeta 4111 1111 1111 1111 bloqueada",
            "carte 5500-0000-0000-0004",
            "amex 3782 822463 10005",
            "card 4012888888881881",
            "IBAN ES91 2100 0418 4502 0005 1332",
            "mon IBAN FR76 3000 6000 0112 3456 7890 189",
            "GB29 NWBK 6016 1331 9268 19",
            "es9121000418450200051332",
        ]
    )
    assert [o.count("[card]") for o in out[:4]] == [1, 1, 1, 1]
    assert [o.count("[iban]") for o in out[4:]] == [1, 1, 1, 1]
    assert not any(ch.isdigit() for o in out for ch in o)


@pytest.mark.parametrize(
    "text",
    [
        "El 12/05/2024 pagué 1.500 euros",
        "Pedido 12345 del 3 de mayo",
        "Esperé 45 minutos a las 10:30",
        "Code postal 75011, 2e étage",
        "Order #A1234 cost £29.99",
        "Ждал 2 часа, номер очереди 157",
        "Top 3 de 10 agences",
        "Version 2.3.1 of the app",
    ],
)
def test_ordinary_numbers_dates_and_amounts_are_left_alone(text: str) -> None:
    assert masked([text]) == [text]


def test_demo_pii_sentences_are_masked_and_scalar_helper_agrees() -> None:
    texts = [
        "Llámenme al +34 612 345 678.",
        "Rappelez-moi au 06 12 34 56 78.",
        "Email me at john.smith@example.com",
        "Перезвоните мне: +7 912 345-67-89.",
    ]
    assert masked(texts) == [
        "Llámenme al [phone].",
        "Rappelez-moi au [phone].",
        "Email me at [email]",
        "Перезвоните мне: [phone].",
    ]
    assert mask_text(texts[0]) == "Llámenme al [phone]."
