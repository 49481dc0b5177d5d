"""Whether a regular expression runs in linear time, judged by how its time grows on inputs built to break it.

Python's `re` and the `regex` module that Presidio uses both backtrack, and a pattern that reads well can
take quadratic or exponential time on the wrong input: `[^\\s%]*(?:%[0-9A-F]{2}[^\\s%]*)+` took 64 s on
`"a" * 60000 + "%"`, Presidio's email pattern 72 s on `"a." * 10000 + "@"`. Two shapes cause nearly all
of it:

- a run read again from every start: a part that can begin at each character of a long run and fails
  only at its end, so n starts each read n characters. Fixed by letting a match start only where a run
  starts (a lookbehind), or by `(*SKIP)` after the run, which resumes the search after it once it failed;
- ambiguity: two quantifiers that can take the same characters (`\\s*#?\\s*`, `(a+)+`), so a failing
  attempt tries every way of sharing the run between them. Fixed by possessive quantifiers (`*+`) or
  atomic groups where the sharing cannot change the outcome.

Neither shows on ordinary text, only on inputs made for it: a long run of what a repeated part matches,
then a character that makes the match fail. `attacks_for` builds such inputs. Generic ones: separators,
base64-like runs, `%` runs, `a.` before `@`, digits split by spaces, capitalised words, and so on. And
ones read off the pattern itself: for every part that may repeat without bound, a text that the pattern
matches up to that part ("1 A Expressway Apartment" before the blanks of a unit number), then a run of
what the part matches, then a breaking character; so a run that only a keyword or a long prefix reaches
is tried too. `superlinear` runs a search on each input at two lengths, n and 8n, and reports those on
which the time grows more than `MAX_GROWTH` times as fast as the length.

Growth, not a time limit, because the machine's speed and load would make any fixed limit flaky:
- linear time grows 8x from n to 8n, quadratic 64x, exponential past any timeout, so the bar (16x) sits
  far from both sides;
- the two lengths are measured on the same amount of text (one run at 8n against eight at n), in the
  thread's CPU time (`time.thread_time`: time spent waiting for a core under load is not counted) and
  with the garbage collector paused;
- a growth above the bar counts only when it repeats on every retry, and only when the run at 8n took
  at least `FLOOR_SECONDS`: even if quadratic, a search that reads 4,000 characters in 2 ms reads the
  longest string an upload may hold (100,000 characters by default) in about 1.3 s.
"""

from __future__ import annotations

import functools
import gc
import importlib
import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import regex

# Python's own regex parser and its constants (private modules, without type stubs): only to read a
# pattern's shape (`pattern_attacks`), never to match.
sre: Any = importlib.import_module("re._constants")
sre_parse: Any = importlib.import_module("re._parser")

SMALL = 500  # characters of the shorter input
FACTOR = 8  # the longer input is this many times longer
MAX_GROWTH = 2.0  # t(8n) may reach MAX_GROWTH * 8 * t(n): linear is about 1x that, quadratic 8x
FLOOR_SECONDS = 0.002  # a longer input read faster than this passes whatever its growth
TIMEOUT_SECONDS = 1.0  # a `regex` search on the longer input that takes longer has failed outright
RETRIES = 3  # measurements above the bar before it counts

# Presidio's `PatternRecognizer` compiles with these unless a recognizer says otherwise; the redaction
# config's custom recognizers use them.
PRESIDIO_FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE

# What repeats in the inputs: separators, letters, digits, the pieces of emails, URLs, base64, hex,
# percent-encoding, dates, split digits and capitalised words.
PUMPS = (
    " ", "\t", "\n", "-", ".", "/", ":", ",", "_", "'", "’", "%", "@", "+", "=", "#",
    "a", "A", "1", "é",
    "a.", "A.", "a-", "A-", "A'", "a_", "a1", "A1", "1a", "aB3+", "ab:", "ff:", "%4", "a%", "a@",
    "1 ", "1-", "1.", "1/", "1:", "12 ", "a ", "Aa ", "Aa-", "1 a ",
)  # fmt: skip
# What follows the run, so that the match fails at its end (or, with "", at the end of the text).
BREAKERS = ("", "!", "@", "%", ",", "a")
# After the part of a text that reaches a repeated part of the pattern: what ends its run.
POINT_BREAKERS = ("", "!", "a")
# Repeated parts read off one pattern, at most (a pattern of alternatives can have hundreds).
MAX_POINTS = 48
# After a literal word of the pattern, where the pattern cannot be read as a tree (see `_sre_source`).
WORD_PUMPS = (" ", "a", "A", "1", ".", "-", "Aa ", "1 ", "a.", "A'")
WORD_BREAKERS = ("", "!", "a")
MAX_WORDS = 8


@dataclass(frozen=True)
class Attack:
    """A family of inputs: `prefix`, then `pump` repeated up to the wanted length, then `suffix`."""

    prefix: str
    pump: str
    suffix: str

    def text(self, length: int) -> str:
        """The input of about `length` characters."""
        count = max(1, (length - len(self.prefix) - len(self.suffix)) // len(self.pump))
        return self.prefix + self.pump * count + self.suffix

    def __str__(self) -> str:
        parts = [repr(self.prefix)] if self.prefix else []
        parts.append(f"{self.pump!r} * n")
        if self.suffix:
            parts.append(repr(self.suffix))
        return " + ".join(parts)


def generic_attacks() -> list[Attack]:
    """Every pump followed by every breaker."""
    return [Attack("", pump, breaker) for pump in PUMPS for breaker in BREAKERS]


def attacks_for(pattern: str) -> list[Attack]:
    """The generic attacks, and those read off `pattern` (`pattern_attacks`)."""
    return list(dict.fromkeys(generic_attacks() + pattern_attacks(pattern)))


def pattern_attacks(pattern: str) -> list[Attack]:
    """For each part of `pattern` that may repeat without bound, a text that reaches it, then runs.

    The pattern is read as a tree by Python's own regex parser after `_sre_source` has put the `regex`
    module's extensions in terms it knows. Where it still cannot (a named list, fuzzy matching), the
    runs follow each literal word of the pattern instead.
    """
    try:
        tree = sre_parse.parse(_sre_source(pattern))
    except (re.error, ValueError, IndexError, OverflowError, RecursionError):
        return [
            Attack(word, pump, breaker)
            for word in literal_words(pattern)[:MAX_WORDS]
            for pump in WORD_PUMPS
            for breaker in WORD_BREAKERS
        ]
    # Each repeated part is reached twice: after the fewest repeats of the parts before it, and after the
    # most (up to four) of the bounded ones, so that an earlier part cannot take the words meant for it.
    points = itertools.chain(
        itertools.islice(_repeats(list(tree), "", full=False), MAX_POINTS),
        itertools.islice(_repeats(list(tree), "", full=True), MAX_POINTS),
    )
    attacks: list[Attack] = []
    for prefix, item, before in dict.fromkeys(points):
        variants = [_witness(item, choice) for choice in range(4)]
        pumps = [v for v in dict.fromkeys(variants + [before[-1:] + v for v in variants]) if v]
        attacks += [Attack(prefix, pump, breaker) for pump in pumps for breaker in POINT_BREAKERS]
    return attacks


# What the parser is given for the `regex` module's Unicode properties: a few characters of each.
_PROPERTIES = {"Lu": "A-Z", "Lt": "A-Z", "Ll": "a-z", "N": "0-9", "Nd": "0-9", "M": "\u0301", "Mn": "\u0301",
               "Z": " ", "Zs": " ", "P": ".", "S": "+"}  # fmt: skip
_FLAG = re.compile(r"\(\?([a-zA-Z]+)\)")


def _sre_source(pattern: str) -> str:
    """`pattern` in the syntax of Python's `re`, for reading its shape (not for matching).

    Unicode properties become small ranges; `(*SKIP)`-like verbs, `\\K` and `\\G` go; a lookbehind
    becomes a lookahead (nothing of it is in the sample texts, and `re` wants it of fixed width); named
    groups take `re`'s spelling; flags `re` lacks are dropped.
    """
    out: list[str] = []
    i, in_set = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            kind = pattern[i + 1 : i + 2]
            if kind in ("p", "P") and pattern[i + 2 : i + 3] == "{":
                end = pattern.index("}", i)
                name = pattern[i + 3 : end].split("=")[-1]
                chars = _PROPERTIES.get(name, "a-zA-Z") if kind == "p" else "!"
                out.append(chars if in_set else f"[{chars}]")
                i = end + 1
                continue
            if kind in ("K", "G") and not in_set:
                i += 2
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_set:
            in_set = char != "]"
            out.append(char)
            i += 1
            continue
        if char == "[":
            start = i + 1 + (pattern[i + 1 : i + 2] == "^")
            start += pattern[start : start + 1] == "]"  # a leading "]" is a member
            out.append(pattern[i:start])
            in_set, i = True, start
            continue
        if pattern.startswith("(*", i):  # a backtracking verb
            end = pattern.index(")", i)
            out.append("(?!)" if pattern[i + 2 : end] in ("FAIL", "F") else "")
            i = end + 1
            continue
        if pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?" + pattern[i + 3])
            i += 4
            continue
        if pattern.startswith("(?<", i):
            out.append("(?P<")
            i += 3
            continue
        if flag := _FLAG.match(pattern, i):
            kept = "".join(letter for letter in flag.group(1) if letter in "imsx")
            out.append(f"(?{kept})" if kept else "")
            i = flag.end()
            continue
        out.append(char)
        i += 1
    return "".join(out)


# Pattern syntax that is not literal text: escapes (`\p{L}`, `\d`, `\.`), character sets, group openers
# and counted repeats. Each alternative starts with a different character, so this runs in linear time.
_SYNTAX = regex.compile(
    r"\\[pPN]\{[^}]*+\}|\\.|\[\^?+\]?+(?:\\.|[^\]\\])*+\]|\(\?(?:P?+<[\w]*+>|[<]?+[=!:>]|[a-zA-Z\-]*+:)|\{[\d,]*+\}",
    regex.DOTALL,
)
_WORD = regex.compile(r"[^()|*+?{}\[\]^$.\\\s]{2,}+")


def literal_words(pattern: str) -> list[str]:
    """Literal words of a pattern's source, in order, each once: `(?:Apt|Suite)\\.?\\s*` -> Apt, Suite."""
    text = _SYNTAX.sub(" ", pattern)
    return list(dict.fromkeys(match.group() for match in _WORD.finditer(text)))


_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
_LONG_RUN = 8  # a part that may repeat at least this often can make a long run
_POOL = "aA1 .-_,'/:@%#!+=\né’\t"


def _repeats(nodes: list[Any], prefix: str, *, full: bool) -> Iterator[tuple[str, Any, str]]:
    """(text reaching it, its item, the sample of the part before it) for every long repeat, in order."""
    before = ""
    for op, av in nodes:
        if op in _REPEATS:
            _, most, item = av
            if most is sre.MAXREPEAT or most >= _LONG_RUN:
                yield prefix, item, before
            yield from _repeats(list(item), prefix, full=full)
        elif op is sre.SUBPATTERN:
            yield from _repeats(list(av[3]), prefix, full=full)
        elif op is sre.ATOMIC_GROUP:
            yield from _repeats(list(av), prefix, full=full)
        elif op is sre.BRANCH:
            for alternative in av[1]:
                yield from _repeats(list(alternative), prefix, full=full)
        elif op is sre.GROUPREF_EXISTS:
            for branch in av[1:]:
                if branch is not None:
                    yield from _repeats(list(branch), prefix, full=full)
        before = _witness([(op, av)], 0, full=full)
        prefix += before


def _witness(nodes: Any, choice: int, *, full: bool = False) -> str:
    """A short text the nodes match (lookarounds aside); `choice` varies each set and alternation.

    Each repeat is taken its fewest times, or with `full` a bounded one its most (up to four).
    """
    parts: list[str] = []
    for op, av in nodes:
        if op is sre.LITERAL:
            parts.append(chr(av))
        elif op is sre.NOT_LITERAL:
            parts.append(next(c for c in _POOL[choice:] + _POOL if ord(c) != av))
        elif op is sre.ANY:
            parts.append(_POOL[choice % len(_POOL)].replace("\n", "a"))
        elif op is sre.IN:
            members = _members(av)
            parts.append(members[choice % len(members)] if members else "")
        elif op in _REPEATS:
            least, most, item = av
            bounded = most is not sre.MAXREPEAT and most < _LONG_RUN
            count = max(least, min(most, 4)) if full and bounded else min(least, 64)
            parts.append(_witness(item, choice, full=full) * count)
        elif op is sre.SUBPATTERN:
            parts.append(_witness(av[3], choice, full=full))
        elif op is sre.ATOMIC_GROUP:
            parts.append(_witness(av, choice, full=full))
        elif op is sre.BRANCH:
            parts.append(_witness(av[1][choice % len(av[1])], choice, full=full))
        elif op is sre.GROUPREF_EXISTS:
            parts.append(_witness(av[1], choice, full=full))
    return "".join(parts)


def _members(items: list[tuple[Any, Any]]) -> list[str]:
    """Characters of a set: its own literals and range starts first, then those of `_POOL` in it."""
    negated = any(op is sre.NEGATE for op, _ in items)
    own = [] if negated else [chr(av) for op, av in items if op is sre.LITERAL]
    own += [] if negated else [chr(av[0]) for op, av in items if op is sre.RANGE]
    pooled = [c for c in _POOL if _in_set(c, items) != negated]
    return list(dict.fromkeys(own + pooled))


_CATEGORIES: dict[Any, Callable[[str], bool]] = {
    sre.CATEGORY_DIGIT: str.isdigit,
    sre.CATEGORY_NOT_DIGIT: lambda c: not c.isdigit(),
    sre.CATEGORY_SPACE: str.isspace,
    sre.CATEGORY_NOT_SPACE: lambda c: not c.isspace(),
    sre.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
    sre.CATEGORY_NOT_WORD: lambda c: not (c.isalnum() or c == "_"),
}


def _in_set(char: str, items: list[tuple[Any, Any]]) -> bool:
    for op, av in items:
        if op is sre.LITERAL and ord(char) == av:
            return True
        if op is sre.RANGE and av[0] <= ord(char) <= av[1]:
            return True
        if op is sre.CATEGORY and _CATEGORIES.get(av, lambda c: False)(char):
            return True
    return False


Search = Callable[[str], object]


@dataclass(frozen=True)
class Growth:
    """One attack measured: one search at the longer length against `FACTOR` at the shorter.

    `small_seconds` is None where the longer search took less than the floor: nothing to compare.
    """

    attack: Attack
    small_seconds: float | None
    large_seconds: float
    timed_out: bool = False

    @property
    def ratio(self) -> float:
        """About 1 for linear time, `FACTOR` for quadratic; 0 where not compared."""
        if self.small_seconds is None:
            return 0.0
        return self.large_seconds / max(self.small_seconds, 1e-9)

    def __str__(self) -> str:
        if self.timed_out:
            return f"{self.attack}: a search timed out"
        if self.small_seconds is None:
            return f"{self.attack}: {self.large_seconds * 1e3:.2f} ms"
        return (
            f"{self.attack}: {FACTOR}x the length took {self.ratio * FACTOR:.0f}x the time "
            f"({self.small_seconds / FACTOR * 1e3:.2f} ms -> {self.large_seconds * 1e3:.2f} ms)"
        )


@dataclass(frozen=True)
class PatternSearch:
    """Reads every match of a compiled pattern, as Presidio does (`finditer`), or with `anchored` only
    the match at the text's start (`match`), for a pattern its callers apply at one position only.

    A `regex` pattern stops with `TimeoutError` after `timeout` seconds. A `re` pattern cannot, so the
    longer input is first read through the `regex` module's compilation of the same source, which does
    stop, before `re` itself is measured: an exponential pattern is reported instead of hanging the check.
    """

    pattern: re.Pattern[str] | regex.Pattern[str]
    timeout: float = TIMEOUT_SECONDS
    anchored: bool = False

    def __call__(self, text: str) -> None:
        self._run(self.pattern, text)

    def guard(self, text: str) -> None:
        """Raise TimeoutError if a search of `text` would not end in time."""
        if isinstance(self.pattern, re.Pattern) and (twin := _regex_twin(self.pattern)) is not None:
            self._run(twin, text)

    def _run(self, pattern: Any, text: str) -> None:
        timeout = {"timeout": self.timeout} if isinstance(pattern, regex.Pattern) else {}
        if self.anchored:
            pattern.match(text, **timeout)
        else:
            for _ in pattern.finditer(text, **timeout):
                pass


@functools.lru_cache(maxsize=512)
def _regex_twin(pattern: re.Pattern[str]) -> regex.Pattern[str] | None:
    try:
        return regex.compile(pattern.pattern, pattern.flags)
    except regex.error:
        return None


def _seconds(search: Search, text: str, repeat: int) -> float:
    enabled = gc.isenabled()
    gc.disable()
    try:
        started = time.thread_time()
        for _ in range(repeat):
            search(text)
        return time.thread_time() - started
    finally:
        if enabled:
            gc.enable()


def measure(
    search: Search, attack: Attack, *, small: int = SMALL, factor: int = FACTOR, floor: float = 0.0
) -> Growth:
    """One search of the attack at `small * factor` characters against `factor` at `small`.

    The longer first: if it takes less than `floor` seconds, the shorter ones are not run; if it times
    out, neither are they (a catastrophic pattern is reported in one timeout).
    """
    long = attack.text(small * factor)
    try:
        guard = getattr(search, "guard", None)
        if guard is not None:
            guard(long)
        large_seconds = _seconds(search, long, 1)
        if large_seconds < floor:
            return Growth(attack, None, large_seconds)
        small_seconds = _seconds(search, attack.text(small), factor)
    except TimeoutError:
        return Growth(attack, None, 0.0, timed_out=True)
    return Growth(attack, small_seconds, large_seconds)


def superlinear(
    search: Search,
    attacks: Iterable[Attack],
    *,
    small: int = SMALL,
    factor: int = FACTOR,
    max_growth: float = MAX_GROWTH,
    floor: float = FLOOR_SECONDS,
    retries: int = RETRIES,
    stop_after: int = 3,
) -> list[Growth]:
    """The attacks on which `search` takes more than linear time, at most `stop_after` of them.

    An attack counts when a search times out, or when its growth exceeds `max_growth` on each of
    `retries` measurements, the longer search taking at least `floor` seconds (see the module's doc).
    """

    def too_slow(growth: Growth) -> bool:
        return growth.timed_out or (growth.large_seconds >= floor and growth.ratio > max_growth)

    found: list[Growth] = []
    for attack in attacks:
        growth = measure(search, attack, small=small, factor=factor, floor=floor)
        tries = 1
        while too_slow(growth) and not growth.timed_out and tries < retries:
            growth = measure(search, attack, small=small, factor=factor, floor=floor)
            tries += 1
        if too_slow(growth):
            found.append(growth)
            if len(found) >= stop_after:
                break
    return found


def describe(found: list[Growth]) -> str:
    """One line per attack, for an error message or a test failure."""
    return "; ".join(str(growth) for growth in found)


@functools.lru_cache(maxsize=256)
def check_linear(source: str, flags: int = PRESIDIO_FLAGS) -> None:
    """Raise ValueError if `source` (compiled with `flags`) takes more than linear time on long inputs.

    For the regexes of the redaction config: a compliance edit must not make every upload hang. Cached,
    since a config is validated more than once per process and the probe takes a fraction of a second.
    """
    compiled: Any = regex.compile(source, flags)
    found = superlinear(PatternSearch(compiled), attacks_for(source), stop_after=1)
    if found:
        raise ValueError(
            f"regex takes more than linear time on long inputs ({describe(found)}); rewrite it with "
            "possessive quantifiers, atomic groups or a lookbehind where a run starts "
            "(gateway/redaction/linear_time.py says why)"
        )
