"""spaCy's named entities, checked before they count: `FtgateNerRecognizer` replaces Presidio's.

Presidio's `SpacyRecognizer` reports every PERSON, GPE/LOC/FAC, NORP, DATE and TIME spaCy tags. On
support chats and on the labelled corpus spaCy's guesses fail in recognisable ways, and each rule
below answers one of them, reading the whole spaCy `Doc` (every entity, ORG and PRODUCT included, the
tokens, their part of speech and the sentence) that Presidio has already computed:

1. A span is cut at line breaks and loses a trailing possessive or punctuation: "Zizi Kónya\\nEnigmaio"
   is a name and a company on two lines, "Recargo," a word and a comma.
2. Not a name or a place (the span is dropped):
   - with digits: "T-1008", "C1002", "NW1" are ids and codes (an address's number is the address
     recognizers' business);
   - an interface element: after "click", "tap", "press", "select", "open", "go to", ..., next to ">"
     ("Billing > Plans"), or before "tab", "button", "menu", "page", ...;
   - an organisation or product: before or ending in a company suffix ("Healthpocket Inc", "Asc
     Partners"), before "'s" and a business noun ("Acme's support assistant"), before a product noun
     ("the Zendesk integration"); CamelCase ("FlowDesk") or a short all-capitals word ("SSO") that no
     gazetteer knows. A word the name gazetteer (names.py) knows keeps its PERSON: "Maria's account".
3. The right type: a PERSON guess that no gazetteer knows as a name, after "in", "at", "from", ...,
   or in capitals ("based in NAANTALI"), or inside a postal address block, is a place; a LOCATION
   guess that is a given name, not a place, and not after such a word ("Why is Samantha so
   impulsive?") is a person. A NORP inside an address ("Cyprus (Greek)") is part of the place.
4. Names spaCy missed, found with the gazetteer: a given name and a surname ("Priya Raman", "Stephan M
   Urner"), in lower case too ("follow up with patricia desrosiers"); a single given name that spaCy
   tags as a proper noun (or calls an ORG without any company sign: "Scott is a very sympathetic
   person"). A given name that is an ordinary word or a place ("Will", "May", "Sydney") never counts
   alone, nor does anything inside an organisation, product or interface context.
5. Dates about a product rather than a person: a DATE or TIME in a sentence about a release, a version
   or a maintenance window ("version 5.1 was released on March 3, 2025", "maintenance Sunday 02:00
   UTC") is content, unless the sentence speaks of a person's life ("born", "appointment", "I", "her").
   The rule is `dates.is_product_date`, which ftgate's date recognizer applies too.
6. Once every recognizer has run (Presidio's `enhance_using_context` hands each recognizer the
   others' findings), a guessed PERSON or NRP inside a street address, a postcode or a place found
   beside one is part of the place ("Gerrit Achterberghove 137", "2450 Crown St" become LOCATION),
   and a guessed LOCATION or NRP where a cue found a name ("her maiden name is Sandgreen") is
   dropped.

It is a `SpacyRecognizer`, so the scanner still treats its findings as NER guesses (no dataset-wide
spreading of one word, NER-specific handling of encoded segments and key tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from gateway.redaction.addresses import address_blocks, addressee_lines
from gateway.redaction.dates import is_product_date
from gateway.redaction.names import (
    LOCATIVES,
    PEOPLE_NOUNS,
    PLACE_WORDS,
    POST_NOMINALS,
    TITLES,
    UI_NOUNS,
    UI_VERBS,
    Gazetteer,
    gazetteer,
)

PERSON = "PERSON"
LOCATION = "LOCATION"
NRP = "NRP"
DATE_TIME = "DATE_TIME"
# Why a name inside an address block stays a PERSON, and the metadata key that carries it to rule 6.
ADDRESSEE = "the addressee at the head of an address"
ADDRESSEE_KEY = "ftgate_addressee"

# spaCy's labels, as Presidio maps them (engine.NER_MODEL_CONFIGURATION).
LABELS = {
    "PERSON": PERSON,
    "PER": PERSON,
    "GPE": LOCATION,
    "LOC": LOCATION,
    "FAC": LOCATION,
    "NORP": NRP,
    "DATE": DATE_TIME,
    "TIME": DATE_TIME,
}
# spaCy's labels for things named like people or places that are neither.
NOT_PERSONAL = frozenset({"ORG", "PRODUCT", "WORK_OF_ART", "EVENT", "LAW", "LANGUAGE"})
# The score of a gazetteer finding: above the default threshold, below spaCy's own 0.85, so a
# pattern finding of another type wins the overlap.
PAIR_SCORE = 0.6
SINGLE_SCORE = 0.55
_UI_VERBS = frozenset(UI_VERBS)
_UI_NOUNS = frozenset(UI_NOUNS)
_LOCATIVES = frozenset(LOCATIVES)
# "go to Settings", "navigate to Billing", "log in to Acme", "sign in with Acme".
_UI_PHRASES = frozenset(
    {("go", "to"), ("navigate", "to"), ("log", "into"), ("sign", "into"), ("switch", "to")}
)
_DIGIT = regex.compile(r"\d")
# An id: capitals, then digits ("INV-2023-9122", "T-1748", "SR-7776", "C1002").
_VERSION = regex.compile(r"v?\d+(?:\.\d+)+")
_ID = regex.compile(r"\p{Lu}{1,6}[-_#]?\d")
_CAMEL = regex.compile(r"\p{Ll}\p{Lu}")
# Names with a capital inside: McDowell, MacLeod, DiCaprio, DeVito, LaToya, O'Connor, Al-Sayed.
_NAME_CAMEL = regex.compile(r"^(?:Mc|Mac|Di|De|Da|La|Le|Van|Von|Fitz|O['’]|D['’]|Al-|El-)\p{Lu}")
_POSSESSIVE = ("'s", "’s", "'", "’")
# Tokens a name or place never spans: "Answer:\"Tube Snake Boogie" is a label, a quote and a title.
_CUTS = frozenset({":", '"', "“", "”", "(", ")", "[", "]", "|", ";", ","})
# A dash with a space beside it separates ("Kenneth Roose - Senior Engineer"); inside a name it joins.
_DASHES = frozenset({"-", "–", "—", "--"})
_STREET_ABBREVIATIONS = frozenset({"st", "rd", "ave", "ln", "dr", "blvd", "ct", "pl", "sq", "hwy", "str"})
# Nouns that make "X is a ..." an organisation.
_ORG_NOUNS = frozenset(
    {
        "agency", "company", "firm", "startup", "start-up", "business", "brand", "platform", "app",
        "tool", "service", "product", "software", "website", "organisation", "organization", "nonprofit",
        "charity", "bank", "store", "shop", "restaurant", "cafe", "café", "studio", "label", "band",
        "corporation", "consultancy", "manufacturer", "retailer", "provider", "vendor", "supplier",
        "publisher", "airline", "hotel", "chain", "franchise", "university", "school", "hospital",
        "clinic", "library", "framework", "database", "plugin", "extension", "game", "film",
        "movie", "series", "show", "podcast", "newsletter",
    }
)  # fmt: skip
_PEOPLE_NOUNS = frozenset(PEOPLE_NOUNS)
_PLACE_WORDS = frozenset(PLACE_WORDS)
# The separators of a menu path: "Billing > Plans".
_STEPS = frozenset({">", "»", "→"})
# A verb and its preposition that aim at a person, not a place: "shouted at Gary", "heard from Tom".
_AIMED_AT_PEOPLE = frozenset(
    [("at", v) for v in (
        "shout", "yell", "scream", "smile", "grin", "wink", "wave", "nod", "laugh", "stare", "glare",
        "look", "point", "bark", "snap", "swear", "frown", "sneer", "growl", "hiss", "curse",
    )]
    + [("from", v) for v in ("hear", "receive", "get")]
)  # fmt: skip
_TITLES = frozenset(t.casefold() for t in TITLES)
_POST_NOMINALS = frozenset(p.casefold() for p in POST_NOMINALS)
_GREETING_WORDS = frozenset({"hi", "hello", "hey", "dear", "thanks", "cheers", "bye", "congrats"})
_VOCATIVE_NEXT = frozenset(
    {"can", "could", "would", "will", "please", "i", "you", "we", "do", "did", "are", "is"}
)
# Verbs whose object is software, not a person.
_PRODUCT_VERBS = frozenset(
    {
        "connect", "integrate", "sync", "install", "uninstall", "reinstall", "import", "export", "migrate",
        "download", "upload", "use", "using", "configure", "link", "unlink", "authorise", "authorize",
        "reauthorise", "reauthorize", "support", "supports", "switch", "upgrade", "update", "enable",
        "disable", "deploy", "embed", "plug", "host", "run", "launch", "open", "login", "log", "sign",
    }
)  # fmt: skip
# Words that make a sentence about software (lemmas and forms).
_SOFTWARE_WORDS = frozenset(
    {
        "app", "apps", "api", "sdk", "cli", "integration", "integrate", "plugin", "extension", "workspace",
        "dashboard", "login", "password", "sso", "2fa", "authentication", "export", "import", "sync",
        "setting", "settings", "admin", "billing", "invoice", "subscription", "plan", "feature", "version",
        "release", "update", "upgrade", "changelog", "bug", "error", "doc", "docs", "documentation",
        "digest", "notification", "webhook", "token", "connect", "install", "uninstall", "deploy",
        "configure", "re-authorise", "reauthorise", "re-authorize", "reauthorize", "authorise", "authorize",
        "support", "customer", "browser", "desktop", "mobile", "ios", "android", "server",
        "database", "cloud", "account", "channel", "report", "template", "upload", "download",
        "click", "tab", "menu", "button", "software", "tool", "platform", "service", "data",
        "status", "outage", "maintenance", "backup", "trial", "seat", "license", "licence", "user", "users",
        "ticket", "helpdesk", "working", "broken", "crash", "crashes", "crashing", "fails",
        "failing", "loads", "loading", "offline", "online", "lag", "lags", "glitch", "syncing",
    }
)  # fmt: skip
# Nouns of software a place preposition hangs on ("notifications in Okta").
_SOFTWARE_NOUNS = frozenset(
    {
        "notification", "channel", "integration", "access", "app", "application", "workspace", "account",
        "setting", "report", "dashboard", "project", "folder", "file", "message", "ticket", "key",
        "feature", "data", "sync", "event", "alert", "board", "issue", "page", "tab", "field", "record",
        "user", "team", "plan", "bug", "error", "export", "import", "webhook", "token", "login",
        "calendar", "invoice", "payment", "subscription", "license", "seat", "document", "doc", "task",
        "card", "list", "view", "post", "comment", "thread", "chat", "call", "meeting", "recording",
    }
)  # fmt: skip
# A nationality's, religion's or party's name: "Polish", "Canadian", "Japanese", "Israeli".
_GROUP_NAME = regex.compile(r"(?:an|ans|ian|ians|en|ese|ish|i|is|ic|ics|ean|eans|ite|ites|ist|ists|er|ers)$")
_GROUP_WORDS = frozenset(
    {
        "greek", "greeks", "swiss", "thai", "french", "dutch", "czech", "czechs", "basque", "welsh",
        "irish", "scots", "inuit", "sikh", "sikhs", "jewish", "jew", "jews", "hindu", "hindus", "muslim",
        "muslims", "buddhist", "catholic", "catholics", "protestant", "orthodox", "democrat", "democrats",
        "republican", "republicans", "labour", "tory", "tories", "green", "greens", "latino", "latina",
        "latinx", "arab", "arabs", "kurd", "kurds", "sami", "roma", "maori", "slav", "slavs", "celt",
        "celts", "viking", "vikings", "quaker", "quakers", "amish", "mormon", "mormons", "baptist",
        "methodist", "lutheran", "anglican", "evangelical", "shia", "sunni", "zionist", "communist",
        "socialist", "liberal", "liberals", "conservative", "conservatives", "aboriginal", "indigenous",
    }
)  # fmt: skip


def _persons_role(token: Any) -> str | None:
    """The role that makes `token` (the head of a name) a person, or None (spaCy's dependency parse)."""
    dep, head = token.dep_, token.head
    lemma = head.lemma_.lower()
    if dep in ("nsubj", "nsubjpass") and lemma in _PERSON_VERBS:
        if lemma == "say" and head.tag_ != "VBD":
            return None  # "Slack says the app needs ...": software says things in the present
        return f"subject of {lemma}"
    if dep in ("dobj", "dative") and lemma in _PERSON_OBJECT_VERBS:
        return f"object of {lemma}"
    if dep == "appos" and (head.lower_ in _KIN or head.lower_ in ("i", "me", "we", "us")):
        return f"beside {head.lower_}"
    if any(c.dep_ in ("compound", "appos") and c.lower_ in _KIN for c in token.children):
        return "after a kinship or role word"
    if dep == "poss" and head.lower_ in _PERSONAL_NOUNS:
        return f"whose {head.lower_}"
    if dep == "pobj" and head.lower_ == "by" and head.head.lemma_.lower() in _AUTHOR_VERBS:
        return f"{head.head.lower_} by"
    return None


# Verbs whose subject is a person: products do not say, tell or remember.
_PERSON_VERBS = frozenset(
    {
        "say", "tell", "ask", "write", "reply", "answer", "email", "text", "phone", "agree", "promise",
        "mention", "explain", "complain", "think", "believe", "feel", "know", "love", "hate", "like",
        "forget", "remember", "live", "marry", "die", "retire", "graduate", "spend", "smile", "laugh",
        "cry", "decide", "visit", "arrive", "travel", "sleep", "eat", "drink", "wear", "sign", "apologise",
        "apologize", "thank", "prefer", "hope", "wish", "worry", "wonder", "insist", "claim", "admit",
        "recommend", "suggest", "confirm", "approve", "pay", "buy", "order", "call", "meet", "join",
        "leave", "quit", "start", "teach", "study", "born",
    }
)  # fmt: skip
# Verbs whose object is a person.
_PERSON_OBJECT_VERBS = frozenset(
    {
        "tell", "ask", "thank", "email", "text", "remind", "invite", "inform", "notify", "meet", "pay",
        "hire", "introduce", "congratulate", "cc", "let", "contact", "call", "message", "ping", "phone",
        "visit", "marry", "help", "assist", "refund", "reimburse", "greet", "welcome", "advise", "warn",
        "interview", "promote", "fire", "forward", "copy",
    }
)  # fmt: skip
# Nouns a surname modifies ("the Dratchev novel", "the Okafor family", "the Lindqvist case").
_NAMED_AFTER_PEOPLE = frozenset(
    {
        "novel", "book", "song", "album", "film", "movie", "poem", "play", "story", "painting", "portrait",
        "biography", "memoir", "letter", "speech", "interview", "quote", "family", "household", "estate",
        "residence", "home", "farm", "case", "trial", "murder", "affair", "administration", "campaign",
        "era", "years", "collection", "archive", "papers", "foundation", "award", "prize", "lecture",
        "twins", "brothers", "sisters", "siblings", "kids", "children", "wedding", "funeral", "grave",
    }
)  # fmt: skip
# Pronouns that refer to a person: a product is "it".
_PERSONAL_PRONOUNS = frozenset({"he", "she", "his", "her", "hers", "him", "himself", "herself"})
# Words a person's name stands beside ("my husband Richeard", "our driver Ana").
_KIN = frozenset(
    {
        "husband", "wife", "son", "daughter", "mother", "mom", "mum", "father", "dad", "brother", "sister",
        "partner", "fiance", "fiancé", "fiancée", "boyfriend", "girlfriend", "friend", "colleague",
        "coworker", "co-worker", "manager", "boss", "neighbour", "neighbor", "uncle", "aunt", "cousin",
        "grandma", "grandpa", "grandmother", "grandfather", "nephew", "niece", "child", "kid", "baby",
        "spouse", "landlord", "landlady", "tenant", "doctor", "nurse", "lawyer", "accountant", "driver",
        "teacher", "student", "roommate", "flatmate", "housemate", "stepson", "stepdaughter", "mr",
        "mrs", "ms", "dr", "sir", "madam", "guardian", "caregiver", "carer", "therapist", "dentist",
    }
)  # fmt: skip
# Nouns that make the possessor a person ("Elinie Dieruickx's phone number").
_PERSONAL_NOUNS = frozenset(
    {
        "phone", "number", "email", "address", "birthday", "husband", "wife", "son", "daughter", "mother",
        "father", "brother", "sister", "partner", "boyfriend", "girlfriend", "family", "parents",
        "children", "kids", "passport", "license", "licence", "salary", "surname", "name", "age", "dob",
        "diagnosis", "appointment", "car", "house", "flat", "apartment", "home", "mobile", "cell",
    }
)  # fmt: skip
# Verbs whose agent after "by" is a person ("written by", "signed by").
_AUTHOR_VERBS = frozenset(
    {
        "write", "sign", "review", "approve", "author", "paint", "direct", "compose", "submit", "request",
        "report", "raise", "file", "open", "close", "assign", "create", "send", "edit", "check", "verify",
    }
)  # fmt: skip


def _is_post_nominal(token: Any) -> bool:
    """ "PhD", "Ph.D.", "DDS", "Jr.": letters written after a name (names.POST_NOMINALS)."""
    return token.text.replace(".", "").casefold() in _POST_NOMINALS and token.text[:1].isupper()


def _is_initial(token: Any) -> bool:
    """ "M" or "M." (spaCy may split the dot off)."""
    text = token.text
    return len(text.rstrip(".")) == 1 and text[:1].isupper()


@dataclass
class _Finding:
    entity: str
    start: int  # token indices [start, end)
    end: int
    score: float
    why: str


class FtgateNerRecognizer(SpacyRecognizer):
    """spaCy's PERSON, LOCATION, NRP and DATE_TIME with ftgate's checks and the gazetteer's additions."""

    NAME = "FtgateNerRecognizer"

    ENTITIES = [PERSON, LOCATION, NRP, DATE_TIME]

    def __init__(self, *, supported_language: str = "en", ner_strength: float = 0.85, **kwargs: Any) -> None:
        super().__init__(
            supported_language=supported_language,
            supported_entities=list(self.ENTITIES),
            ner_strength=ner_strength,
            name=self.NAME,
            **kwargs,
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # type: ignore[override]
        if not nlp_artifacts or nlp_artifacts.tokens is None:
            return []
        doc = nlp_artifacts.tokens
        wanted = set(entities) & set(self.supported_entities)
        if not wanted:
            return []
        findings = _Reader(doc, text, gazetteer(), self.ner_strength).findings()
        results = []
        for f in findings:
            if f.entity not in wanted:
                continue
            span = doc[f.start : f.end]
            results.append(
                RecognizerResult(
                    entity_type=f.entity,
                    start=span.start_char,
                    end=span.end_char,
                    score=f.score,
                    analysis_explanation=self.build_explanation(f.score, f"spaCy NER, checked ({f.why})"),
                    recognition_metadata={
                        RecognizerResult.RECOGNIZER_NAME_KEY: self.NAME,
                        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        ADDRESSEE_KEY: f.why == ADDRESSEE,
                    },
                )
            )
        return results

    def enhance_using_context(
        self,
        text: str,
        raw_recognizer_results: list[RecognizerResult],
        other_raw_recognizer_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        """Settle this recognizer's guesses against the other recognizers' findings (rule 6)."""
        places = [r for r in other_raw_recognizer_results if r.entity_type in _PLACES]
        postcodes = [r for r in places if r.entity_type == "POSTCODE"]
        names = [r for r in other_raw_recognizer_results if r.entity_type == PERSON and not _is_guess(r)]
        kept: list[RecognizerResult] = []
        for guess in raw_recognizer_results:
            addressee = (guess.recognition_metadata or {}).get(ADDRESSEE_KEY, False) or (
                guess.entity_type == PERSON and _heads_a_place(text, guess, places)
            )
            if (
                guess.entity_type in (PERSON, NRP)
                and not addressee
                and (_overlaps_any(guess, places) or _follows_any(text, guess, places))
            ):
                # "Gerrit Achterberghove 137", "2450 Crown St"; "2027 Prospect St, Dehylov"
                guess.entity_type = LOCATION
            elif guess.entity_type in (LOCATION, NRP) and _overlaps_any(guess, names):
                continue  # "her maiden name is Sandgreen": the cue is the better evidence
            elif guess.entity_type == DATE_TIME and _overlaps_any(guess, postcodes):
                continue  # "1820 Birsfelden": a postcode, not a year
            kept.append(guess)
        return kept


_PLACES = frozenset({"STREET_ADDRESS", "POSTCODE", LOCATION})


def _is_guess(result: RecognizerResult) -> bool:
    """Another NER recognizer's finding (a second spaCy model, say): no better evidence than ours."""
    name = (result.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_NAME_KEY, "")
    return "Spacy" in str(name) or "Ner" in str(name)


def _heads_a_place(text: str, guess: RecognizerResult, places: list[RecognizerResult]) -> bool:
    """A full name (a known given name, then known names) that opens a longer address span: the
    addressee, as in "Billing address: Sara Schwarz 28245 Puruntie 82 ..."."""
    if not any(
        p.start <= guess.start and guess.end < p.end and not text[p.start : guess.start].strip()
        for p in places
    ):
        return False
    words = regex.findall(r"[\p{L}\p{M}'’\-]{2,}+", text[guess.start : guess.end])
    gaz = gazetteer()
    return (
        len(words) >= 2
        and gaz.is_given_name(words[0])
        and all(gaz.is_name(w) and not gaz.is_place(w) for w in words[1:])
    )


def _overlaps_any(result: RecognizerResult, others: list[RecognizerResult]) -> bool:
    return any(o.start < result.end and result.start < o.end for o in others)


def _follows_any(text: str, result: RecognizerResult, others: list[RecognizerResult]) -> bool:
    """Right after another finding, with only a comma between: the city after a street."""
    return any(0 < result.start - o.end <= 3 and text[o.end : result.start].strip() == "," for o in others)


class _CachedDoc:
    """A spaCy `Doc` whose tokens are made once: `doc[i]` builds a new `Token` object on every call, and
    the rules below look at each token's neighbours many times."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.tokens = list(doc)
        self.ents = doc.ents

    def __len__(self) -> int:
        return len(self.tokens)

    def __iter__(self) -> Any:
        return iter(self.tokens)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return self.doc[key]
        return self.tokens[key]


class _Reader:
    """One document's findings; token-level, one pass over the entities and one over the tokens."""

    def __init__(self, doc: Any, text: str, gaz: Gazetteer, ner_score: float) -> None:
        self.doc = _CachedDoc(doc)
        self.text = text
        self.gaz = gaz
        self.ner_score = ner_score
        self.blocks = address_blocks(text)
        # A block written on one line with ">" or "|" for its line breaks: there ">" is no menu path.
        self.flattened = any(">" in text[s:e] or "|" in text[s:e] for s, e in self.blocks)
        # Tokens inside an entity spaCy calls an organisation, product, work, ... or in a list of
        # surnames that names a firm ("Jones, Mitchell and Williams").
        self.not_personal: set[int] = set()
        # Tokens taken by a finding (or by a span spaCy tagged otherwise), not open to the gazetteer.
        self.taken: set[int] = set()
        # Tokens of a firm named by surnames: never a person, whatever spaCy tagged them.
        self.firm: set[int] = set()
        self._software: dict[int, bool] = {}

    def findings(self) -> list[_Finding]:
        out: list[_Finding] = []
        ents = list(self.doc.ents)
        for ent in ents:
            self.taken.update(range(ent.start, ent.end))
            if ent.label_ in NOT_PERSONAL:
                self.not_personal.update(range(ent.start, ent.end))
        self._mark_firm_names()
        self.not_personal |= self.firm
        out.extend(self._addressees())
        addressed = {i for f in out for i in range(f.start, f.end)}
        for ent in ents:
            if addressed.intersection(range(ent.start, ent.end)):
                continue  # the addressee's line is settled
            label = ent.label_
            entity = LABELS.get(label)
            if entity is None:
                if label in ("ORG", "PRODUCT"):
                    found = self._org_as_person(ent.start, ent.end) or self._in_a_persons_role(
                        ent.start, ent.end
                    )
                    out.extend(found)
                continue
            if entity == DATE_TIME:
                ids = any(_ID.match(t.text) for t in ent)
                if not ids and not is_product_date(self.text, ent.start_char, ent.end_char):
                    out.append(_Finding(DATE_TIME, ent.start, ent.end, self.ner_score, label))
                continue  # "INV-2023-9122", "T-1748" are ids, not dates
            first = self._given_name_before(ent.start) if entity == PERSON else ent.start
            for start, end in self._pieces(first, ent.end):
                judged = self._judge(entity, start, end)
                if judged is not None:
                    out.append(_Finding(judged[0], start, end, self.ner_score, judged[1]))
        out.extend(self._gazetteer_names())
        out.extend(self._untagged_in_a_persons_role())
        out.extend(self._conjoined(out))
        return self._with_post_nominals(self._one_name_one_type(out))

    def _given_name_before(self, start: int) -> int:
        """The start of spaCy's PERSON span, widened over a given name it left out just before it on
        the same line ("Gunnhildur" of "The Gunnhildur F. Helgadóttir version")."""
        if start == 0 or (start - 1) in self.taken:
            return start
        before = self.doc[start - 1]
        text = before.text
        if (
            before.is_alpha
            and text[:1].isupper()
            and not text.isupper()
            and before.whitespace_ == " "
            and self.gaz.is_given_name(text)
            and not self.gaz.is_vocabulary(text)
        ):
            self.taken.add(start - 1)
            return start - 1
        return start

    def _with_post_nominals(self, findings: list[_Finding]) -> list[_Finding]:
        """Each person's span widened over the letters after the name, a comma before them allowed
        ("Laura Petrov PhD", "Anne Ross, CPA", "Kathrine Filemonsen DDS"), but not over a state before
        its ZIP code ("John Smith, MD 20814"); a finding inside the widened span is the person's."""
        doc = self.doc
        widened: list[tuple[int, int]] = []
        for f in findings:
            if f.entity != PERSON:
                continue
            end = f.end
            for _ in range(3):  # "John Smith, MD, PhD, FRCS"
                k = end + 1 if end < len(doc) and doc[end].text == "," else end
                if k >= len(doc) or not _is_post_nominal(doc[k]) or "\n" in doc[k - 1].whitespace_:
                    break
                if k + 1 < len(doc) and doc[k + 1].like_num:
                    break
                end = k + 1
            if end > f.end:
                f.end = end
                widened.append((f.start, end))
        if not widened:
            return findings
        return [
            f
            for f in findings
            if f.entity == PERSON or not any(s <= f.start and f.end <= e for s, e in widened)
        ]

    def _one_name_one_type(self, findings: list[_Finding]) -> list[_Finding]:
        """A word of a name found in this text is that person wherever else it stands here, even where
        spaCy called it a place ("verses from Emmie Ström's Cautionary Tales ... early Ström")."""
        doc = self.doc
        parts = {
            doc[i].text
            for f in findings
            if f.entity == PERSON and f.end - f.start > 1
            for i in range(f.start, f.end)
            if doc[i].is_alpha and len(doc[i].text) > 2 and doc[i].text[:1].isupper()
        }
        if not parts:
            return findings
        for f in findings:
            single_part = f.end - f.start == 1 and doc[f.start].text in parts
            if f.entity in (LOCATION, NRP) and single_part and not self._in_block(f.start, f.end):
                f.entity, f.why = PERSON, "a part of a name found in this text"
        return findings

    # --- spaCy's spans ------------------------------------------------------------------------------

    def _pieces(self, start: int, end: int) -> list[tuple[int, int]]:
        """The span cut at line breaks, quotes and colons, and after a possessive ("Ayna Khadzhiyev's
        Cautionary Tales" is a name and a title); no leading or trailing punctuation."""
        pieces: list[tuple[int, int]] = []
        doc = self.doc
        current = start
        i = start
        while i <= end:
            spaced_dash = (
                i < end
                and doc[i].text in _DASHES
                and (doc[i].whitespace_ or (i > 0 and doc[i - 1].whitespace_))
            )
            if (
                i == end
                or "\n" in doc[i].text
                or doc[i].text in _CUTS
                or doc[i].text in _POSSESSIVE
                or spaced_dash
            ):
                piece = self._strip(current, i)
                if piece is not None:
                    pieces.append(piece)
                if i < end and doc[i].text in _POSSESSIVE:
                    break  # what follows a possessive is the thing owned
                current = i + 1
            i += 1
        return pieces

    def _strip(self, start: int, end: int) -> tuple[int, int] | None:
        doc = self.doc
        while start < end and (doc[start].is_punct or doc[start].is_space):
            start += 1
        while end > start and (
            doc[end - 1].is_punct
            or doc[end - 1].is_space
            or doc[end - 1].text in _POSSESSIVE
            or (end - start > 1 and _is_post_nominal(doc[end - 1]))
        ):
            end -= 1  # "Laura Petrov PhD" is judged as "Laura Petrov"; `_with_post_nominals` adds "PhD"
        return (start, end) if end > start else None

    def _judge(self, entity: str, start: int, end: int) -> tuple[str, str] | None:
        """The entity a PERSON/LOCATION/NRP span really is, and why; None if it is none of them."""
        doc, gaz = self.doc, self.gaz
        tokens = doc[start:end]
        words = [t.text for t in tokens if t.is_alpha]
        in_block = self._in_block(start, end)
        single = len(words) == 1 and end - start == 1
        if any(":" in t.text or '"' in t.text for t in tokens):
            return None  # 'Answer:"Tube Snake Boogie': a label and a quoted title in one token
        # "T-1008", "C1002", "NW1", "Joaquin Suarez 2906": an id, a code or an address, never a name; a
        # place may carry a district number ("Cheb 2"), not a word made of both.
        if any(_DIGIT.search(t.text) for t in tokens) and (
            entity != LOCATION or any(_DIGIT.search(t.text) and not t.is_digit for t in tokens)
        ):
            return None
        if not words:
            return None
        if in_block:
            if entity == PERSON and self._addressee(start, end, words):
                return PERSON, ADDRESSEE
            return LOCATION, "inside an address block"
        if any(self._product_shape(w) for w in words if not gaz.is_name(w)) and not (
            entity == LOCATION and all(w.isupper() for w in words) and self._after_locative(start)
        ):
            return None  # "TaskHive Sprints", "PagerDuty", "Contoso CRM"; not "arrived at HART"
        if entity == NRP:
            return self._judge_group(start, end, words, single)
        if single and (
            words[0].casefold() in _STREET_ABBREVIATIONS
            or (self._field_label(start) and (gaz.is_vocabulary(words[0]) or not gaz.is_name(words[0])))
        ):
            return None  # "St", "Rd"; "Mobile:" at the start of a line
        if self._interface_context(start, end) or self._organisation_context(start, end, words):
            return None
        if any(i in self.not_personal for i in range(start, end)):
            return None  # a firm named by surnames
        if entity == PERSON:
            return self._judge_person(start, end, words, single)
        return self._judge_place(start, end, words, single)

    def _judge_person(self, start: int, end: int, words: list[str], single: bool) -> tuple[str, str] | None:
        """spaCy's PERSON: a name, a place, or a product (a single unknown word needs a second signal)."""
        gaz = self.gaz
        capitalised = [w for w in words if w[:1].isupper() and len(w) > 1]
        if any(self._ordinary(w) for w in capitalised):
            return None  # "Globex Mail", "Guest Access", "Support": a name has no ordinary word in it
        if not single:
            if self._after_locative(start) and not gaz.is_given_name(words[0]):
                return LOCATION, "after a place word, not a given name first"  # "in Zielona Góra"
            return PERSON, "PERSON"
        word = words[0]
        if self._after_locative(start):
            # "arrived at Lendava", "notifications in Okta": a place if the gazetteer knows it (or it
            # is written in capitals); the place cues (places.py) find the rest.
            if gaz.is_place(word) or (word.isupper() and len(word) > 4):
                return LOCATION, "after a place word"
            return None
        if gaz.is_name(word):
            if self._product_verb_before(start):
                return None  # "support Ruby", "connect Okta"
            return PERSON, "PERSON, a known name"
        if gaz.is_place(word):
            return LOCATION, "a place the gazetteer knows"
        role = self._person_signal(start, end)
        if role is not None:
            return PERSON, f"PERSON, {role}"
        if self._modifies_a_thing(start, end):
            return None  # "Eval loss", "Kafka cluster": an unknown word naming a kind of thing
        if self._software_sentence(start):
            return None  # "do we need Zapier?", "connect Xero": in talk of software, a product
        if word.islower():
            # "bigchats", "acmedesk": spaCy guesses at lower-case words it does not know; a name written
            # in lower case is found when the gazetteer knows it ("thanks maria") or a cue points at it.
            return None
        return PERSON, "PERSON"

    def _judge_place(self, start: int, end: int, words: list[str], single: bool) -> tuple[str, str] | None:
        """spaCy's GPE/LOC/FAC: a place, a person, or a product."""
        gaz = self.gaz
        if self._looks_like_a_person(start, end, words, single):
            return PERSON, "a given name, not a place"
        if self.text[self.doc[start].idx : self.doc[end - 1].idx + len(self.doc[end - 1].text)].islower():
            # "import projects from xero": in lower case spaCy guesses; a known place only.
            return (
                (LOCATION, "a known place")
                if gaz.is_place(" ".join(words)) or gaz.is_place(words[0])
                else None
            )
        last = words[-1]
        if not single and self._ordinary(last) and last.casefold() not in _PLACE_WORDS:
            return None  # "Hooli Drive"? a street type is a place word; "Acme Billing" is not a place
        if self._software_context(start):
            return None  # "notifications in Shopify", "the channel in Datadog"
        if single and self._product_verb_before(start):
            return None  # "connect Zapier"
        if not any(gaz.is_place(w) for w in words) and self._software_sentence(start):
            return None  # "the daily digest from Hooli Drive": an unknown name in talk of software
        return LOCATION, "LOCATION"

    def _judge_group(self, start: int, end: int, words: list[str], single: bool) -> tuple[str, str] | None:
        """spaCy's NORP: a nationality, religion or political group; or a name, or a product."""
        gaz = self.gaz
        if self._parenthesised_after_place(start, end):
            return LOCATION, "nationality inside an address"
        if (
            single
            and gaz.is_last(words[0])
            and not gaz.is_vocabulary(words[0])
            and self._after_name_part(start)
        ):
            return PERSON, "a surname after a given name"  # "Faina D. Yefremova"
        if (
            gaz.is_given_name(words[0])
            and (single or all(gaz.is_name(w) for w in words[1:]))
            and not (single and _GROUP_NAME.search(words[0]))
        ):
            return PERSON, "a given name"  # "My son Lucía"; "German" is a given name and a nationality
        if not all(_GROUP_NAME.search(w) or w.casefold() in _GROUP_WORDS for w in words):
            return None  # "Initech", "LedgerLine": a group's name ends like one ("-ian", "-ese", "-ish")
        return NRP, "NORP"

    def _ordinary(self, word: str) -> bool:
        """An ordinary word that is no one's name ("Support", "Mail"; not "Rose" or "Will")."""
        return self.gaz.is_vocabulary(word) and not self.gaz.is_name(word)

    def _person_signal(self, start: int, end: int) -> str | None:
        """Evidence beyond spaCy that a single unknown word is a person: a role, a title, a greeting."""
        doc = self.doc
        role = _persons_role(doc[start:end].root)
        if role is not None:
            return role
        before = doc[start - 1] if start else None
        if before is not None and (before.lower_.rstrip(".") in _TITLES or before.lower_ in _KIN):
            return f"after {before.lower_}"
        if before is not None and before.lower_ in _GREETING_WORDS:
            return f"after {before.lower_}"
        if (
            end < len(doc)
            and doc[end].text in ("'s", "’s")
            and end + 1 < len(doc)
            and doc[end + 1].lower_ in _PERSONAL_NOUNS
        ):
            return "whose " + doc[end + 1].lower_
        if (
            doc[start].is_sent_start
            and end + 1 < len(doc)
            and doc[end].text == ","
            and doc[end + 1].lower_ in _VOCATIVE_NEXT
        ):
            return "called by name"  # "Warrane, can I please speak to your boss?"
        if doc[start:end].root.dep_ in ("nsubj", "nsubjpass"):
            sentence_end = doc[start].sent.end
            pronoun = next((t.lower_ for t in doc[end:sentence_end] if t.lower_ in _PERSONAL_PRONOUNS), None)
            if pronoun is not None:
                return f"the subject, then {pronoun}"  # "Adomo began writing ..., publishing her first story"
        return None

    def _software_sentence(self, i: int) -> bool:
        """Whether token `i`'s sentence talks about software ("integration", "app", "connect", a
        version number, a CamelCase name): there an unknown capitalised word is more often a product."""
        sentence = self.doc[i].sent
        key = sentence.start
        cached = self._software.get(key)
        if cached is None:
            cached = any(
                t.lemma_.lower() in _SOFTWARE_WORDS
                or t.lower_ in _SOFTWARE_WORDS
                or _VERSION.fullmatch(t.text) is not None
                or (
                    t.is_alpha
                    and self._product_shape(t.text)
                    and not t.is_sent_start
                    and not self._capitals(t)
                )
                for t in sentence
            )
            self._software[key] = cached
        return cached

    def _modifies_a_thing(self, start: int, end: int) -> bool:
        """The word is a compound modifier of a common noun written in lower case ("Eval loss",
        "Redis cache"): a person's name stands there before a work, a household or a case only ("the
        Dratchev novel", "the Okafor family"); a known given name is judged before."""
        token = self.doc[start:end].root
        head = token.head
        return (
            token.dep_ in ("compound", "amod", "nmod")
            and head.i == end
            and head.pos_ == "NOUN"
            and head.text.islower()
            and head.lemma_.lower() not in _NAMED_AFTER_PEOPLE
            and head.lower_ not in _PERSONAL_NOUNS
        )

    def _capitals(self, token: Any) -> bool:
        """A word in capitals that is a company suffix or part of a place ("LLC", "GMBH", "BASHALL
        TOWN"), not a product's acronym."""
        folded = token.lower_.strip(".")
        return (
            folded in self.gaz.org_suffixes
            or folded in _PLACE_WORDS
            or token.ent_type_ in ("GPE", "LOC", "FAC")
            or self.gaz.is_place(token.text)
        )

    def _product_verb_before(self, start: int) -> bool:
        """ "connect Zapier", "support Ruby", "sync with Xero", "via Okta"."""
        before = self._previous(start)
        if before is None:
            return False
        if before.lower_ in _PRODUCT_VERBS:
            return True
        if before.lower_ in ("with", "to", "into", "from") and before.i >= 1:
            return self.doc[before.i - 1].lemma_.lower() in _PRODUCT_VERBS
        return False

    def _software_context(self, start: int) -> bool:
        """The place preposition hangs on a software noun: "notifications in Okta", "keys work in X"."""
        before = self._previous(start, skip_determiner=False)
        if before is None or before.lower_ not in ("in", "on", "into", "from", "to", "via", "with"):
            return False
        head = before.head
        return head.lemma_.lower() in _SOFTWARE_NOUNS or head.lemma_.lower() in _PRODUCT_VERBS

    def _looks_like_a_person(self, start: int, end: int, words: list[str], single: bool) -> bool:
        """A LOCATION guess that is a person's name: "Samantha", "Asya Godina", "Valida M. Ibragimov"."""
        gaz = self.gaz
        if any(gaz.is_place(w) for w in words):
            return False
        tokens = self.doc[start:end]
        if len(tokens) >= 3 and any(
            len(t.text.rstrip(".")) == 1 and t.text[:1].isupper() for t in tokens[1:-1]
        ):
            return True  # a middle initial: places have none
        if single:
            return gaz.is_given_name(words[0]) and not self._after_locative(start)
        return gaz.is_given_name(words[0]) and gaz.is_name(words[-1]) and not gaz.is_vocabulary(words[-1])

    def _org_as_person(self, start: int, end: int) -> list[_Finding]:
        """An ORG or PRODUCT that is only a person's name, with no company sign: spaCy's slip.

        A given name alone or with a known surname ("Scott", "Sofie", "Julieta Almeida", in lower case
        too: "eliza kiedrowicz", where spaCy tags only "eliza"), or a given name, an initial and any
        capitalised word ("Shane M Culp": places and firms have no initials).
        """
        piece = self._strip(start, end)
        if piece is None or any(i in self.firm for i in range(*piece)):
            return []
        start, end = piece
        doc, gaz = self.doc, self.gaz
        tokens = list(doc[start:end])
        words = [t.text for t in tokens if not _is_initial(t) and t.text != "."]
        if not 1 <= len(words) <= 3 or not all(w.isalpha() for w in words):
            return []
        lower = all(w.islower() for w in words)
        if not lower and not all(w[:1].isupper() and not w.isupper() for w in words):
            return []
        has_initial = any(_is_initial(t) for t in tokens[1:-1])
        if not gaz.is_given_name(words[0]):
            return []
        if (
            len(words) > (1 if lower else 2)
            and not has_initial
            and not all(gaz.is_name(w) for w in words[1:])
        ):
            return []
        if any(gaz.is_vocabulary(w) or gaz.is_place(w) for w in words):
            return []
        if self._interface_context(start, end) or self._organisation_context(start, end, words):
            return []
        if self._after_locative(start) or self._in_block(start, end):
            return []
        # spaCy may tag the given name and leave the surname: "filip" of "filip jauk".
        if end < len(doc) and end not in self.taken:
            nxt = doc[end]
            if (
                nxt.is_alpha
                and (nxt.is_lower == lower)
                and gaz.is_last(nxt.text)
                and not gaz.is_vocabulary(nxt.text)
                and (lower or (nxt.text[:1].isupper() and not nxt.text.isupper()))
            ):
                end += 1
                self.taken.add(end - 1)
                words.append(nxt.text)
        for i in range(start, end):
            self.not_personal.discard(i)
        score = SINGLE_SCORE if len(words) == 1 else PAIR_SCORE
        return [_Finding(PERSON, start, end, score, "ORG or PRODUCT that is a name")]

    def _mark_firm_names(self) -> None:
        """ "Jones, Mitchell and Williams" (three single surnames, at most one a given name) names a firm."""
        doc, gaz = self.doc, self.gaz
        n = len(doc)
        for i in range(n - 4):
            if doc[i + 1].text != ",":
                continue
            k = i + 3
            if k < n and doc[k].text == ",":
                k += 1  # the serial comma
            if k + 1 >= n or doc[k].lower_ not in ("and", "&"):
                continue
            trio = [doc[i], doc[i + 2], doc[k + 1]]
            if not all(t.is_alpha and t.is_title for t in trio):
                continue
            after = doc[k + 2] if k + 2 < n else None
            if after is not None and (
                after.lower_.strip(".") in gaz.org_suffixes or after.text in gaz.org_suffixes_cased
            ):
                self.firm.update(t.i for t in trio)  # "The Davis, Reynolds and Williamson Orchestra"
                continue
            if (after is not None and after.is_title and after.is_alpha and not after.is_stop) or (
                i > 0 and doc[i - 1].is_title and doc[i - 1].is_alpha and not doc[i - 1].is_stop
            ):
                continue  # "... and Carl Jensen": people with full names
            if self._after_people_noun(i):
                continue
            if sum(gaz.is_given_name(t.text) for t in trio) <= 1:
                self.firm.update(t.i for t in trio)

    # --- names in a person's role (spaCy's parse) ---------------------------------------------------

    def _in_a_persons_role(self, start: int, end: int) -> list[_Finding]:
        """A name-shaped span in a role only people take: "Wialther said", "tell Eulisa", "my husband
        Richeard", "I, Tymoteuasz Kocieamba, agree", "written by Pierangeolo Barzinei", "Elinie
        Dieruickx's phone number". spaCy often calls an unseen name an ORG; this is the second signal
        a name no gazetteer knows needs."""
        piece = self._strip(start, end)
        if piece is None or any(i in self.firm for i in range(*piece)):
            return []
        start, end = piece
        doc, gaz = self.doc, self.gaz
        tokens = [t for t in doc[start:end] if not _is_initial(t) and t.text != "."]
        if not 1 <= len(tokens) <= 3:
            return []
        for t in tokens:
            w = t.text
            if not (t.is_alpha and w[:1].isupper() and not w.isupper() and len(w) > 1):
                return []
            if gaz.is_vocabulary(w) or gaz.is_place(w) or self._product_shape(w):
                return []
        if self._interface_context(start, end) or self._organisation_context(
            start, end, [t.text for t in tokens]
        ):
            return []
        if self._after_locative(start) or self._in_block(start, end):
            return []
        role = _persons_role(doc[start:end].root)
        if role is None:
            return []
        for i in range(start, end):
            self.not_personal.discard(i)
        return [_Finding(PERSON, start, end, PAIR_SCORE, f"a person's role ({role})")]

    def _untagged_in_a_persons_role(self) -> list[_Finding]:
        """Capitalised proper nouns spaCy left untagged, in a person's role (see `_in_a_persons_role`);
        in lower case ("please tell göran", "topias no longer works here") a given name the gazetteer
        knows, in such a role."""
        doc, gaz = self.doc, self.gaz
        out: list[_Finding] = []
        i, n = 0, len(doc)
        while i < n:
            t = doc[i]
            if i in self.taken or i in self.not_personal:
                i += 1
                continue
            if t.is_lower and t.is_alpha and len(t.text) > 2 and gaz.is_given_name(t.text):
                role = _persons_role(t)
                if (
                    role is not None
                    and not self._interface_context(i, i + 1)
                    and not self._in_block(i, i + 1)
                ):
                    out.append(
                        _Finding(PERSON, i, i + 1, SINGLE_SCORE, f"a given name in a person's role ({role})")
                    )
                    self.taken.add(i)
                i += 1
                continue
            if t.pos_ != "PROPN" or not t.text[:1].isupper():
                i += 1
                continue
            j = i + 1
            while (
                j < n
                and j - i < 3
                and j not in self.taken
                and doc[j].pos_ == "PROPN"
                and doc[j].text[:1].isupper()
            ):
                j += 1
            found = self._in_a_persons_role(i, j)
            out.extend(found)
            for f in found:
                self.taken.update(range(f.start, f.end))
            i = j
        return out

    def _conjoined(self, findings: list[_Finding]) -> list[_Finding]:
        """Names joined to a found name by "and" or a comma: "dinner with Eszteir and Geyörgy"."""
        doc, gaz = self.doc, self.gaz
        persons = {i for f in findings if f.entity == PERSON for i in range(f.start, f.end)}
        if not persons:
            return []
        out: list[_Finding] = []
        for t in doc:
            if t.pos_ != "PROPN" or t.i in self.firm:
                continue
            # spaCy's ORG of one known name beside a person ("Marrero and Murphy were engineers").
            if (t.i in self.taken or t.i in self.not_personal) and not (
                t.i in self.not_personal and self._lone_org_name(t.i)
            ):
                continue
            if not (t.is_alpha and t.text[:1].isupper() and not t.text.isupper()):
                continue
            linked = (t.dep_ == "conj" and t.head.i in persons) or any(
                c.dep_ == "conj" and c.i in persons for c in t.children
            )
            if (
                not linked
                or gaz.is_vocabulary(t.text)
                or gaz.is_place(t.text)
                or self._in_block(t.i, t.i + 1)
            ):
                continue
            start = t.i
            while (
                start > 0
                and doc[start - 1].dep_ == "compound"
                and doc[start - 1].head.i == t.i
                and doc[start - 1].is_title
            ):
                start -= 1
            out.append(_Finding(PERSON, start, t.i + 1, PAIR_SCORE, "joined to a name"))
            self.taken.update(range(start, t.i + 1))
        return out

    def _lone_org_name(self, i: int) -> bool:
        """Token `i` is all of an ORG or PRODUCT spaCy tagged, and a name the gazetteer knows."""
        token = self.doc[i]
        if token.ent_type_ not in ("ORG", "PRODUCT") or token.ent_iob_ != "B":
            return False
        if i + 1 < len(self.doc) and self.doc[i + 1].ent_iob_ == "I":
            return False
        return self.gaz.is_name(token.text) and not self.gaz.is_vocabulary(token.text)

    def _addressees(self) -> list[_Finding]:
        """A name alone on a line just above an address block ("Gyala Antall" over "3369 24 Clarke
        Avenue"): the addressee, even a name no gazetteer knows, unless the line names a firm (an
        ordinary word, a company suffix, a product's shape) or spaCy tagged it a place."""
        doc, gaz = self.doc, self.gaz
        out: list[_Finding] = []
        for s, e in addressee_lines(self.text, self.blocks):
            span = doc.doc.char_span(s, e, alignment_mode="expand")
            if span is None:
                continue
            start, end = span.start, span.end
            words = [t.text for t in doc[start:end] if t.is_alpha and not _is_initial(t)]
            if any(doc[i].ent_type_ in ("GPE", "LOC", "FAC") for i in range(start, end)) and not (
                words and gaz.is_given_name(words[0]) and not gaz.is_place(words[0])
            ):
                continue  # spaCy's place, unless a given name opens the line ("Benito Bianchi")
            if len(words) < 2 or any(gaz.is_vocabulary(w) or self._product_shape(w) for w in words):
                continue
            if self._organisation_context(start, end, words) or any(
                i in self.firm for i in range(start, end)
            ):
                continue
            for i in range(start, end):
                self.not_personal.discard(i)
            self.taken.update(range(start, end))
            out.append(_Finding(PERSON, start, end, PAIR_SCORE, "a name on the line above an address"))
        return out

    # --- names spaCy missed -------------------------------------------------------------------------

    def _gazetteer_names(self) -> list[_Finding]:
        doc = self.doc
        out: list[_Finding] = []
        n = len(doc)
        i = 0
        while i < n:
            token = doc[i]
            if i in self.taken or i in self.not_personal or not token.is_alpha or len(token.text) < 2:
                i += 1
                continue
            text = token.text
            if text[:1].isupper() and not text.isupper():
                found = self._capitalised_name(i)
            elif text.islower() and len(text) > 2:
                found = self._lower_case_name(i)
            elif not text.isupper() and not text.islower():
                found = self._uncased_name(i)  # Arabic, Hebrew, Chinese, Japanese, Korean, ...
            else:
                found = None
            if found is None:
                i += 1
                continue
            out.append(found)
            self.taken.update(range(found.start, found.end))
            i = found.end
        return out

    def _capitalised_name(self, i: int) -> _Finding | None:
        doc, gaz = self.doc, self.gaz
        first = doc[i].text
        if not gaz.is_given_name(first):
            return None
        # Extend over an initial ("M", "M.") and up to two more capitalised names on the same line.
        end = i + 1
        j = i + 1
        names = 0
        while j < len(doc) and names < 2:
            t = doc[j]
            if j in self.taken or j in self.not_personal:
                break
            if t.is_space and "\n" not in t.text:
                j += 1  # "Lara  Fiorentino": a second space is a token of its own
                continue
            if len(t.text) <= 2 and t.text[:1].isupper() and t.text[1:] in ("", "."):
                # An initial ("M", "M."); spaCy may split its dot off.
                j += 2 if j + 1 < len(doc) and doc[j + 1].text == "." and t.text[1:] == "" else 1
                continue
            if not (t.is_alpha and t.text[:1].isupper() and not t.text.isupper()):
                break
            if gaz.is_vocabulary(t.text) or not (gaz.is_last(t.text) or gaz.is_first(t.text)):
                break
            names += 1
            j += 1
            end = j
        if i + 1 < len(doc) and doc[i].whitespace_ == "" and doc[i + 1].text == "-":
            return None  # part of a hyphenated word
        if self._interface_context(i, end) or self._organisation_context(
            i, end, [t.text for t in doc[i:end]]
        ):
            return None
        if self._in_block(i, end):
            return None
        if names:
            return _Finding(PERSON, i, end, PAIR_SCORE, "given name and surname")
        # A given name alone: spaCy must see a proper noun, not after a place preposition.
        if doc[i].pos_ != "PROPN" or self._after_locative(i):
            return None
        return _Finding(PERSON, i, i + 1, SINGLE_SCORE, "given name, proper noun")

    def _lower_case_name(self, i: int) -> _Finding | None:
        """ "patricia desrosiers": a given name and a surname the gazetteer knows, neither a word."""
        doc, gaz = self.doc, self.gaz
        if i + 1 >= len(doc) or (i + 1) in self.taken:
            return None
        first, second = doc[i], doc[i + 1]
        if not (second.is_alpha and second.text.islower() and len(second.text) > 2):
            return None
        if not (gaz.is_given_name(first.text) and gaz.is_last(second.text)):
            return None
        if gaz.is_vocabulary(second.text) or gaz.is_place(second.text):
            return None
        if self._interface_context(i, i + 2) or self._in_block(i, i + 2):
            return None
        return _Finding(PERSON, i, i + 2, SINGLE_SCORE, "lower-case given name and surname")

    def _uncased_name(self, i: int) -> _Finding | None:
        """A given name and a surname the gazetteer knows, in a script without capitals (either order:
        "春香 岡本", "상현 김")."""
        doc, gaz = self.doc, self.gaz
        if i + 1 >= len(doc) or (i + 1) in self.taken:
            return None
        first, second = doc[i].text, doc[i + 1].text
        if not doc[i + 1].is_alpha or second.isupper() or second.islower():
            return None
        if (gaz.is_first(first) and gaz.is_last(second)) or (gaz.is_last(first) and gaz.is_first(second)):
            return _Finding(PERSON, i, i + 2, SINGLE_SCORE, "given name and surname, uncased script")
        return None

    # --- context ------------------------------------------------------------------------------------

    def _previous(self, i: int, skip_determiner: bool = True) -> Any:
        j = i - 1
        if skip_determiner and j >= 0 and self.doc[j].lower_ in ("the", "a", "an", "your", "our", "my"):
            j -= 1
        return self.doc[j] if j >= 0 else None

    def _interface_context(self, start: int, end: int) -> bool:
        """After a UI verb or "go to", beside ">", or before a UI noun ("Settings tab")."""
        doc = self.doc
        before = self._previous(start)
        if before is not None:
            if before.lower_ in _UI_VERBS:
                return True
            if (
                before.text in _STEPS
                and not self._quote_marker(before)
                and self._menu_step(start, end, before.i - 1)
            ):
                return True
            if before.i >= 1 and (doc[before.i - 1].lower_, before.lower_) in _UI_PHRASES:
                return True
        if end < len(doc) and doc[end].text in _STEPS and self._menu_step(start, end, end + 1):
            return True
        return end < len(doc) and doc[end].lower_ in _UI_NOUNS

    def _quote_marker(self, token: Any) -> bool:
        """A ">" that opens a line: an email's quote marker, not a step of a menu path."""
        line_start = self.text.rfind("\n", 0, token.idx) + 1
        return not self.text[line_start : token.idx].strip(" \t>")

    def _menu_step(self, start: int, end: int, other: int) -> bool:
        """The span beside ">" is a step of a menu path ("Billing > Plans"): a word no gazetteer knows
        as a name, or the step on the other side of ">" is an ordinary word. A name beside a name, a
        firm or a street is a line of a flattened address or quote (">Ella H. Snider >Otc Markets")."""
        if self.flattened:
            return False
        doc, gaz = self.doc, self.gaz
        words = [t.text for t in doc[start:end] if t.is_alpha and not _is_initial(t)]
        if not words or not any(gaz.is_name(w) and not gaz.is_vocabulary(w) for w in words):
            return True
        if not 0 <= other < len(doc):
            return False
        neighbour = doc[other]
        return neighbour.is_alpha and gaz.is_vocabulary(neighbour.text) and not gaz.is_name(neighbour.text)

    def _organisation_context(self, start: int, end: int, words: list[str]) -> bool:
        """A company sign: a suffix in or after the span ("Asc Partners", "Loqate Inc"), "'s" and a
        business noun after a word no one is named ("Acme's support"), "work for X", "X is a design
        agency"."""
        doc, gaz = self.doc, self.gaz
        known = any(gaz.is_name(w) for w in words)
        last = doc[end - 1]
        if end - start > 1 and (
            last.lower_.strip(".") in gaz.org_suffixes or last.text in gaz.org_suffixes_cased
        ):
            return True
        if not known and self._employer(start):
            return True
        after = doc[end] if end < len(doc) else None
        if after is None:
            return False
        if after.lower_.strip(".") in gaz.org_suffixes or after.text in gaz.org_suffixes_cased:
            return not (known and after.lower_ in ("group", "global", "international"))
        if after.text in ("'s", "’s") and end + 1 < len(doc):
            return not known and doc[end + 1].lower_ in gaz.product_nouns
        if after.lower_ in ("is", "was") and self._predicate_is_organisation(end + 1):
            return True
        # "our Okta integration": no one's name stands before "integration" without a possessive.
        return after.lower_ in gaz.product_nouns and (not known or after.lower_ in _SOFTWARE_NOUNS)

    def _employer(self, start: int) -> bool:
        """ "I work for Flightstats", "she works at Teradata", "employed by", "joined"."""
        doc = self.doc
        if start >= 1 and doc[start - 1].lower_ in ("joined", "joining"):
            return True
        if start >= 2 and doc[start - 1].lower_ in ("for", "at", "by", "with"):
            return doc[start - 2].lemma_.lower() in ("work", "employ", "intern", "consult")
        return False

    def _predicate_is_organisation(self, i: int) -> bool:
        """ "... is a design agency", "... is a 2017 Polish action-comedy film": an organisation noun
        heads the noun phrase after "is a" ("Maria is a software engineer" has "engineer")."""
        doc = self.doc
        if i >= len(doc) or doc[i].lower_ not in ("a", "an", "the", "our", "my", "your"):
            return False
        for j in range(i + 1, min(len(doc), i + 9)):
            token = doc[j]
            if token.lower_ in _ORG_NOUNS:
                following = doc[j + 1] if j + 1 < len(doc) else None
                return following is None or following.pos_ not in ("NOUN", "PROPN")
            if token.is_punct and token.text not in ("-", "–"):
                return False
        return False

    def _after_locative(self, start: int) -> bool:
        """After "in", "at", "from", ...: where a place stands; not where a verb aims at someone
        ("shouted at Gary", "smiled at Ana", "heard from Tom")."""
        before = self._previous(start, skip_determiner=False)
        if before is None or before.lower_ not in _LOCATIVES:
            return False
        verb = before.head
        return not (
            before.dep_ == "prep"
            and verb.i < before.i
            and (before.lower_, verb.lemma_.lower()) in _AIMED_AT_PEOPLE
        )

    def _after_people_noun(self, start: int) -> bool:
        """ "founders: A, B and C": a list of people, not a firm."""
        doc = self.doc
        return any(doc[j].lower_ in _PEOPLE_NOUNS for j in range(max(0, start - 3), start))

    def _after_name_part(self, start: int) -> bool:
        """The token before is a capitalised word or an initial ("Faina D. Yefremova")."""
        doc = self.doc
        j = start - 1
        if j >= 0 and doc[j].text == ".":
            j -= 1
        return j >= 0 and doc[j].text[:1].isupper() and doc[j].is_alpha

    def _field_label(self, start: int) -> bool:
        """A word alone at the start of a line and before a colon ("Mobile: ...")."""
        doc = self.doc
        at_line_start = start == 0 or "\n" in doc[start - 1].text or "\n" in doc[start - 1].whitespace_
        return at_line_start and start + 1 < len(doc) and doc[start + 1].text == ":"

    def _in_block(self, start: int, end: int) -> bool:
        if not self.blocks:
            return False
        s, e = self.doc[start].idx, self.doc[end - 1].idx + len(self.doc[end - 1].text)
        return any(bs <= s and e <= be for bs, be in self.blocks)

    def _addressee(self, start: int, end: int, words: list[str]) -> bool:
        """The span opens an address block and reads as a person's name: a given name the gazetteer
        knows first, every other word a known name or an initial ("Billing address: Sara Schwarz
        28245 Puruntie 82 ..."). An envelope names its addressee before the street."""
        gaz = self.gaz
        s = self.doc[start].idx
        opens = any(bs <= s < be and not self.text[bs:s].strip() for bs, be in self.blocks)
        return (
            opens
            and len(words) >= 2
            and gaz.is_given_name(words[0])
            and all(gaz.is_name(w) and not gaz.is_place(w) for w in words[1:])
        )

    def _parenthesised_after_place(self, start: int, end: int) -> bool:
        """ "Cyprus (Greek)": a nationality in brackets right after a place."""
        doc = self.doc
        if start < 2 or end >= len(doc) or doc[start - 1].text != "(" or doc[end].text != ")":
            return False
        place = doc[start - 2]
        return place.ent_type_ in ("GPE", "LOC") or self.gaz.is_place(place.text)

    @staticmethod
    def _product_shape(word: str) -> bool:
        """CamelCase ("FlowDesk", "iPhone") or a short all-capitals word ("SSO", "API")."""
        if _CAMEL.search(word) and not _NAME_CAMEL.match(word):
            return True
        return word.isupper() and 2 <= len(word) <= 4
