"""PII masking: recall on a generated set of e-mails and phone numbers (7 demo countries,
national and international formats), cards and IBANs, and no masking of ordinary numbers."""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy.engine import Engine

from cx.core import privacy, privacy_eval
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


# ---------------------------------------------------------------- widened masking (issue 12)


def leaks(texts: list[str], values: list[str]) -> list[tuple[str, str]]:
    """(value, masked text) for each value still present after masking."""
    return [(v, o) for v, o in zip(values, masked(texts), strict=True) if v in o]


def test_unicode_and_internationalised_e_mails_are_masked_whole() -> None:
    values = [
        "josé.garcía@correo.es",
        "müller@bücher.de",
        "françois.lefèvre@exemple.fr",
        "иван.петров@почта.рф",
        "ñandú_77@dominio.com.ar",
        "o'brien@example.co.uk",
        "用户@例子.广告",
        "ana.lópez+cx@xn--espaa-rta.es",
        "ana＠correo.es",
    ]
    texts = [f"Mi correo: {v}, gracias" for v in values]
    assert leaks(texts, values) == []
    assert mask_text("Écrivez à josé.garcía@correo.es.") == "Écrivez à [email]."


@pytest.mark.parametrize(
    "value",
    [
        "lucia punto garcia arroba gmail punto com",
        "lucia.garcia arroba ejemplo.es",
        "ana (arroba) correo (punto) es",
        "jean arobase orange point fr",
        "julien.martin [at] exemple [dot] fr",
        "john at gmail dot com",
        "john AT example DOT co DOT uk",
        "john {at} example {dot} com",
        "ivan собака mail точка ru",
        "ivan собака yandex.ru",
        "petrov (собака) mail (точка) ru",
        "ana @ correo.es",
        "ana@correo punto es",
        "ana_at_correo_dot_es",
    ],
)
def test_spelled_out_addresses_in_four_languages_are_masked(value: str) -> None:
    out = mask_text(f"Escríbanme: {value} por favor")
    assert "[email]" in out and value not in out, out


@pytest.mark.parametrize(
    "value",
    [
        "612/345/678",
        "91/234/56/78",
        "555-1234",
        "555.1234",
        "(612) 345 678",
        "(91) 234 56 78",
        "(+34) 612 345 678",
        "+34 (612) 345-678",
        "06/12/34/56/78",
        "06.12.34.56.78",
        "(0)6 12 34 56 78",
        "020-7946-0958",
        "(212) 555.0123",
        "212.555.0123",
        "54 9 11 4123 4567",
        "8-912-345-67-89",
        "8 912 3456789",
        "+7 (912) 345 67 89",
        "0044 20 7946 0958",
    ],
)
def test_more_phone_shapes_are_masked(value: str) -> None:
    out = mask_text(f"Llamen al {value} mañana")
    assert "[phone]" in out and value not in out, out


@pytest.mark.parametrize(
    "text",
    [
        "call me on 555 1234 tonight",
        "llámame al 555 1234",
        "перезвоните 123-45-67",
        "позвоните по номеру 123 45 67",
    ],
)
def test_local_seven_digit_numbers_are_phones_when_a_word_says_so(text: str) -> None:
    out = mask_text(text)
    assert "[phone]" in out and not any(ch.isdigit() for ch in out), out


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("12345678Z", "Mi DNI es 12345678Z"),
        ("12.345.678-Z", "DNI: 12.345.678-Z"),
        ("X1234567L", "mi NIE X1234567L caducó"),
        ("Y-1234567-X", "NIE Y-1234567-X"),
        ("1 85 05 78 006 084 36", "Mon numéro de sécurité sociale : 1 85 05 78 006 084 36"),
        ("285052A00608436", "sécu 285052A00608436"),
        ("185057800608436", "mon NIR est 185057800608436"),
        ("AB 12 34 56 C", "my NI number is AB 12 34 56 C"),
        ("QQ123456C", "NINO QQ123456C thanks"),
        ("123-45-6789", "SSN 123-45-6789"),
        ("078 05 1120", "social security 078 05 1120"),
        ("GODE561231HDFRRN09", "mi CURP GODE561231HDFRRN09"),
        ("GODE561231GR8", "RFC GODE561231GR8"),
        ("ABC-991231-XY1", "facturar al RFC ABC-991231-XY1"),
        ("30.123.456", "mi DNI es 30.123.456"),
        ("30123456", "D.N.I. 30123456"),
        ("20-12345678-3", "CUIL 20-12345678-3"),
        ("27.30.123.456.4", "CUIT 27.30.123.456.4"),
        ("45 06 123456", "паспорт 45 06 123456"),
        ("4506 123456", "мой паспорт: 4506 123456"),
        ("серия 4506 номер 123456", "паспорт серия 4506 номер 123456"),
        ("123-456-789 01", "СНИЛС 123-456-789 01"),
        ("112-233-445 95", "мой снилс 112-233-445 95"),
        ("7707083893", "ИНН 7707083893"),
        ("500100732259", "мой ИНН: 500100732259"),
        ("AAA123456", "pasaporte AAA123456"),
        ("12AB34567", "passeport 12AB34567"),
        ("123456789", "passport number 123456789"),
        ("28/12345678/40", "n.º de la Seguridad Social 28/12345678/40"),
        ("30123456", "30123456 es mi DNI"),
        ("B12345678", "facturen al CIF B12345678"),
    ],
)
def test_identity_passport_and_social_security_numbers_are_masked(value: str, text: str) -> None:
    out = mask_text(text)
    assert "[id]" in out and value not in out, out


LUHN_VALID = [
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4012888888881881",
    "5500 0000 0000 0004",
    "5105105105105100",
    "3782 822463 10005",
    "371449635398431",
    "6011 1111 1111 1117",
    "3530 1113 3330 0000",
    "2221 0000 0000 0009",
    "4222222222222",
    "6304 0000 0000 0000 018",
]


def test_luhn_valid_card_numbers_are_masked() -> None:
    texts = [f"Pagué con la tarjeta {v} ayer" for v in LUHN_VALID]
    out = masked(texts)
    assert [o.count("[card]") for o in out] == [1] * len(LUHN_VALID), out
    assert leaks(texts, LUHN_VALID) == []


@pytest.mark.parametrize(
    "text",
    [
        "Pedido 4111 1111 1111 1112 sin entregar",  # card-shaped, Luhn fails: an order number
        "Order 1234 5678 9012 3456 never came",
        "Référence 4111111111111112",
        "pedido 1234567890123",
        "Commande n° 2024-000123 du 12/05/2024",
        "El 12/05/2024 a las 10:30 pagué 1.500,00 €",
        "Le 2024-05-12 à 14h30, 1 250,00 € pour 3 articles",
        "Paid $1,299.99 on 05/12/2024 at 9:45 pm",
        "Заплатил 12 500 рублей 12.05.2024 в 10:30",
        "Horario 10.30 11.45 12.00 en la agencia",
        "Ticket #A1234-567, caja 3, 9/10 de nota, abierto 24/7",
        "Version 2.3.1, build 20240512",
        "Esperé de 10:30 a 12:15, turno 157",
        "I was at home.It was late",
        "We met at the store dot and spoke at length.",
    ],
)
def test_prices_dates_times_and_order_numbers_stay_intact(text: str) -> None:
    assert mask_text(text) == text


def test_mask_frame_masks_only_the_text_columns_it_is_given() -> None:
    frame = pl.DataFrame({"comment": ["DNI 12345678Z"], "agency": ["612 345 678"], "nps": [2]})
    out = privacy.mask_frame(frame)
    assert out.row(0) == ("DNI [id]", "612 345 678", 2)
    assert privacy.mask_frame(frame.drop("comment")).equals(frame.drop("comment"))


def test_masking_a_column_with_nulls_and_no_personal_data_changes_nothing() -> None:
    frame = pl.DataFrame({"t": [None, "", "bien", "todo 10/10"]}, schema={"t": pl.String})
    assert frame.select(mask_pii(pl.col("t")))["t"].to_list() == [None, "", "bien", "todo 10/10"]


def test_the_evaluation_command_reports_recall_and_intact_keep_strings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        {
            "id": "a",
            "language": "es",
            "text": "Llamen al 612/345/678 el 12/05/2024",
            "pii": [{"kind": "phone", "value": "612/345/678"}],
            "keep": ["12/05/2024"],
        },
        {
            "id": "b",
            "language": "en",
            "text": "order 4111 1111 1111 1112, card 4111 1111 1111 1111",
            "pii": [{"kind": "card", "value": "4111 1111 1111 1111"}],
            "keep": ["4111 1111 1111 1112"],
        },
        {
            "id": "c",
            "language": "en",
            "text": "call 5550 please",
            "pii": [{"kind": "phone", "value": "5550"}],
        },
    ]
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in lines) + "\n", encoding="utf-8")
    assert privacy_eval.main([str(path), "--misses"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["recall"] == {"n": 3, "share": round(2 / 3, 4)}
    assert report["recall_by_kind"]["card"] == {"n": 1, "share": 1.0}
    assert report["keep_intact"] == {"n": 2, "share": 1.0}
    assert [m["id"] for m in report["missed"]] == ["c"]
    path.write_text('{"id": 1, "text": "x"}\nnot json\n', encoding="utf-8")
    assert privacy_eval.main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "set.jsonl:2" in err and "Traceback" not in err


def test_the_word_cloud_never_shows_the_parts_of_an_address_or_a_number() -> None:
    """Word clouds count the words of masked comments: the pieces of a spelled-out address or of
    an identity number never become words of the cloud."""
    from cx.core.filters import Filters
    from cx.core.scope import Scope
    from cx.voice import verbatims

    comments = [
        "escríbanme a lucia punto garcia arroba gmail punto com",
        "mi DNI es 12345678Z y mi tarjeta 4111 1111 1111 1111",
        "ivan собака yandex точка ru перезвоните",
        "pasaporte AAA123456, atención lenta",
        "atención lenta en caja",
    ]
    frame = pl.LazyFrame(
        {
            "response_id": [f"r{i}" for i in range(5)],
            "wave": ["2026-Q1"] * 5,
            "region": ["Europe"] * 5,
            "country": ["ES"] * 5,
            "agency": ["Madrid"] * 5,
            "nps": [3] * 5,
            "weight": [1.0] * 5,
            "comment": comments,
        }
    )
    words = set(verbatims.word_frequencies(frame, Scope.world(), Filters())["word"].to_list())
    assert "lenta" in words
    assert not words & {"lucia", "garcia", "gmail", "ivan", "yandex", "aaa"}


def test_a_rule_on_the_comment_matches_the_masked_text_so_its_count_reveals_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    """A rule's match count is shown to analysts: matched on the raw comment, it would tell
    whether a given phone number or address is in the data, whatever the masking hides."""
    from cx import store
    from cx.core.scope import Scope
    from cx.loop import rule_store, rules
    from tests.support.datadir import write_org

    root = write_org(tmp_path / "data")
    frame = pl.LazyFrame(
        {
            "response_id": ["r1", "r2"],
            "wave": ["2026-Q1"] * 2,
            "customer_id": ["C1", "C2"],
            "region": ["Europe"] * 2,
            "country": ["ES"] * 2,
            "agency": ["Madrid"] * 2,
            "nps": [2, 3],
            "weight": [1.0, 1.0],
            "comment": ["Llámenme al 612 345 678", "Escriban a ana@correo.es"],
        }
    )

    def matched(condition: str) -> int:
        with store.session(engine) as s:
            rule = rule_store.save_rule(
                s,
                name=f"probe {condition}",
                condition=condition,
                actions=[{"type": "email_customer"}],
                actor="cli",
                source="cli",
            )
        out = rules.run_rules(
            engine, frame, Scope.world(), actor="cli", root=root, rule_ids=[rule.id or 0]
        )
        return int(out["matched"])

    assert matched("comment = 'Llámenme al 612 345 678'") == 0
    assert matched("comment = 'Escriban a ana@correo.es'") == 0
    assert matched("comment = 'Llámenme al [phone]'") == 1
