"""The labelled evasion set: known PII values, each hidden by one disguise, in sentences with context.

    .venv/bin/python benchmarks/redaction_evasion.py [--out evasion.jsonl]

Built by rules, not by hand, so every disguise is applied the same way to every value it fits:
full-width forms (NFKC), a full-width `＠` alone, zero-width and other invisible characters, Cyrillic and
Greek homoglyphs, digits split by spaces, dots or dashes, and the whole value base64-, URL- or
hex-encoded. Each case carries the entity type and the span of the disguised value in its text, so a
scanner's recall per disguise can be measured (benchmarks/redaction_efficacy.py) and tested
(tests/unit/redaction/test_disguises.py). Deterministic: the same seed gives the same set.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass

# Values from the synthetic corpus in shared/data/pii (presidio-research), with sentences the small
# spaCy model reads the intended way (the same ones the scanner's unit tests use).
BASE: list[tuple[str, str, str]] = [
    ("EMAIL_ADDRESS", "UtaKortig@jourrapide.com", "Please send the invoice to {} by mail."),
    ("EMAIL_ADDRESS", "SzaszJanka@cuvox.de", "You can reach the reviewer at {} anytime."),
    ("PHONE_NUMBER", "905-674-3793", "My phone number is {}, call me after lunch."),
    ("CREDIT_CARD", "4454794511390933", "My credit card number is {} and it was declined."),
    ("US_SSN", "460-89-9847", "My social security number is {}."),
    ("IBAN_CODE", "GB56HXDO88167774656119", "Transfer the refund to IBAN {} please."),
    ("IP_ADDRESS", "106.31.73.20", "The server at {} keeps timing out."),
    ("PERSON", "Sara Schwarz", "My name is {} and I need help."),
]
DIGIT_TYPES = {"PHONE_NUMBER", "CREDIT_CARD", "US_SSN"}

LATIN_TO_CONFUSABLE = {
    "a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і", "j": "ј", "s": "ѕ",
    "A": "А", "B": "В", "E": "Е", "K": "К", "M": "М", "H": "Н", "O": "О", "P": "Р", "C": "С", "T": "Т",
    "X": "Х", "S": "Ѕ", "Z": "Ζ", "N": "Ν", "I": "Ι",
}  # fmt: skip
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]


@dataclass(frozen=True)
class Case:
    id: str
    disguise: str
    entity: str
    text: str
    start: int
    end: int
    value: str  # the value before its disguise


def fullwidth(value: str, rng: random.Random) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value)


def fullwidth_at(value: str, rng: random.Random) -> str:
    return value.replace("@", "＠")


def zero_width(value: str, rng: random.Random) -> str:
    out = []
    for i, char in enumerate(value):
        out.append(char)
        if i < len(value) - 1 and (i % 2 == 0 or rng.random() < 0.5):
            out.append(rng.choice(INVISIBLE))
    return "".join(out)


def homoglyphs(value: str, rng: random.Random) -> str:
    """Swap about half the swappable letters; at least one swapped and one Latin letter kept."""
    positions = [i for i, c in enumerate(value) if c in LATIN_TO_CONFUSABLE]
    chosen = set(rng.sample(positions, max(1, len(positions) // 2)))
    return "".join(LATIN_TO_CONFUSABLE[c] if i in chosen else c for i, c in enumerate(value))


def split_digits(separator: str) -> Callable[[str, random.Random], str]:
    def split(value: str, rng: random.Random) -> str:
        return separator.join(c for c in value if c.isdigit())

    return split


def b64(value: str, rng: random.Random) -> str:
    return base64.b64encode(value.encode()).decode()


def url_encoded(value: str, rng: random.Random) -> str:
    """Every byte percent-encoded (`%39%30%35...`): `quote` alone leaves digits and letters readable."""
    return "https://portal.acme.com/lookup?q=" + "".join(f"%{byte:02X}" for byte in value.encode())


def hex_encoded(value: str, rng: random.Random) -> str:
    return value.encode().hex()


DISGUISES: dict[str, tuple[Callable[[str, random.Random], str], Callable[[str], bool]]] = {
    "nfkc_fullwidth": (fullwidth, lambda entity: True),
    "fullwidth_at": (fullwidth_at, lambda entity: entity == "EMAIL_ADDRESS"),
    "zero_width": (zero_width, lambda entity: True),
    "homoglyph": (homoglyphs, lambda entity: entity in {"EMAIL_ADDRESS", "IBAN_CODE", "PERSON"}),
    "split_spaces": (split_digits(" "), lambda entity: entity in DIGIT_TYPES),
    "split_dots": (split_digits("."), lambda entity: entity in DIGIT_TYPES),
    "split_dashes": (split_digits("-"), lambda entity: entity in DIGIT_TYPES),
    "base64": (b64, lambda entity: entity != "PERSON"),
    "url_encoded": (url_encoded, lambda entity: entity != "PERSON"),
    "hex": (hex_encoded, lambda entity: entity != "PERSON"),
}


def build_evasion_set(seed: int = 7) -> list[Case]:
    """Every disguise on every value it fits, in that value's sentence."""
    rng = random.Random(seed)
    cases: list[Case] = []
    for disguise, (apply, fits) in DISGUISES.items():
        for n, (entity, value, template) in enumerate(BASE):
            if not fits(entity):
                continue
            disguised = apply(value, rng)
            prefix = template.split("{}")[0]
            text = template.format(disguised)
            cases.append(
                Case(
                    id=f"{disguise}-{entity.lower()}-{n}",
                    disguise=disguise,
                    entity=entity,
                    text=text,
                    start=len(prefix),
                    end=len(prefix) + len(disguised),
                    value=value,
                )
            )
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", help="write the set as JSONL here (default: stdout)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    lines = "".join(json.dumps(asdict(c), ensure_ascii=False) + "\n" for c in build_evasion_set(args.seed))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(lines)
    else:
        sys.stdout.write(lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
