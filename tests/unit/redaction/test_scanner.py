"""The scanner on the real analyzer: what is replaced, where, how it is numbered and reported."""

from __future__ import annotations

import copy
import json
from collections.abc import MutableMapping
from typing import Any

import pytest
from presidio_analyzer import AnalyzerEngine, RecognizerResult

from gateway.errors import ConfigError, InvalidInput, RedactionError
from gateway.redaction import Scanner
from gateway.redaction.config import parse_config
from gateway.redaction.operators import PLACEHOLDER_RE

from .conftest import KEY

# Values from the synthetic corpus in shared/data/pii (presidio-research), in sentences the small
# spaCy model reads the intended way.
ENTITY_CASES = [
    ("EMAIL_ADDRESS", "UtaKortig@jourrapide.com", "Please send the invoice to {} by mail."),
    ("PHONE_NUMBER", "905-674-3793", "My phone number is {}, call me after lunch."),
    ("CREDIT_CARD", "4454794511390933", "My credit card number is {} and it was declined."),
    ("US_SSN", "460-89-9847", "My social security number is {}."),
    ("IBAN_CODE", "GB56HXDO88167774656119", "Transfer the refund to IBAN {} please."),
    ("IP_ADDRESS", "106.31.73.20", "The server at {} keeps timing out."),
    ("PERSON", "Krisztián Szöllösy", "I spoke with {} about the contract."),
    ("PERSON", "Sara Schwarz", "My name is {} and I need help."),
]
REPLY = "Thanks, I have noted it."


def chat(text: str) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": "You are a helpful support agent."},
            {"role": "user", "content": text},
            {"role": "assistant", "content": REPLY},
        ]
    }


def prompt_completion(text: str) -> dict[str, Any]:
    return {"prompt": text, "completion": REPLY}


SHAPES = [
    pytest.param(chat, lambda r: r["messages"][1]["content"], "messages[].content", id="chat"),
    pytest.param(prompt_completion, lambda r: r["prompt"], "prompt", id="prompt-completion"),
]

NO_PII = [
    chat("Explain how binary search works."),
    prompt_completion("Write a haiku about autumn leaves."),
    {
        "prompt": "Shorten this sentence: the cat sat on the mat.",
        "completion": "A cat sat on a mat.",
        "metadata": {"source": "synthetic", "split": "train", "tags": ["toy", "summary"], "n": 3},
    },
    {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "  "}]},
    {"score": 0.5, "ok": True, "none": None, "nested": [[1, 2], {"k": [True, None]}]},
]


def strings(value: Any) -> list[str]:
    """Every string value and key under `value`."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [*strings(key), *strings(item)]]
    return []


def field_text(record: Any, path: str) -> str:
    """The string at a mark's field path, e.g. `messages[1].content`."""
    value = record
    for part in path.replace("[", ".[").split("."):
        if part.startswith("["):
            value = value[int(part[1:-1])]
        elif part:
            value = value[part]
    assert isinstance(value, str)
    return value


def assert_same_shape(before: Any, after: Any) -> None:
    assert type(before) is type(after)
    if isinstance(before, list):
        assert len(before) == len(after)
        for a, b in zip(before, after, strict=True):
            assert_same_shape(a, b)
    elif isinstance(before, dict):
        assert len(before) == len(after)
        for (_, a), (_, b) in zip(before.items(), after.items(), strict=True):
            assert_same_shape(a, b)


@pytest.mark.parametrize("make, text_of, field", SHAPES)
@pytest.mark.parametrize("entity_type, value, template", ENTITY_CASES)
def test_entity_is_replaced_by_typed_placeholder(
    scanner: Scanner, make: Any, text_of: Any, field: str, entity_type: str, value: str, template: str
) -> None:
    record = make(template.format(value))
    result = scanner.scan([record])

    redacted = result.redacted[0]
    assert text_of(redacted) == template.format(f"<{entity_type}_1>")
    assert value not in json.dumps(redacted, ensure_ascii=False)
    assert_same_shape(record, redacted)
    assert result.report.entities == {entity_type: 1}
    assert result.report.fields == {field: 1}
    assert result.report.residual_findings == 0
    assert (result.report.records, result.report.records_changed) == (1, 1)


def test_chat_records_stay_valid(scanner: Scanner) -> None:
    record = chat("Hi, I am Jamie Pratt, my mail is JamiePratt@jourrapide.com.")
    redacted = scanner.scan([record]).redacted[0]
    assert list(redacted) == ["messages"]
    assert [m["role"] for m in redacted["messages"]] == ["system", "user", "assistant"]
    assert all(set(m) == {"role", "content"} for m in redacted["messages"])
    assert redacted["messages"][1]["content"] == "Hi, I am <PERSON_1>, my mail is <EMAIL_ADDRESS_1>."


@pytest.mark.parametrize(
    "record, get, expected, field",
    [
        (
            {"prompt": "hi", "metadata": {"contact": {"email": "UtaKortig@jourrapide.com"}}},
            lambda r: r["metadata"]["contact"]["email"],
            "<EMAIL_ADDRESS_1>",
            "metadata.contact.email",
        ),
        (
            {"prompt": "hi", "metadata": {"history": [{"note": "My phone number is 905-674-3793."}]}},
            lambda r: r["metadata"]["history"][0]["note"],
            "My phone number is <PHONE_NUMBER_1>.",
            "metadata.history[].note",
        ),
        (
            {"prompt": "hi", "tags": ["reviewed", "server 106.31.73.20"]},
            lambda r: r["tags"][1],
            "server <IP_ADDRESS_1>",
            "tags[]",
        ),
        (
            {"prompt": "hi", "metadata": {"reviewers": {"EwanDawson@dayrep.com": "approved"}}},
            lambda r: list(r["metadata"]["reviewers"]),
            ["<EMAIL_ADDRESS_1>"],
            "metadata.reviewers.{key}",
        ),
        (
            {"prompt": "hi", "signers": {"Erik Baader": {"mail": "SzaszJanka@cuvox.de"}}},
            lambda r: r["signers"],
            {"<PERSON_1>": {"mail": "<EMAIL_ADDRESS_1>"}},
            None,
        ),
    ],
)
def test_nested_values_and_keys_are_scanned(
    scanner: Scanner, record: dict[str, Any], get: Any, expected: Any, field: str | None
) -> None:
    result = scanner.scan([record])
    assert get(result.redacted[0]) == expected
    assert result.redacted[0]["prompt"] == "hi"
    assert_same_shape(record, result.redacted[0])
    if field:
        assert result.report.fields == {field: 1}


def test_fields_under_a_redacted_key_never_name_it(scanner: Scanner) -> None:
    record = {"signers": {"Erik Baader": {"mail": "SzaszJanka@cuvox.de"}}}
    report = scanner.scan([record]).report
    assert report.fields == {"signers.{key}": 1, "signers.*.mail": 1}


@pytest.mark.parametrize("key", ["metadata", "Metadata", "messages", "content", "role", "source_id"])
def test_schema_keys_are_not_read_as_names(scanner: Scanner, key: str) -> None:
    """A whitespace-free key gets no NER: the small model alone calls "metadata" a PERSON."""
    result = scanner.scan([{key: {"owner": "UtaKortig@jourrapide.com"}}])
    assert result.redacted == [{key: {"owner": "<EMAIL_ADDRESS_1>"}}]


def test_same_value_same_placeholder_across_records(scanner: Scanner) -> None:
    records = [
        chat("I spoke with Krisztián Szöllösy about the contract."),
        prompt_completion("Please send the invoice to UtaKortig@jourrapide.com by mail."),
        {
            "prompt": "My name is Sara Schwarz and I need help.",
            "completion": "Sure.",
            "metadata": {"owner": "UtaKortig@jourrapide.com", "peer": "EwanDawson@dayrep.com"},
        },
        chat("I spoke with Krisztián Szöllösy about the contract."),
        prompt_completion("My name is Sara Schwarz and I need help."),
    ]
    out = scanner.scan(records).redacted
    assert out[0]["messages"][1]["content"] == "I spoke with <PERSON_1> about the contract."
    assert out[1]["prompt"] == "Please send the invoice to <EMAIL_ADDRESS_1> by mail."
    assert out[2]["prompt"] == "My name is <PERSON_2> and I need help."
    assert out[2]["metadata"] == {"owner": "<EMAIL_ADDRESS_1>", "peer": "<EMAIL_ADDRESS_2>"}
    assert out[3] == out[0]
    assert out[4]["prompt"] == out[2]["prompt"]


def test_numbers_follow_reading_order_within_a_string(scanner: Scanner) -> None:
    text = "Erik Baader and Sara Schwarz met; later Erik Baader wrote to UtaKortig@jourrapide.com."
    out = scanner.scan([prompt_completion(text)]).redacted[0]["prompt"]
    assert out == "<PERSON_1> and <PERSON_2> met; later <PERSON_1> wrote to <EMAIL_ADDRESS_1>."


def test_numbering_starts_afresh_for_each_dataset(scanner: Scanner) -> None:
    first = scanner.scan([prompt_completion("My name is Sara Schwarz and I need help.")])
    second = scanner.scan([prompt_completion("I spoke with Krisztián Szöllösy about the contract.")])
    assert "<PERSON_1>" in first.redacted[0]["prompt"]
    assert "<PERSON_1>" in second.redacted[0]["prompt"]


def test_credit_card_inside_a_spacy_date_keeps_its_type(scanner_all: Scanner, scanner: Scanner) -> None:
    """spaCy's small model reads "Card 4007070753690781" as one DATE; it names no calendar point, so it
    is dropped (`calendar_only`, dates.py) and the checked card number is replaced as a card."""
    for each in (scanner_all, scanner):
        result = each.scan([prompt_completion("Card 4007070753690781 expired.")])
        assert result.redacted[0]["prompt"] == "Card <CREDIT_CARD_1> expired."
        assert result.report.entities == {"CREDIT_CARD": 1}


def test_report_counts_by_type_and_field_and_holds_no_raw_value(scanner: Scanner) -> None:
    raw = {
        "person": "Jamie Pratt",
        "email": "JamiePratt@jourrapide.com",
        "phone": "905-674-3793",
        "ssn": "514-69-0360",
        "iban": "GB59IFUE40226315499137",
        "ip": "86.121.97.248",
        "card": "4007070753690781",
        "key": "SzaszJanka@cuvox.de",
    }
    records = [
        chat(f"Hi, I am {raw['person']}, my mail is {raw['email']}."),
        chat(f"My phone number is {raw['phone']}, call me after lunch."),
        prompt_completion(f"My social security number is {raw['ssn']}."),
        {
            "prompt": f"Transfer the refund to IBAN {raw['iban']} please.",
            "completion": REPLY,
            "metadata": {"client_ip": raw["ip"], "reviewers": {raw["key"]: "approved"}},
        },
        prompt_completion(f"My credit card number is {raw['card']} and it was declined."),
        prompt_completion("Write a haiku about autumn leaves."),
    ]
    report = scanner.scan(records).report

    assert report.records == 6
    assert report.records_changed == 5
    assert report.strings_scanned == sum(len(strings(r)) for r in records)
    assert report.entities == {
        "CREDIT_CARD": 1,
        "EMAIL_ADDRESS": 2,
        "IBAN_CODE": 1,
        "IP_ADDRESS": 1,
        "PERSON": 1,
        "PHONE_NUMBER": 1,
        "US_SSN": 1,
    }
    assert report.fields == {
        "messages[].content": 3,
        "metadata.client_ip": 1,
        "metadata.reviewers.{key}": 1,
        "prompt": 3,
    }
    assert report.residual_findings == 0 and report.residual_entities == {}
    assert report.score_threshold == 0.5
    assert report.analyzer.startswith("presidio-analyzer ")
    # The sample shows every entity type found, each placeholder marked in its field.
    assert set().union(*(s.entities for s in report.sample)) == set(report.entities)
    for sampled in report.sample:
        assert PLACEHOLDER_RE.search(json.dumps(sampled.redacted))
        assert sum(sampled.entities.values()) == sampled.findings == len(sampled.marks)
        for mark in sampled.marks:
            text = mark.get("key") or field_text(sampled.redacted, mark["field"])
            assert PLACEHOLDER_RE.fullmatch(text[mark["start"] : mark["end"]])
    dumped = report.model_dump_json()
    for value in raw.values():
        assert value not in dumped


def test_second_pass_finds_nothing_on_normal_chat_data(scanner: Scanner) -> None:
    people = ["Sara Schwarz", "Jamie Pratt", "Erik Baader", "Krisztián Szöllösy"]
    mails = ["UtaKortig@jourrapide.com", "EwanDawson@dayrep.com", "SueDHague@armyspy.com"]
    records = [
        chat(
            f"Hi, I am {people[i % 4]}. My phone number is 780-999-2181 and my mail is "
            f"{mails[i % 3]}. Please update my account."
        )
        for i in range(12)
    ] + [chat("My credit card number is 4454794511390933 and it was declined.")]
    report = scanner.scan(records).report
    assert report.records_changed == len(records)
    assert report.residual_findings == 0


# A value the main detector scores just under its threshold: the residual check, with its thresholds
# lowered, still sees it (tests/unit/redaction/test_passes.py drives the rounds themselves).
NEAR_MISS = {
    "entities": {"PERSON": {}, "EMAIL_ADDRESS": {}, "CASE_REF": {"threshold": 0.65}},
    "recognizers": [
        {
            "name": "case_ref",
            "entity": "CASE_REF",
            "patterns": [{"name": "case", "regex": "\\bCASE-\\d{4}\\b", "score": 0.55}],
        }
    ],
}


@pytest.mark.parametrize("action", ["refuse", "drop_record"])
def test_residual_findings_are_listed_by_record_field_and_type(analyzer: AnalyzerEngine, action: str) -> None:
    config = parse_config({**NEAR_MISS, "residual": action})
    scanner = Scanner(pseudonym_key=KEY, analyzer=analyzer, config=config)
    records = [
        prompt_completion("Mail UtaKortig@jourrapide.com please."),
        {"prompt": "ok", "completion": "done", "metadata": {"ref": "see CASE-1234 and CASE-9876"}},
        chat("Still waiting on CASE-5555."),
    ]
    result = scanner.scan(records)
    report = result.report
    assert [r.model_dump() for r in report.residual] == [
        {"record": 1, "field": "metadata.ref", "entity": "CASE_REF", "count": 2},
        {"record": 2, "field": "messages[].content", "entity": "CASE_REF", "count": 1},
    ]
    assert report.residual_records == 2
    assert report.residual_action == action
    assert "en_core_web_sm" in report.residual_check and "lowered by 0.15" in report.residual_check
    assert "CASE-" not in report.model_dump_json()  # places and types, never the value
    if action == "refuse":
        assert report.residual_findings == 3 and report.residual_entities == {"CASE_REF": 3}
        assert len(result.redacted) == 3 and report.records_dropped == 0
    else:  # the records are left out and counted; what is kept has no residual finding
        assert report.residual_findings == 0 and report.residual_entities == {}
        assert (report.records_dropped, report.records_dropped_residual) == (2, 2)
        assert result.redacted == [prompt_completion("Mail <EMAIL_ADDRESS_1> please.")]
    assert all(s.record == 0 for s in report.sample)  # a record with residual PII is never shown


def test_placeholders_are_not_pii_to_the_analyzer(analyzer: AnalyzerEngine) -> None:
    entity_types = sorted(analyzer.get_supported_entities("en"))
    text = " ".join(f"Please ask <{t}_{n}> about it." for n, t in enumerate(entity_types, start=1))
    assert analyzer.analyze(text, language="en", score_threshold=0.0) == []


@pytest.mark.parametrize("record", NO_PII)
def test_record_without_pii_is_unchanged(scanner: Scanner, record: dict[str, Any]) -> None:
    result = scanner.scan([copy.deepcopy(record)])
    assert result.redacted == [record]
    assert result.report.records_changed == 0
    assert result.report.entities == {} and result.report.fields == {}
    assert result.report.sample == []


def test_input_records_are_not_modified(scanner: Scanner) -> None:
    records = [chat("Hi, I am Jamie Pratt."), {"m": {"SzaszJanka@cuvox.de": ["x"]}}]
    before = copy.deepcopy(records)
    scanner.scan(records)
    assert records == before


def test_empty_dataset(scanner: Scanner) -> None:
    result = scanner.scan([])
    assert result.redacted == []
    assert (result.report.records, result.report.strings_scanned, result.report.residual_findings) == (
        0,
        0,
        0,
    )


def test_keys_that_redact_alike_are_refused(scanner: Scanner) -> None:
    record = {"m": {"UtaKortig@jourrapide.com": 1, "utakortig@jourrapide.com": 2}}
    with pytest.raises(InvalidInput, match="record 0"):
        scanner.scan([record])


def test_record_must_be_an_object(scanner: Scanner) -> None:
    with pytest.raises(InvalidInput, match="record 1"):
        scanner.scan([{"prompt": "x"}, ["not", "an", "object"]])  # type: ignore[list-item]


class ExplodingAnalyzer(AnalyzerEngine):
    """The real engine, failing the way a broken model or recognizer would."""

    def __init__(self, real: AnalyzerEngine, error: Exception) -> None:
        super().__init__(
            registry=real.registry, nlp_engine=real.nlp_engine, supported_languages=real.supported_languages
        )
        self.error = error

    def analyze(self, *args: Any, **kwargs: Any) -> list[RecognizerResult]:
        raise self.error


@pytest.mark.parametrize(
    "error, name",
    [
        (ValueError("cannot parse Sara Schwarz"), "ValueError"),
        (RuntimeError("model broke on 460-89-9847"), "RuntimeError"),
        (KeyError("UtaKortig@jourrapide.com"), "KeyError"),
    ],
)
def test_failing_analyzer_fails_closed(
    analyzer: AnalyzerEngine, logs: list[MutableMapping[str, Any]], error: Exception, name: str
) -> None:
    scanner = Scanner(pseudonym_key=KEY, analyzer=ExplodingAnalyzer(analyzer, error))
    with pytest.raises(RedactionError) as raised:
        scanner.scan([chat("My name is Sara Schwarz, SSN 460-89-9847, UtaKortig@jourrapide.com")])
    assert str(raised.value) == f"scanner failed: {name}"
    assert raised.value.__suppress_context__  # the original message may quote record text
    assert logs == [{"event": "redaction.failed", "error": name, "log_level": "warning"}]


def test_logs_carry_counts_never_text(scanner: Scanner, logs: list[MutableMapping[str, Any]]) -> None:
    scanner.scan([chat("Hi, I am Jamie Pratt, my mail is JamiePratt@jourrapide.com.")])
    assert [entry["event"] for entry in logs] == ["redaction.scanned"]
    assert logs[0]["records"] == 1 and logs[0]["findings"] == 2 and logs[0]["residual"] == 0
    assert "Pratt" not in repr(logs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pseudonym_key": b""},
        {"pseudonym_key": "text, not bytes"},
        {"pseudonym_key": KEY, "score_threshold": 1.5},
        {"pseudonym_key": KEY, "language": "de"},
        {"pseudonym_key": KEY, "redaction_rounds": 0},
    ],
)
def test_bad_configuration_is_refused(analyzer: AnalyzerEngine, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        Scanner(analyzer=analyzer, **kwargs)


def test_the_residual_check_can_read_only_the_changed_strings(analyzer: AnalyzerEngine) -> None:
    """`residual_scope: changed`: a near miss in a string redaction left alone is not read."""
    records = [
        prompt_completion("Mail UtaKortig@jourrapide.com about CASE-1234."),  # changed: read
        prompt_completion("Still waiting on CASE-5555."),  # unchanged: read only with scope all
    ]
    found = {}
    for scope in ("all", "changed"):
        config = parse_config({**NEAR_MISS, "residual_scope": scope})
        report = Scanner(pseudonym_key=KEY, analyzer=analyzer, config=config).scan(records).report
        found[scope] = [(r.record, r.field) for r in report.residual]
        assert report.residual_check.endswith(f"strings read: {scope}")
    assert found == {"all": [(0, "prompt"), (1, "prompt")], "changed": [(0, "prompt")]}
