"""ftgate's own recognizers, in Presidio's plug-in style; `create_analyzer` registers them.

- `FtgatePhoneRecognizer`: Presidio's `PhoneRecognizer` reading the numbering plans compliance lists in
  the redaction config (`phone`: regions, grouped regions, international numbers). Presidio's default
  reads eight regions only, so a Spanish mobile ("699 956 915") or a Danish number ("71-33-52-22")
  was never a phone number, and a `+44 ...` number in a range `phonenumbers` calls unassigned was not
  either. Extra regions are held to their own digit grouping, because a bare run of 8 digits is a
  valid Danish number and so is every order id.
- `StreetAddressRecognizer`: postal addresses (`STREET_ADDRESS`). spaCy's NER tags cities and
  countries (LOCATION) but not "22 Pollen Crescent" or "Kiannonkatu 98", and Presidio has no
  recognizer for them. The patterns follow how addresses are written, not any one corpus: a house
  number with street words and a street-type word (USPS Publication 28 suffixes in common use),
  Romance street words before the name ("56 rue La Boétie", "Piazza Rezzonico 35"), Germanic and
  Nordic compounds with the number after ("Ditscheinergasse 80", "Hansinegata 120"), Slavic and
  Hungarian forms ("ul. Miła 53", "Király u. 15."), unit designators (Apt, Suite, Flat), PO boxes
  and US military addresses, and "City, ST 12345". Each pattern wants a street word or a box word
  next to a number, so version numbers, prices, dates and order ids have nothing to match. It is a
  separate entity rather than LOCATION so compliance can give it its own threshold and operator,
  and so that a city spaCy finds inside an address does not merge with it.
- `StreetNameRecognizer`: a street named without a number ("lives on Abbey Road"), only with an
  address word nearby.
- Registered here from their own modules: `AddressBlockRecognizer` (addresses.py: multi-line address
  blocks, numbered and cued streets), `PostcodeRecognizer` (postcodes.py), `PlaceCueRecognizer`
  (places.py: "originally from ΕΓΚΩΜΗ", "based in NAANTALI"), `PersonCueRecognizer`
  (names.py: names after a title, an introduction, a greeting, before a sign-off, ...),
  `FtgateNerRecognizer` (ner.py: spaCy's entities checked, and names from a gazetteer; it replaces
  Presidio's `SpacyRecognizer`) and `ProductAwareDateRecognizer` (dates.py: Presidio's date patterns,
  leaving release and maintenance dates; it replaces Presidio's `DateRecognizer`).

Tuned only on the even `template_id` half of the benchmark corpus; benchmarks/redaction_efficacy.py
prints the odd half apart, and tests/unit/redaction/test_recognizers.py checks each pattern on
examples of its own, and on ordinary text where none may fire.
"""

from __future__ import annotations

import bisect
import copy
import functools
import itertools
import math
import re
from collections.abc import Iterable
from typing import Any, cast

import phonenumbers
import regex
from phonenumbers import Leniency, PhoneNumberMatch, PhoneNumberMatcher
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer, LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, PhoneRecognizer

from gateway.redaction.addresses import AddressBlockRecognizer
from gateway.redaction.answers import PhoneCueRecognizer
from gateway.redaction.config import PhoneSettings
from gateway.redaction.dates import ProductAwareDateRecognizer
from gateway.redaction.names import PersonCueRecognizer
from gateway.redaction.ner import FtgateNerRecognizer
from gateway.redaction.places import PlaceCueRecognizer
from gateway.redaction.postcodes import PostcodeRecognizer

# A grouping separator between digits: a grouped-region match must contain one.
_SEPARATOR = regex.compile(r"\d[\s().\-/]+\d")
# Fewer national digits than this after a `+` country code is more likely a score or a sum.
_MIN_INTERNATIONAL_DIGITS = 7


class FtgatePhoneRecognizer(PhoneRecognizer):
    """Phone numbers of the configured regions, in three tiers of evidence (see `PhoneSettings`)."""

    def __init__(self, *, settings: PhoneSettings | None = None, supported_language: str = "en") -> None:
        settings = settings or PhoneSettings()
        self.settings = settings
        self.grouped_regions = tuple(settings.grouped_regions)
        super().__init__(
            supported_language=supported_language,
            supported_regions=tuple(settings.regions),
            leniency=Leniency.VALID,
            name="FtgatePhoneRecognizer",
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        # libphonenumber matches nothing with fewer than two digits (its shortest national number); most
        # chat turns have none, and each region below is a separate pass over the text.
        if not _TWO_DIGITS.search(text):
            return []
        results: list[RecognizerResult] = []
        for region in self.supported_regions:
            # Presidio's `PhoneRecognizer.analyze`, on `_Matcher`; it names the region in the explanation
            # from the number's own country code where the match parses without one.
            found_in = region
            for match in _Matcher(text, region, leniency=cast(int, self.leniency)):
                try:
                    parsed = phonenumbers.parse(text[match.start : match.end])
                    found_in = phonenumbers.region_code_for_number(parsed)
                except phonenumbers.NumberParseException:
                    pass
                results.append(self._get_recognizer_result(match, text, found_in, nlp_artifacts))
        # A grouped-region match must contain a separator between digits, so a text without one has none.
        if self.grouped_regions and _SEPARATOR.search(text):
            for region in self.grouped_regions:
                # EXACT_GROUPING: the digits must be grouped as that region writes its numbers.
                for match in _Matcher(text, region, leniency=Leniency.EXACT_GROUPING):
                    if _SEPARATOR.search(match.raw_string):
                        results.append(self._get_recognizer_result(match, text, region, nlp_artifacts))
        # Only a match that starts with "+" counts, so a text without one has none.
        if self.settings.international and "+" in text:
            # Region "ZZ": only numbers that carry their own country code parse at all.
            for match in PhoneNumberMatcher(text, "ZZ", leniency=Leniency.POSSIBLE):
                national = str(match.number.national_number)
                if match.raw_string.startswith("+") and len(national) >= _MIN_INTERNATIONAL_DIGITS:
                    region = phonenumbers.region_code_for_number(match.number) or "ZZ"
                    results.append(self._get_recognizer_result(match, text, region, nlp_artifacts))
        return EntityRecognizer.remove_duplicates(results)


class _Matcher(PhoneNumberMatcher):
    """libphonenumber's matcher, without parsing candidates too short to be a valid number.

    Nearly all of a text's candidates are dates, prices and counts ("15", "2024", "3... 2... 1"), and
    the matcher parses each of them once per region. A valid number's national significant number has
    a length its numbering plan allows (`is_valid_number` checks `general_desc.possible_length` before
    any pattern), and each of its digits comes from a digit of the candidate (or a letter: a vanity
    number's letters become digits). So a candidate with fewer letters and digits than
    `_fewest_characters` says is never valid, and answering None for it without parsing is exactly
    what `_parse_and_verify` would answer. Only at VALID and stricter: POSSIBLE also accepts lengths
    that are possible only for local dialling.
    """

    def _parse_and_verify(self, candidate: str, offset: int) -> PhoneNumberMatch | None:
        if self.leniency >= Leniency.VALID:
            anywhere, here = _fewest_characters(None), _fewest_characters(self.preferred_region)
            if len(candidate) < anywhere:
                return None
            count = sum(c.isalnum() for c in candidate)
            if count < anywhere or (count < here and not any(c in _PLUS_CHARS for c in candidate)):
                return None
        return super()._parse_and_verify(candidate, offset)  # type: ignore[no-any-return]


_PLUS_CHARS = "+\uff0b"  # libphonenumber's plus signs: "+" and the full-width one


@functools.cache
def _fewest_characters(region: str | None) -> int:
    """The fewest letters and digits a candidate needs to parse as a valid number.

    With `region` None: for any candidate, the shortest national significant number of any numbering
    plan. With a region: for a candidate without a plus sign, parsed for that region. It either dials
    out (the region's international prefix, a country code of at least one digit, then a national
    number of any plan) or is a number of the region's own country code, whose length one of that
    code's plans allows.
    """
    metadata = phonenumbers.PhoneMetadata
    plans = [metadata.metadata_for_region(r) for r in phonenumbers.SUPPORTED_REGIONS]
    plans += [metadata.metadata_for_nongeo_region(c) for c in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS]
    anywhere = min(_shortest_national(plan) for plan in plans)
    own = metadata.metadata_for_region(region) if region else None
    if own is None or own.country_code is None:
        return anywhere
    home = min(
        _shortest_national(metadata.metadata_for_region(r))
        for r in phonenumbers.region_codes_for_country_code(own.country_code)
    )
    dial_out = _shortest_prefix(own.international_prefix) + 1 + anywhere
    return int(min(home, dial_out))


def _shortest_national(plan: phonenumbers.PhoneMetadata | None) -> int:
    """The shortest national significant number `plan` allows; 0 (any) where it lists no lengths."""
    desc = plan.general_desc if plan is not None else None
    return min(desc.possible_length, default=0) if desc is not None else 0


def _shortest_prefix(pattern: str | None, longest: int = 3) -> float:
    """The fewest digits `pattern` (an international prefix) matches; past `longest`, that plus one.

    libphonenumber matches the prefix at the start of the candidate's digits (no pattern, no prefix);
    a prefix it matches there is a whole match of its own unless the pattern looks ahead or anchors.
    """
    if pattern is None:
        return math.inf
    if regex.search(r"\(\?[^:]|[$^]|\\[bBAZ]", pattern):
        return 0
    compiled = re.compile(pattern)
    for length in range(longest + 1):
        if any(compiled.fullmatch("".join(d)) for d in itertools.product("0123456789", repeat=length)):
            return length
    return longest + 1


_TWO_DIGITS = regex.compile(r"\d\D*\d")


def _alternation(words: Iterable[str]) -> str:
    # Longest first, so "Street" is tried before "St" and the dot of "St." is not left behind.
    return "|".join(sorted((regex.escape(w) for w in words), key=len, reverse=True))


# Street-type words written after the name (USPS Publication 28 suffixes in common use, and their
# usual abbreviations). Left out: suffixes that are mostly ordinary words after a number ("Union",
# "Key", "Light", "Point", "Station", "Run", "Pass", "Center", "Club", "Field", "Spring", "Well").
STREET_TYPES = [
    "Street", "St", "Avenue", "Ave", "Road", "Rd", "Lane", "Ln", "Drive", "Dr", "Boulevard", "Blvd",
    "Str", "Court", "Ct", "Place", "Pl", "Way", "Crescent", "Cres", "Terrace", "Tce", "Parade", "Pde",
    "Close", "Square", "Sq", "Highway", "Hwy", "Parkway", "Pkwy", "Circle", "Cir", "Trail", "Trl",
    "Alley", "Plaza", "Mews", "Gardens", "Grove", "Heights", "Hill", "Hills", "Loop", "Pike",
    "Turnpike", "Expressway", "Freeway", "Glen", "Ridge", "Quay", "Wharf", "Esplanade", "Causeway",
    "Cove", "Coves", "Creek", "Crossing", "Estates", "Harbor", "Harbour", "Lodge", "Manor", "Meadow",
    "Meadows", "Orchard", "Parks", "Route", "Row", "Walk", "Vale", "Valley", "Village", "Vista",
    "Wynd", "Gate", "Green", "Rise", "Bypass", "Motorway",
]  # fmt: skip
STREET_ABBREVIATIONS = [
    "St", "Str", "Ave", "Rd", "Ln", "Dr", "Blvd", "Ct", "Pl", "Cres", "Tce", "Pde", "Sq", "Hwy", "Pkwy",
    "Cir", "Trl",
]  # fmt: skip
# Written before the name (French, Italian, Spanish, Portuguese, Catalan, Greek); capitalised unless
# after a number.
PREFIX_TYPES = [
    "Rue", "Avenue", "Av.", "Av", "C/", "Boulevard", "Bd", "Chemin", "Allée", "Impasse", "Quai", "Via",
    "Viale", "Vicolo", "Piazza", "Piazzale", "Corso", "Calle", "Avenida", "Avda.", "Carrer", "Paseo", "Rua",
    "Travessa", "Praça", "Largo", "Οδός", "Οδ.", "Λεωφόρος", "Λεωφ.",
]  # fmt: skip
# Endings of one-word street names (German, Dutch, Nordic, Finnish, Hungarian, Czech), number after.
COMPOUND_ENDINGS = [
    "straße", "strasse", "str.", "gasse", "weg", "allee", "platz", "damm", "ufer", "gata", "gatan",
    "vägen", "väg", "gränd", "vej", "vei", "veien", "veg", "gade", "katu", "tie", "kuja", "polku", "laan",
    "straat", "gracht", "plein", "kade", "steeg", "utca", "útja", "körút", "ulice", "náměstí",
]  # fmt: skip
# The same street words standing apart, after the name ("Árpád fejedelem útja 62.", "Király u. 15.").
SEPARATE_TYPES = [
    "utca", "u.", "út", "útja", "tér", "körút", "gata", "gatan", "vägen", "vej", "vei", "veien",
    "straße", "strasse", "weg", "allee", "allé", "platz", "terrasse", "laan", "straat", "katu", "tie",
]  # fmt: skip
# Before the name (Polish, Czech, Slovak, Russian transliterated).
SLAVIC_PREFIXES = ["ul.", "ulica", "al.", "aleja", "os.", "nám.", "pr."]
UNIT_WORDS = ["Apartment", "Apt", "Suite", "Ste", "Flat", "Unit"]
# Words that end like a street but are not one.
NOT_STREETS = ["Brigade", "Renegade", "Necktie", "Bowtie"]
CONTEXT = [
    "address", "live", "street", "located", "deliver", "delivery", "ship", "shipping", "send", "mail",
    "post", "apartment", "home", "office", "meet", "visit", "reside", "billing",
]  # fmt: skip

_NUM = r"\d{1,5}[A-Za-z]?"
# A house number not glued to a currency sign, a version, a decimal or an id.
_HOUSE = rf"(?<![\w$£€#.,/:-]){_NUM}"
_CAP = r"\p{Lu}[\p{L}'’\-]*"
# Every pattern here runs in linear time (tests/unit/redaction/test_linear_time.py). A run such as
# "A-B-C-..." or "O'A'B'..." offers a start at each capital, and a pattern that begins with a word would
# read from each of them to the end of the run: n starts times n characters. Where the pattern begins with
# such a word, the word is possessive and followed by `(*SKIP)`, so once a start has failed the search
# resumes after the word. That changes no match: every start inside the run reads up to the same end and
# the same text after it, so each fails the same way.
_LEADING_CAP = r"\p{Lu}[\p{L}'’\-]*+(*SKIP)"
# A word before another one that may start inside it (compound_number): there a start inside the run can
# still match on its own, so nothing may be skipped, and the word is bounded instead (64 characters; the
# longest place names have under 60).
_BOUNDED_CAP = r"\p{Lu}[\p{L}'’\-]{0,63}+"
# Inside a street name a word may be an abbreviation ("Mt. Pleasant Rd"); at its end a dot is the sentence's.
_NAME_WORD = rf"(?:{_CAP}(?:\.(?=\s))?|\d{{1,3}}(?:st|nd|rd|th))"
_LINK = r"(?:(?:de|des|du|la|le|les|del|dei|degli|della|delle|dello|di|da|do|dos|das|los|las|d'|l')\s*)"
# Possessive blanks around the optional '#': two runs that may share the same spaces would otherwise
# try every split of a long run of them before failing.
_UNIT = rf"(?:,?\s+(?:{_alternation(UNIT_WORDS)})\.?\s*+#?\s*+{_NUM}\b)"
_END = r"(?![\w\-])"
_LOWER_WORD = r"(?:\p{Ll}[\p{Ll}'’\-]*+|\d{1,3}(?:st|nd|rd|th))"
# Street types rarely anything else after a number and a name, in lower case.
_LOWER_TYPE = (
    r"(?:street|avenue|road|lane|boulevard|drive|crescent|terrace|parkway|highway|st|ave|rd|blvd)\b\.?"
)
_LOWER_UNIT = rf"(?:,?\s+(?:apartment|apt|suite|ste|flat|unit)\.?\s*+#?\s*+{_NUM}\b)"
# A street type; only an abbreviation takes the dot after it, so "... Terrace." leaves the full stop.
_STREET_TYPE = (
    rf"(?:(?:{_alternation(t for t in STREET_TYPES if t not in STREET_ABBREVIATIONS)})\b"
    rf"|(?:{_alternation(STREET_ABBREVIATIONS)})\b\.?)"
)

PATTERNS = [
    # "22 Pollen Crescent", "3911 Fourth Avenue Suite 697", "1668 Glyn St."
    Pattern(
        "number_name_type",
        rf"{_HOUSE},?\s+(?:{_NAME_WORD}\s+){{1,3}}{_STREET_TYPE}{_UNIT}?",
        0.6,
    ),
    # "56 rue La Boétie", "Via Roma 12", "Avenida Paulista, 1000"
    Pattern(
        "romance_type_name",
        rf"(?:{_HOUSE},?\s+(?i:{_alternation(PREFIX_TYPES)})\s+{_LINK}{{0,2}}{_CAP}(?:\s+{_LINK}{{0,2}}{_CAP}){{0,3}}"
        rf"|(?<!\w)(?:{_alternation(PREFIX_TYPES)})\s+{_LINK}{{0,2}}{_CAP}(?:\s+{_LINK}{{0,2}}{_CAP}){{0,3}},?\s+{_NUM}{_END}){_UNIT}?",
        0.6,
    ),
    # "Ditscheinergasse 80", "Brucker Bundesstrasse 31", "Hansinegata 120"
    Pattern(
        "compound_number",
        rf"(?<!\w)(?:{_BOUNDED_CAP}\s+)?(?!(?:{_alternation(NOT_STREETS)})\b)\p{{Lu}}\p{{L}}{{2,}}(?:{_alternation(COMPOUND_ENDINGS)})\s+{_NUM}{_END}{_UNIT}?",
        0.6,
    ),
    # "Árpád fejedelem útja 62.", "Király u. 15.", "Stensås terrasse 38"
    Pattern(
        "name_type_number",
        rf"(?<!\w){_LEADING_CAP}(?:\s+\p{{L}}+){{0,2}}\s+(?:{_alternation(SEPARATE_TYPES)})\s+{_NUM}{_END}{_UNIT}?",
        0.6,
    ),
    # "ul. Miła 53", "ul. Zakrzowska 92 Apt. 399"
    Pattern(
        "slavic_prefix",
        rf"(?<!\w)(?:{_alternation(SLAVIC_PREFIXES)})\s*{_CAP}(?:\s+{_CAP}){{0,2}}\s+{_NUM}(?:/{_NUM})?{_END}{_UNIT}?",
        0.6,
    ),
    # "3747 fourth avenue suite 112": a street in lower case, as chats write it, with its unit. Without
    # the unit it is weak ("3 main street locations"): StreetNameRecognizer weighs it by its context.
    Pattern(
        "lower_case_street_unit",
        rf"{_HOUSE},?\s+(?:{_LOWER_WORD}\s+){{1,3}}{_LOWER_TYPE}{_LOWER_UNIT}",
        0.6,
    ),
    # "Apt. 864": an apartment number is an address wherever it stands.
    Pattern("apartment", rf"(?<!\w)(?:Apartment|Apt)\.?\s*+#?\s*+{_NUM}{_END}", 0.6),
    # "Suite 578", "Flat 5": weaker alone ("Unit 3" of a course, "Creative Suite 6"), so context decides.
    Pattern("unit", rf"(?<!\w)(?:Suite|Ste|Flat|Unit)\.?\s*+#?\s*+{_NUM}{_END}", 0.35),
    # "P.O. Box 149", "PO Box 12", "Postbox 21"
    Pattern("po_box", r"(?<!\w)(?:P\.?\s?O\.?\s*Box|Post(?:office\s)?box|Postfach)\s*\d{1,6}\b", 0.6),
    # US military mail: "PSC 1437, Box 3833", "Unit 7349 Box 6067", "DPO AE 99081"
    Pattern("military_box", r"(?<!\w)(?:PSC|CMR|Unit)\s+\d{3,5},?\s+Box\s+\d{1,5}\b", 0.7),
    Pattern("military_post", r"(?<!\w)(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+\d{5}\b", 0.7),
    # "St Georges, QC 54256", "Springfield, IL 62704-1234": a place, a state or province code, a ZIP.
    Pattern(
        "city_state_zip",
        r"(?<!\w)\p{Lu}[\p{L}.'’\-]++(*SKIP)(?:\s\p{Lu}[\p{L}.'’\-]+){0,2},\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?\b",
        0.6,
    ),
]


# Street types that are rarely anything else, for a street named without a number.
STRONG_STREET_TYPES = [
    "Street", "St", "Avenue", "Ave", "Road", "Rd", "Lane", "Boulevard", "Blvd", "Crescent", "Terrace",
    "Parade", "Highway", "Parkway", "Alley", "Mews", "Turnpike", "Esplanade", "Coves",
]  # fmt: skip
# Context for a street name alone: words that say a place is someone's, not a market or a film.
# (None may be a spaCy stop word: Presidio compares context with non-stop-word lemmas only, so "move"
# or "call" would never match.)
STREET_NAME_CONTEXT = [
    "address", "live", "lives", "living", "reside", "corner", "located", "intersection", "junction",
]  # fmt: skip


class StreetAddressRecognizer(PatternRecognizer):
    """Postal addresses: street lines, units, PO boxes, "City, ST 12345" (see the module docstring)."""

    ENTITY = "STREET_ADDRESS"

    def __init__(self, *, supported_language: str = "en", **kwargs: Any) -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name="StreetAddressRecognizer",
            supported_language=supported_language,
            patterns=PATTERNS,
            context=CONTEXT,
            # Not Presidio's default IGNORECASE: a capital letter is what tells "Pollen Crescent" from
            # "a crescent"; words that may be either case say so themselves. No DOTALL either.
            global_regex_flags=regex.MULTILINE | regex.VERSION0,
            **kwargs,
        )


class StreetNameRecognizer(PatternRecognizer):
    """A street named without a number ("lives on Baker Street"), or written in lower case ("i live at
    42 baker street"), only where an address word is near.

    Alone "Wall Street" is a market and "Google Drive" a product, so the pattern scores 0.3 (below
    the default threshold) and only an address word in the sentence lifts it; a recognizer of its own
    because Presidio's context words belong to a recognizer, and the house-number patterns' wider
    words ("send", "office") would lift "send it to my Google Drive".
    """

    def __init__(self, *, supported_language: str = "en", **kwargs: Any) -> None:
        super().__init__(
            supported_entity=StreetAddressRecognizer.ENTITY,
            name="StreetNameRecognizer",
            supported_language=supported_language,
            patterns=[
                Pattern(
                    "street_name",
                    rf"(?<![\w-]){_LEADING_CAP}(?:\s+{_NAME_WORD}){{0,2}}\s+(?:{_alternation(STRONG_STREET_TYPES)})\b",
                    0.3,
                ),
                # "the corner of Pachergasse 64 and Radolič Harbor": a street beside another, where any
                # street type names it (the context words still decide).
                Pattern(
                    "street_beside_street",
                    rf"(?<=(?<![\w-])(?:and|&|of)\s)(?<![\w-]){_LEADING_CAP}(?:\s+{_NAME_WORD}){{0,2}}"
                    rf"\s+(?:{_alternation(t for t in STREET_TYPES if t not in STREET_ABBREVIATIONS)})\b",
                    0.3,
                ),
                # "i live at 42 baker street": a house number and a street in lower case.
                Pattern("lower_case_street", rf"{_HOUSE},?\s+(?:{_LOWER_WORD}\s+){{1,3}}{_LOWER_TYPE}", 0.3),
            ],
            context=STREET_NAME_CONTEXT,
            global_regex_flags=regex.MULTILINE | regex.VERSION0,
            **kwargs,
        )


class CardRecognizer(CreditCardRecognizer):
    """Presidio's credit card recognizer (Luhn-checked), reading Mastercard's 2-series too.

    Since 2017 Mastercard also issues numbers from 2221 to 2720, which Presidio's pattern (first digit
    1, 3, 4, 5 or 6) never matches: "2289 6386 1058 0438" passed as text. The same pattern with a 2 in
    front of that range, the same weak score, the same Luhn check and context words.
    """

    PATTERNS = [
        Pattern(
            "All Credit Cards (weak)",
            r"\b(?!1\d{12}(?!\d))((4\d{3})|(5[0-5]\d{2})|(6\d{3})|(1\d{3})|(3\d{3})|(2[2-7]\d{2}))"
            r"[- ]?(\d{3,4})[- ]?(\d{3,4})[- ]?(\d{3,5})\b",
            0.3,
        )
    ]

    def __init__(self, *, supported_language: str = "en", **kwargs: Any) -> None:
        super().__init__(supported_language=supported_language, name="CardRecognizer", **kwargs)


def ftgate_recognizers(*, phone: PhoneSettings | None = None, language: str = "en") -> list[EntityRecognizer]:
    """The recognizers `create_analyzer` adds; the phone, card, NER and date ones replace Presidio's
    (`REPLACED`)."""
    return [
        FtgatePhoneRecognizer(settings=phone, supported_language=language),
        PhoneCueRecognizer(supported_language=language),
        CardRecognizer(supported_language=language),
        StreetAddressRecognizer(supported_language=language),
        StreetNameRecognizer(supported_language=language),
        AddressBlockRecognizer(supported_language=language),
        PostcodeRecognizer(supported_language=language),
        PlaceCueRecognizer(supported_language=language),
        PersonCueRecognizer(supported_language=language),
        FtgateNerRecognizer(supported_language=language),
        ProductAwareDateRecognizer(supported_language=language),
    ]


# Presidio's predefined recognizers that `ftgate_recognizers` replaces, by name.
REPLACED = ("PhoneRecognizer", "SpacyRecognizer", "DateRecognizer", "CreditCardRecognizer")


class ContextEnhancer(LemmaContextAwareEnhancer):
    """Presidio's lemma context enhancer, with two blind spots closed.

    1. Presidio drops spaCy's stop words from the words it compares with context words, and spaCy's
       English stop words include "call", "give", "show", "back" and others that recognizers list as
       context: "call me on 9472 7916" never counted "call". Here a stop word still counts when it is a
       context word of one of the recognizers in play (ad hoc ones from the redaction config included).
    2. Presidio looks only before a match by default (`context_suffix_count=0`), so "555 0199 (office)"
       or "+44 20 7946 0958 fax" got no help from the word after; here the next two words count too.

    The scores are Presidio's (`LemmaContextAwareEnhancer.enhance_using_context`, whose loop this one
    follows), computed with less work per string, which every string of a scan pays three or four
    times: the results are copied field by field instead of `copy.deepcopy` (the same copies, a sixth of
    the time), the keywords are computed only for a string with a result that reads them, and a match's
    token is found by bisection instead of a walk over the document from its start, twice per result.
    """

    def __init__(self, *, context_suffix_count: int = 2, **kwargs: Any) -> None:
        super().__init__(context_suffix_count=context_suffix_count, **kwargs)
        self._context_words: dict[tuple[EntityRecognizer, ...], frozenset[str]] = {}
        self._plain_words: dict[tuple[Any, str], dict[str, bool]] = {}

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        results = copy_results(raw_results)
        if not results or nlp_artifacts is None:
            return results
        by_id = {recognizer.id: recognizer for recognizer in recognizers}
        given = [word.lower() for word in context] if context else []
        reading: TokenReading | None = None
        for result in results:
            metadata = result.recognition_metadata
            recognizer = (
                by_id.get(metadata.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY)) if metadata else None
            )
            # No context words, or already lifted by the recognizer itself: Presidio leaves it as it is.
            if recognizer is None or not recognizer.context:
                continue
            if metadata.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
                continue
            if reading is None:
                reading = self.reading(nlp_artifacts, recognizers)
            word = text[result.start : result.end]
            surrounding = self._surrounding(reading, word, result.start)
            surrounding.extend(given)
            supportive = self._find_supportive_word_in_context(
                surrounding, recognizer.context, self.context_matching_mode
            )
            if supportive != "":
                result.score += self.context_similarity_factor
                result.score = max(result.score, self.min_score_with_context_similarity)
                result.score = min(result.score, ContextAwareEnhancer.MAX_SCORE)
                result.analysis_explanation.set_supportive_context_word(supportive)
                result.analysis_explanation.set_improved_score(result.score)
        return results

    def _extract_surrounding_words(self, nlp_artifacts: NlpArtifacts, word: str, start: int) -> list[str]:
        """Presidio's, except that the words after are counted from the match's last token, not its first.

        A phone number is several tokens ("416 60 039"); counted from the first, the words "after" it
        are its own digits and "(office)" is never reached.
        """
        return self._surrounding(TokenReading(nlp_artifacts), word, start)

    def _surrounding(self, reading: TokenReading, word: str, start: int) -> list[str]:
        artifacts = reading.artifacts
        if not artifacts.tokens:
            return [""]
        first = reading.token_at(start)
        last = reading.token_at(start + max(len(word), 1) - 1)
        keywords = artifacts.keywords
        before = self._add_n_words_backward(first, self.context_prefix_count, artifacts.lemmas, keywords)
        after = self._add_n_words_forward(last, self.context_suffix_count, artifacts.lemmas, keywords)
        return list(set(before + after))

    def reading(self, nlp_artifacts: NlpArtifacts, recognizers: list[EntityRecognizer]) -> TokenReading:
        """The artifacts with the keywords this enhancer compares (stop words that are context words
        kept), and the ends of their tokens."""
        engine = nlp_artifacts.nlp_engine
        if engine is None or not nlp_artifacts.lemmas:
            return TokenReading(nlp_artifacts)
        key = tuple(recognizers)
        words = self._context_words.get(key)
        if words is None:
            if len(self._context_words) > _RECOGNIZER_SETS_HELD:  # ad hoc recognizers come with configs
                self._context_words.clear()
            words = frozenset(
                word.lower() for r in recognizers for word in (getattr(r, "context", None) or [])
            )
            self._context_words[key] = words
        # The artifacts do not say their language; the recognizers asked for it all support it.
        language = recognizers[0].supported_language if recognizers else "en"
        plain = self._plain_words.setdefault((engine, language), {})
        if len(plain) > _PLAIN_WORDS_HELD:  # a long-lived server reads unboundedly many lemmas
            plain.clear()
        view = copy.copy(nlp_artifacts)
        view.keywords = _keywords(nlp_artifacts.lemmas, words, plain, engine, language)
        return TokenReading(view)


# Recognizer lists whose context words an enhancer remembers (then it starts afresh).
_RECOGNIZER_SETS_HELD = 64
# Lemmas whose stop-word and punctuation test an enhancer remembers per model (then it starts afresh).
_PLAIN_WORDS_HELD = 100_000


class TokenReading:
    """NLP artifacts as `ContextEnhancer` reads them: the token under a character found by bisection."""

    def __init__(self, artifacts: NlpArtifacts) -> None:
        self.artifacts = artifacts
        self._ends: list[int] | None = None

    def token_at(self, start: int) -> int:
        """Presidio's `_find_index_of_match_token`: the first token that ends after `start`.

        Presidio walks the tokens from the first for a token that starts at `start` or covers it;
        tokens are ordered, disjoint and never empty, so that is the first whose end is past `start`.
        """
        if self._ends is None:
            artifacts = self.artifacts
            self._ends = [
                i + len(t) for i, t in zip(artifacts.tokens_indices, artifacts.tokens, strict=False)
            ]
        index = bisect.bisect_right(self._ends, start)
        if index == len(self._ends):
            raise ValueError("no token covers the character")  # Presidio's error; never the text
        return index


def _keywords(
    lemmas: list[str], context_words: frozenset[str], plain: dict[str, bool], engine: Any, language: str
) -> list[str]:
    """`NlpArtifacts.set_keywords`'s keywords plus the stop words in `context_words`; `plain` remembers,
    per lemma, whether it is neither a stop word nor punctuation (spaCy's lexeme flags, fixed per model)."""
    keywords: list[str] = []
    for lemma in lemmas:
        lowered = lemma.lower()
        if lowered not in context_words:
            kept = plain.get(lemma)
            if kept is None:
                kept = plain[lemma] = (
                    not engine.is_stopword(lemma, language)
                    and not engine.is_punct(lemma, language)
                    and lemma not in ("-PRON-", "be")
                )
            if not kept:
                continue
        keywords.extend(lowered.split(":"))
    return keywords


def copy_results(results: list[RecognizerResult]) -> list[RecognizerResult]:
    """What `copy.deepcopy(results)` returns, for Presidio's results: each result, its explanation and its
    metadata copied (shared objects stay shared, as deepcopy's memo keeps them), their fields immutable."""
    memo: dict[int, Any] = {}
    out: list[RecognizerResult] = []
    for result in results:
        twin = memo.get(id(result))
        if twin is None:
            twin = memo[id(result)] = copy.copy(result)
            explanation = result.analysis_explanation
            if explanation is not None:
                if id(explanation) not in memo:
                    memo[id(explanation)] = copy.copy(explanation)
                twin.analysis_explanation = memo[id(explanation)]
            twin.recognition_metadata = copy.deepcopy(result.recognition_metadata, memo)
        out.append(twin)
    return out
