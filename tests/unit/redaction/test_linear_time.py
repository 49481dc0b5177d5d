"""Every pattern on the redaction path runs in linear time, and a config regex that does not is refused.

Each pattern is run on inputs built to make a backtracking search slow (gateway/redaction/linear_time.py:
runs of separators, base64-looking runs, `%` runs, `a.` before `@`, digits split by spaces, capitalised
words, and runs read off the pattern itself after a text that reaches each of its repeated parts), at
two lengths, n and 8n. Its time must grow less than 16x where linear time grows 8x and quadratic 64x.
Growth, not a time limit, so that the tests do not depend on the machine or its load: the two lengths
read the same amount of text, in the thread's CPU time, a growth counts only if it repeats on every
retry, and a search of the longer input that takes under 2 ms passes (even if quadratic, it would read a
100,000-character string in about a second).

The cases are found, not listed, so that a pattern added later is covered without anyone adding it here:
- every pattern of every `PatternRecognizer` in the analyzer's registry (Presidio's predefined ones as
  ftgate registers them, ftgate's own, any added through `ftgate_recognizers()`), with its flags;
- every compiled pattern a module of `gateway.redaction` holds, at module level or in a list, dict or
  object there (names.py's cues, addresses.py's parts, ...);
- the regexes of the shipped redaction config, with Presidio's flags;
- the recognizers that are not pattern recognizers, whole (`analyze`), on the generic inputs: their own
  loops count too. spaCy's NER is left to benchmarks/redaction_adversarial.py (a model, not a pattern).

The rewritten patterns must find what the ones they replace found: each is compared with its baseline
(benchmarks/redaction_adversarial.py keeps them) on random texts built from the tokens it cares about.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import itertools
import pkgutil
import random
import re
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any, TypeAlias

import pytest
import regex
from presidio_analyzer import EntityRecognizer, PatternRecognizer
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

import gateway.redaction
from gateway.errors import ConfigError
from gateway.redaction.config import load_config, parse_config
from gateway.redaction.engine import build_analyzer
from gateway.redaction.linear_time import (
    PRESIDIO_FLAGS,
    Attack,
    PatternSearch,
    attacks_for,
    describe,
    generic_attacks,
    superlinear,
)
from gateway.redaction.normalize import encoded_segments, normalize
from gateway.settings import REPO_ROOT

# re.Pattern[str] | regex.Pattern[str]: the `regex` module has no type stubs here.
AnyPattern: TypeAlias = Any


def _load_benchmark() -> Any:
    # The baselines (the patterns before they were made linear) live in the benchmark that times them.
    path = REPO_ROOT / "benchmarks" / "redaction_adversarial.py"
    spec = importlib.util.spec_from_file_location("redaction_adversarial", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


adversarial = _load_benchmark()

# The analyzer as every scan builds it (process-wide; the session fixture returns the same one).
ANALYZER = build_analyzer()


def _compiled(recognizer: Any) -> dict[str, AnyPattern]:
    """A pattern recognizer's patterns, compiled as it compiles them (`Any`: Presidio is unannotated)."""
    return {
        f"{recognizer.name}:{pattern.name}": regex.compile(pattern.regex, recognizer.global_regex_flags)
        for pattern in recognizer.patterns
    }


def _registry_patterns() -> dict[str, AnyPattern]:
    found: dict[str, AnyPattern] = {}
    for recognizer in ANALYZER.registry.recognizers:
        if isinstance(recognizer, PatternRecognizer):
            found.update(_compiled(recognizer))
    for spec in load_config(REPO_ROOT / "policies").recognizers:
        for pattern_spec in spec.patterns:
            found[f"config:{spec.name}:{pattern_spec.name}"] = regex.compile(
                pattern_spec.regex, PRESIDIO_FLAGS
            )
    return found


def _held_patterns(value: Any, path: str, depth: int) -> Iterator[tuple[str, AnyPattern]]:
    """Compiled patterns in `value`, looking into containers and plain objects `depth` levels down."""
    if isinstance(value, (re.Pattern, regex.Pattern)):
        if isinstance(value.pattern, str):
            yield path, value
        return
    if depth == 0 or isinstance(value, (str, bytes, int, float, types.ModuleType, types.FunctionType)):
        return
    children: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        children = [(f"{path}[{key!r}]", child) for key, child in value.items()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        children = [(f"{path}[{i}]", child) for i, child in enumerate(value)]
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        children = [(f"{path}.{f.name}", getattr(value, f.name)) for f in dataclasses.fields(value)]
    elif isinstance(value, type) or hasattr(value, "__dict__"):  # a class's attributes, an object's
        children = [(f"{path}.{name}", child) for name, child in vars(value).items()]
    for child_path, child in children:
        yield from _held_patterns(child, child_path, depth - 1)


def _module_patterns() -> dict[str, AnyPattern]:
    found: dict[str, AnyPattern] = {}
    seen: set[tuple[str, int, str]] = set()
    for info in sorted(pkgutil.iter_modules(gateway.redaction.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"gateway.redaction.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, type) and value.__module__ != module.__name__:
                continue  # a class imported from elsewhere is looked into where it is defined
            for path, pattern in _held_patterns(value, f"{info.name}.{name}", depth=3):
                key = (pattern.pattern, pattern.flags, type(pattern).__name__)
                if key not in seen:
                    seen.add(key)
                    found[path] = pattern
    return found


PATTERNS = {**_registry_patterns(), **_module_patterns()}


def _name(recognizer: Any) -> str:
    return str(recognizer.name)


OTHER_RECOGNIZERS = {
    _name(r): r
    for r in ANALYZER.registry.recognizers
    if not isinstance(r, (PatternRecognizer, SpacyRecognizer))
}


def test_the_cases_are_found() -> None:
    """The discovery reaches what this file is meant to cover (if it broke, every test would pass)."""
    assert {"OfflineEmailRecognizer:Email (Medium)", "StreetAddressRecognizer:city_state_zip"} <= set(
        PATTERNS
    )
    assert any(name.startswith("normalize._URL_ENCODED") for name in PATTERNS)
    assert any(name.startswith("config:") for name in PATTERNS)
    assert "FtgatePhoneRecognizer" in OTHER_RECOGNIZERS


# Patterns that their callers apply at one position of a bounded window, never searched through a text:
# each is held to linear time for that one match (nested or ambiguous quantifiers would still show). A
# pattern's owner lists it here, with where the bound is, when it is written that way; an entry whose
# pattern is gone fails `test_windowed_patterns_exist`.
WINDOWED = {
    "addresses._CITY": "fullmatch of one line of at most _MAX_LINE (90) characters (addresses._fits)",
    "addresses._POSTAL": "fullmatch of one line of at most _MAX_LINE (90) characters (addresses._fits)",
    "addresses._NUMBER_LAST": "fullmatch of one line of at most _MAX_LINE (90) characters",
    "addresses._TOWN_TAIL": "match at a street finding's end, within _MAX_LINE (90) characters",
    "postcodes._PLACE_AFTER": "match at a postcode's end, within 60 characters",
    "postcodes._PLACE_BEFORE": "search of the _LOOK_BEHIND characters before a postcode",
}


def test_windowed_patterns_exist() -> None:
    assert set(WINDOWED) <= set(PATTERNS)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern_runs_in_linear_time(name: str) -> None:
    pattern = PATTERNS[name]
    slow = superlinear(PatternSearch(pattern, anchored=name in WINDOWED), attacks_for(pattern.pattern))
    assert not slow, f"{name} takes more than linear time: {describe(slow)}"


# The brief's families, for whole recognizers: their own code runs per match and per candidate.
RECOGNIZER_ATTACKS = [
    Attack("", pump, breaker)
    for pump in (" ", "-", ".", "/", "aB3+", "%", "a.", "1 ", "1/", "1-", "12 ", "Aa ", "A'", "A-", "a1")
    for breaker in ("", "@", "a")
]


@pytest.mark.parametrize("name", sorted(OTHER_RECOGNIZERS))
def test_recognizer_runs_in_linear_time(name: str) -> None:
    recognizer: EntityRecognizer = OTHER_RECOGNIZERS[name]
    no_artifacts: Any = None  # pattern and rule recognizers read the text alone

    def analyze(text: str) -> object:
        return recognizer.analyze(text, recognizer.supported_entities, no_artifacts)

    # Shorter inputs: libphonenumber reads digit runs at about 0.3 ms a character (linearly).
    slow = superlinear(analyze, RECOGNIZER_ATTACKS, small=150)
    assert not slow, f"{name} takes more than linear time: {describe(slow)}"


TEXT_FUNCTIONS: dict[str, Callable[[str], object]] = {
    "normalize": normalize,
    "encoded_segments": encoded_segments,
}


@pytest.mark.parametrize("name", sorted(TEXT_FUNCTIONS))
def test_disguise_decoding_runs_in_linear_time(name: str) -> None:
    # Many short hex runs, each also a base64 run: the overlap check was quadratic in their number.
    attacks = [*generic_attacks(), Attack("", "48656c6c6f20576f726c6421 ", ""), Attack("", "1 2 ", "")]
    slow = superlinear(TEXT_FUNCTIONS[name], attacks)
    assert not slow, f"{name} takes more than linear time: {describe(slow)}"


# --- the check itself: it catches what it is for -------------------------------------------------


@pytest.mark.parametrize("name", ["email", "url_encoded", "street_name"])
def test_the_check_catches_the_patterns_that_were_replaced(name: str) -> None:
    baseline = adversarial.BASELINES[name]
    slow = superlinear(
        PatternSearch(regex.compile(baseline.before, baseline.flags)),
        attacks_for(baseline.before),
        stop_after=1,
    )
    assert slow, f"the baseline {name} was quadratic, yet passed"


# --- the rewritten patterns find what the ones they replace found ---------------------------------


@pytest.mark.parametrize("name", sorted(adversarial.BASELINES))
def test_rewritten_pattern_finds_what_its_baseline_found(name: str) -> None:
    baseline = adversarial.BASELINES[name]
    before = regex.compile(baseline.before, baseline.flags)
    after = baseline.current()
    rng = random.Random(name)
    texts = [*baseline.examples]
    texts += ["".join(rng.choice(baseline.tokens) for _ in range(rng.randint(0, 10))) for _ in range(4000)]
    differ = [
        t for t in texts if [m.span() for m in before.finditer(t)] != [m.span() for m in after.finditer(t)]
    ]
    assert not differ, f"{name} finds other spans in {differ[:3]}"
    assert all(before.search(t) for t in baseline.examples), "each example holds a match"


# --- the redaction config: a regex that backtracks is refused at load ------------------------------


def _document(pattern: str) -> dict[str, Any]:
    spec = {"name": "p", "regex": pattern, "score": 0.5}
    return {"entities": {}, "recognizers": [{"name": "custom", "entity": "CUSTOM", "patterns": [spec]}]}


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a+)+$",  # exponential
        r"\bEMP-(?:\d+)+\b",  # nested quantifiers after a keyword
        r"\bcase\s*#?\s*\d+",  # two runs of blanks that share the same spaces
        r"[^\s%]*(?:%[0-9A-Fa-f]{2}[^\s%]*)+",  # a run read again from every start (was _URL_ENCODED)
    ],
)
def test_config_refuses_a_regex_that_takes_more_than_linear_time(pattern: str) -> None:
    with pytest.raises(ConfigError, match=r"recognizers\.0\.patterns\.0\.regex: .*more than linear time"):
        parse_config(_document(pattern))


@pytest.mark.parametrize(
    "pattern", [r"\bEMP-\d{6}\b", r"\bcase\s*+#?\s*+\d+", r"(?<![\w-])[A-Z]{2}\d{6}(?!\w)"]
)
def test_config_accepts_a_linear_regex(pattern: str) -> None:
    assert parse_config(_document(pattern)).recognizers[0].patterns[0].regex == pattern


def test_config_regex_compiles_as_presidio_compiles_it() -> None:
    # Presidio uses the `regex` module: a Unicode property is fine, a broken group is not.
    assert parse_config(_document(r"\bREF-\p{Lu}{3}\d{4}\b"))
    with pytest.raises(ConfigError, match="does not compile"):
        parse_config(_document(r"(EMP-\d+"))


# --- spaCy's tokenizer, as the analyzer's engines configure it ---------------------------------------

SUFFIX_RUNS = ["%", ")", '"', "'", "!", "?", ",", ";", ":", "]", "}", ">", "*", "#", "...", "km"]
# Runs that spaCy's URL rule reads in quadratic time (`user:password@`): see engine.match_urls_up_to.
URL_RUNS = ["a:", "9:", "a@:", "http://a:"]


@pytest.mark.parametrize("detector", ["main", "residual"])
def test_the_tokenizer_runs_in_linear_time(detector: str) -> None:
    """spaCy's suffix search reads a whole run of suffix characters at each step, and its URL rule a run
    of colons: quadratic, unless the engine limits both (engine.search_suffix_in_tail, match_urls_up_to)."""
    from gateway.redaction.config import default_config
    from gateway.redaction.engine import analyzer_for, residual_analyzer_for

    build = analyzer_for if detector == "main" else residual_analyzer_for
    tokenizer = build(default_config()).nlp_engine.nlp["en"].tokenizer  # type: ignore[attr-defined]
    fresh = itertools.count()

    def tokenize(text: str) -> None:
        # A token never seen before each time: spaCy caches the split of a token it has seen.
        tokenizer(f"{next(fresh)}{text}")

    attacks = [Attack("x", run, "") for run in SUFFIX_RUNS] + [
        Attack("", "9" + run, "") for run in SUFFIX_RUNS
    ]
    slow = superlinear(tokenize, attacks)
    # Past the URL bound at both lengths: below it, the URL rule's cost is bounded by it.
    slow += superlinear(tokenize, [Attack("x", run, "") for run in URL_RUNS], small=3000)
    assert not slow, f"spaCy's tokenizer takes more than linear time: {describe(slow)}"
