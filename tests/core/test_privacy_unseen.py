"""The masker on the frozen PII set nobody who wrote the patterns saw
(``tests/data/frozen/pii_unseen.jsonl``; provenance in ``pii_unseen_README.md``).

Measured once when it was frozen: recall 0.979 (229 of 234 items), look-alikes intact 0.982
(389 of 396). These are floors against regressions: the set has been seen, so it can no longer
say how the masker does on new text and must not be tuned on.
"""

import json
from pathlib import Path

from cx.core import privacy

SET = Path(__file__).resolve().parents[1] / "data" / "frozen" / "pii_unseen.jsonl"


def _records() -> list[dict]:
    return [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line]


def test_the_frozen_unseen_pii_set_keeps_its_measured_recall_and_look_alikes():
    items = masked = keeps = intact = 0
    for record in _records():
        out = privacy.mask_text(record["text"])
        for pii in record["pii"]:
            items += 1
            masked += pii["value"] not in out
        for keep in record["keep"]:
            keeps += 1
            intact += keep in out
    assert (items, keeps) == (234, 396)  # the frozen set itself is unchanged
    assert masked / items >= 0.975, f"recall {masked}/{items}"
    assert intact / keeps >= 0.98, f"look-alikes intact {intact}/{keeps}"
