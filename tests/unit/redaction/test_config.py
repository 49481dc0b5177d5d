"""The compliance-owned redaction config on the real analyzer: entities, thresholds, operators, allow-list,
custom recognizers, JSON numbers, and every way a bad file is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from presidio_analyzer import AnalyzerEngine

from gateway.errors import ConfigError
from gateway.redaction import Scanner
from gateway.redaction.config import (
    CONFIG_RELATIVE_PATH,
    DEFAULT_ENTITIES,
    RedactionConfig,
    default_config,
    load_config,
    parse_config,
)
from gateway.redaction.operators import PLACEHOLDER_RE
from gateway.settings import REPO_ROOT

from .conftest import KEY

CARD = "4454794511390933"
SSN = "460-89-9847"
EMAIL = "UtaKortig@jourrapide.com"
BARE_PHONE = "212 555 0178"


def make(analyzer: AnalyzerEngine, key: bytes = KEY, **document: Any) -> Scanner:
    entities = document.pop("entities", DEFAULT_ENTITIES)
    config = parse_config({"entities": entities, **document})
    return Scanner(pseudonym_key=key, analyzer=analyzer, config=config)


def with_rule(entity: str, **rule: Any) -> dict[str, Any]:
    return {**DEFAULT_ENTITIES, entity: {**DEFAULT_ENTITIES.get(entity, {}), **rule}}


def one(scanner: Scanner, text: str) -> str:
    result = scanner.scan([{"prompt": text, "completion": "ok"}])
    [record] = result.redacted
    return str(record["prompt"])


# --- the shipped file and the defaults ---------------------------------------------------------


def test_shipped_config_loads_and_keeps_the_default_entity_set() -> None:
    shipped = load_config(REPO_ROOT / "policies")
    assert shipped.enabled() == sorted({*DEFAULT_ENTITIES, "EMPLOYEE_ID"})
    assert shipped.threshold("PHONE_NUMBER") == 0.4
    assert "support@acme.com" in shipped.allow_list


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path) == default_config()


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Let us finish the report this month.", "this month"),  # not a calendar point (dates.py)
        ("Reply within 2 hours, please.", "2 hours"),
        ("See https://docs.python.org/3/library/json.html for details.", "https://docs.python.org"),  # URL
    ],
)
def test_default_set_leaves_content_words_alone(analyzer: AnalyzerEngine, text: str, kept: str) -> None:
    assert kept in one(make(analyzer), text)


def test_bare_phone_number_is_caught_at_its_own_threshold(analyzer: AnalyzerEngine) -> None:
    # No cue before the number ("reach me at" would make it one: answers.PhoneCueRecognizer).
    text = f"Try {BARE_PHONE} after lunch."
    assert one(make(analyzer), text) == "Try <PHONE_NUMBER_1> after lunch."
    # At the global 0.5 Presidio's 0.4 for a phone without a context word is a miss.
    assert BARE_PHONE in one(make(analyzer, entities=with_rule("PHONE_NUMBER", threshold=0.5)), text)


# --- JSON numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "field", "expected"),
    [
        ({"prompt": "p", "completion": "c", "card": int(CARD)}, "card", "<CREDIT_CARD_1>"),
        (
            {"prompt": "p", "completion": "c", "meta": {"cards": [int(CARD)]}},
            "meta",
            {"cards": ["<CREDIT_CARD_1>"]},
        ),
        ({"prompt": "p", "completion": "c", "n": 3}, "n", 3),
        ({"prompt": "p", "completion": "c", "score": 0.25}, "score", 0.25),
        ({"prompt": "p", "completion": "c", "flag": True}, "flag", True),
    ],
)
def test_numbers_are_scanned_and_keep_their_type_when_clean(
    analyzer: AnalyzerEngine, record: dict[str, Any], field: str, expected: Any
) -> None:
    result = make(analyzer).scan([record])
    assert result.redacted[0][field] == expected
    assert type(result.redacted[0][field]) is type(expected)


def test_number_finding_is_counted_under_its_field(analyzer: AnalyzerEngine) -> None:
    report = make(analyzer).scan([{"prompt": "p", "completion": "c", "meta": {"card": int(CARD)}}]).report
    assert report.entities == {"CREDIT_CARD": 1}
    assert report.fields == {"meta.card": 1}


# --- operators -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({}, "Card <CREDIT_CARD_1> was declined."),
        ({"operator": "pseudonym"}, "Card <CREDIT_CARD_1> was declined."),
        ({"operator": "mask"}, "Card **************** was declined."),
        ({"operator": "mask", "keep_last": 4, "mask_char": "#"}, "Card ############0933 was declined."),
        ({"operator": "hash"}, "Card <CREDIT_CARD#{hash}> was declined."),
    ],
)
def test_operator_per_entity(analyzer: AnalyzerEngine, rule: dict[str, Any], expected: str) -> None:
    scanner = make(analyzer, entities=with_rule("CREDIT_CARD", **rule))
    out = one(scanner, f"Card {CARD} was declined.")
    if "{hash}" in expected:
        match = PLACEHOLDER_RE.search(out)
        assert match and out == expected.format(hash=match.group()[len("<CREDIT_CARD#") : -1])
    else:
        assert out == expected
    assert CARD not in out


def test_hash_is_keyed_and_stable(analyzer: AnalyzerEngine) -> None:
    entities = with_rule("EMAIL_ADDRESS", operator="hash")
    text = f"Mail {EMAIL} today."
    first, again = one(make(analyzer, entities=entities), text), one(make(analyzer, entities=entities), text)
    other_key = one(make(analyzer, key=b"another-key", entities=entities), text)
    assert first == again  # the same value hashes alike in every dataset under one key
    assert first != other_key  # without the key the hash cannot be recomputed from a guess
    # Spacing and case do not make another value.
    assert one(make(analyzer, entities=entities), f"Mail {EMAIL.upper()} today.") == first


def test_drop_record_leaves_the_record_out_and_counts_it(analyzer: AnalyzerEngine) -> None:
    scanner = make(analyzer, entities=with_rule("US_SSN", operator="drop_record"))
    records: list[dict[str, Any]] = [
        {"prompt": f"My social security number is {SSN}.", "completion": "ok"},
        {"prompt": f"Mail {EMAIL} today.", "completion": "ok"},
        {"prompt": "Nothing here.", "completion": "ok", "meta": {"ssn": SSN}},
    ]
    result = scanner.scan(records)
    assert result.redacted == [{"prompt": "Mail <EMAIL_ADDRESS_1> today.", "completion": "ok"}]
    report = result.report
    assert (report.records, report.records_dropped, report.records_changed) == (3, 2, 1)
    assert report.entities == {"EMAIL_ADDRESS": 1, "US_SSN": 2}
    assert report.operators == {"EMAIL_ADDRESS": "pseudonym", "US_SSN": "drop_record"}
    assert SSN not in json.dumps(report.model_dump())


# --- allow-list and custom recognizers ------------------------------------------------------


def test_allow_list_keeps_listed_values_only(analyzer: AnalyzerEngine) -> None:
    scanner = make(analyzer, allow_list=["support@acme.com"])
    out = one(scanner, f"Write to support@acme.com or Support@Acme.com, not {EMAIL}.")
    assert out == "Write to support@acme.com or Support@Acme.com, not <EMAIL_ADDRESS_1>."


EMPLOYEE = {
    "name": "employee_id",
    "entity": "EMPLOYEE_ID",
    "patterns": [{"name": "emp", "regex": r"\bEMP-\d{6}\b", "score": 0.4}],
    "context": ["employee", "badge"],
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The employee EMP-123456 asked for leave.", "The employee <EMPLOYEE_ID_1> asked for leave."),
        ("Badge EMP-123456 was lost.", "Badge <EMPLOYEE_ID_1> was lost."),
        ("Order EMP-123456 shipped.", "Order EMP-123456 shipped."),  # 0.4 without a context word
    ],
)
def test_custom_recognizer_with_context_words(analyzer: AnalyzerEngine, text: str, expected: str) -> None:
    assert one(make(analyzer, recognizers=[EMPLOYEE]), text) == expected


def test_custom_recognizer_does_not_change_the_shared_analyzer(analyzer: AnalyzerEngine) -> None:
    make(analyzer, recognizers=[EMPLOYEE])
    assert "EMPLOYEE_ID" not in analyzer.get_supported_entities("en")


def test_report_names_thresholds_operators_and_the_config_hash(analyzer: AnalyzerEngine) -> None:
    scanner = make(analyzer)
    report = scanner.scan([{"prompt": f"Mail {EMAIL}.", "completion": "ok"}]).report
    assert report.thresholds["PHONE_NUMBER"] == 0.4 and report.thresholds["PERSON"] == 0.5
    assert report.operators == {"EMAIL_ADDRESS": "pseudonym"}
    assert report.config_sha256 == scanner.config.sha256() and len(report.config_sha256) == 64


# --- bad files are refused, naming the field ------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"entities": {"EMAIL": {}}}, "no recognizer finds: EMAIL"),
        ({"entities": {}}, "enables no entity type"),
        ({"entities": {"PERSON": {"threshold": 1.5}}}, "entities.PERSON.threshold"),
        ({"entities": {"PERSON": {"operator": "shred"}}}, "entities.PERSON.operator"),
        ({"entities": {"PERSON": {"treshold": 0.5}}}, "entities.PERSON.treshold"),
        ({"entities": {"person": {}}}, "UPPER_SNAKE"),
        ({"entities": {"PERSON": {}}, "allow_lists": []}, "allow_lists"),
        (
            {
                "entities": {},
                "recognizers": [{**EMPLOYEE, "patterns": [{"name": "x", "regex": "(", "score": 1}]}],
            },
            "does not compile",
        ),
        ({"entities": {}, "recognizers": [{**EMPLOYEE, "entity": "employee"}]}, "UPPER_SNAKE"),
        ({"entities": {}, "recognizers": [EMPLOYEE, EMPLOYEE]}, "unique"),
        ({"entities": {"PERSON": {"operator": "mask", "mask_char": "**"}}}, "mask_char"),
    ],
)
def test_bad_config_is_refused(analyzer: AnalyzerEngine, document: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Scanner(pseudonym_key=KEY, analyzer=analyzer, config=parse_config(document))


@pytest.mark.parametrize(
    "content", ["{not json", "[1, 2]", '{"entities": {"PERSON": {"threshold": "high"}}}']
)
def test_unreadable_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / CONFIG_RELATIVE_PATH
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(ConfigError, match=str(path)):
        load_config(tmp_path)


def test_config_hash_follows_content() -> None:
    base = default_config()
    assert base.sha256() == RedactionConfig.model_validate(base.model_dump()).sha256()
    assert base.sha256() != base.model_copy(update={"allow_list": ["x@y.com"]}).sha256()
