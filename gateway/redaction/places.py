"""Places that announce themselves (`LOCATION`): "originally from ΕΓΚΩΜΗ", "I am in Rohod for a trip".

spaCy knows the world's large cities; a village, a town written in capitals or in Greek letters is a
name it has never seen, and it guesses PERSON or nothing. After words that say where someone lives,
comes from, is or travels to, a capitalised name is a place: "originally from Marindia", "based in
NAANTALI", "arrived at Ettelgem this morning", "moved to Lendava", "I'm in Store Merløse".

The name must be capitalised (or in capitals) and end in no ordinary word: "I'm in Settings", "based
in Beta", "we are in Trouble" stay.
"""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from gateway.redaction.names import gazetteer
from gateway.redaction.rules import RuleRecognizer

LOCATION = "LOCATION"

# Verbs and phrases after which "in/at/from/to X" says where a person is.
PLACE_CUES = [
    "originally from", "born in", "raised in", "grew up in", "live in", "lives in", "living in",
    "lived in", "based in", "located in", "headquartered in", "stationed in", "staying in", "stay in",
    "moved to", "moved from", "moving to", "relocated to", "relocating to", "arrived at", "arrived in",
    "arriving at", "arriving in", "returned to", "returning to", "returned from", "travelling to",
    "traveling to", "travelled to", "traveled to", "flew to", "flying to", "flew from", "drove to",
    "trip to", "flying from", "flight to", "flight from", "flights to", "flights from", "near",
    "went to", "go to", "going to", "drive to", "drove from", "i am in", "i'm in", "we are in", "we're in",
    "i am from",
    "i'm from", "we are from", "we're from", "comes from", "come from", "came from", "hometown of",
    "hometown is", "native of", "resident of", "residing in", "reside in", "resides in",
    "home city", "home town", "hometown", "city of", "town of", "village of", "university of", "where:",
]  # fmt: skip
# Cues after which a person cannot stand: a surname alone there is a place ("flew to Coles").
_NO_PERSON_AFTER = frozenset(
    c
    for c in PLACE_CUES
    if c.endswith((" in", "flew to", "flying to", "flight to", "flights to", "trip to"))
    or c.startswith(("moved", "moving", "relocat", "travel", "home", "city", "town", "village", "university"))
)
_LINK = r"(?:de|del|do|da|di|la|le|upon|on|am|an|im|sur|en|u|na|nad|pod|of|O'|O’|o'|o’)"
_CAP = r"\p{Lu}[\p{L}\p{M}'’\-]*+"
_PATTERN = regex.compile(
    r"(?<![\w])(?P<cue>(?i:"
    + "|".join(regex.escape(c).replace(r"\ ", r"[ \t]++") for c in sorted(PLACE_CUES, key=len, reverse=True))
    + rf"))[ \t]++(?:the[ \t]++)?(?P<place>{_CAP}(?:[ \t]++(?:{_LINK}[ \t]++)?{_CAP}){{0,3}})(?![\w@])"
)
# A town and its postcode after a place preposition: "in Bjert 6091", "to København K 1421",
# "at Quinta de São Tiago 3610-114"; a year is no postcode ("in Excel 2016").
_TOWN_AND_CODE = regex.compile(
    r"(?<![\w])(?i:in|at|from|near|to)[ \t]++"
    rf"(?P<place>{_CAP}(?:[ \t]++(?:{_LINK}[ \t]++)?{_CAP}){{0,3}}[ \t]++"
    r"(?!(?:19|20)\d\d(?!\d))\d{3,5}(?:-\d{3})?)(?![\w@.,]\d)(?![\w])"
)
# A town in capitals after a place preposition ("in KATRINEHOLM", "from ÅLESUND"): five letters or more,
# so "in HTML", "from CSV" and other acronyms stay.
_CAPITALS = regex.compile(
    r"(?<![\w])(?i:in|at|from|near|to)[ \t]++(?P<place>\p{Lu}{5,}+(?:[ \t]++\p{Lu}{2,}+){0,2})(?![\w'’\-])"
)
_WORDS = regex.compile(r"[\p{L}\p{M}]++")
# Cues that say where a person lives: after them a place is often written in lower case ("my sister
# lives in lisbon", "raised in harburg"), and a word that is not ordinary vocabulary is taken for the
# place. After "from" a department may stand ("i'm from accounting"): there only a place the gazetteer
# knows ("i'm from poland"). Cues of travel or software talk stay capitalised only ("moved to zapier").
RESIDENCE_CUES = [
    "live in", "lives in", "living in", "lived in", "born in", "raised in", "grew up in", "residing in",
    "reside in", "resides in", "resident of", "native of", "hometown is",
]  # fmt: skip
ORIGIN_CUES = ["originally from", "i am from", "i'm from", "im from", "we are from", "we're from"]
# Endings of abstract nouns that follow "live in" ("fear", "poverty", "isolation", "harmony").
_ABSTRACT = regex.compile(r"(?:ion|ness|ment|ity|ty|ance|ence|ism|ship|dom|ing|hood|ure|ony|ery|ary|cy)$")
_LOWER = r"\p{Ll}[\p{Ll}\p{M}'’\-]*+"


def _cues(cues: list[str]) -> str:
    return "|".join(regex.escape(c).replace(r"\ ", r"[ \t]++") for c in sorted(cues, key=len, reverse=True))


_RESIDENCE = regex.compile(
    r"(?<![\w])(?:(?i:"
    + _cues(RESIDENCE_CUES)
    + r")|(?P<origin>(?i:"
    + _cues(ORIGIN_CUES)
    + rf")))[ \t]++(?:the[ \t]++)?(?P<place>{_LOWER}(?:[ \t]++{_LOWER}){{0,2}})(?![\w@])"
)


class PlaceCueRecognizer(RuleRecognizer):
    """A capitalised name after words that say where a person lives, comes from, is or travels to."""

    NAME = "PlaceCueRecognizer"
    ENTITIES = (LOCATION,)
    EXPLAINS = "a place"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if LOCATION not in entities:
            return []
        gaz = gazetteer()
        results = []
        for match in _CAPITALS.finditer(text):
            start, end = match.span("place")
            words = _WORDS.findall(text, start, end)
            if not any(gaz.is_vocabulary(w) and not gaz.is_place(w) for w in words):
                results.append(self.result(start, end, "place_in_capitals"))
        for match in _PATTERN.finditer(text):
            start, end = match.span("place")
            words = [
                (w.group(), w.end()) for w in _WORDS.finditer(text, start, end) if w.group()[:1].isupper()
            ]
            ordinary = [gaz.is_vocabulary(w) and not gaz.is_place(w) for w, _ in words]
            while ordinary and ordinary[-1] and len(ordinary) > 1:
                ordinary.pop()  # "Where: Erwetegem Country Club": the place, not its club
                words.pop()
            if not words or all(ordinary):
                continue  # "I'm in Settings"; a place may begin with a word ("Store Merløse")
            end = words[-1][1]
            names = [w for w, _ in words]
            cue = " ".join(match.group("cue").lower().split())
            if all(gaz.is_name(w) and not gaz.is_place(w) for w in names) and (
                cue not in _NO_PERSON_AFTER or gaz.is_given_name(names[0])
            ):
                continue  # "the email came from Maria Lopez"; not "flew to Coles"
            results.append(self.result(start, end, "place_cue"))
        for match in _TOWN_AND_CODE.finditer(text):
            start, end = match.span("place")
            words = _WORDS.findall(text, start, end)
            if words and not any(gaz.is_vocabulary(w) and not gaz.is_place(w) for w in words):
                results.append(self.result(start, end, "town_and_postcode"))
        for match in _RESIDENCE.finditer(text):
            origin = match.group("origin") is not None
            place = self._lower_case_place(text, *match.span("place"), known_only=origin)
            if place is not None:
                results.append(self.result(*place, "residence_in_lower_case"))
        # "based in NAANTALI" is a cue and a town in capitals: one finding.
        return list({(r.start, r.end): r for r in results}.values())

    @staticmethod
    def _lower_case_place(text: str, start: int, end: int, *, known_only: bool) -> tuple[int, int] | None:
        """The place in lower-case words after a residence cue: the longest run the gazetteer knows as
        a place ("rio de janeiro"), else (unless `known_only`) the first word if it is neither ordinary
        nor abstract ("harburg"; not "fear" in "lives in fear", nor "march" in "born in march"): one
        word, since the words after it may be anything ("in leeds on weekends")."""
        gaz = gazetteer()
        words = list(_WORDS.finditer(text, start, end))
        for k in range(len(words), 0, -1):
            if gaz.is_place(text[words[0].start() : words[k - 1].end()]):
                return words[0].start(), words[k - 1].end()
        if known_only:
            return None
        first = words[0].group() if words else ""
        if gaz.is_vocabulary(first) or len(first) < 3 or _ABSTRACT.search(first):
            return None
        return words[0].start(), words[0].end()
