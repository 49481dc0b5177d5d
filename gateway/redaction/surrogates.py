"""Realistic fake values ("surrogates") in place of PII, for data a model is trained on.

A placeholder such as `<PERSON_1>` keeps the data safe but teaches a fine-tuned model to write
placeholders. A surrogate keeps the text natural: "Hannah Müller" becomes "Lukas Becker", her IBAN
another IBAN that passes its check digits. What makes a surrogate safe to train on:

- **Keyed and deterministic.** The fake for a value depends only on the dataset's pseudonym key, the
  entity type and the value's canonical form (`Pseudonymizer.digest`, an HMAC-SHA256), never on call
  order: the same person has the same fake in every record and in every dataset under one key, and
  without the key nobody can tell which real value a fake stands for. Faker draws from a
  `random.Random` that is reseeded from that digest before every value (`seed_instance`; Faker's
  shared class-level seed is never touched), so no randomness leaks from one value into the next.
- **Never the original.** Each fake is compared with the original in canonical form (case, spacing,
  separators; accents too for names) and redrawn, deterministically, when they agree; after
  `MAX_ATTEMPTS` draws (possible only for degenerate inputs such as "--") the keyed-hash placeholder
  `<TYPE#hex>` is written instead, which no real value is.
- **Nobody's value.** Where a range exists that is never assigned to anyone, the fake comes from it:
  e-mail on RFC 2606/6761 domains, phone numbers in ranges regulators keep for fiction (NANP
  555-0100..0199, Ofcom drama numbers, ACMA fictitious numbers), IPs in RFC 5737/3849 documentation
  networks, MACs locally administered, SSNs and ITINs in 9xx-GG-xxxx groups that neither the SSA nor
  the IRS issue, NHS numbers in the 999 test range, made-up Bitcoin keys with no known preimage.
  Where none exists (card, IBAN, passport and DEA numbers) the fake is random in a large space, valid
  in form (Luhn, mod-97, DEA check digit), and tied to no one's name or other details.
- **Valid in form.** Card numbers are Luhn-valid with a brand's prefix and length, IBANs keep the
  original's country, length and letter/digit layout with ISO 13616 check digits, dates keep their
  layout, phone numbers the original's grouping.
- **One person, one fake.** A first name alone or a surname alone is given the matching part of the
  fake for the full name it belongs to (`person(full=..., part=...)`), with accents and case folded
  for identity (Chloé = Chloe) and the case style of the text it replaces.

Two fakes can coincide (fiction ranges are small: 100 NANP numbers per area code), so a surrogate is
one-way: several real values may share one, never one real value several.
"""

from __future__ import annotations

import calendar
import hashlib
import importlib
import ipaddress
import re
import string
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from random import Random
from typing import Any

import phonenumbers
from faker import Faker
from presidio_anonymizer.entities import InvalidParamError
from presidio_anonymizer.operators import Operator, OperatorType

from gateway.redaction.normalize import normalize
from gateway.redaction.operators import Pseudonymizer, canonical_value, fold

MAX_ATTEMPTS = 16
PERSON = "PERSON"

# Latin-script locales the fakes for Latin-script originals are drawn from, picked per value from its
# seed: the data stays as diverse as the customers it came from, not all "John Smith".
LATIN_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "it_IT", "es_ES", "pt_PT", "nl_NL", "pl_PL")
# A name or place in another script gets a fake in that script (a Russian name stays Cyrillic).
_SCRIPT_LOCALES = {
    "CYRILLIC": "ru_RU",
    "GREEK": "el_GR",
    "CJK": "zh_CN",
    "HIRAGANA": "ja_JP",
    "KATAKANA": "ja_JP",
    "HANGUL": "ko_KR",
    "ARABIC": "ar_AA",
    "HEBREW": "he_IL",
    "DEVANAGARI": "hi_IN",
}
# Scripts written without spaces between surname and given name: one token is a whole name.
_UNSPACED_SCRIPTS = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL"})

# RFC 2606 reserves example.com/.net/.org and RFC 6761 the whole `.example` TLD: no mailbox there.
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "corp.example")

# RFC 5737 (IPv4 TEST-NET-1/2/3) and RFC 3849 (IPv6): documentation only, never routed.
IPV4_DOC_NETS = tuple(ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
IPV6_DOC_NET = ipaddress.IPv6Network("2001:db8::/32")

# Phone numbers for fiction. NANP: 555-0100..555-0199 in any area code (NANPA); a few common US and
# Canadian area codes keep the fakes spread out. UK: Ofcom's drama numbers, 1,000 per block (national
# significant number prefix + 3 digits; Ofcom "Telephone numbers for drama purposes"; Northern Ireland
# moved from 028 9018 to 028 9649 6xxx). Australia: ACMA "Fictitious numbers for radio, books, film
# and TV" (mobile numbers listed one by one; landlines 0X 5550 xxxx and 0X 7010 xxxx).
NANP_AREA_CODES = (
    "201", "202", "212", "213", "305", "312", "404", "415", "503", "512", "602", "617", "702", "718",
    "805", "917", "416", "514", "604", "613",
)  # fmt: skip
GB_MOBILE_PREFIX = "7700900"
# Area code -> drama block (national significant number without the last 3 digits).
GB_LANDLINE_BLOCKS = {
    "20": "2079460", "29": "2920180", "28": "2896496", "121": "1214960", "117": "1174960",
    "131": "1314960", "141": "1414960", "113": "1134960", "116": "1164960", "151": "1514960",
    "161": "1614960", "191": "1914980", "115": "1154960", "118": "1184960", "114": "1144960",
    "1632": "1632960",
}  # fmt: skip
AU_MOBILES = ("491570156", "491570157", "491570158", "491570159", "491570110")
AU_LANDLINE_BLOCKS = ("5550", "7010")

# SSA never issues area numbers 900-999 (SSA, "Social Security Number Randomization"); within 9xx the
# IRS uses groups 50-65, 70-88, 90-92, 94-99 for ITINs, 93 for ATINs and 01-10, 17-19, 28-29, 37-39 for
# IRSNs (IRS Publication 1346). These groups are used by neither: a 9xx-GG-xxxx number with them has
# the SSN/ITIN shape and belongs to nobody.
UNISSUED_9XX_GROUPS = (
    tuple(range(11, 17)) + tuple(range(20, 28)) + tuple(range(30, 37)) + tuple(range(40, 50))
)

# NHS England keeps 999 000 0000 - 999 999 9999 for test data; never issued to a patient.
NHS_TEST_PREFIX = "999"

# Card brands by IIN prefix and length (ISO/IEC 7812 as the networks publish them): a fake keeps the
# original's brand and length, never its issuer's own prefix.
_MASTERCARD_2 = tuple(str(n) for n in range(2221, 2721))
CARD_BRANDS: tuple[tuple[str, tuple[str, ...], tuple[int, ...]], ...] = (
    ("amex", ("34", "37"), (15,)),
    ("diners", ("36", "38", "300", "301", "302", "303", "304", "305"), (14,)),
    ("visa", ("4",), (13, 16, 19)),
    ("mastercard", ("51", "52", "53", "54", "55", *_MASTERCARD_2), (16,)),
    ("discover", ("6011", "65", "644", "645", "646", "647", "648", "649"), (16, 19)),
    ("jcb", tuple(str(n) for n in range(3528, 3590)), (16, 19)),
    ("maestro", ("5018", "5020", "5038", "6304", "6759", "6761", "6763"), tuple(range(12, 20))),
)

# Countries with an IBAN (the SWIFT IBAN registry, as Presidio's IBAN recognizer knows them): a fake
# keeps a known country; an unknown one (a false finding) gets a GB or DE IBAN.
IBAN_COUNTRIES = frozenset({
    "AD", "AE", "AL", "AT", "AZ", "BA", "BE", "BG", "BH", "BR", "BY", "CH", "CR", "CY", "CZ", "DE",
    "DK", "DO", "EE", "EG", "ES", "FI", "FO", "FR", "GB", "GE", "GI", "GL", "GR", "GT", "HR", "HU",
    "IE", "IL", "IQ", "IS", "IT", "JO", "KW", "KZ", "LB", "LC", "LI", "LT", "LU", "LV", "LY", "MC",
    "MD", "ME", "MK", "MR", "MT", "MU", "NL", "NO", "PK", "PL", "PS", "PT", "QA", "RO", "RS", "SA",
    "SC", "SE", "SI", "SK", "SM", "TL", "TN", "TR", "UA", "VA", "VG", "XK",
})  # fmt: skip

# DEA registration numbers: registrant-type letter (the set Presidio accepts), a letter, 7 digits.
_DEA_FIRST = "ABCDEFGHJKLMPRSTUX"
_DEA_RE = re.compile(r"[A-Za-z][A-Za-z9]\d{7}")

_NATIONALITIES = (
    "American", "British", "Canadian", "Australian", "Irish", "French", "German", "Italian",
    "Spanish", "Portuguese", "Dutch", "Belgian", "Polish", "Swedish", "Norwegian", "Danish",
    "Finnish", "Austrian", "Swiss", "Greek", "Mexican", "Brazilian", "Argentinian", "Chilean",
    "Japanese", "Korean", "Chinese", "Indian", "Kenyan", "Nigerian", "Egyptian", "Turkish",
)  # fmt: skip
_RELIGIONS = (
    "Catholic", "Protestant", "Orthodox", "Anglican", "Lutheran", "Methodist", "Baptist", "Muslim",
    "Jewish", "Hindu", "Buddhist", "Sikh", "Christian", "Mormon", "Quaker", "Jain",
)  # fmt: skip
_POLITICAL = (
    "Democrat", "Republican", "Conservative", "Liberal", "Labour", "Socialist", "Green",
    "Libertarian", "Centrist", "Progressive",
)  # fmt: skip
_NRP_GROUPS = (_NATIONALITIES, _RELIGIONS, _POLITICAL)
_NRP_KEYS = tuple(frozenset(n.casefold() for n in group) for group in _NRP_GROUPS)

_COUNTRIES = (
    "France", "Germany", "Italy", "Spain", "Portugal", "Netherlands", "Belgium", "Poland",
    "Ireland", "Sweden", "Norway", "Denmark", "Finland", "Austria", "Switzerland", "Greece",
    "Canada", "Mexico", "Brazil", "Argentina", "Chile", "Japan", "India", "Australia",
    "New Zealand", "South Africa", "Kenya", "Egypt", "Turkey", "United Kingdom", "United States",
)  # fmt: skip
_COUNTRY_ALIASES = ("uk", "u.k.", "usa", "u.s.", "u.s.a.", "us", "england", "scotland", "wales", "america")

_TITLES = frozenset({
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "lady", "lord", "herr", "frau",
    "mme", "mlle", "sr", "sra", "srta", "jr",
})  # fmt: skip
# Generational and degree suffixes ("Wendy Nelson MD"), kept as written when they end a name.
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "md", "phd", "dds", "dvm", "esq"})
# Lower-case particles inside a name ("Ana de Souza") are kept: they say nothing about who it is.
_PARTICLES = frozenset({
    "van", "von", "de", "der", "den", "del", "della", "di", "da", "das", "dos", "du", "la", "le",
    "ter", "ten", "bin", "al", "el",
})  # fmt: skip
# A LOCATION ending in one of these is a street, and gets a street.
_STREET_WORDS = frozenset({
    "street", "st", "road", "rd", "avenue", "ave", "lane", "ln", "drive", "dr", "way", "close",
    "court", "ct", "place", "pl", "square", "sq", "boulevard", "blvd", "terrace", "crescent",
    "straße", "strasse", "str", "weg", "gasse", "platz", "allee", "rue", "chemin", "rua", "avenida",
    "travessa", "via", "viale", "piazza", "corso", "calle", "plaza", "paseo", "straat", "laan",
    "plein", "ulica", "aleja",
})  # fmt: skip

# English names written out (`calendar.month_name` follows the process's LC_TIME).
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NUMBER = (
    {name.lower(): i + 1 for i, name in enumerate(_MONTHS)}
    | {name[:3].lower(): i + 1 for i, name in enumerate(_MONTHS)}
    | {"sept": 9}
)
_WEEKDAY_NUMBER = (
    {name.lower(): i for i, name in enumerate(_WEEKDAYS)}
    | {name[:3].lower(): i for i, name in enumerate(_WEEKDAYS)}
    | {"tues": 1, "thur": 3, "thurs": 3}
)
_FULL_NAMES = frozenset(n.lower() for n in (*_MONTHS, *_WEEKDAYS))
_MONTH_ALT = "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True))
_WEEKDAY_ALT = "|".join(sorted(_WEEKDAY_NUMBER, key=len, reverse=True))
# One alternative per date part; every branch is a fixed sequence of bounded classes (linear time).
_DATE_PART = re.compile(
    r"""
      (?P<iso>(?<!\d)(?P<iy>\d{4})(?P<isep>[-/.])(?P<im>\d{1,2})(?P=isep)(?P<id>\d{1,2})(?!\d))
    | (?P<compact>(?<!\d)(?P<cy>(?:19|20)\d\d)(?P<cm>0[1-9]|1[0-2])(?P<cd>0[1-9]|[12]\d|3[01])(?!\d))
    | (?P<num>(?<!\d)(?P<na>\d{1,2})(?P<nsep>[-/.])(?P<nb>\d{1,2})(?P=nsep)(?P<ny>\d{4}|\d{2})(?!\d))
    | (?P<time>(?<![\d+\-])(?P<th>[01]?\d|2[0-3]):(?P<tm>[0-5]\d)(?::(?P<ts>[0-5]\d))?(?!\d)
        (?P<tampm>\s?[ap]\.?m\b\.?)?)
    | (?P<hour>(?<!\d)(?P<hh>1[0-2]|0?[1-9])(?P<hampm>\s?[ap]\.?m\b\.?))
    | (?P<month>\b(?:MONTHS)\b\.?)
    | (?P<weekday>\b(?:WEEKDAYS)\b\.?)
    | (?P<ord>\b(?P<od>[12]\d|3[01]|0?[1-9])(?P<osuf>st|nd|rd|th)\b)
    | (?P<year>(?<!\d)(?<!\d[.,])(?P<yy>1[6-9]\d\d|20\d\d)(?!\d|[.,]\d))
    | (?P<year2>'(?P<y2>\d\d)\b)
    | (?P<day>(?<!\d)(?<!\d[.,:])(?P<dd>[12]\d|3[01]|0?[1-9])(?!\d|[.,:]\d))
    """.replace("MONTHS", _MONTH_ALT).replace("WEEKDAYS", _WEEKDAY_ALT),
    re.IGNORECASE | re.VERBOSE,
)

# Postcodes with a word-like piece: UK ("NW1 6XE", a new one from Faker) and Dutch ("6425 VB", kept in
# shape). Others are tokens with digits, kept in shape; PT/PL ones choose the locale.
_UK_POSTCODE = re.compile(r"\b[A-Za-z]{1,2}\d[A-Za-z\d]?\s\d[A-Za-z]{2}\b")
_NL_POSTCODE = re.compile(r"\b\d{4} ?[A-Z]{2}\b")
_WORDY_POSTCODE = re.compile(rf"(?P<uk>{_UK_POSTCODE.pattern})|(?P<nl>{_NL_POSTCODE.pattern})")
_PLACE_SEPARATORS = re.compile(r"([\s,;/]+)")
_POSTCODE_LOCALES = ((re.compile(r"^\d{4}-\d{3}$"), "pt_PT"), (re.compile(r"^\d\d-\d{3}$"), "pl_PL"))

_HEX = frozenset(string.hexdigits)
_MAC_HEX = re.compile(r"[0-9A-Fa-f]")
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32M_CONST = 0x2BC830A3


def fold_person(value: str) -> str:
    """A name piece's identity: disguises undone, accents, case and spacing folded (Chloé = CHLOE).

    Per piece, titles included ("Mr" stays "mr"), so a part of a name can be matched to its full name.
    """
    return fold(normalize(value).text)


def case_like(template: str, text: str) -> str:
    """`text` in the case style of `template`: all lower stays lower, ALL CAPS stays caps."""
    letters = [c for c in template if c.isalpha() and (c.isupper() or c.islower())]
    if not letters:
        return text
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return text.upper()
    if all(c.islower() for c in letters):
        return text.lower()
    if letters[0].isupper() and text[:1].islower():
        return text[:1].upper() + text[1:]
    return text


def luhn_check_digit(partial: str) -> str:
    """The digit that makes `partial + digit` pass the Luhn check (ISO/IEC 7812-1 annex B)."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str(-total % 10)


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616 / ISO 7064 mod 97-10 check digits for `country` + `bban`."""
    number = int("".join(str(int(c, 36)) for c in (bban + country + "00").upper()))
    return f"{98 - number % 97:02d}"


def _script(text: str) -> str:
    """The Unicode script of the first letter ("LATIN", "CYRILLIC", "CJK", ...)."""
    for ch in text:
        if ch.isalpha():
            return unicodedata.name(ch, "LATIN").split()[0]
    return "LATIN"


def _split_token(piece: str) -> tuple[str, str, str]:
    """A name piece as (leading punctuation, core, trailing punctuation or possessive): `"Müller's,"`."""
    start, end = 0, len(piece)
    while start < end and not piece[start].isalnum():
        start += 1
    while end > start and not piece[end - 1].isalnum():
        end -= 1
    if end - start > 2 and piece[end - 2 : end].casefold() in ("'s", "’s"):
        end -= 2
    return piece[:start], piece[start:end], piece[end:]


def _pour(layout: str, chars: str, slot: Callable[[str], bool]) -> str:
    """`chars` written into the positions of `layout` that `slot` accepts, in order; the rest kept."""
    it = iter(chars)
    return "".join(next(it) if slot(c) else c for c in layout)


def _ascii_digits(text: str) -> str:
    return "".join(c for c in text if "0" <= c <= "9")


@cache
def _first_names() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Folded first names (all, male, female) of the Latin locales: does a lone name look like one?"""
    every: set[str] = set()
    male: set[str] = set()
    female: set[str] = set()
    for locale in LATIN_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attr, bucket in (("first_names_male", male), ("first_names_female", female)):
            bucket.update(fold_person(n) for n in getattr(provider, attr, ()))
        every.update(fold_person(n) for n in getattr(provider, "first_names", ()))
    every |= male | female
    return frozenset(every), frozenset(male - female), frozenset(female - male)


@cache
def _countries() -> frozenset[str]:
    provider = importlib.import_module("faker.providers.address.en_US").Provider
    return frozenset(fold_person(c) for c in (*provider.countries, *_COUNTRIES, *_COUNTRY_ALIASES))


# One Faker per locale for the whole process: building one costs ~25 ms, reseeding it microseconds.
# Every use reseeds first, under the lock, so a value's fake never depends on what came before it.
_FAKERS: dict[str, Faker] = {}
_LOCK = threading.Lock()


@dataclass
class _Draw:
    """One attempt's randomness: a `Random` and Fakers, all seeded from the same per-attempt seed."""

    seed: int
    rng: Random = field(init=False)
    _seeded: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.rng = Random(self.seed)

    def faker(self, locale: str) -> Faker:
        """The locale's shared Faker, reseeded with this attempt's seed on first use in it."""
        fake = _FAKERS.get(locale)
        if fake is None:
            fake = _FAKERS[locale] = Faker(locale)
        if locale not in self._seeded:
            fake.seed_instance(self.seed)
            self._seeded.add(locale)
        return fake

    def locale(self, text: str) -> str:
        """The original's script's locale, or one of the Latin locales chosen by the seed."""
        return _SCRIPT_LOCALES.get(_script(text)) or self.rng.choice(LATIN_LOCALES)

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(n))

    def shape(self, text: str) -> str:
        """Same shape: each digit a random digit, each letter a random ASCII letter of its case."""
        out = []
        for ch in text:
            if ch.isdigit():
                out.append(self.rng.choice(string.digits))
            elif ch.isalpha():
                letters = string.ascii_uppercase if ch.isupper() else string.ascii_lowercase
                out.append(self.rng.choice(letters))
            else:
                out.append(ch)
        return "".join(out)


@dataclass(frozen=True)
class _NameToken:
    """One whitespace-separated piece of a name: its punctuation, its core, and what part it plays."""

    pre: str
    core: str
    post: str
    role: str  # "first", "last", "whole", "title" or "particle"
    key: str  # fold_person(core)


class Surrogates:
    """Keyed, deterministic fake values per entity type; one instance per key (dataset or tenant).

        s = Surrogates(b"demo-key")
        s.value("PERSON", "Hannah Müller")                       # "Giovanna Giammusso"
        s.value("PERSON", "Hannah", full_name="Hannah Müller")   # "Giovanna"
        s.value("PERSON", "Mr. Müller", full_name="Hannah Müller")  # "Mr. Giammusso"
        s.value("PHONE_NUMBER", "+44 7911 123456")               # "+44 7700 900027"
        s.value("IBAN_CODE", "GB56 HXDO 8816 7774 6561 19")      # "GB20 TFEV 2228 4352 9489 79"

    Holds keyed HMACs and the fakes it wrote, never an original value (aliases aside, which hold the
    decoded form of an encoded segment the way `Pseudonymizer.alias` does). Safe to share between
    threads; each process builds its own Fakers on first use.
    """

    def __init__(self, key: bytes) -> None:
        self._pseudonymizer = Pseudonymizer(key)
        self._aliases: dict[tuple[str, str], str] = {}
        self._issued: set[tuple[str, str]] = set()
        self._taken_names: set[str] = set()  # folded name parts of the dataset's real people
        self._makers: dict[str, Callable[[_Draw, str], str]] = {
            "LOCATION": self._location,
            "STREET_ADDRESS": self._street_address,
            "DATE_TIME": self._date_time,
            "NRP": self._nrp,
            "EMAIL_ADDRESS": self._email,
            "PHONE_NUMBER": self._phone,
            "CREDIT_CARD": self._credit_card,
            "IBAN_CODE": self._iban,
            "US_SSN": self._unissued_9xx,
            "US_ITIN": self._unissued_9xx,
            "IP_ADDRESS": self._ip,
            "MAC_ADDRESS": self._mac,
            "CRYPTO": self._crypto,
            "MEDICAL_LICENSE": self._medical_license,
            "URL": self._url,
            "UUID": self._uuid,
            "UK_NHS": self._nhs,
        }

    def alias(self, entity_type: str, surface: str, value: str) -> None:
        """Let `surface` (an encoded segment) take the surrogate of the `value` decoded from it."""
        self._aliases[(entity_type, surface)] = value

    def avoid_names(self, parts: Iterable[str]) -> None:
        """Never write one of these name parts (the dataset's real people's) as a piece of a fake name:
        Chloé's fake must not be "Hannah" when a real Hannah is in the same dataset."""
        self._taken_names.update(fold_person(part) for part in parts)

    def value(self, entity_type: str, original: str, *, full_name: str | None = None) -> str:
        """The surrogate of `original`; for a PERSON part, `full_name` names the person it belongs to."""
        original = self._aliases.get((entity_type, original), original)
        if entity_type == PERSON:
            return self.person(full=full_name or original, part=original)
        text = normalize(original).text
        maker = self._makers.get(entity_type, self._generic)
        digest = self._pseudonymizer.digest(entity_type, text)
        canonical = canonical_value(entity_type, text)
        with _LOCK:
            for draw in self._draws(digest):
                fake = maker(draw, text)
                if fake.strip() and canonical_value(entity_type, fake) != canonical:
                    self._issued.add((entity_type, canonical_value(entity_type, fake)))
                    return fake
        return self._pseudonymizer.hashed(entity_type, text)

    def person(self, *, full: str, part: str | None = None) -> str:
        """The fake of `part` (default: all) of the name `full`: its first name, surname, or whole.

        Titles and particles ("Dr.", "van") are kept; a `part` that is not made of `full`'s pieces is
        treated as a name on its own.
        """
        part = full if part is None else part
        mapping = self._person_mapping(_name_tokens(normalize(full).text))
        out = []
        for piece in re.split(r"(\s+)", normalize(part).text):
            pre, core, post = _split_token(piece)
            key = fold_person(core) if core else ""
            if mapping and key in mapping:
                out.append(pre + case_like(core, mapping[key]) + post)
            elif not core or key in _TITLES or key in _SUFFIXES or key in _PARTICLES:
                out.append(piece)
            elif part != full:
                return self.person(full=part)  # not a piece of that name: a name on its own
            else:
                return self._pseudonymizer.hashed(PERSON, fold_person(part))
        made = "".join(out)
        if fold_person(made) == fold_person(part):  # only titles or particles: nothing to swap
            return self._pseudonymizer.hashed(PERSON, fold_person(part))
        return made

    def is_surrogate(self, entity_type: str, text: str) -> bool:
        """True if this instance wrote `text` (or, for a PERSON, any piece of it) as a surrogate.

        So a later pass over the surrogated text can tell its own fakes from residual PII.
        """
        if entity_type == PERSON:
            return (PERSON, fold_person(text)) in self._issued
        return (entity_type, canonical_value(entity_type, normalize(text).text)) in self._issued

    # -- the seed ----------------------------------------------------------------------------------

    @staticmethod
    def _draws(digest: bytes) -> Iterator[_Draw]:
        """Up to `MAX_ATTEMPTS` independent draws seeded from the value's digest, each made when asked for."""
        for attempt in range(MAX_ATTEMPTS):
            # Domain-separated from the digest itself, whose prefix a `<TYPE#hex>` placeholder shows.
            seed = hashlib.sha256(b"ftgate.surrogate\x1f" + digest + bytes([attempt])).digest()
            yield _Draw(int.from_bytes(seed, "big"))

    # -- PERSON ------------------------------------------------------------------------------------

    def _person_mapping(self, tokens: list[_NameToken]) -> dict[str, str] | None:
        """Folded original piece -> fake piece for one full name; None if no valid fake was found."""
        names = [t for t in tokens if t.role in ("first", "last", "whole")]
        if not names:
            return None
        identity = " ".join(t.key for t in names)
        # "Jean-Luc": the whole and each half are pieces, so "Jean" alone finds its fake too.
        originals = {k for t in names for k in (t.key, *t.key.split("-")) if len(k) > 1}
        digest = self._pseudonymizer.digest(PERSON, identity)
        _, male, female = _first_names()
        gender = names[0].key if names[0].role == "first" else ""
        with _LOCK:
            for draw in self._draws(digest):
                fake = draw.faker(draw.locale(" ".join(t.core for t in names)))
                first = fake.first_name_male if gender in male else fake.first_name
                first = fake.first_name_female if gender in female else first
                mapping: dict[str, str] = {}
                for token in names:
                    if token.role == "whole":
                        mapping.setdefault(token.key, fake.last_name() + fake.first_name())
                        continue
                    halves = []
                    for half in token.key.split("-"):
                        if half and half not in mapping:
                            made = (
                                first().split()[0] if token.role == "first" else fake.last_name().split()[-1]
                            )
                            # An initial stands for a name: it gets the fake's initial.
                            mapping[half] = made[0] if len(half) == 1 else made
                        halves.append(mapping.get(half, half))
                    mapping.setdefault(token.key, "-".join(halves))
                fakes = {fold_person(v) for k, v in mapping.items() if len(k) > 1}
                whole = " ".join(fold_person(mapping[t.key]) for t in names)
                # No piece of the fake may be a piece of the original, nor two pieces share one fake.
                # Nor a part of another real person's name in the dataset.
                if (
                    fakes & (originals | self._taken_names)
                    or len(fakes) < len(originals)
                    or whole == identity
                ):
                    continue
                self._issued.add((PERSON, whole))
                self._issued.update((PERSON, f) for f in fakes)
                return mapping
        return None

    # -- places ------------------------------------------------------------------------------------

    def _location(self, draw: _Draw, text: str) -> str:
        """A city (country for a country, street for a street); postcodes keep their format."""
        key = fold_person(text)
        if key in _countries():
            return case_like(text, draw.rng.choice([c for c in _COUNTRIES if fold_person(c) != key]))
        locale = self._place_locale(draw, text)
        words = [w.strip(".").casefold() for w in text.replace(",", " ").split()]
        street = len(words) > 1 and (words[0] in _STREET_WORDS or words[-1] in _STREET_WORDS)
        if street and not _WORDY_POSTCODE.search(text):
            return draw.faker(locale).street_address().strip()
        out = []
        pos = 0
        for m in _WORDY_POSTCODE.finditer(text):
            out.append(self._place_words(draw, locale, text[pos : m.start()]))
            out.append(case_like(m[0], draw.faker("en_GB").postcode()) if m["uk"] else draw.shape(m[0]))
            pos = m.end()
        out.append(self._place_words(draw, locale, text[pos:]))
        return "".join(out)

    @staticmethod
    def _place_words(draw: _Draw, locale: str, text: str) -> str:
        """Each run of words becomes one city; a token with digits (postcode) keeps its shape."""
        out: list[str] = []
        pending = ""
        in_run = False
        for i, piece in enumerate(_PLACE_SEPARATORS.split(text)):
            if i % 2:
                pending += piece
                continue
            if not piece:
                continue
            is_word = not any(c.isdigit() for c in piece) and any(c.isalpha() for c in piece)
            if is_word and in_run and not pending.strip():
                pending = ""  # "New York": still the same place
                continue
            out.append(pending)
            pending = ""
            if is_word:
                out.append(case_like(piece, draw.faker(locale).city()))
            else:
                out.append(draw.shape(piece))
            in_run = is_word
        return "".join(out) + pending

    def _street_address(self, draw: _Draw, text: str) -> str:
        """A street line, or a whole address when the original spans lines or commas."""
        fake = draw.faker(self._place_locale(draw, text))
        if "\n" in text:
            return fake.address().strip()
        if "," in text:
            return ", ".join(line.strip() for line in fake.address().splitlines())
        return fake.street_address().strip()

    @staticmethod
    def _place_locale(draw: _Draw, text: str) -> str:
        """A locale the original's postcode points at (UK, PT, PL), else the script's or a random one."""
        if _UK_POSTCODE.search(text):
            return "en_GB"
        if _NL_POSTCODE.search(text):
            return "nl_NL"
        for token in text.replace(",", " ").split():
            for pattern, locale in _POSTCODE_LOCALES:
                if pattern.match(token):
                    return locale
        return draw.locale(text)

    def _nrp(self, draw: _Draw, text: str) -> str:
        """Another nationality, religion or political group, from the original's own list."""
        key = fold_person(text)
        plural = key.endswith("s") and not any(key in keys for keys in _NRP_KEYS)
        stem = key[:-1] if plural else key
        group = next(
            (g for g, keys in zip(_NRP_GROUPS, _NRP_KEYS, strict=True) if stem in keys), _NATIONALITIES
        )
        made = draw.rng.choice([n for n in group if n.casefold() != stem])
        return case_like(text, made + ("s" if plural else ""))

    # -- dates -------------------------------------------------------------------------------------

    def _date_time(self, draw: _Draw, text: str) -> str:
        """Another date in the same layout: ISO stays ISO, m/d/yyyy stays so, a weekday a weekday."""
        rng = draw.rng
        found = list(_DATE_PART.finditer(text))
        years = [_full_year(m["iy"] or m["cy"] or m["yy"] or m["ny"] or m["y2"]) for m in found]
        year = next((y for y in years if y), None)
        # Near the original year, so an age or an era stays plausible.
        year = year + rng.randint(-3, 3) if year else rng.randint(1970, 2024)
        month = rng.randint(1, 12)
        day = rng.randint(1, calendar.monthrange(year, month)[1])
        weekday = calendar.weekday(year, month, day)
        has_month = any(m["month"] for m in found)
        spelled = f"{_MONTHS[month - 1]} {day}, {year}"

        def width(original: str | None, value: int) -> str:
            return f"{value:02d}" if original and len(original) == 2 else str(value)

        swapped: list[bool] = []

        def render(m: re.Match[str]) -> str:
            swapped.append(not m["day"] or has_month)  # a bare number is a date part only beside a month
            return part(m)

        def part(m: re.Match[str]) -> str:
            if m["iso"]:
                return f"{year:04d}{m['isep']}{width(m['im'], month)}{m['isep']}{width(m['id'], day)}"
            if m["compact"]:
                return f"{year:04d}{month:02d}{day:02d}"
            if m["num"]:
                a, b, sep = int(m["na"]), int(m["nb"]), m["nsep"]
                day_first = a > 12 or (b <= 12 and sep != "/")
                first, second = (day, month) if day_first else (month, day)
                y = f"{year % 100:02d}" if len(m["ny"]) == 2 else f"{year:04d}"
                return f"{width(m['na'], first)}{sep}{width(m['nb'], second)}{sep}{y}"
            if m["time"]:
                hour = rng.randint(1, 12) if m["tampm"] else rng.randint(0, 23)
                minute = 0 if m["tm"] == "00" else rng.randint(0, 59)
                made = f"{width(m['th'], hour)}:{minute:02d}"
                if m["ts"]:
                    made += f":{rng.randint(0, 59):02d}"
                return made + (m["tampm"] or "")
            if m["hour"]:
                return f"{width(m['hh'], rng.randint(1, 12))}{m['hampm']}"
            if m["month"]:
                return _name_like(m["month"], _MONTHS[month - 1])
            if m["weekday"]:
                return _name_like(m["weekday"], _WEEKDAYS[weekday])
            if m["ord"]:
                return f"{day}{case_like(m['osuf'], _ordinal_suffix(day))}"
            if m["year"]:
                return str(year)
            if m["year2"]:
                return f"'{year % 100:02d}"
            if m["day"] and has_month:
                return width(m["dd"], day)
            return m[0]

        made = _DATE_PART.sub(render, text)
        # Nothing in it that a date part could be swapped for ("this morning"): a date written out.
        return made if any(swapped) else spelled

    # -- contact -----------------------------------------------------------------------------------

    def _email(self, draw: _Draw, text: str) -> str:
        """A plausible local part at a reserved domain (RFC 2606 / RFC 6761)."""
        local = draw.faker(draw.rng.choice(LATIN_LOCALES)).user_name()
        local = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode()
        local = re.sub(r"[^a-z0-9._-]", "", local.lower()).strip(".") or draw.shape("user")
        made = f"{local}@{draw.rng.choice(EMAIL_DOMAINS)}"
        return made.upper() if text.isupper() else made

    def _phone(self, draw: _Draw, text: str) -> str:
        """A number reserved for fiction in the original's country (US/CA, UK, AU; else UK), same layout."""
        rng = draw.rng
        digits = _ascii_digits(text)
        plus = text.lstrip().startswith("+")
        double_zero = not plus and digits.startswith("00")
        international = plus or double_zero
        country, national, area = _phone_country(text, digits, international)
        if country == 1:
            nsn = rng.choice(NANP_AREA_CODES) + "55501" + draw.digits(2)
        elif country == 61:
            if national.startswith("4"):
                nsn = rng.choice(AU_MOBILES)
            else:
                nsn = rng.choice("2378") + rng.choice(AU_LANDLINE_BLOCKS) + draw.digits(4)
        elif country == 44 and not national.startswith("7"):
            # A block whose area code is as long as the original's, so its grouping still fits;
            # which city is drawn, not kept (the city is itself a clue to the person).
            blocks = [b for a, b in GB_LANDLINE_BLOCKS.items() if len(a) == area] or list(
                GB_LANDLINE_BLOCKS.values()
            )
            nsn = rng.choice(sorted(blocks)) + draw.digits(3)
        else:
            nsn = GB_MOBILE_PREFIX + draw.digits(3)
            country = 44
        if international:
            made = ("00" if double_zero else "") + str(country) + nsn
        elif country == 1:
            made = ("1" if len(digits) == 11 and digits.startswith("1") else "") + nsn
        else:
            made = "0" + nsn
        if len(made) == len(digits):
            return _pour(text, made, lambda c: "0" <= c <= "9")
        number = phonenumbers.PhoneNumber(country_code=country, national_number=int(nsn))
        style = phonenumbers.PhoneNumberFormat.INTERNATIONAL if international else None
        formatted = phonenumbers.format_number(number, style or phonenumbers.PhoneNumberFormat.NATIONAL)
        return "00" + formatted[1:] if double_zero else formatted

    # -- numbers with check digits -----------------------------------------------------------------

    def _credit_card(self, draw: _Draw, text: str) -> str:
        """A Luhn-valid number of the original's brand (by prefix) and length, in its grouping."""
        rng = draw.rng
        digits = _ascii_digits(text)
        length = len(digits)
        brand = next(
            (b for b in CARD_BRANDS if length in b[2] and digits.startswith(b[1])),
            None,
        ) or next((b for b in CARD_BRANDS if length in b[2]), None)
        prefix = rng.choice(brand[1]) if brand else rng.choice("123456789")
        length = length if length > len(prefix) + 1 else 16
        body = prefix + draw.digits(length - len(prefix) - 1)
        made = body + luhn_check_digit(body)
        if len(made) == len(digits):
            return _pour(text, made, lambda c: "0" <= c <= "9")
        return " ".join(made[i : i + 4] for i in range(0, len(made), 4))

    def _iban(self, draw: _Draw, text: str) -> str:
        """Same country, length and letter/digit layout as the original, with valid mod-97 digits."""
        compact = re.sub(r"[^0-9A-Za-z]", "", text)
        if len(compact) >= 12 and compact[:2].upper() in IBAN_COUNTRIES and compact[2:4].isdigit():
            country, bban = compact[:2].upper(), draw.shape(compact[4:]).upper()
        elif draw.rng.random() < 0.5:
            country, bban = "GB", draw.shape("AAAA") + draw.digits(14)
        else:
            country, bban = "DE", draw.digits(18)
        made = country + iban_check_digits(country, bban) + bban
        if len(made) == len(compact):
            return _pour(text, made.lower() if text.islower() else made, str.isalnum)
        return " ".join(made[i : i + 4] for i in range(0, len(made), 4))

    def _nhs(self, draw: _Draw, text: str) -> str:
        """A 999-range NHS test number with a valid mod-11 check digit."""
        while True:
            body = NHS_TEST_PREFIX + draw.digits(6)
            check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(body)) % 11
            if check != 10:
                made = body + str(check % 11)
                break
        if len(_ascii_digits(text)) == 10:
            return _pour(text, made, lambda c: "0" <= c <= "9")
        return f"{made[:3]} {made[3:6]} {made[6:]}"

    def _unissued_9xx(self, draw: _Draw, text: str) -> str:
        """9xx-GG-xxxx with a group neither SSA nor IRS issues: the shape of an SSN/ITIN, nobody's."""
        group = draw.rng.choice(UNISSUED_9XX_GROUPS)
        made = f"9{draw.digits(2)}{group:02d}{draw.rng.randint(1, 9999):04d}"
        if len(_ascii_digits(text)) == 9:
            return _pour(text, made, lambda c: "0" <= c <= "9")
        return f"{made[:3]}-{made[3:5]}-{made[5:]}"

    def _medical_license(self, draw: _Draw, text: str) -> str:
        """A DEA-form number (letter, letter, 6 digits and the DEA check digit), else the same shape."""
        compact = re.sub(r"[\s-]", "", text)
        if not _DEA_RE.fullmatch(compact):
            return draw.shape(text)
        rng = draw.rng
        second = "9" if compact[1] == "9" else rng.choice(string.ascii_uppercase)
        body = draw.digits(6)
        check = (sum(int(d) for d in body[0::2]) + 2 * sum(int(d) for d in body[1::2])) % 10
        made = rng.choice(_DEA_FIRST) + second + body + str(check)
        made = made.lower() if compact.islower() else made
        return _pour(text, made, str.isalnum)

    def _crypto(self, draw: _Draw, text: str) -> str:
        """A well-formed address of the original's kind over random key hashes nobody holds a key to."""
        rng = draw.rng
        lowered = text.lower()
        if lowered.startswith("bc1"):
            version = 1 if lowered[3:4] == "p" else 0
            size = 20 if version == 0 and len(text) <= 42 else 32
            program = rng.randbytes(size)
            made = _bech32_encode("bc", [version, *_to_5bit(program)], 1 if version == 0 else _BECH32M_CONST)
            return made.upper() if text.isupper() else made
        if text[:1] in "13" and len(text) >= 26:
            return _base58check(bytes([0 if text[0] == "1" else 5]) + rng.randbytes(20))
        if lowered.startswith("0x") and len(text) == 42:
            return "0x" + rng.randbytes(20).hex()
        return draw.shape(text)

    # -- network -----------------------------------------------------------------------------------

    def _ip(self, draw: _Draw, text: str) -> str:
        """An address in an RFC 5737 (IPv4) or RFC 3849 (IPv6) documentation network."""
        rng = draw.rng
        address, _, prefix = text.partition("/")
        if ":" in address:
            made = str(IPV6_DOC_NET[rng.getrandbits(96) or 1])
            floor = 32
        else:
            net = rng.choice(IPV4_DOC_NETS)
            made = str(net[rng.randint(1, 254)])
            floor = 24
        if prefix.isdigit():
            made += f"/{max(int(prefix), floor)}"
        return made.upper() if address.isupper() else made

    def _mac(self, draw: _Draw, text: str) -> str:
        """A unicast, locally administered MAC (bit 1 of the first octet set), in the original's layout."""
        octets = bytearray(draw.rng.randbytes(6))
        octets[0] = (octets[0] & 0b11111100) | 0b10
        made = octets.hex()
        made = made.upper() if any(c.isupper() for c in text) else made
        if len(_MAC_HEX.findall(text)) == 12:
            return _pour(text, made, _HEX.__contains__)
        return ":".join(made[i : i + 2] for i in range(0, 12, 2))

    def _url(self, draw: _Draw, text: str) -> str:
        """The scheme kept, the host a reserved domain, the path the same shape."""
        match = re.match(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?(?P<host>[^/?#\s]+)(?P<rest>.*)$", text)
        if match is None:
            return draw.shape(text)
        host = draw.rng.choice(EMAIL_DOMAINS[:3])
        host = "www." + host if match["host"].lower().startswith("www.") else host
        return (match["scheme"] or "") + host + draw.shape(match["rest"])

    def _uuid(self, draw: _Draw, text: str) -> str:
        """A version-4 UUID from the seed, in the original's case and layout."""
        made = uuid.UUID(int=draw.rng.getrandbits(128), version=4).hex
        made = made.upper() if any(c.isupper() for c in text) else made
        if sum(c in _HEX for c in text) == 32:
            return _pour(text, made, _HEX.__contains__)
        return str(uuid.UUID(made))

    def _generic(self, draw: _Draw, text: str) -> str:
        """Any other type (custom ones such as EMPLOYEE_ID): same shape, letters and digits redrawn."""
        return draw.shape(text)


def _name_tokens(full: str) -> list[_NameToken]:
    """A full name's pieces with their roles, given name first ("Müller, Hannah" is Hannah Müller)."""
    if "," in full:
        surname, _, given = full.partition(",")
        if given.strip():
            full = f"{given} {surname}"
    pieces = [p for p in (_split_token(piece) for piece in full.split()) if p[1]]
    tokens: list[_NameToken] = []
    names: list[int] = []
    for i, (pre, core, post) in enumerate(pieces):
        key = fold_person(core)
        if (key in _TITLES or (key in _SUFFIXES and i == len(pieces) - 1)) and len(pieces) > 1:
            role = "title"
        elif key in _PARTICLES and core.islower() and 0 < i < len(pieces) - 1:
            role = "particle"  # "Ana de Souza", "Ludwig van Beethoven": not a name on its own
        else:
            role = "name"
            names.append(len(tokens))
        tokens.append(_NameToken(pre, core, post, role, key))
    every, _, _ = _first_names()
    for n, index in enumerate(names):
        token = tokens[index]
        key = token.key
        if _script(token.core) in _UNSPACED_SCRIPTS and len(names) == 1:
            role = "whole"
        elif len(names) == 1:
            role = "first" if key in every or len(key) == 1 else "last"
        elif n == 0:
            role = "first"
        elif n == len(names) - 1:
            role = "last"
        else:
            role = "first" if key in every else "last"
        tokens[index] = _NameToken(token.pre, token.core, token.post, role, key)
    return tokens


def _phone_country(text: str, digits: str, international: bool) -> tuple[int, str, int]:
    """The original's calling code, national significant number and area code length.

    A national number is read as US/Canada, UK or Australia, whichever it is valid in (in that
    order); failing all, a leading 0 and 11 digits say UK, a leading 0 otherwise Australia.
    """
    candidates: list[tuple[str | None, str]] = [("US", text), ("GB", text), ("AU", text)]
    if international:
        candidates = [(None, "+" + (digits[2:] if digits.startswith("00") else digits))]
    for region, written in candidates:
        try:
            number = phonenumbers.parse(written, region)
        except phonenumbers.NumberParseException:
            continue
        if region is None or phonenumbers.is_valid_number(number):
            area = phonenumbers.length_of_geographical_area_code(number)
            return int(number.country_code or 0), str(number.national_number), area
    if digits.startswith("0"):
        return (44 if len(digits) == 11 else 61), digits[1:], 0
    return 1, digits, 0


def _full_year(digits: str | None) -> int | None:
    """A year from 4 digits, or from 2 ("'99" is 1999, "07" is 2007)."""
    if not digits:
        return None
    year = int(digits)
    if len(digits) == 2:
        year += 2000 if year <= 30 else 1900
    return year


def _name_like(template: str, name: str) -> str:
    """A month or weekday name written like `template`: full or abbreviated, dot, case."""
    core = template.rstrip(".")
    made = name if core.lower() in _FULL_NAMES else name[:3]
    return case_like(core, made) + template[len(core) :]


def _ordinal_suffix(day: int) -> str:
    if 11 <= day % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _base58check(payload: bytes) -> str:
    """Base58Check (Bitcoin): payload and the first 4 bytes of its double SHA-256."""
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = _BASE58[rem] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def _to_5bit(data: bytes) -> list[int]:
    """8-bit bytes regrouped into 5-bit values, zero-padded (BIP 173 `convertbits`)."""
    acc = bits = 0
    out = []
    for byte in data:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append((acc >> bits) & 31)
    if bits:
        out.append((acc << (5 - bits)) & 31)
    return out


def _bech32_polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if (top >> i) & 1 else 0
    return chk


def _bech32_encode(hrp: str, data: list[int], const: int) -> str:
    """Bech32 (BIP 173, const 1) or Bech32m (BIP 350) string of `data` under `hrp`."""
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = _bech32_polymod(expanded + data + [0] * 6) ^ const
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in data + checksum)


class SurrogateOperator(Operator):
    """Presidio operator `surrogate`: replaces an entity with its `Surrogates` fake.

    Presidio passes the entity type in `params["entity_type"]`; the caller passes the dataset's
    `Surrogates` as `params["surrogates"]` and, optionally, `params["full_names"]`: a mapping from a
    PERSON text (as written, or `fold_person` of it) to the full name it is part of, so "Hannah" and
    "Müller" take the pieces of the fake for "Hannah Müller".
    """

    SURROGATES = "surrogates"
    FULL_NAMES = "full_names"

    def operate(self, text: str, params: dict[str, Any] | None = None) -> str:
        """Return the surrogate for `text`."""
        params = params or {}
        entity_type = params["entity_type"]
        full_name = None
        names = params.get(self.FULL_NAMES)
        if names and entity_type == PERSON:
            full_name = names.get(text) or names.get(fold_person(text))
        return params[self.SURROGATES].value(entity_type, text, full_name=full_name)

    def validate(self, params: dict[str, Any] | None = None) -> None:
        """Require a `Surrogates`, an entity type, and a mapping (if any) for full names."""
        params = params or {}
        if not isinstance(params.get(self.SURROGATES), Surrogates):
            raise InvalidParamError("surrogate operator needs a Surrogates in params['surrogates']")
        entity_type = params.get("entity_type")
        if not isinstance(entity_type, str) or not entity_type:
            raise InvalidParamError("surrogate operator needs an entity type")
        names = params.get(self.FULL_NAMES)
        if names is not None and not isinstance(names, Mapping):
            raise InvalidParamError("surrogate operator's full_names must be a mapping")

    def operator_name(self) -> str:
        """Name used in `OperatorConfig`."""
        return "surrogate"

    def operator_type(self) -> OperatorType:
        """An anonymizer (without the key it cannot be reversed)."""
        return OperatorType.Anonymize
