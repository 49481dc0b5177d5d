"""spaCy's attribute ruler, its matches found through an index instead of its `Matcher`.

The attribute ruler of spaCy's English pipelines maps each fine-grained tag to its part of speech and
morphology, and has exceptions by word, tag and dependency: 179 rules, nearly all of one token. Its
`Matcher` tries every rule at every token, and took about as long as the parser (0.45 s of the 2.8 s
spaCy spends on the throughput benchmark's 1,400 texts, in every pass of a scan). The rules are tests
on a token's own attributes, so `RuleIndex` finds the same matches by looking each token's values up
in a table per set of attributes the rules test for equality, then checking the rest of the rule.

The same matches as `Matcher(doc, allow_missing=True)`, for the tests `RuleIndex` serves: an attribute
equal to a string, or in an `IN` list of strings (compared as the matcher compares them, by their ids in
the string store), not in a `NOT_IN` list, or whose string a `REGEX` finds (Python's `re`, as the
matcher); a flag (`IS_SPACE`, ...) equal to true or false. A rule's alternatives that match the same span
count once, as in the matcher. `index_attribute_ruler` installs the index only where every rule is of
that kind and has no callback, and leaves the ruler's `Matcher` in place otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import product
from operator import itemgetter
from typing import Any

from spacy.attrs import IDS
from spacy.strings import get_string_id
from spacy.tokens import Doc

# Attributes whose value `Doc.to_array` gives as the matcher reads it: a string's id, or a flag's 0 or 1.
# (POS is a symbol, MORPH and LEMMA have predicates of their own: a rule testing them keeps the Matcher.)
STRING_ATTRIBUTES = frozenset({"ORTH", "LOWER", "NORM", "TAG", "DEP", "SHAPE", "PREFIX", "SUFFIX"})
FLAG_ATTRIBUTES = frozenset({"IS_SPACE", "IS_PUNCT", "IS_ALPHA", "IS_DIGIT", "IS_LOWER", "IS_UPPER"})
_SAME = {"TEXT": "ORTH"}  # the matcher reads TEXT as ORTH

# A match as `AttributeRuler.match` returns it: (rule number, the rule key's id, start, end).
Match = tuple[int, int, int, int]


@dataclass(frozen=True)
class _Token:
    """One way a token of a rule matches: `columns` equal to `values`, and each check true."""

    columns: tuple[int, ...]
    values: tuple[int, ...]
    excluded: tuple[tuple[int, frozenset[int]], ...] = ()  # NOT_IN: column, ids it may not have
    searched: tuple[tuple[int, re.Pattern[str]], ...] = ()  # REGEX: column, pattern its string must hold

    def checks(self, row: tuple[int, ...], strings: Any) -> bool:
        return all(row[c] not in ids for c, ids in self.excluded) and all(
            pattern.search(strings[row[c]]) for c, pattern in self.searched
        )

    def matches(self, row: tuple[int, ...], strings: Any) -> bool:
        return all(row[c] == v for c, v in zip(self.columns, self.values, strict=True)) and self.checks(
            row, strings
        )


# A rule's pattern as the index keeps it: rule number, key id, its first token if that has checks to
# make beyond the table lookup (else None), and its other tokens.
_Entry = tuple[int, int, "_Token | None", tuple["_Token", ...]]


# A longer rule that starts at a token: rule number, key id, its other tokens.
_Longer = tuple[int, int, tuple["_Token", ...]]
# Distinct token values (tag, word, dependency, ...) whose rules an index remembers (then it starts afresh).
_ROWS_HELD = 200_000


class RuleIndex:
    """The matches of an attribute ruler's rules in a `Doc`, as its `match` method gives them."""

    def __init__(self, rules: Mapping[int, list[list[dict[str, Any]]]], strings: Any) -> None:
        """`rules`: for each rule number (the ruler's key is `str(number)`), its alternative patterns.

        Raises ValueError for a pattern the index does not serve (see the module docstring).
        """
        self._strings = strings
        columns: dict[str, int] = {}
        # First token's columns -> its values (one column: the value itself) -> the patterns.
        tables: dict[tuple[int, ...], dict[Any, list[_Entry]]] = {}
        for number, alternatives in rules.items():
            key = strings.add(str(number))
            for pattern in alternatives:
                if not pattern:
                    raise ValueError("an empty pattern")
                ways = [_ways(spec, columns) for spec in pattern]
                for first, *rest in product(*ways):
                    value = first.values[0] if len(first.values) == 1 else first.values
                    checked = first if first.excluded or first.searched else None
                    tables.setdefault(first.columns, {}).setdefault(value, []).append(
                        (number, key, checked, tuple(rest))
                    )
        self.attributes = [IDS[name] for name in columns]
        self._tables = [(_getter(cols), table) for cols, table in tables.items()]
        self._token_rules: dict[tuple[int, ...], tuple[tuple[tuple[int, int], ...], tuple[_Longer, ...]]] = {}

    def match(self, doc: Doc) -> list[Match]:
        """`AttributeRuler.match(doc)`: the matches, sorted by rule number, key, start and end."""
        if not len(doc) or not self._tables:
            return []
        if self.attributes:
            array = doc.to_array(self.attributes).tolist()
            rows = (
                [(value,) for value in array] if len(self.attributes) == 1 else [tuple(row) for row in array]
            )
        else:
            rows = [() for _ in range(len(doc))]
        length = len(rows)
        found: set[Match] = set()
        add = found.add
        for start, row in enumerate(rows):
            token = self._token_rules.get(row)
            if token is None:
                token = self._rules_at(row)
            single, longer = token
            for number, key in single:
                add((number, key, start, start + 1))
            for number, key, rest in longer:
                end = start + 1 + len(rest)
                if end <= length and all(
                    t.matches(rows[start + 1 + i], self._strings) for i, t in enumerate(rest)
                ):
                    add((number, key, start, end))
        return sorted(found)

    def _rules_at(self, row: tuple[int, ...]) -> tuple[tuple[tuple[int, int], ...], tuple[_Longer, ...]]:
        """The one-token rules a token with these values matches, and the longer rules that start with
        it (their other tokens still to check); remembered, since a token's values decide both."""
        single: list[tuple[int, int]] = []
        longer: list[_Longer] = []
        for get, table in self._tables:
            for number, key, first, rest in table.get(get(row), ()):
                if first is not None and not first.checks(row, self._strings):
                    continue
                if rest:
                    longer.append((number, key, rest))
                else:
                    single.append((number, key))
        if len(self._token_rules) >= _ROWS_HELD:
            self._token_rules.clear()
        found = self._token_rules[row] = (tuple(single), tuple(longer))
        return found


def _getter(columns: tuple[int, ...]) -> Callable[[tuple[int, ...]], Any]:
    """A row's key in the table of `columns`: the value itself for one column, a tuple for more."""
    if not columns:
        return lambda row: ()
    return itemgetter(*columns)


def _ways(spec: dict[str, Any], columns: dict[str, int]) -> list[_Token]:
    """The ways one token of a pattern can match: each combination of its attributes' `IN` values."""
    if not spec:
        raise ValueError("a token that matches anything")
    equal: list[tuple[int, list[int]]] = []
    excluded: list[tuple[int, frozenset[int]]] = []
    searched: list[tuple[int, re.Pattern[str]]] = []
    for name, value in spec.items():
        attribute = _SAME.get(name.upper(), name.upper())
        if attribute in FLAG_ATTRIBUTES and isinstance(value, bool):
            equal.append((columns.setdefault(attribute, len(columns)), [int(value)]))
            continue
        if attribute not in STRING_ATTRIBUTES:
            raise ValueError(f"a test the index does not serve: {name}")
        column = columns.setdefault(attribute, len(columns))
        if isinstance(value, str):
            equal.append((column, [get_string_id(value)]))
        elif isinstance(value, dict) and len(value) == 1:
            ((operator, operand),) = value.items()
            if (
                operator in ("IN", "NOT_IN")
                and isinstance(operand, list)
                and all(isinstance(v, str) for v in operand)
            ):
                ids = [get_string_id(v) for v in operand]
                if operator == "IN":
                    equal.append((column, ids))  # one of them: alternatives of the same rule
                else:
                    excluded.append((column, frozenset(ids)))
            elif operator == "REGEX" and isinstance(operand, str):
                searched.append((column, re.compile(operand)))
            else:
                raise ValueError(f"a test the index does not serve: {name} {operator}")
        else:
            raise ValueError(f"a test the index does not serve: {name}")
    equal.sort()
    cols = tuple(c for c, _ in equal)
    return [
        _Token(cols, values, tuple(excluded), tuple(searched))
        for values in product(*(ids for _, ids in equal))
    ]


def index_attribute_ruler(nlp: Any) -> bool:
    """Give `nlp`'s attribute ruler (if it has one) a `RuleIndex` for its matches; True if it has one.

    The ruler keeps its rules and its `set_annotations`; only the way it finds its matches changes.
    """
    if "attribute_ruler" not in nlp.pipe_names:
        return False
    ruler = nlp.get_pipe("attribute_ruler")
    if isinstance(ruler.match, RuleIndexMatch):
        return True
    rules = {}
    for number in range(len(ruler.attrs)):
        found = ruler.matcher.get(str(number))
        if found is None or found[0] is not None:  # no such key, or a callback the index would not call
            return False
        rules[number] = found[1]
    if len(ruler.matcher) != len(rules):
        return False
    try:
        index = RuleIndex(rules, nlp.vocab.strings)
    except ValueError:
        return False
    ruler.match = RuleIndexMatch(index)
    return True


class RuleIndexMatch:
    """The attribute ruler's `match` method, answered by a `RuleIndex`."""

    def __init__(self, index: RuleIndex) -> None:
        self.index = index

    def __call__(self, doc: Doc) -> list[Match]:
        return self.index.match(doc)
