"""Values that the words around them name: an answer to a question for them ("what's your postcode?"
then "05947"), and a number introduced as one's phone ("reach me on 923429735").

A turn that holds only a value has no context for any recognizer: "05947" is any number, "923429735"
a bare run of digits that Presidio scores 0.4, "It's 75-599." nothing at all. The turn before says
what it is. When a chat turn asks for a postcode or a phone number, and the next turn is a short
answer (`MAX_ANSWER` characters at most), the postcode- or phone-shaped value in that answer is a
finding of that type.

`PhoneCueRecognizer` does the same inside one string: digits after "reach me on", "call me at", "my
number is", ... are a phone number even where the phone recognizer cannot tell the country.

Turns are the items of one list in a record (`messages[3].content` follows `messages[2].content`;
ShareGPT's `conversations[1].value` follows `conversations[0].value`). Every pattern is linear: the
turns are short, and each pattern is anchored to a word boundary with possessive repeats.
"""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from gateway.redaction.findings import make_result
from gateway.redaction.rules import RuleRecognizer

POSTCODE = "POSTCODE"
PHONE_NUMBER = "PHONE_NUMBER"
SCORE = 0.6
MAX_ANSWER = 80
# The question's last 200 characters are read: where a turn asks, it asks at its end.
_QUESTION_TAIL = 200

# What a question asks for, by the words that name it.
_ASKS = {
    POSTCODE: regex.compile(
        r"\b(?i:post[ \-]?code|postal[ \t]++code|zip(?:[ \t]*+code)?|pin[ \t]*+code|postleitzahl|plz|"
        r"code[ \t]++postal|c[oó]digo[ \t]++postal|cap)\b"
    ),
    PHONE_NUMBER: regex.compile(
        r"\b(?i:phone|telephone|mobile|cell|cellphone|landline|whats[ \-]?app|contact[ \t]++number|"
        r"call[ \t]++you[ \t]++on|reach[ \t]++you)\b"
    ),
}
# A postcode's shape: 3 to 10 characters of digits and capitals, at least two digits, with one space
# or dash at most ("05947", "75-599", "1100-053", "SW1A 1AA", "K1A 0B1", "D02 X285", "10115").
_POSTCODE_SHAPE = regex.compile(
    r"(?<![\w\-/.])(?=(?:[A-Z]*+\d){2})[A-Z\d]{2,6}+(?:[ \-][A-Z\d]{2,4}+)?(?![\w\-/])"
)
# A phone number's shape: 6 to 15 digits with the separators people type ("923 429 735", "+351 ...").
_PHONE_SHAPE = regex.compile(r"(?<![\w+])\+?\(?\d(?:[\d \-().]{4,20}+)(?<=\d)(?![\w])")
_DIGIT = regex.compile(r"\d")
# A list item's path: the list's path, the item's index, and the field inside it.
_TURN = regex.compile(r"^(?P<list>.*)\[(?P<index>\d{1,9})\](?P<field>[^\[\]]*)$")


def asked_for(question: str) -> list[str]:
    """The entity types the last question of a turn asks for ("what's your postcode?"); words before
    that question's sentence do not count ("Your postcode is on file. Anything else?")."""
    tail = question[-_QUESTION_TAIL:]
    end = tail.rfind("?")
    if end < 0:
        return []
    start = max(tail.rfind(c, 0, end) for c in ".!?\n") + 1
    sentence = tail[start:end]
    return [entity for entity, words in _ASKS.items() if words.search(sentence)]


def answer_findings(answer: str, entities: list[str]) -> list[RecognizerResult]:
    """The values of `entities` in a short `answer`."""
    if len(answer) > MAX_ANSWER:
        return []
    out: list[RecognizerResult] = []
    if POSTCODE in entities:
        for match in _POSTCODE_SHAPE.finditer(answer):
            if len(match.group()) <= 10:
                out.append(make_result(POSTCODE, match.start(), match.end(), SCORE, "answer"))
    if PHONE_NUMBER in entities:
        for match in _PHONE_SHAPE.finditer(answer):
            digits = len(_DIGIT.findall(match.group()))
            if 6 <= digits <= 15:
                out.append(make_result(PHONE_NUMBER, match.start(), match.end(), SCORE, "answer"))
    return out


def previous_turn(path: str) -> str | None:
    """The path of the turn before the one at `path` ("messages[2].content" for "messages[3].content")."""
    match = _TURN.match(path)
    if match is None or match.group("index") == "0":
        return None
    return f"{match.group('list')}[{int(match.group('index')) - 1}]{match.group('field')}"


# "reach me on", "call me at", "text me on", "my mobile is", "my number:", "whatsapp me at".
_PHONE_CUE = regex.compile(
    r"\b(?i:(?:reach|call|ring|text|phone|whats[ \-]?app|contact|sms)[ \t]++(?:me|us)[ \t]++(?:on|at)"
    r"|(?:my|our)[ \t]++(?:phone|mobile|cell|telephone|contact|whats[ \-]?app)?[ \t]*+"
    r"(?:number|no\.?|phone|mobile|cell)"
    r"(?:[ \t]++is|[ \t]*+:))[ \t]*+"
    r"(?P<number>\+?\(?\d[\d \-().]{4,20}+)"
)


class PhoneCueRecognizer(RuleRecognizer):
    """Digits introduced as one's phone number ("reach me on 923429735"), 6 to 15 of them."""

    NAME = "PhoneCueRecognizer"
    ENTITIES = (PHONE_NUMBER,)
    EXPLAINS = "a phone number"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if PHONE_NUMBER not in entities:
            return []
        out = []
        for match in _PHONE_CUE.finditer(text):
            start, end = match.span("number")
            while end > start and not text[end - 1].isdigit():
                end -= 1
            if 6 <= len(_DIGIT.findall(text, start, end)) <= 15:
                out.append(self.result(start, end, "phone_cue"))
        return out
