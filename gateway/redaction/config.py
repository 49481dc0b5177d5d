"""Redaction configuration that compliance owns: which entities, how sure, how replaced, what is allowed.

It lives beside the policies at `policies/ftgate/redaction/data.json`, so it is part of the policy
bundle: hashed with it (every decision names that hash) and visible to Rego as `data.ftgate.redaction`.
A file that is missing uses the defaults below; a file that is present but wrong is refused at start
(`ConfigError`), never half-applied: a typo in an entity name must not quietly switch redaction off.

The default entity set (`DEFAULT_ENTITIES`) and why:
- on: direct identifiers and financial/government numbers whose recognizers are checksummed or tightly
  patterned (EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, US_SSN, US_ITIN, US_PASSPORT,
  IP_ADDRESS, CRYPTO, MEDICAL_LICENSE, MAC_ADDRESS) and PERSON and LOCATION from spaCy's NER (names and
  places identify people; the NER guesses, but a missed name is worse than a redacted one), and
  STREET_ADDRESS (ftgate's pattern recognizers, gateway/redaction/recognizers.py and addresses.py:
  spaCy does not tag "22 Pollen Crescent" and Presidio has no recognizer for it) and POSTCODE
  (postcodes.py: a code by its country's format, with a cue such as "postcode" or "PLZ" or a place
  beside it, "75004 Paris"; a bare five-digit number is none). PERSON and LOCATION come from spaCy's
  NER checked against a gazetteer, interface words and organisation signs (ner.py), and from cues
  such as greetings and sign-offs (names.py).
- PHONE_NUMBER at 0.4: Presidio scores a phone number without a context word ("call", "phone") 0.4,
  so at the global 0.5 every bare number in a chat is missed; `phonenumbers` validates it, which keeps
  this from firing on arbitrary digits. Which countries' numbering plans it reads is the `phone`
  setting (`PhoneSettings`): Presidio's eight regions by default missed most European numbers.
- DATE_TIME, but only calendar points: a year, a date, a clock time or a weekday (`dates.py`, the
  rule's `calendar_only`). spaCy tags "this month", "2 hours" and "8+ years" as dates too; those are
  left, since redacting them wrecks instructions and identifies nobody, while a date of birth or of a
  visit is the quasi-identifier HIPAA's Safe Harbor removes. `calendar_only: false` redacts them all.
  A calendar point about a product rather than a person (a release, a version, a maintenance window,
  a schedule: "version 5.1 was released on March 3, 2025") is left as content too
  (`dates.is_product_date`).
- NRP (nationality, religious or political group): GDPR's special categories; "a Polish customer"
  narrows down who it is. Content-heavy datasets (language lessons, say) can switch it off.
- off: URL (documentation links are content; an email inside a URL is still caught by the email
  recognizer), UK_NHS (its 10-digit checksum fires on phone numbers), US_BANK_NUMBER and
  US_DRIVER_LICENSE (bare 8-17 digit / letter+digit patterns at scores of 0.05-0.3 that match order
  numbers and SKUs), UUID (request ids, not people).
Any of them can be switched on in the file with its own threshold.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gateway.errors import ConfigError

CONFIG_RELATIVE_PATH = Path("ftgate") / "redaction" / "data.json"
ENTITY_NAME = re.compile(r"[A-Z][A-Z0-9_]*")

Operator = Literal["pseudonym", "surrogate", "mask", "hash", "drop_record"]


class EntityRule(BaseModel):
    """How one entity type is found and replaced."""

    model_config = ConfigDict(extra="forbid")

    threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Minimum score; the file's `default_threshold` if unset."
    )
    operator: Operator | None = Field(
        default=None,
        description=(
            "pseudonym: `<TYPE_N>`, the same N for the same value across the dataset (keyed HMAC); "
            "surrogate: a realistic fake of the same form (Faker; reserved domains and fiction phone "
            "ranges, Luhn-valid cards, IBANs with valid check digits), the same fake for the same value "
            "and one person's name parts taken from one fake name (gateway/redaction/surrogates.py); "
            "mask: every character but the last `keep_last` replaced by `mask_char`; hash: "
            "`<TYPE#16 hex>` of a keyed HMAC; drop_record: the whole record is left out of the dataset. "
            "The file's `default_operator` if unset."
        ),
    )
    mask_char: str = Field(default="*", min_length=1, max_length=1, description="Character for `mask`.")
    keep_last: int = Field(default=0, ge=0, le=8, description="Characters `mask` leaves at the end.")
    calendar_only: bool | None = Field(
        default=None,
        description=(
            "DATE_TIME only: spaCy's dates count only where they name a year, a date, a clock time or a "
            "weekday, not 'next week' or '2 hours' (gateway/redaction/dates.py); false: every one. "
            "True if unset."
        ),
    )


class PatternSpec(BaseModel):
    """One regular expression of a custom recognizer."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    regex: str = Field(min_length=1)
    score: float = Field(ge=0.0, le=1.0, description="Score without a context word nearby.")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        """It compiles as Presidio compiles it, and runs in linear time (`linear_time.check_linear`).

        A pattern that backtracks catastrophically would make every upload that reaches it hang, so it
        is refused here, when the config is loaded: it is probed on long inputs built to make a
        backtracking search slow (runs of what its repeated parts match, then a character that fails
        them), and refused if its time grows much faster than the input's length.
        """
        # Imported here: the probe is only needed where a config holds custom recognizers.
        import regex

        from gateway.redaction.linear_time import PRESIDIO_FLAGS, check_linear

        try:
            regex.compile(value, PRESIDIO_FLAGS)
        except regex.error as exc:
            raise ValueError(f"regex does not compile: {exc}") from None
        check_linear(value, PRESIDIO_FLAGS)
        return value


class RecognizerSpec(BaseModel):
    """A custom recognizer: regexes plus context words that raise the score (Presidio's PatternRecognizer)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    entity: str = Field(description="Entity type it reports, UPPER_SNAKE (placeholders are `<ENTITY_N>`).")
    patterns: list[PatternSpec] = Field(min_length=1)
    context: list[str] = Field(default_factory=list, description="Words that raise a match's score nearby.")

    @field_validator("entity")
    @classmethod
    def _entity_name(cls, value: str) -> str:
        if not ENTITY_NAME.fullmatch(value):
            raise ValueError(f"entity must be UPPER_SNAKE, got {value!r}")
        return value


# Presidio's PhoneRecognizer default regions (numbers valid there count at its usual leniency).
DEFAULT_PHONE_REGIONS = ["US", "GB", "DE", "FR", "IL", "IN", "CA", "BR"]
# Further regions whose numbers count only when written in that region's own digit grouping.
DEFAULT_PHONE_GROUPED_REGIONS = [
    "AT", "AU", "BE", "CH", "CZ", "DK", "ES", "FI", "IE", "IT", "NL", "NO", "NZ", "PL", "PT", "SE",
]  # fmt: skip


def _known_regions(values: list[str]) -> list[str]:
    # Imported here: phonenumbers' metadata is large and most config users never need it.
    import phonenumbers

    unknown = [v for v in values if v not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        # "UK" is the classic slip (the ISO code is GB): a region that matches nothing must not pass.
        raise ValueError(f"not ISO 3166 regions phonenumbers knows: {', '.join(unknown)}")
    if len(values) != len(set(values)):
        raise ValueError("regions must not repeat")
    return values


class PhoneSettings(BaseModel):
    """Where phone numbers come from: which countries' numbering plans the phone recognizer reads.

    Each region costs a pass of `phonenumbers` over every string and widens what a digit run may
    match, so compliance lists the regions its users live in, in three tiers of evidence:
    `regions` (valid there, any layout: Presidio's default behaviour), `grouped_regions` (valid
    there and written in that region's own grouping, with at least one separator: "699 956 915" is
    a Spanish mobile, "98765432" or "2024-01-15" is not an 8-digit Danish number) and
    `international` (a number written with `+` and a country code needs only a possible length:
    the plus sign is the evidence, whatever the country).
    """

    model_config = ConfigDict(extra="forbid")

    regions: list[str] = Field(default_factory=lambda: list(DEFAULT_PHONE_REGIONS), min_length=1)
    grouped_regions: list[str] = Field(default_factory=lambda: list(DEFAULT_PHONE_GROUPED_REGIONS))
    international: bool = Field(default=True, description="Find `+<country code>` numbers anywhere.")

    @field_validator("regions", "grouped_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return _known_regions(value)

    @model_validator(mode="after")
    def _disjoint(self) -> PhoneSettings:
        both = sorted(set(self.regions) & set(self.grouped_regions))
        if both:
            raise ValueError(f"regions listed both in regions and grouped_regions: {', '.join(both)}")
        return self


class RedactionConfig(BaseModel):
    """The whole file. Only entities listed in `entities` (and custom recognizers' ones) are redacted."""

    model_config = ConfigDict(extra="forbid")

    default_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    default_operator: Operator = "pseudonym"
    entities: dict[str, EntityRule] = Field(default_factory=dict)
    allow_list: list[str] = Field(
        default_factory=list, description="Values never redacted (compared ignoring case and spacing)."
    )
    recognizers: list[RecognizerSpec] = Field(default_factory=list)
    phone: PhoneSettings = Field(
        default_factory=PhoneSettings,
        description="Numbering plans the phone recognizer reads; the analyzer is built for them.",
    )
    residual_scope: Literal["all", "changed"] = Field(
        default="all",
        description=(
            "Which strings of the output the residual check reads: all of them (a name the main model "
            "missed in a string it found nothing in is caught too), or only those redaction changed "
            "(about half the scan's analysis, on data where most strings hold no PII)."
        ),
    )
    residual: Literal["refuse", "drop_record"] = Field(
        default="refuse",
        description=(
            "What happens to a record in which the residual check still finds personal data after "
            "redaction: refuse the whole upload (listing every such record, field and type), or leave "
            "those records out of the dataset (counted in the scan report)."
        ),
    )

    @model_validator(mode="after")
    def _checks(self) -> RedactionConfig:
        for name, rule in self.entities.items():
            if not ENTITY_NAME.fullmatch(name):
                raise ValueError(f"entity {name!r} must be UPPER_SNAKE")
            if name != "DATE_TIME" and rule.calendar_only is not None:
                raise ValueError(f"calendar_only applies to DATE_TIME only, not {name}")
        names = [spec.name for spec in self.recognizers]
        if len(names) != len(set(names)):
            raise ValueError("custom recognizer names must be unique")
        return self

    def enabled(self) -> list[str]:
        """Entity types to redact: the listed ones and those of custom recognizers."""
        return sorted(set(self.entities) | {spec.entity for spec in self.recognizers})

    def rule(self, entity: str) -> EntityRule:
        return self.entities.get(entity) or EntityRule()

    def threshold(self, entity: str) -> float:
        value = self.rule(entity).threshold
        return self.default_threshold if value is None else value

    def operator(self, entity: str) -> Operator:
        return self.rule(entity).operator or self.default_operator

    def dates_calendar_only(self) -> bool:
        """Whether spaCy's DATE_TIME findings must name a calendar point (dates.py); the default."""
        return self.rule("DATE_TIME").calendar_only is not False

    def sha256(self) -> str:
        """Hash of the canonical JSON, named in every scan report."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


DEFAULT_ENTITIES: dict[str, dict[str, Any]] = {
    "PERSON": {},
    "LOCATION": {},
    "STREET_ADDRESS": {},
    "POSTCODE": {},
    "DATE_TIME": {},
    "NRP": {},
    "EMAIL_ADDRESS": {},
    "PHONE_NUMBER": {"threshold": 0.4},
    "CREDIT_CARD": {},
    "IBAN_CODE": {},
    "US_SSN": {},
    "US_ITIN": {},
    "US_PASSPORT": {},
    "IP_ADDRESS": {},
    "CRYPTO": {},
    "MEDICAL_LICENSE": {},
    "MAC_ADDRESS": {},
}


def default_config() -> RedactionConfig:
    """What applies when no file is present."""
    return RedactionConfig.model_validate({"entities": DEFAULT_ENTITIES})


def parse_config(document: Any, *, source: str = "redaction config") -> RedactionConfig:
    """Validate a parsed document; errors name the field."""
    try:
        return RedactionConfig.model_validate(document)
    except ValidationError as exc:
        # Without input and context: the details must serialise as JSON for the CLI and the API.
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        where = ".".join(str(part) for part in errors[0]["loc"]) or "(root)"
        raise ConfigError(f"{source}: {where}: {errors[0]['msg']}", details={"errors": errors}) from None


def load_config(policy_dir: Path) -> RedactionConfig:
    """The config under `policy_dir`, or the defaults if the file does not exist."""
    path = policy_dir / CONFIG_RELATIVE_PATH
    if not path.exists():
        return default_config()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read redaction config: {exc}") from None
    return parse_config(document, source=str(path))
