"""Postcodes (`POSTCODE`) by country, with the context that tells them from any other number.

A postcode places a person to a street or a village, and spaCy tags none. Most countries' codes are
plain digit runs that order ids, prices and years share, so a code counts only with evidence:

- its own shape where that is distinctive: the UK ("NW1 6XE", "SW1A 1AA") and Canada ("K1A 0B1");
- a cue before it: "postcode", "post code", "postal code", "zip", "PLZ", "CEP", "code postal",
  "C.P.", "Postleitzahl", "postnummer", "postinumero", "kod pocztowy", "irányítószám", "Eircode",
  "PIN code" ("ZIP: 3520", "my postcode is 1012 AB");
- a place right after it, as continental Europe writes them ("75004 Paris", "1100-053 Lisboa",
  "10115 Berlin", "00-950 Warszawa", "114 55 Stockholm", "1012 AB Amsterdam", "D-10115 Berlin"):
  a capitalised word that is no ordinary word and, where spaCy has tagged the text, a proper noun
  outside a quantity ("10000 Steps", "5000 Euros" stay); a four-digit code that reads as a year
  ("2024 Annual Report") needs a cue;
- a place right before it: a country or city the gazetteer knows ("Spain 16200", "Lisboa 1100-053"),
  a UK or US town with a state code ("Springfield, IL 62704-1234").

The formats, each between non-word characters: UK, Canada, Ireland (Eircode), the Netherlands
("1012 AB"), Portugal ("1100-053"), Brazil ("01310-100"), Poland ("00-950"), US ZIP+4
("62704-1234"), Sweden/Czechia/Slovakia/Greece ("114 55"), five digits (France, Germany, Spain,
Italy, Finland, the US, ...), four digits (Austria, Belgium, Switzerland, Denmark, Norway, Hungary,
Australia, ...) and country-prefixed codes ("CH-8001", "LV-1010"). A bare five-digit number alone
is never a postcode.

A place found as evidence beside a code is reported too, as `LOCATION`: "1100-053 Lisboa" without
"Lisboa" still places the person.
"""

from __future__ import annotations

from typing import Any

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from gateway.redaction.names import gazetteer
from gateway.redaction.rules import RuleRecognizer

POSTCODE = "POSTCODE"
LOCATION = "LOCATION"

# (name, pattern, distinctive): a distinctive shape counts alone.
FORMATS: list[tuple[str, str, bool]] = [
    ("uk", r"[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[ABD-HJLNP-UW-Z]{2}", True),
    ("uk_compact", r"[A-Z]{1,2}\d[A-Z\d]?\d[ABD-HJLNP-UW-Z]{2}", False),
    ("canada", r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z][ \t]?\d[ABCEGHJ-NPRSTV-Z]\d", True),
    ("ireland", r"[AC-FHKNPRTV-Y]\d{2}[ \t]?[AC-FHKNPRTV-Y\d]{4}", False),
    ("netherlands", r"[1-9]\d{3}[ \t]?[A-Z]{2}", False),
    ("us_zip4", r"\d{5}-\d{4}", False),
    ("brazil", r"\d{5}-\d{3}", False),
    ("portugal", r"\d{4}-\d{3}", False),
    ("poland", r"\d{2}-\d{3}", False),
    ("prefixed", r"[A-Z]{1,2}-\d{4,5}", False),
    ("three_two", r"\d{3}[ \t]\d{2}", False),
    ("six", r"\d{6}", False),
    ("five", r"\d{5}", False),
    ("four", r"\d{4}", False),
]
_FORMAT = regex.compile(
    r"(?<![\w\-/.,:#$€£+%@])(?:"
    + "|".join(f"(?P<{name}>{pattern})" for name, pattern, _ in FORMATS)
    + r")(?![\w\-/@%]|[.,:]\d)"
)
_DISTINCTIVE = frozenset(name for name, _, distinctive in FORMATS if distinctive)

_CUE = regex.compile(
    r"(?i:post(?:al)?[ \t]*+code|post[ \t]*+code|zip(?:[ \t]*+code)?|zipcode|plz|cep|code[ \t]++postal"
    r"|c\.[ \t]?p\.|postleitzahl|postnummer|postinumero|kod[ \t]++pocztowy|irányítószám|eircode"
    r"|pin[ \t]*+code|pincode)(?:[ \t]++(?i:is|was|=))?[ \t]*+[:#\-]?[ \t]*+$"
)
# A place after the code: one to three capitalised words, the second and third may be particles.
_PLACE_AFTER = regex.compile(
    r",?[ \t]++(?P<place>\p{Lu}[\p{L}\p{M}'’\-]*+(?:[ \t]++(?:\p{Lu}[\p{L}\p{M}'’\-]*+"
    r"|(?:de|do|da|del|di|la|le|am|an|im|upon|on|sur|en|na|nad|pod|bei|ob|u)(?=[ \t]++\p{Lu}))){0,2})"
)
# A place before the code: "Spain 16200", "Springfield, IL 62704" (a state code after a comma).
_PLACE_BEFORE = regex.compile(
    r"(?P<place>\p{Lu}[\p{L}\p{M}'’\-]*+(?:[ \t]++\p{Lu}[\p{L}\p{M}'’\-]*+){0,2}),?[ \t]++$"
)
_STATE_BEFORE = regex.compile(r"\p{L}[ \t]*+,[ \t]*+[A-Z]{2}[ \t]++$")
# Words that begin place names and are ordinary words too: "New Stéphanebury", "Saint-Malo".
PLACE_PREFIXES = frozenset(
    {
        "new", "saint", "sainte", "san", "santa", "santo", "são", "st", "ste", "le", "la", "les", "los",
        "las", "el", "bad", "port", "fort", "mount", "north", "south", "east", "west", "upper", "lower",
        "great", "little", "old", "royal", "den", "de", "het", "al",
    }
)  # fmt: skip
_YEAR = regex.compile(r"(?:1[89]|20)\d\d")
# spaCy entities that make the word after a number a unit of it ("10000 Steps", "5000 Euros").
_QUANTITIES = frozenset(
    {"MONEY", "QUANTITY", "PERCENT", "CARDINAL", "ORDINAL", "PRODUCT", "ORG", "WORK_OF_ART"}
)
_AMOUNTS = frozenset({"MONEY", "QUANTITY", "PERCENT"})
_LOOK_BEHIND = 40
# Too short to tell from a count or a year by a place name before them ("Chapter 2024", "Room 114 55").
_SHORT = frozenset({"four", "three_two", "poland"})
_DIGIT = regex.compile(r"\d")


class PostcodeRecognizer(RuleRecognizer):
    """Postcodes with their evidence (see the module docstring); the place beside one as `LOCATION`."""

    NAME = "PostcodeRecognizer"
    ENTITIES = (POSTCODE, LOCATION)
    EXPLAINS = "a postcode"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if POSTCODE not in entities or not _has_digit_run(text):
            return []
        gaz = gazetteer()
        doc = nlp_artifacts.tokens if nlp_artifacts is not None else None
        results: list[RecognizerResult] = []
        for match in _FORMAT.finditer(text):
            kind = match.lastgroup or ""
            start, end = match.span()
            before = text[max(0, start - _LOOK_BEHIND) : start]
            place = self._place_after(text, start, end, doc, gaz)
            if _CUE.search(before):
                results.append(self._result(POSTCODE, start, end, 0.8, f"{kind}_after_cue"))
                if place is not None and LOCATION in entities:
                    results.append(self._result(LOCATION, *place, 0.6, "place_after_postcode"))
                continue
            if place is not None and not (kind == "four" and _YEAR.fullmatch(match.group())):
                results.append(self._result(POSTCODE, start, end, 0.6, f"{kind}_before_place"))
                if LOCATION in entities:
                    results.append(self._result(LOCATION, *place, 0.6, "place_after_postcode"))
                continue
            if kind in _DISTINCTIVE:
                results.append(self._result(POSTCODE, start, end, 0.6, kind))
            elif kind not in _SHORT and self._place_before(before, gaz):
                results.append(self._result(POSTCODE, start, end, 0.6, f"{kind}_after_place"))
        return results

    @staticmethod
    def _place_before(before: str, gaz: Any) -> bool:
        """A state code after a town ("Springfield, IL "), or a country or city the gazetteer knows."""
        if _STATE_BEFORE.search(before):
            return True
        match = _PLACE_BEFORE.search(before)
        return match is not None and gaz.is_place(match.group("place"))

    def _place_after(
        self, text: str, code_start: int, end: int, doc: Any, gaz: Any
    ) -> tuple[int, int] | None:
        """(start, end) of a place name right after the code at `code_start:end`, or None."""
        match = _PLACE_AFTER.match(text, end, min(len(text), end + 60))
        if match is None:
            return None
        start, stop = match.span("place")
        words = regex.findall(r"[\p{L}\p{M}]++", text[start:stop])
        if any(len(w) < 2 for w in words) or (len(words) == 1 and words[0].isupper() and len(words[0]) <= 3):
            return None  # "9999 EUR", "512 GB": a unit or a currency, not a place
        head = words[1] if len(words) > 1 and words[0].casefold() in PLACE_PREFIXES else words[0]
        if gaz.is_vocabulary(head) and not gaz.is_place(head):
            return None
        if doc is not None and not _proper_noun_outside_quantity(doc, start, code_start):
            return None
        return start, stop

    def _result(self, entity: str, start: int, end: int, score: float, why: str) -> RecognizerResult:
        return self.result(start, end, why, entity=entity, score=score)


def _has_digit_run(text: str) -> bool:
    """A digit: every format has one ("K1A 0B1" has no two in a row), and most chat turns have none."""
    return _DIGIT.search(text) is not None


def _proper_noun_outside_quantity(doc: Any, start: int, code_start: int) -> bool:
    """The word at `start` is a proper noun, and no entity that begins with the code makes it the code's
    unit ("10000 Steps" tagged CARDINAL or ORG as a whole; "5000 Euros" MONEY)."""
    token = doc.char_span(start, start + 1, alignment_mode="expand")
    if token is None or len(token) == 0:
        return True
    word = token[0]
    if word.pos_ not in ("PROPN", "X") and not word.is_upper:
        return False
    if word.ent_type_ in _QUANTITIES:
        entity = next((e for e in doc.ents if e.start <= word.i < e.end), None)
        if entity is not None and (entity.start_char == code_start or entity.label_ in _AMOUNTS):
            return False
    return True
