"""Write pii_support_chats.jsonl and its labels: support chats full of personal data, each value labelled.

    .venv/bin/python tests/data/redaction/make_pii_corpus.py [--records 60] [--seed 20250312]

Each record is a multi-turn support chat (system, user, assistant, ...) with `metadata.ticket` and, in
most records, `metadata.customer` (a dict of name/email/phone/address fields, or one plain string). The
people, their emails, phones, IBANs, cards and addresses come from Faker (fixed seed, one locale per
record, cycling through LOCALES); the cities are real ones of the locale's country, the postcodes
Faker's (so a postcode and its city need not match). The chats cover: full names in user turns and in
the metadata, first names alone in the agent's replies ("Of course Ana."), surnames with titles
("Mr. Müller"), names in lower case, "this is X", "I'm X", sign-offs ("- X", "Thanks, X"), a second
person (a colleague), postcodes mentioned alone ("my postcode is ...", "zip ...").

pii_support_chats.labels.json lists, per record index:
- `pii`: every {entity_type, value, path} that must not survive redaction verbatim. `path` is a
  concrete field path (`messages[1].content`, `metadata.customer.name`, `metadata.customer`); the value
  occurs there as a whole word (`occurs`). Types: PERSON (full name, first name, surname, lower-case
  name), EMAIL_ADDRESS, PHONE_NUMBER, IBAN_CODE, CREDIT_CARD, STREET_ADDRESS (the street line),
  ZIP_CODE (the postcode) and LOCATION (the city).
- `must_keep`: {kind, value, path} that must survive: the company and product in the system prompt,
  ticket and order ids, UI words.

Needs Faker (40.63.0 wrote the committed files) and phonenumbers (phones are drawn until valid for
their country). `resolve` and `occurs` import nothing, so tests and benchmarks can use them without Faker.
"""

# Sentence templates are data: one template per line reads better than wrapped fragments.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import json
import random
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "pii_support_chats.jsonl"
LABELS = HERE / "pii_support_chats.labels.json"
SEED = 20250312
RECORDS = 60
LOCALES = ["en_GB", "en_US", "fr_FR", "de_DE", "pt_PT", "it_IT", "es_ES", "nl_NL", "pl_PL"]
REGION = {"en_GB": "GB", "en_US": "US", "fr_FR": "FR", "de_DE": "DE", "pt_PT": "PT", "it_IT": "IT",
          "es_ES": "ES", "nl_NL": "NL", "pl_PL": "PL"}  # fmt: skip
# Real cities of each country (US ones with their state): Faker's own are often invented.
CITIES: dict[str, list[str]] = {
    "en_GB": ["London", "Manchester", "Leeds", "Bristol", "Glasgow", "Cardiff", "Brighton", "York"],
    "en_US": ["Springfield, IL", "Austin, TX", "Portland, OR", "Columbus, OH", "San Francisco, CA",
              "Denver, CO", "Boston, MA", "Seattle, WA"],
    "fr_FR": ["Paris", "Lyon", "Marseille", "Toulouse", "Nantes", "Bordeaux", "Lille"],
    "de_DE": ["Berlin", "München", "Hamburg", "Köln", "Frankfurt am Main", "Leipzig", "Stuttgart"],
    "pt_PT": ["Lisboa", "Porto", "Coimbra", "Braga", "Faro", "Setúbal"],
    "it_IT": ["Roma", "Milano", "Torino", "Napoli", "Bologna", "Firenze"],
    "es_ES": ["Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao", "Zaragoza"],
    "nl_NL": ["Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven", "Groningen"],
    "pl_PL": ["Warszawa", "Kraków", "Gdańsk", "Wrocław", "Poznań", "Łódź"],
}  # fmt: skip
TITLES = {
    "en_GB": (["Mr", "Mr.", "Dr"], ["Ms", "Mrs", "Ms."]),
    "en_US": (["Mr.", "Dr."], ["Ms.", "Mrs."]),
    "fr_FR": (["Mr.", "M."], ["Ms", "Mme"]),
    "de_DE": (["Mr.", "Herr"], ["Ms", "Frau"]),
    "pt_PT": (["Mr.", "Sr."], ["Ms", "Sra."]),
    "it_IT": (["Mr.", "Sig."], ["Ms", "Sig.ra"]),
    "es_ES": (["Mr.", "Sr."], ["Ms.", "Sra."]),
    "nl_NL": (["Mr.", "Dhr."], ["Ms", "Mevr."]),
    "pl_PL": (["Mr.", "Pan"], ["Ms", "Pani"]),
}  # fmt: skip
COMPANIES = [
    ("Acme", "Acme Cloud"), ("Globex", "Globex Cloud"), ("Initech", "Initech Payroll"),
    ("DataSync", "DataSync Pro"), ("Orbit Labs", "Orbit"), ("Northwind Traders", "Northwind POS"),
    ("LedgerLine", "LedgerLine Invoicing"), ("ShipQuick", "ShipQuick Returns"), ("BrightDesk", "BrightDesk Chat"),
    ("Wingtip Toys", "Wingtip Toys online store"), ("CloudNest", "CloudNest Drive"), ("TaskHive", "TaskHive Boards"),
]  # fmt: skip
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
SYSTEM_PROMPTS = [
    "You are {company}'s support assistant. Be brief, polite and specific.",
    "You are the support assistant for {product}. Answer questions about billing, accounts and orders.",
    "You help customers of {company} with {product}. Keep answers short.",
    "{company} Support: answer as the {product} help desk, politely and in plain English.",
]


def occurs(value: str, text: str) -> bool:
    """`value` appears in `text` as a whole word (no letter or digit right before or after it)."""
    return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text) is not None


def resolve(record: Any, path: str) -> Any:
    """The value at a field path such as `messages[1].content` or `metadata.customer.name`."""
    node = record
    for part in path.split("."):
        match = re.fullmatch(r"([^\[\]]+)((?:\[\d+\])*)", part)
        if match is None:
            raise KeyError(path)
        node = node[match.group(1)]
        for index in re.findall(r"\[(\d+)\]", match.group(2)):
            node = node[int(index)]
    return node


def strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string value of a record with its concrete field path (keys are not walked)."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from strings(item, f"{path}[{i}]")
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from strings(item, f"{path}.{key}" if path else key)


# Letters NFKD does not take apart.
_UNDECOMPOSED: dict[str, str | int | None] = {"ł": "l", "Ł": "L", "ß": "ss", "ø": "o", "æ": "ae", "đ": "d"}


def _ascii(text: str) -> str:
    """How a name is usually spelt in an email address: no accents, no letters outside ASCII."""
    text = text.translate(str.maketrans(_UNDECOMPOSED))
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[^A-Za-z]", "", plain)


def _iban_valid(iban: str) -> bool:
    compact = iban.replace(" ", "")
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


def _grouped(value: str, size: int = 4) -> str:
    return " ".join(value[i : i + size] for i in range(0, len(value), size))


@dataclass
class Person:
    """One customer (or colleague) of a locale, every value as it will be written."""

    locale: str
    first: str
    last: str
    male: bool
    title: str
    email: str
    phone: str
    street: str
    postcode: str
    city: str
    state: str
    iban: str
    card: str

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def address(self) -> str:
        if self.locale == "en_GB":
            return f"{self.street}, {self.city} {self.postcode}"
        if self.locale == "en_US":
            return f"{self.street}, {self.city}, {self.state} {self.postcode}"
        return f"{self.street}, {self.postcode} {self.city}"


def _person(fake: Any, rng: random.Random, locale: str, reserved: set[str]) -> Person:
    import phonenumbers

    region = REGION[locale]
    while True:
        male = rng.random() < 0.5
        first = fake.first_name_male() if male else fake.first_name_female()
        last = fake.last_name()
        words = {w.lower() for w in re.findall(r"\w+", f"{first} {last}")}
        # A name that is also a word of the templates would label ordinary words as PII.
        if not words & reserved and len(first) > 2 and len(last) > 2:
            break
    while True:
        phone = fake.phone_number().split("x")[0].strip()
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(phone, region)):
                break
        except phonenumbers.NumberParseException:
            pass
    if rng.random() < 0.4:
        # Written in international form, as many customers do.
        phone = phonenumbers.format_number(
            phonenumbers.parse(phone, region), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    local = _ascii(first).lower(), _ascii(last).lower()
    email = rng.choice(
        [
            f"{local[0]}.{local[1]}",
            f"{local[0]}{local[1]}",
            f"{local[0][0]}{local[1]}",
            f"{local[0]}_{local[1]}{rng.randint(1, 99)}",
        ]
    )
    email = f"{email}@{fake.free_email_domain()}"
    postcode = fake.postcode()
    state = ""
    city = rng.choice(CITIES[locale])
    if locale == "en_US":
        city, state = city.split(", ")
        # ZIP+4 and plain ZIP in turn (the seed decides which comes first).
        postcode = fake.zipcode_plus4() if fake.random_int(0, 1) else fake.zipcode()
    if locale == "nl_NL" and " " not in postcode:
        postcode = f"{postcode[:4]} {postcode[4:]}"
    street = re.sub(r"\s+", " ", fake.street_address()).strip()
    iban_fake = fake if locale != "en_US" else _faker("en_GB", rng.randrange(1 << 30))
    iban = iban_fake.iban()
    assert _iban_valid(iban), iban
    if rng.random() < 0.5:
        iban = _grouped(iban)
    # The locale's own card types (pt_PT has its own list); the common ones where the locale has them.
    types = sorted(fake.credit_card_number.__self__.credit_card_types)
    common = [t for t in ("visa16", "visa", "mastercard", "amex", "discover") if t in types]
    card = fake.credit_card_number(card_type=rng.choice(common or types))
    if rng.random() < 0.6 and len(card) == 16:
        card = _grouped(card)
    titles = TITLES[locale][0 if male else 1]
    return Person(
        locale, first, last, male, rng.choice(titles), email, phone, street, postcode, city, state, iban, card
    )


def _faker(locale: str, seed: int) -> Any:
    from faker import Faker

    fake = Faker(locale)
    fake.seed_instance(seed)
    return fake


@dataclass
class Chat:
    """A scenario's turns and the values that must go (pii) or stay (keep), before paths are found."""

    turns: list[tuple[str, str]]
    pii: list[tuple[str, str]]
    keep: list[tuple[str, str]]


def _name_pii(p: Person, *, first: bool = True, last: bool = False) -> list[tuple[str, str]]:
    items = [("PERSON", p.full)]
    if first:
        items.append(("PERSON", p.first))
    if last:
        items.append(("PERSON", p.last))
    return items


def _address_pii(p: Person) -> list[tuple[str, str]]:
    return [("STREET_ADDRESS", p.street), ("ZIP_CODE", p.postcode), ("LOCATION", p.city)]


def _double_charge(p: Person, rng: random.Random, ids: dict[str, str]) -> Chat:
    hello = rng.choice(["Hi, this is {full}.", "Hello, {full} here.", "Hi there, I'm {full}."]).format(
        full=p.full
    )
    return Chat(
        turns=[
            ("user", f"{hello} I was charged twice on {ids['invoice']}. The card is {p.card}."),
            ("assistant", f"Hi {p.first}, sorry about that. I've refunded the duplicate charge on {ids['invoice']}; "
                          "it shows on your statement within 5 business days."),
            ("user", f"Thanks, {p.first}" if rng.random() < 0.2 else f"Great, thank you!\n- {p.first}"),
            ("assistant", f"You're welcome, {p.first}. I've closed {ids['ticket']}."),
        ],
        pii=[*_name_pii(p), ("CREDIT_CARD", p.card)],
        keep=[("invoice_id", ids["invoice"]), ("ticket_id", ids["ticket"])],
    )  # fmt: skip


def _address_change(p: Person, rng: random.Random, ids: dict[str, str]) -> Chat:
    ui = rng.choice(["Account > Addresses", "Orders > Delivery address"])
    if p.locale == "en_US":
        options = [
            f"My zip is {p.postcode}, the form keeps rejecting it.",
            f"zip {p.postcode} is right, I checked.",
        ]
    else:
        options = [
            f"My postcode is {p.postcode}, the form keeps rejecting it.",
            f"The form won't take the postcode {p.postcode}.",
            f"The city is {p.city}, postcode {p.postcode}.",
        ]
    postcode_line = rng.choice(options)
    return Chat(
        turns=[
            ("user", f"Hello, I'm {p.full} and I've moved. Please send {ids['order']} to {p.address} instead."),
            ("assistant", f"Of course {p.first}. I've updated the delivery address on {ids['order']}. "
                          f"You can check it under {ui}."),
            ("user", postcode_line),
            ("assistant", f"Thanks {p.title} {p.last}, it's saved now. The parcel ships on {rng.choice(DAYS)}."),
        ],
        pii=[*_name_pii(p, last=True), *_address_pii(p)],
        keep=[("order_id", ids["order"]), ("ui", ui)],
    )  # fmt: skip


def _iban_refund(p: Person, rng: random.Random, ids: dict[str, str]) -> Chat:
    sign = rng.choice([f"Thanks, {p.full}", f"- {p.full}", f"Regards,\n{p.full}", f"— {p.first}"])
    return Chat(
        turns=[
            ("user", f"I cancelled {ids['order']}. Please refund it by bank transfer to {p.iban}.\n{sign}"),
            ("assistant", f"Thanks {p.first}. The refund for {ids['order']} goes to that account within 3-5 business days."),
            ("user", f"Can you confirm by email? {p.email}"),
            ("assistant", f"Done, {p.first}: a confirmation is on its way to {p.email}."),
        ],
        pii=[*_name_pii(p), ("IBAN_CODE", p.iban), ("EMAIL_ADDRESS", p.email)],
        keep=[("order_id", ids["order"])],
    )  # fmt: skip


def _callback(p: Person, rng: random.Random, ids: dict[str, str]) -> Chat:
    day = rng.choice(DAYS)
    return Chat(
        turns=[
            ("user", f"Could someone call me back? My number is {p.phone}. {p.first} {p.last}"),
            ("assistant", f"Hi {p.first}, an agent will call you on {day} between 10:00 and 12:00. "
                          f"Your case is {ids['ticket']}."),
            ("user", "Perfect, that works."),
            ("assistant", f"Great. Talk soon, {p.title} {p.last}."),
        ],
        pii=[*_name_pii(p, last=True), ("PHONE_NUMBER", p.phone)],
        keep=[("ticket_id", ids["ticket"])],
    )  # fmt: skip


def _lower_case_login(p: Person, rng: random.Random, ids: dict[str, str]) -> Chat:
    ui = rng.choice(["Settings > Security", "Account > Sign-in"])
    lower = p.full.lower()
    return Chat(
        turns=[
            ("user", f"hi its {lower} here, i cant log in. my email is {p.email}"),
            ("assistant", f"Hi {p.first}, I've sent a reset link to {p.email}. In the app go to {ui} "
                          "and choose Reset password."),
            ("user", f"got it thanks\n{lower.split()[0]}"),
            ("assistant", f"Glad it worked, {p.first}!"),
        ],
        pii=[("PERSON", p.first), ("PERSON", lower), ("PERSON", lower.split()[0]), ("EMAIL_ADDRESS", p.email)],
        keep=[("ui", ui)],
    )  # fmt: skip


def _colleague(p: Person, q: Person, rng: random.Random, ids: dict[str, str]) -> Chat:
    ui = rng.choice(["Admin > Members", "Settings > Team"])
    return Chat(
        turns=[
            ("user", f"Hi, {p.full} from the finance team. Please add my colleague {q.full} ({q.email}) "
                     "to our workspace as an admin."),
            ("assistant", f"Done, {p.first}. {q.first} will get an invite at {q.email}; "
                          f"they can accept it under {ui}."),
            ("user", f"Thanks! Also, {q.first}'s phone for the account is {q.phone}."),
            ("assistant", f"Added. Anything else, {p.first}?"),
        ],
        pii=[*_name_pii(p), *_name_pii(q), ("EMAIL_ADDRESS", q.email), ("PHONE_NUMBER", q.phone)],
        keep=[("ui", ui)],
    )  # fmt: skip


def _formal_complaint(p: Person, rng: random.Random, ids: dict[str, str]) -> Chat:
    ui = rng.choice(["Orders > Returns", "Orders > Order history"])
    return Chat(
        turns=[
            ("user", f"Dear support, my name is {p.full}. Order {ids['order']} arrived damaged at "
                     f"{p.street} in {p.city}. I'd like a replacement."),
            ("assistant", f"Good afternoon {p.title} {p.last}, I'm sorry to hear that. A replacement for "
                          f"{ids['order']} ships tomorrow; the return label is under {ui}."),
            ("user", f"Thank you. You can reach me on {p.phone} if the courier needs me."),
            ("assistant", f"Noted, {p.title} {p.last}. Case {ids['ticket']} is open until the replacement arrives."),
        ],
        pii=[*_name_pii(p, first=False, last=True), ("STREET_ADDRESS", p.street), ("LOCATION", p.city),
             ("PHONE_NUMBER", p.phone)],
        keep=[("order_id", ids["order"]), ("ui", ui), ("ticket_id", ids["ticket"])],
    )  # fmt: skip


def _card_update(p: Person, rng: random.Random, ids: dict[str, str]) -> Chat:
    ui = rng.choice(["Billing > Payment methods", "Settings > Billing"])
    return Chat(
        turns=[
            ("user", f"Hey, {p.first} here. My old card expired, the new one is {p.card}. "
                     f"Billing address: {p.address}."),
            ("assistant", f"Thanks {p.first}. For your security, please add cards yourself under {ui}; "
                          "I can't store card numbers from chat."),
            ("user", f"OK done. Thanks, {p.first}"),
            ("assistant", f"Perfect, {p.first}. The next invoice, {ids['invoice']}, will use the new card."),
        ],
        pii=[("PERSON", p.first), ("CREDIT_CARD", p.card), *_address_pii(p)],
        keep=[("ui", ui), ("invoice_id", ids["invoice"])],
    )  # fmt: skip


def _postcode_only(p: Person, rng: random.Random, ids: dict[str, str]) -> Chat:
    ask = "what's your zip code?" if p.locale == "en_US" else "what's your postcode?"
    answer = rng.choice([f"It's {p.postcode}.", f"{p.postcode}", f"my postcode is {p.postcode}"])
    if p.locale == "en_US":
        answer = rng.choice([f"zip {p.postcode}", f"It's {p.postcode}, {p.city}."])
    return Chat(
        turns=[
            ("user", f"Is same-day delivery available where I live? I'm {p.first}."),
            ("assistant", f"Hi {p.first}, happy to check: {ask}"),
            ("user", answer),
            ("assistant", f"Thanks {p.first}, same-day delivery is available there for orders placed before 14:00."),
        ],
        pii=[("PERSON", p.first), ("ZIP_CODE", p.postcode), *([("LOCATION", p.city)] if p.city in answer else [])],
        keep=[],
    )  # fmt: skip


SCENARIOS = [_double_charge, _address_change, _iban_refund, _callback, _lower_case_login, _formal_complaint,
             _card_update, _postcode_only]  # fmt: skip


def _customer(p: Person, rng: random.Random) -> tuple[Any, list[tuple[str, str]]]:
    """`metadata.customer`: a dict (some fields) or a plain string, and the values it holds."""
    kind = rng.randrange(5)
    if kind == 0:
        return f"{p.full} <{p.email}>", [("PERSON", p.full), ("EMAIL_ADDRESS", p.email)]
    if kind == 1:
        return p.full, [("PERSON", p.full)]
    customer: dict[str, str] = {"name": p.full, "email": p.email}
    pii = [("PERSON", p.full), ("EMAIL_ADDRESS", p.email)]
    if kind >= 3:
        customer["phone"] = p.phone
        pii.append(("PHONE_NUMBER", p.phone))
    if kind == 4:
        customer["address"] = p.address
        pii.extend(_address_pii(p))
    elif kind == 3:
        customer["postcode"] = p.postcode
        pii.append(("ZIP_CODE", p.postcode))
    return customer, pii


def _reserved_words() -> set[str]:
    """Words of everything but the people: templates, companies, UI, cities."""
    import inspect
    import sys

    module = sys.modules[__name__]
    source = inspect.getsource(module).replace(module.__doc__ or "", "")
    return {w.lower() for w in re.findall(r"[A-Za-zÀ-ÿ]+", source)}


def make_corpus(n: int = RECORDS, seed: int = SEED) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`n` chats and their labels (one entry per record), the same for the same seed and Faker version."""
    rng = random.Random(seed)
    reserved = _reserved_words()
    records: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    for index in range(n):
        locale = LOCALES[index % len(LOCALES)]
        fake = _faker(locale, seed + index)
        p = _person(fake, rng, locale, reserved)
        company, product = rng.choice(COMPANIES)
        ids = {
            "ticket": rng.choice([f"T-{rng.randint(1000, 9999)}", f"C{rng.randint(1000, 9999)}"]),
            "order": f"ORD-{rng.randint(10000, 99999)}",
            "invoice": f"INV-{rng.randint(2023, 2025)}-{rng.randint(1, 9999):04d}",
        }
        if index < len(LOCALES):
            # One full street address with postcode and city per country first, whatever else follows.
            chat = _address_change(p, rng, ids)
        elif index % 8 == 7:
            other = rng.choice(LOCALES)
            q = _person(_faker(other, seed + 1000 + index), rng, other, reserved)
            chat = _colleague(p, q, rng, ids)
        else:
            chat = SCENARIOS[(index + index // len(SCENARIOS)) % len(SCENARIOS)](p, rng, ids)
        system = rng.choice(SYSTEM_PROMPTS).format(company=company, product=product)
        metadata: dict[str, Any] = {"ticket": ids["ticket"], "channel": rng.choice(["chat", "email", "web"])}
        pii = list(chat.pii)
        if rng.random() < 0.8:
            metadata["customer"], customer_pii = _customer(p, rng)
            pii.extend(customer_pii)
        record = {
            "messages": [
                {"role": "system", "content": system},
                *({"role": r, "content": c} for r, c in chat.turns),
            ],
            "metadata": metadata,
        }
        named = [
            (kind, name)
            for kind, name in (("company", company), ("product", product))
            if occurs(name, system)
        ]
        keep = [*named, ("ticket_id", ids["ticket"]), *chat.keep]
        labels.append({"index": index, "locale": locale, **_located(record, pii, keep)})
        records.append(record)
    return records, labels


def _located(
    record: dict[str, Any], pii: list[tuple[str, str]], keep: list[tuple[str, str]]
) -> dict[str, Any]:
    """Every place each value occurs in the record; a value found nowhere is a bug in a scenario."""
    fields = list(strings(record))
    out: dict[str, list[dict[str, str]]] = {"pii": [], "must_keep": []}
    for key, items, name in (("pii", pii, "entity_type"), ("must_keep", keep, "kind")):
        seen: set[tuple[str, str, str]] = set()
        for kind, value in items:
            paths = [path for path, text in fields if occurs(value, text)]
            if not paths:
                raise AssertionError(f"{key} value {value!r} ({kind}) is nowhere in the record")
            for path in paths:
                if (kind, value, path) not in seen:
                    seen.add((kind, value, path))
                    out[key].append({name: kind, "value": value, "path": path})
    clashes = {k["value"] for k in out["must_keep"]} & {p["value"] for p in out["pii"]}
    if clashes:
        raise AssertionError(f"values both PII and must-keep: {sorted(clashes)}")
    return out


def main(argv: list[str] | None = None) -> int:
    import faker

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--labels", type=Path, default=LABELS)
    args = parser.parse_args(argv)
    records, labels = make_corpus(args.records, args.seed)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    document = {
        "about": "Values that must not survive redaction (pii) and values that must (must_keep), per record "
        "index of pii_support_chats.jsonl; paths are concrete field paths. See make_pii_corpus.py.",
        "generator": {
            "script": "make_pii_corpus.py",
            "seed": args.seed,
            "faker": faker.VERSION,
            "locales": LOCALES,
        },
        "records": labels,
    }
    args.labels.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    counts = sum(len(label["pii"]) for label in labels), sum(len(label["must_keep"]) for label in labels)
    print(
        f"wrote {len(records)} records to {args.out} and {counts[0]} pii + {counts[1]} must_keep labels to {args.labels}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
