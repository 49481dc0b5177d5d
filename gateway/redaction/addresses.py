"""Postal addresses as people write them out: blocks of lines, and street lines with what surrounds them.

`StreetAddressRecognizer` (recognizers.py) finds a street line ("22 Pollen Crescent", "Kiannonkatu 98").
An address is more than its street, and what was left beside it still places a person:

- `address_blocks`: a street line followed by the short lines an envelope has (unit, city, often in
  capitals, region code, country, postcode), or whatever follows an "Address:" label. The whole block
  is the address:

      20789 Allika 46          <- a street line: a house number and words, or words and a number
       Suite 501               <- unit
       Riisa                   <- city
                               <- one blank line may separate them
       Estonia 62488           <- country and postcode

  A line with a label ("Mobile: ..."), an email or a sentence ends the block; so do two blank lines.
  A street line without a house number first ("Allika 46") needs a postcode or unit line after it, so a
  heading like "Windows 11" over a list is never a block.
- `AddressBlockRecognizer` (beside `StreetAddressRecognizer`, which stays the judge of a street line):
  the blocks above; a street written as numbers around words ("17151 2450 Crown St": a building and a
  house number; "07576 Magasinsgatan 7"); a street after an address cue ("my address is Pivovarská
  276", "lives on Grössgstötten 50", "send ORD-31633 to Plaza de Begoña Infante 1"), where a street
  name without a street word is otherwise indistinguishable from "Windows 11"; "Legerského 116,
  Zákopčie" (a street, a number and the town after a comma); what follows "Billing address:" on its
  line when it holds a number. Once every recognizer has run (Presidio hands each the others'
  findings in `enhance_using_context`) it grows the other recognizers' street findings over the
  town, region and postcode written after them ("22 Pollen Crescent, Fitzroy, Australia 3065").
  Words that number other things ("Version 2", "Step 3", "Level 4") never make a street.

Every pattern is linear: possessive quantifiers and bounded repeats, matched line by line.
"""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from gateway.redaction.names import PLACE_WORDS, gazetteer
from gateway.redaction.rules import RuleRecognizer

STREET_ADDRESS = "STREET_ADDRESS"

# Bullets, quote marks or mojibake before a line's text ("??? 138 Consul Place", "> Apt. 5"); an
# email's quote markers need no space after them (">3369 24 Clarke Avenue", ">> Apt. 805").
_PREFIX = regex.compile(r"[ \t]*+(?:>[> \t]*+|[^\p{L}\p{N}\s]{1,4}+[ \t]++)?")
_WORD = r"[\p{L}\p{M}(][\p{L}\p{M}.'’()\-/]*+"
_NUMBER = r"\d{1,5}[A-Za-z]?"
# "20789 Allika 46", "808 Kálmán Imre u. 12.", "P.O. Box 211 Medvedev Islands": a number then words.
_NUMBER_FIRST = regex.compile(
    rf"(?:{_NUMBER}[ \t]++){{1,2}}(?:{_WORD}|{_NUMBER})(?:[ \t,]++(?:{_WORD}|{_NUMBER}\.?)){{0,9}}[ \t,]*+"
    r"|(?i:p\.?[ \t]?o\.?[ \t]*+box|psc|cmr|postfach|postbox)[ \t]*+\d{1,6}(?:[ \t,]++(?:"
    + _WORD
    + r"|\d{1,5})){0,6}[ \t]*+"
)
# "Allika 46", "Søndergade 52", "ul. Północna 73": words then a house number.
_NUMBER_LAST = regex.compile(
    rf"{_WORD}(?:[ \t]++{_WORD}){{0,4}}[ \t]++{_NUMBER}\.?(?:[ \t,]++{_WORD}){{0,4}}[ \t,]*+"
)
_UNIT = regex.compile(
    r"(?i:apt|apartment|suite|ste|flat|unit|floor|fl|room|rm|bldg|building|box|block|house|door)\.?"
    r"[ \t]*+#?[ \t]*+[\w\-]{1,6}[ \t]*+,?"
)
# A postcode at the end of a short line: "Estonia 62488", "Humilimont, nan 78618", "IL 62704-1234",
# "London NW1 6XE", "K1A 0B1"; or first: "75004 Paris", "1100-053 Lisboa", "00-950 Warszawa".
_CODE = (
    r"(?:(?:\d{4,6}(?:[- ]\d{2,4})?|\d{2,3}[- ]\d{2,4})(?:[ \t][A-Z]{2})?"
    r"|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d|[A-Z]{1,2}-\d{4,5})"
)
_POSTAL = regex.compile(
    rf",?[ \t]*+(?:{_WORD}[ \t]*+,?[ \t]*+){{0,4}}{_CODE}[ \t]*+"
    rf"|{_CODE}(?:[ \t,]++{_WORD}){{1,4}}[ \t]*+"
)
# A city, region or country line: a few words, "ΑΓΛΑΝΤΖΙΑ (ΑΓΛΑΓΓΙΑ)", ", CO", "Soto del Barco".
_CITY = regex.compile(rf",?[ \t]*+{_WORD}(?:[ \t,]++{_WORD}){{0,4}}[ \t]*+,?")
_LABEL = regex.compile(
    r"(?i:(?:(?:home|postal|mailing|shipping|billing|delivery|street|work|office|business|"
    r"correspondence|registered|permanent|current|new|old|my|our|their|his|her)[ \t]++)?"
    r"address(?:es)?)[ \t]*+:?[ \t]*+"
)
_INLINE_LABEL = regex.compile(
    r"(?i:(?:(?:home|postal|mailing|shipping|billing|delivery|street)[ \t]++)?address)[ \t]*+:[ \t]*+"
)
_MAX_LINE = 90
_PLACE_WORDS = frozenset(PLACE_WORDS)


# Where a line ends: a line break, or a line break lost when the text was flattened: an email quote
# marker (" > " or " >", as in ">Ella H. Snider >Otc Markets >228 Ringvej 144") or " | ".
_LINE_BREAK = regex.compile(r"\n|(?<=[ \t])>(?=[ \t]|\p{L}|\d)|[ \t]\|(?=[ \t])")


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line's text, after its bullet or prefix."""
    out: list[tuple[int, int]] = []
    start = 0
    for brk in (*_LINE_BREAK.finditer(text), None):
        end = brk.start() if brk is not None else len(text)
        prefix = _PREFIX.match(text, start, end)
        content_start = prefix.end() if prefix else start
        content_end = end
        while content_end > content_start and text[content_end - 1] in " \t\r":
            content_end -= 1
        out.append((content_start, content_end))
        if brk is not None:
            start = brk.end()
    return out


def _fits(pattern: regex.Pattern[str], text: str, start: int, end: int) -> bool:
    return end - start <= _MAX_LINE and pattern.fullmatch(text, start, end) is not None


def _kind(text: str, start: int, end: int, *, in_block: bool) -> str | None:
    """What an address line is: "unit", "postal", "city", or None (not part of an address)."""
    if start == end:
        return "blank"
    if _fits(_UNIT, text, start, end):
        return "unit"
    if _fits(_POSTAL, text, start, end) and not _is_sentence(text, start, end):
        return "postal"
    if in_block and _fits(_CITY, text, start, end) and _looks_like_a_place(text, start, end):
        return "city"
    return None


def _is_sentence(text: str, start: int, end: int) -> bool:
    return text[end - 1 : end] in ".?!" and text.count(" ", start, end) > 3


def _looks_like_a_place(text: str, start: int, end: int) -> bool:
    """Words capitalised (or all lower case, as a whole lower-case record is), none ordinary vocabulary."""
    words = regex.findall(r"[\p{L}\p{M}]++", text[start:end])
    if not words:
        return False
    gaz = gazetteer()
    if any(
        gaz.is_vocabulary(w) and not gaz.is_place(w) and w.casefold() not in _PLACE_WORDS
        for w in words
        if len(w) > 3
    ):
        return False
    return words[0][0].isupper() or text[start:end].islower()


def _street_kind(text: str, start: int, end: int) -> str | None:
    """ "number" for "20789 Allika 46", "name" for "Allika 46", None for anything else."""
    if end - start > _MAX_LINE or "@" in text[start:end] or ":" in text[start:end]:
        return None
    if _NUMBER_FIRST.fullmatch(text, start, end):
        return "number"
    if _NUMBER_LAST.fullmatch(text, start, end):
        return "name"
    return None


_NUMBER_START = regex.compile(r"(?<=[ \t])\d")
_MAX_TAIL_TRIES = 4


def _street_tail(text: str, start: int, end: int) -> int | None:
    """Where a number-first street line begins inside a longer line ("... to 14 Crown Street"), or None."""
    for tries, match in enumerate(_NUMBER_START.finditer(text, start, end)):
        if tries >= _MAX_TAIL_TRIES:
            break
        if _NUMBER_FIRST.fullmatch(text, match.start(), end):
            return match.start()
    return None


def address_blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each multi-line postal address in `text` (see the module docstring)."""
    if "\n" not in text and ">" not in text and "|" not in text:
        return []
    lines = _lines(text)
    blocks: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        start, end = lines[i]
        labelled = False
        inline = _INLINE_LABEL.match(text, start, end)
        if _LABEL.fullmatch(text, start, end):
            # "Address:" alone on its line: the next line starts the address, whatever it is.
            j = i + 1
            while j < len(lines) and lines[j][0] == lines[j][1]:
                j += 1
            if j >= len(lines):
                break
            i, labelled = j, True
            start, end = lines[i]
        elif inline and inline.end() < end:
            start, labelled = inline.end(), True
        kind = "number" if labelled else _street_kind(text, start, end)
        if kind is None and i + 1 < len(lines):
            # The street may end a sentence: "... send a new one to 14 Crown Street\n Suite 321\n ..."
            tail = _street_tail(text, start, end)
            if tail is not None:
                start, kind = tail, "number"
        if kind is None:
            i += 1
            continue
        last_end, blanks, seen = end, 0, set()
        j = i + 1
        while j < len(lines):
            s, e = lines[j]
            line_kind = _kind(text, s, e, in_block=True)
            if line_kind == "blank":
                blanks += 1
                if blanks > 1:
                    break
                j += 1
                continue
            if line_kind is None:
                break
            seen.add(line_kind)
            last_end, blanks = e, 0
            j += 1
        # A street without a house number first needs an envelope's unit or postcode line after it.
        strong = labelled or kind == "number"
        if seen and (strong or seen & {"unit", "postal"}):
            blocks.append((start, last_end))
            i = j
        elif labelled and end > start:
            blocks.append((start, end))
            i += 1
        else:
            i += 1
    return blocks


# A line that holds only a name: two to four capitalised words or initials ("Gyala Antall",
# "Mijail C Adomo", "Ella H. Snider").
_NAME_LINE = regex.compile(
    r"(?<![\p{L}\p{M}'’\-.])\p{Lu}[\p{L}\p{M}'’\-]*+\.?(?:[ \t]++\p{Lu}[\p{L}\p{M}'’\-]*+\.?){1,3}"
)
_ADDRESSEE_LINES = 3


def addressee_lines(text: str, blocks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(start, end) of the lines just above each address block (three at most, no blank line between)
    that hold only a name's shape: where an envelope or a signature puts the addressee and the firm.
    Which of them is a person is the caller's judgement."""
    if not blocks:
        return []
    lines = _lines(text)
    out: list[tuple[int, int]] = []
    for block_start, _ in blocks:
        above = [i for i, (s, e) in enumerate(lines) if e <= block_start]
        for i in reversed(above[-_ADDRESSEE_LINES:]):
            s, e = lines[i]
            if s == e:
                break
            if e - s <= _MAX_LINE and _NAME_LINE.fullmatch(text, s, e):
                out.append((s, e))
    return out


# "17151 2450 Crown St", "7873 216 Menzies Street": a building (or postcode) and a house number before
# the street's words.
_TWO_NUMBERS = regex.compile(
    r"(?<![\w.,:/\-])\d{1,5}[ \t]++\d{1,5}[A-Za-z]?[ \t]++\p{Lu}[\p{L}\p{M}'’\-]*+"
    r"(?:[ \t]++\p{Lu}[\p{L}\p{M}.'’\-]*+){0,3}"
)
# "07576 Magasinsgatan 7", "9383 ul. Chrzanowska 61", "518 Árpád fejedelem útja 62": a number, a
# street's words and a house number.
_NUMBER_NAME_NUMBER = regex.compile(
    r"(?<![\w.,:/\-])\d{1,5}[ \t]++(?:(?i:ul|al|os|pl|nám|u)\.[ \t]*+)?\p{Lu}[\p{L}\p{M}'’\-]*+"
    r"(?:[ \t]++[\p{L}\p{M}'’\-]++\.?){0,3}[ \t]++\d{1,5}[A-Za-z]?(?![\w\-]|[.,]\d)"
)
# A street named after an address cue, without a street word: "address: 5366 Pivovarská 276".
_CUED_STREET = regex.compile(
    r"(?i:address(?:[ \t]++is)?[ \t]*+:?|lives?[ \t]++(?:on|at)"
    r"|living[ \t]++(?:on|at)|located[ \t]++(?:on|at)|resides?[ \t]++(?:on|at)|moved[ \t]++to"
    r"|(?:deliver(?:ed)?|ship(?:ped)?|sen[dt]|mail(?:ed)?|post(?:ed)?|forward(?:ed)?|return(?:ed)?|bring|take)"
    r"(?:[ \t]++(?:it|them|this|these|the[ \t]++\p{Ll}++|a[ \t]++\p{Ll}++|my[ \t]++\p{Ll}++"
    r"|[\p{Lu}\d][\w\-#]{1,20}+))?"
    r"[ \t]++to"
    r"|(?:office|store|shop|house|home|flat|apartment|building|warehouse|studio|clinic|restaurant|hotel)"
    r"[ \t]++(?:is|are|was|were)[ \t]++(?:at|on)|meet[ \t]++(?:me|us)[ \t]++(?:at|on))[ \t]++"
    r"(?P<street>(?:\d{1,5}[A-Za-z]?[ \t]++){0,2}\p{Lu}[\p{L}\p{M}.'’\-]*+(?:[ \t]++[\p{L}\p{M}.'’\-]++){0,3}"
    r"[ \t]++\d{1,5}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?)(?![\w\-]|[.,]\d)"
)
# "Billing address: 534, chemin Alexandrie Guyon, 66381 Nantes.": what follows an address label on its
# line, if it holds a number (a house number or a postcode).
_LABELLED_ADDRESS = regex.compile(
    r"(?i:(?:(?:home|postal|mailing|shipping|billing|delivery|street|new|old)[ \t]++)?address)[ \t]*+:[ \t]*+"
    r"(?P<address>[^\n:@]{4,120}+)"
)
# Things numbered like streets that are not ("ship to Version 2", "3 Main Points 4").
NOT_STREET_WORDS = frozenset(
    [
        "chapter", "section", "step", "steps", "page", "pages", "level", "version", "stage", "phase",
        "part", "gate", "platform", "terminal", "day", "days", "week", "weeks", "item", "items", "line",
        "row", "column", "figure", "table", "slide", "lesson", "module", "episode", "season", "track",
        "verse", "task", "question", "windows", "ios", "android", "python", "java", "release", "build",
        "update", "plan", "tier", "option", "number", "no", "order", "ticket", "case", "invoice", "room",
        "seat", "flight", "bus", "train", "route", "and", "or", "of", "to", "the", "for", "with", "x",
    ]
)  # fmt: skip
_LETTERS = regex.compile(r"[\p{L}\p{M}]++")


def _street_words_plausible(text: str, start: int, end: int) -> bool:
    """No word that numbers other things ("Version", "Step"), and one that is no ordinary word."""
    gaz = gazetteer()
    words = _LETTERS.findall(text, start, end)
    if not words or any(w.casefold() in NOT_STREET_WORDS for w in words):
        return False
    return any(not gaz.is_vocabulary(w) for w in words if len(w) > 2)


# "Legerského 116, Zákopčie", "Hercegovačka 8c, Kraljevica": a street's words, a house number and,
# after a comma, the town that ends the clause.
_NAME_NUMBER_TOWN = regex.compile(
    r"(?<![\w\-'’])\p{Lu}[\p{L}\p{M}'’\-]*+(?:[ \t]++[\p{L}\p{M}'’\-]++\.?){0,3}"
    r"[ \t]++\d{1,5}[a-zA-Z]?(?:/\d{1,4})?"
    r",[ \t]*+(?P<town>\p{Lu}[\p{L}\p{M}'’\-]*+(?:[ \t]++\p{Lu}[\p{L}\p{M}'’\-]*+){0,2})"
    r"(?=[ \t]*+(?:[.,;!?)\n]|$))"
)
# After a street finding: ", Mora de Rubielos, Spain 16200", ", Graz", ", St Georges, QC 54256".
_TOWN_TAIL = regex.compile(
    r"[ \t]*+,[ \t]*+\p{Lu}[\p{L}\p{M}'’\-]*+"
    r"(?:[ \t]++(?:\p{Lu}[\p{L}\p{M}'’\-]*+|de|del|do|da|di|la|le|nad|pod|am|an|im|u|sur|en))"
    r"{0,3}(?:[ \t]*+,[ \t]*+\p{Lu}[\p{L}\p{M}'’\-]*+(?:[ \t]++\p{Lu}[\p{L}\p{M}'’\-]*+){0,2}){0,2}"
    r"(?:[ \t]*+,?[ \t]*+(?:[A-Z]{2}[ \t]++)?\d{4,6}(?:-\d{3,4})?)?(?=[ \t]*+(?:[.,;!?)\n]|$|[ \t]+\p{Ll}))"
)


# In lower case, as chats write an address on one line: "... suite 112 calgary alberta". No comma, so
# the words must run to the end of the clause and none may be an ordinary word ("... street with my wife").
_LOWER_TOWN_TAIL = regex.compile(
    r"(?<![ \t])[ \t]++\p{Ll}[\p{Ll}\p{M}'’\-]*+(?:[ \t]++\p{Ll}[\p{Ll}\p{M}'’\-]*+){0,2}"
    r"(?=[ \t]*+(?:[.,;!?)\n]|$))"
)


def town_after(text: str, end: int) -> int | None:
    """Where the town (region, country, postcode) written after a street ending at `end` ends, or None."""
    limit = min(len(text), end + _MAX_LINE)
    gaz = gazetteer()
    lower = _LOWER_TOWN_TAIL.match(text, end, limit)
    if lower is not None:
        words = _LETTERS.findall(text, end, lower.end())
        if all(len(w) > 2 and (gaz.is_place(w) or not gaz.is_vocabulary(w)) for w in words):
            return lower.end()
    match = _TOWN_TAIL.match(text, end, limit)
    if match is None:
        return None
    words = _LETTERS.findall(text, end, match.end())
    if not words or any(gaz.is_vocabulary(w) and not gaz.is_place(w) for w in words if w[:1].isupper()):
        return None
    return match.end()


def street_spans(text: str) -> list[tuple[int, int, str]]:
    """Streets written as numbers around words, and streets after an address cue."""
    if not any(c.isdigit() for c in text):
        return []
    out: list[tuple[int, int, str]] = []
    for pattern, why in ((_TWO_NUMBERS, "two_numbers"), (_NUMBER_NAME_NUMBER, "number_name_number")):
        for match in pattern.finditer(text):
            if _street_words_plausible(text, *match.span()):
                out.append((*match.span(), why))
    for match in _CUED_STREET.finditer(text):
        start, end = match.span("street")
        if _street_words_plausible(text, start, end):
            out.append((start, end, "cued_street"))
    for match in _LABELLED_ADDRESS.finditer(text):
        start, end = match.span("address")
        while end > start and text[end - 1] in " \t.;,!?":
            end -= 1
        if any(c.isdigit() for c in text[start:end]) and _LETTERS.search(text, start, end):
            out.append((start, end, "labelled_address"))
    gaz = gazetteer()
    for match in _NAME_NUMBER_TOWN.finditer(text):
        town = match.group("town")
        street_end = match.start("town")
        if _street_words_plausible(text, match.start(), street_end) and not any(
            gaz.is_vocabulary(w) and not gaz.is_place(w) for w in _LETTERS.findall(town)
        ):
            out.append((match.start(), match.end(), "street_and_town"))
    return out


class AddressBlockRecognizer(RuleRecognizer):
    """Whole postal addresses: blocks of lines, numbered streets, streets after an address cue.

    Beside `StreetAddressRecognizer`, which finds the street line and stays the judge of it; the
    findings overlap and Presidio's conflict resolution keeps the longer.
    """

    NAME = "AddressBlockRecognizer"
    ENTITIES = (STREET_ADDRESS,)
    EXPLAINS = "a postal address"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if STREET_ADDRESS not in entities:
            return []
        spans = [(s, e, "address_block") for s, e in address_blocks(text)] + street_spans(text)
        return [self.result(s, e, why) for s, e, why in spans]

    def enhance_using_context(
        self,
        text: str,
        raw_recognizer_results: list[RecognizerResult],
        other_raw_recognizer_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        """Grow the other recognizers' street findings over the town after them ("22 Pollen Crescent,
        Fitzroy", "Kiannonkatu 98 Apt. 105, ISHAM, United Kingdom"): Presidio hands each recognizer the
        others' findings here, once all have run."""
        grown = list(raw_recognizer_results)
        for other in other_raw_recognizer_results:
            if other.entity_type != STREET_ADDRESS or other.score < self.score:
                continue
            end = town_after(text, other.end)
            if end is not None:
                grown.append(self.result(other.start, end, "street_and_town"))
        return grown
