"""Surrogates: keyed and deterministic, never the original, valid in form, nobody's, one fake per person.

Validity is checked with validators written here from the standards (Luhn, ISO 13616 mod 97, NHS mod
11, DEA), with `phonenumbers` and `ipaddress`, and with Presidio's own checksum validators where it
has one (crypto addresses, DEA numbers), never with the code under test.
"""

from __future__ import annotations

import ipaddress
import random
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

import faker.generator
import phonenumbers
import pytest
from faker import Faker
from presidio_analyzer.predefined_recognizers import CryptoRecognizer, MedicalLicenseRecognizer
from presidio_anonymizer.entities import InvalidParamError, OperatorConfig, RecognizerResult

from gateway.redaction.engine import build_anonymizer
from gateway.redaction.operators import canonical_value
from gateway.redaction.surrogates import SurrogateOperator, Surrogates, fold_person

from .conftest import KEY

N = 2000  # originals per type in the property loops


@pytest.fixture(scope="module")
def surrogates() -> Surrogates:
    return Surrogates(KEY)


def originals(make: Callable[[Faker], str], n: int = N, locale: str = "en_US") -> list[str]:
    """`n` Faker-made originals, from a Faker seeded apart from the one under test."""
    fake = Faker(locale)
    fake.seed_instance(20240611)
    return [make(fake) for _ in range(n)]


# -- independent validators ------------------------------------------------------------------------


def shape(text: str) -> str:
    """Digits as 0, letters as A or a: "6425 VB" -> "0000 AA"."""
    return re.sub(r"[a-z]", "a", re.sub(r"[A-Z]", "A", re.sub(r"\d", "0", text)))


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number]
    odd = digits[-1::-2]
    even = [sum(divmod(2 * d, 10)) for d in digits[-2::-2]]
    return (sum(odd) + sum(even)) % 10 == 0


def iban_ok(iban: str) -> bool:
    compact = iban.replace(" ", "").upper()
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def nhs_ok(number: str) -> bool:
    digits = [int(d) for d in re.sub(r"\D", "", number)]
    check = 11 - sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    return len(digits) == 10 and check != 10 and check % 11 == digits[9]


def dea_ok(number: str) -> bool:
    d = [int(c) for c in number[2:]]
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6]


RESERVED_EMAIL_DOMAIN = re.compile(r"^(?:example\.(?:com|org|net)|(?:[a-z0-9-]+\.)*example)$")

NANP_FICTION = re.compile(r"^\d{3}5550(1\d\d)$")  # national significant number, 555-0100..0199
GB_DRAMA = re.compile(
    r"^(?:7700900|2079460|1214960|1174960|2920180|1314960|1414960|1134960|1164960|1514960|1614960"
    r"|1914980|2896496|1154960|1184960|1144960|1632960)\d{3}$"
)
AU_FICTION = re.compile(r"^(?:49157015[6-9]|491570110|[2378](?:5550|7010)\d{4})$")

V4_DOC_NETS = [ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
DOC_NETS: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = [
    *V4_DOC_NETS,
    ipaddress.IPv6Network("2001:db8::/32"),
]
ITIN_OR_ATIN_OR_IRSN_GROUPS = (
    set(range(50, 66)) | set(range(70, 89)) | {90, 91, 92, 93} | set(range(94, 100))
    | set(range(1, 11)) | {17, 18, 19, 28, 29, 37, 38, 39}
)  # fmt: skip


def in_fiction_range(fake: str) -> phonenumbers.PhoneNumber:
    """Parse `fake` as phonenumbers reads it (national forms in the country it says) and check its range."""
    number = parse_phone(fake)
    nsn = str(number.national_number)
    pattern = {1: NANP_FICTION, 44: GB_DRAMA, 61: AU_FICTION}[number.country_code or 0]
    assert pattern.match(nsn), fake
    assert phonenumbers.is_possible_number(number), fake
    return number


def parse_phone(text: str) -> phonenumbers.PhoneNumber:
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        return phonenumbers.parse(text, None)
    digits = re.sub(r"\D", "", text)
    region = "US" if not digits.startswith("0") else ("GB" if len(digits) == 11 else "AU")
    return phonenumbers.parse(text, region)


# -- determinism -----------------------------------------------------------------------------------

SAMPLES = [
    ("PERSON", "Hannah Müller"),
    ("EMAIL_ADDRESS", "hannah.mueller@gmail.com"),
    ("PHONE_NUMBER", "+44 7911 123456"),
    ("CREDIT_CARD", "4454 7945 1139 0933"),
    ("IBAN_CODE", "GB56 HXDO 8816 7774 6561 19"),
    ("US_SSN", "460-89-9847"),
    ("DATE_TIME", "2024-03-05"),
    ("LOCATION", "London NW1 6XE"),
    ("IP_ADDRESS", "10.1.2.3"),
    ("MAC_ADDRESS", "00:1A:2B:3C:4D:5E"),
    ("CRYPTO", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
    ("UUID", "123e4567-e89b-12d3-a456-426614174000"),
    ("EMPLOYEE_ID", "EMP-123456"),
]
# Types whose fake space is large enough that two keys giving one fake would be a defect, not luck.
LARGE_SPACE = [
    "PERSON",
    "EMAIL_ADDRESS",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "MAC_ADDRESS",
    "CRYPTO",
    "UUID",
]


@pytest.mark.parametrize("entity_type, original", SAMPLES)
def test_same_key_same_value_same_fake_across_instances(entity_type: str, original: str) -> None:
    assert Surrogates(KEY).value(entity_type, original) == Surrogates(KEY).value(entity_type, original)


@pytest.mark.parametrize("entity_type, original", [s for s in SAMPLES if s[0] in LARGE_SPACE])
def test_another_key_another_fake(entity_type: str, original: str) -> None:
    assert Surrogates(KEY).value(entity_type, original) != Surrogates(b"another key").value(
        entity_type, original
    )


@pytest.mark.parametrize(
    "entity_type, a, b",
    [
        ("PERSON", "Hannah Müller", "hannah  muller"),
        ("PERSON", "Chloé Dubois", "CHLOE DUBOIS"),
        ("PHONE_NUMBER", "(905) 674-3793", "905-674-3793"),
        ("CREDIT_CARD", "4454 7945 1139 0933", "4454-7945-1139-0933"),
        ("IBAN_CODE", "GB56 HXDO 8816 7774 6561 19", "gb56hxdo88167774656119"),
        ("US_SSN", "460-89-9847", "460 89 9847"),
        ("EMAIL_ADDRESS", "Hannah.Mueller@Gmail.com", "hannah.mueller@gmail.com"),
    ],
)
def test_spelling_variants_get_one_fake(entity_type: str, a: str, b: str) -> None:
    s = Surrogates(KEY)
    assert canonical_value(entity_type, s.value(entity_type, a)) == canonical_value(
        entity_type, s.value(entity_type, b)
    )


def test_fake_does_not_depend_on_call_order_or_on_other_faker_use() -> None:
    values = [(t, v) for t, v in SAMPLES] + [("PERSON", n) for n in originals(lambda f: f.name(), 50)]
    forward = Surrogates(KEY)
    expected = {item: forward.value(*item) for item in values}

    backward = Surrogates(KEY)
    noise = Faker("en_US")
    for item in reversed(values):
        noise.name()  # randomness drawn elsewhere must not reach a surrogate
        random.random()
        assert backward.value(*item) == expected[item]


def test_global_and_shared_faker_randomness_untouched(surrogates: Surrogates) -> None:
    global_state = random.getstate()
    shared_state = faker.generator.random.getstate()
    for entity_type, original in SAMPLES:
        surrogates.value(entity_type, original)
    assert random.getstate() == global_state
    assert faker.generator.random.getstate() == shared_state


def test_no_network(network_attempts: list[str]) -> None:
    s = Surrogates(b"offline key")
    for entity_type, original in SAMPLES:
        s.value(entity_type, original)
    assert network_attempts == []


# -- never the original ----------------------------------------------------------------------------

NEVER_EQUAL = [
    ("PERSON", lambda f: f.name()),
    ("PERSON", lambda f: f.first_name()),
    ("PERSON", lambda f: f.last_name()),
    ("EMAIL_ADDRESS", lambda f: f.email()),
    ("EMAIL_ADDRESS", lambda f: f.safe_email()),  # already on a reserved domain
    ("PHONE_NUMBER", lambda f: f.phone_number()),
    ("PHONE_NUMBER", lambda f: f"555-01{f.random_int(0, 99):02d}"),  # already fictional
    ("CREDIT_CARD", lambda f: f.credit_card_number()),
    ("IBAN_CODE", lambda f: f.iban()),
    ("US_SSN", lambda f: f.ssn()),
    ("DATE_TIME", lambda f: f.date()),
    ("DATE_TIME", lambda f: f.date(pattern="%m/%d/%Y")),
    ("DATE_TIME", lambda f: f.day_of_week()),
    ("DATE_TIME", lambda f: f.time(pattern="%H:%M")),
    ("DATE_TIME", lambda f: f.year()),
    ("LOCATION", lambda f: f.city()),
    ("LOCATION", lambda f: f.postcode()),
    ("STREET_ADDRESS", lambda f: f.street_address()),
    ("IP_ADDRESS", lambda f: f.ipv4()),
    ("IP_ADDRESS", lambda f: f.ipv6()),
    ("MAC_ADDRESS", lambda f: f.mac_address()),
    ("URL", lambda f: f.url()),
    ("UUID", lambda f: f.uuid4()),
    ("NRP", lambda f: f.random_element(["French", "German", "Catholic", "Muslim", "Democrat"])),
    ("EMPLOYEE_ID", lambda f: f"EMP-{f.random_int(0, 999999):06d}"),
    ("EMPLOYEE_ID", lambda f: f.bothify("?#")),  # two characters: collisions are frequent, redrawn
]


@pytest.mark.parametrize("entity_type, make", NEVER_EQUAL)
def test_never_equal_to_the_original(surrogates: Surrogates, entity_type: str, make: Callable) -> None:
    for original in originals(make):
        fake = surrogates.value(entity_type, original)
        assert fake.strip()
        assert canonical_value(entity_type, fake) != canonical_value(entity_type, original), original


KEPT_AS_WRITTEN = {
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "herr", "frau", "mme", "mlle", "sr", "sra",
    "md", "phd", "dds", "dvm", "jr", "ii", "iii", "iv",
    "van", "von", "de", "der", "den", "del", "della", "di", "da", "das", "dos", "du", "la", "le",
}  # fmt: skip


def test_no_piece_of_a_fake_name_is_a_piece_of_the_real_one(surrogates: Surrogates) -> None:
    for locale in ("en_US", "de_DE", "fr_FR", "es_ES"):
        for original in originals(lambda f: f.name(), N // 4, locale):
            fake = surrogates.value("PERSON", original)
            real = {fold_person(w) for w in original.replace(".", " ").split()} - KEPT_AS_WRITTEN
            assert not real & {fold_person(w) for w in fake.replace(".", " ").split()}, (original, fake)


def test_degenerate_value_falls_back_to_the_keyed_hash() -> None:
    assert re.fullmatch(r"<EMPLOYEE_ID#[0-9a-f]{16}>", Surrogates(KEY).value("EMPLOYEE_ID", "--"))


# -- valid in form, and nobody's -------------------------------------------------------------------


@pytest.mark.parametrize(
    "original, prefixes, length",
    [
        ("4454 7945 1139 0933", ("4",), 16),  # Visa
        ("4222222222222", ("4",), 13),  # Visa, 13 digits
        ("5555-5555-5555-4444", tuple(str(n) for n in (*range(51, 56), *range(2221, 2721))), 16),
        ("2223003122003222", tuple(str(n) for n in (*range(51, 56), *range(2221, 2721))), 16),
        ("3782 822463 10005", ("34", "37"), 15),  # Amex
        ("3056 9309 0259 04", ("36", "38", "300", "301", "302", "303", "304", "305"), 14),  # Diners
        ("6011111111111117", ("6011", "65", "644", "645", "646", "647", "648", "649"), 16),
        ("3530111333300000", tuple(str(n) for n in range(3528, 3590)), 16),  # JCB
        ("6759649826438453", ("5018", "5020", "5038", "6304", "6759", "6761", "6763"), 16),
    ],
)
def test_card_keeps_brand_length_and_grouping_and_passes_luhn(
    original: str, prefixes: tuple, length: int
) -> None:
    s = Surrogates(KEY)
    fake = s.value("CREDIT_CARD", original)
    digits = re.sub(r"\D", "", fake)
    assert len(digits) == length and digits.startswith(prefixes) and luhn_ok(digits)
    assert re.sub(r"\d", "0", fake) == re.sub(r"\d", "0", original)  # same grouping


def test_cards_from_faker_all_pass_luhn(surrogates: Surrogates) -> None:
    for original in originals(lambda f: f.credit_card_number()):
        fake = surrogates.value("CREDIT_CARD", original)
        assert luhn_ok(fake) and len(fake) == len(original), (original, fake)


@pytest.mark.parametrize(
    "original, country, length",
    [
        ("GB56 HXDO 8816 7774 6561 19", "GB", 22),
        ("DE89 3704 0044 0532 0130 00", "DE", 22),
        ("PT50000201231234567890154", "PT", 25),
        ("fr1420041010050500013m02606", "FR", 27),
        ("NL91ABNA0417164300", "NL", 18),
        ("not an iban", None, 22),  # country unknown: GB or DE
        ("XX12 3456 7890 1234", None, 22),
    ],
)
def test_iban_keeps_country_length_and_has_valid_check_digits(
    original: str, country: str | None, length: int
) -> None:
    fake = Surrogates(KEY).value("IBAN_CODE", original)
    compact = fake.replace(" ", "").upper()
    assert iban_ok(fake) and len(compact) == length
    assert compact[:2] == country if country else compact[:2] in ("GB", "DE")


def test_ibans_from_faker_all_valid(surrogates: Surrogates) -> None:
    for locale in ("en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL"):
        for original in originals(lambda f: f.iban(), N // 7, locale):
            fake = surrogates.value("IBAN_CODE", original)
            assert iban_ok(fake) and fake[:2] == original[:2] and len(fake) == len(original), (original, fake)


def test_emails_are_on_reserved_domains_only(surrogates: Surrogates) -> None:
    for original in originals(lambda f: f.email()):
        local, _, domain = surrogates.value("EMAIL_ADDRESS", original).rpartition("@")
        assert local and RESERVED_EMAIL_DOMAIN.match(domain), domain


@pytest.mark.parametrize(
    "original, country",
    [
        ("(905) 674-3793", 1),
        ("212.736.5000", 1),
        ("+1 415 555 2671", 1),
        ("1-800-275-2273", 1),
        ("+44 20 7123 4567", 44),
        ("+44 7911 123456", 44),
        ("07911 123456", 44),
        ("020 7946 1234", 44),
        ("0161 123 4567", 44),
        ("0044 7911 123456", 44),
        ("+61 412 345 678", 61),
        ("0412 345 678", 61),
        ("(02) 9876 5432", 61),
        ("+49 30 1234567", 44),  # no fiction range known for Germany: a UK drama number
        ("+33 1 42 68 53 00", 44),
    ],
)
def test_phone_is_fictional_in_the_original_country_and_layout(original: str, country: int) -> None:
    fake = Surrogates(KEY).value("PHONE_NUMBER", original)
    number = in_fiction_range(fake)
    assert number.country_code == country
    assert fake.startswith("+") == original.startswith("+")
    assert fake.startswith("00") == original.startswith("00")
    if country != 44 or original.startswith(("+44", "0044", "0")):
        assert re.sub(r"\d", "0", fake) == re.sub(r"\d", "0", original)  # same grouping


def test_uk_mobile_stays_mobile_and_landline_stays_landline() -> None:
    s = Surrogates(KEY)
    assert re.sub(r"\D", "", s.value("PHONE_NUMBER", "07911 123456")).startswith("07700900")
    assert not re.sub(r"\D", "", s.value("PHONE_NUMBER", "0161 123 4567")).startswith("07")


def test_phones_from_faker_all_fictional(surrogates: Surrogates) -> None:
    for locale in ("en_US", "en_GB", "en_AU"):
        for original in originals(lambda f: f.phone_number(), N // 3, locale):
            in_fiction_range(surrogates.value("PHONE_NUMBER", original))


@pytest.mark.parametrize("entity_type", ["US_SSN", "US_ITIN"])
def test_ssn_and_itin_are_never_issued_numbers_in_the_original_format(entity_type: str) -> None:
    s = Surrogates(KEY)
    for original in originals(lambda f: f.ssn(), N // 2) + ["460 89 9847", "460898847", "912-70-1234"]:
        fake = s.value(entity_type, original)
        assert re.sub(r"\d", "0", fake) == re.sub(r"\d", "0", original)
        digits = re.sub(r"\D", "", fake)
        # SSA issues no area 9xx; the group is no ITIN, ATIN or IRSN group; no part is all zeros.
        assert digits[0] == "9" and int(digits[3:5]) not in ITIN_OR_ATIN_OR_IRSN_GROUPS
        assert digits[3:5] != "00" and digits[5:] != "0000"


def test_nhs_numbers_are_test_numbers_with_valid_check_digit(surrogates: Surrogates) -> None:
    for original in ["943 476 5919", "9434765919", "401-023-2137"]:
        fake = surrogates.value("UK_NHS", original)
        assert fake.replace(" ", "").replace("-", "").startswith("999") and nhs_ok(fake)
        assert re.sub(r"\d", "0", fake) == re.sub(r"\d", "0", original)


@pytest.mark.parametrize("make", [lambda f: f.ipv4(), lambda f: f.ipv4_private(), lambda f: f.ipv6()])
def test_ips_are_in_documentation_networks(surrogates: Surrogates, make: Callable) -> None:
    for original in originals(make, N // 4):
        fake = ipaddress.ip_address(surrogates.value("IP_ADDRESS", original))
        assert fake.version == ipaddress.ip_address(original).version
        assert any(fake in net for net in DOC_NETS if net.version == fake.version), fake


def test_ip_network_prefix_stays_inside_the_documentation_network() -> None:
    fake = ipaddress.IPv4Interface(Surrogates(KEY).value("IP_ADDRESS", "172.16.0.0/12"))
    assert fake.network.prefixlen >= 24 and any(fake.network.subnet_of(n) for n in V4_DOC_NETS)


@pytest.mark.parametrize(
    "original", ["00:1A:2B:3C:4D:5E", "00-1a-2b-3c-4d-5e", "001a.2b3c.4d5e", "001A2B3C4D5E"]
)
def test_macs_are_unicast_locally_administered_in_the_same_layout(original: str) -> None:
    fake = Surrogates(KEY).value("MAC_ADDRESS", original)
    first = int(re.sub(r"[^0-9A-Fa-f]", "", fake)[:2], 16)
    assert first & 0b10 and not first & 0b1
    assert re.sub(r"[0-9A-Fa-f]", "x", fake) == re.sub(r"[0-9A-Fa-f]", "x", original)
    assert (fake.upper() == fake) == (original.upper() == original)


@pytest.mark.parametrize(
    "original, start",
    [
        ("1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "1"),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "3"),
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "bc1q"),
        ("bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", "bc1q"),
        ("bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297", "bc1p"),
    ],
)
def test_crypto_addresses_are_well_formed_of_the_same_kind(original: str, start: str) -> None:
    fake = Surrogates(KEY).value("CRYPTO", original)
    assert fake.startswith(start)
    if start.startswith("bc1"):
        assert len(fake) == len(original)
    assert CryptoRecognizer().validate_result(fake)


def test_dea_numbers_keep_their_checksum() -> None:
    s = Surrogates(KEY)
    for original in ["AB1234563", "BJ6125341", "F91234563"]:
        fake = s.value("MEDICAL_LICENSE", original)
        assert re.fullmatch(r"[ABCDEFGHJKLMPRSTUX][A-Z9]\d{7}", fake) and dea_ok(fake)
        assert MedicalLicenseRecognizer().validate_result(fake)
        assert (fake[1] == "9") == (original[1] == "9")


def test_uuid_is_version_4_in_the_same_layout() -> None:
    fake = Surrogates(KEY).value("UUID", "{123E4567-E89B-12D3-A456-426614174000}")
    assert fake.startswith("{") and fake.endswith("}") and fake == fake.upper()
    assert uuid.UUID(fake).version == 4


@pytest.mark.parametrize(
    "entity_type, original, shape",
    [
        ("EMPLOYEE_ID", "EMP-123456", r"[A-Z]{3}-\d{6}"),
        ("EMPLOYEE_ID", "emp_12ab", r"[a-z]{3}_\d{2}[a-z]{2}"),
        ("US_PASSPORT", "A12345678", r"[A-Z]\d{8}"),
        ("US_PASSPORT", "912345678", r"\d{9}"),
        ("US_BANK_NUMBER", "000123456789", r"\d{12}"),
    ],
)
def test_other_types_keep_their_shape(entity_type: str, original: str, shape: str) -> None:
    assert re.fullmatch(shape, Surrogates(KEY).value(entity_type, original))


def test_url_host_is_reserved_and_scheme_kept() -> None:
    fake = Surrogates(KEY).value("URL", "https://www.acme-corp.com/users/hannah?id=42")
    assert re.fullmatch(r"https://www\.example\.(com|org|net)/[a-z]{5}/[a-z]{6}\?[a-z]{2}=\d{2}", fake)


# -- dates -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "original, fmt",
    [
        ("2024-03-05", "%Y-%m-%d"),
        ("2/8/1935", "%m/%d/%Y"),
        ("12/25/2019", "%m/%d/%Y"),
        ("25/12/2019", "%d/%m/%Y"),
        ("16.04.2000", "%d.%m.%Y"),
        ("20240305", "%Y%m%d"),
        ("09:00", "%H:%M"),
        ("14:11:22", "%H:%M:%S"),
        ("9:30 am", "%I:%M %p"),
        ("March 3, 2024", "%B %d, %Y"),
        ("3 March 2024", "%d %B %Y"),
        ("Mar 3", "%b %d"),
        ("Monday", "%A"),
        ("Sat", "%a"),
        ("1977", "%Y"),
        ("2024-03-05T14:11:22", "%Y-%m-%dT%H:%M:%S"),
    ],
)
def test_date_keeps_its_format(original: str, fmt: str) -> None:
    fake = Surrogates(KEY).value("DATE_TIME", original)
    datetime.strptime(fake, fmt)  # raises if the layout changed
    assert fake != original
    if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", original):
        assert len(fake.split("/")[0]) == len(original.split("/")[0]) or original[0] != "0"


def test_date_with_weekday_stays_consistent_and_near_the_original_year() -> None:
    fake = Surrogates(KEY).value("DATE_TIME", "Monday, March 3, 2025")
    parsed = datetime.strptime(fake, "%A, %B %d, %Y")
    assert parsed.strftime("%A") == fake.split(",")[0] and abs(parsed.year - 2025) <= 3


def test_weekdays_stay_weekdays_and_ordinals_stay_ordinals(surrogates: Surrogates) -> None:
    weekdays = {d.strftime("%A") for d in (date(2024, 1, i) for i in range(1, 8))}
    for original in weekdays:
        assert surrogates.value("DATE_TIME", f"last {original}").removeprefix("last ") in weekdays - {
            original
        }
    for original in ("March 1st", "June 22nd", "July 3rd", "May 11th"):
        assert re.fullmatch(r"[A-Z][a-z]+ (1st|2nd|3rd|[4-9]th|1\dth|2[0-9](st|nd|rd|th)|3[01](st|th))",
                            surrogates.value("DATE_TIME", original))  # fmt: skip


def test_dates_from_faker_all_keep_iso_layout(surrogates: Surrogates) -> None:
    for original in originals(lambda f: f.date()):
        date.fromisoformat(surrogates.value("DATE_TIME", original))


# -- places ----------------------------------------------------------------------------------------

UK_POSTCODE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}")


@pytest.mark.parametrize(
    "original, pattern",
    [
        ("London NW1 6XE", r"\D+ " + UK_POSTCODE.pattern),
        ("1100-053 Lisboa", r"\d{4}-\d{3} \D+"),
        ("75004", r"\d{5}"),
        ("New York, NY 10001", r"\D+, [^\d,]+ \d{5}"),
        ("Paris", r"[^\d]+"),
        ("United Kingdom", r"[A-Z][a-z]+(?: [A-Z][a-z]+)?"),
    ],
)
def test_location_keeps_postcode_formats(original: str, pattern: str) -> None:
    fake = Surrogates(KEY).value("LOCATION", original)
    assert re.fullmatch(pattern, fake), fake


def test_postcodes_from_faker_keep_their_format(surrogates: Surrogates) -> None:
    for locale in ("en_GB", "de_DE", "pt_PT", "pl_PL", "nl_NL"):
        for original in originals(lambda f: f.postcode(), N // 5, locale):
            fake = surrogates.value("LOCATION", original)
            if UK_POSTCODE.fullmatch(original):
                assert UK_POSTCODE.fullmatch(fake), (original, fake)
            else:
                assert shape(fake) == shape(original), (original, fake)


# -- one person, one fake --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "full, part, index",
    [
        ("Hannah Müller", "Hannah", 0),
        ("Hannah Müller", "Müller", 1),
        ("Hannah Müller", "Muller", 1),  # accents folded
        ("Hannah Müller", "HANNAH", 0),
        ("Hannah Müller", "Müller's", 1),
        ("Chloé Dubois", "Chloe", 0),
        ("Chloé Dubois", "chloé", 0),
        ("Hannah Maria Müller", "Maria", 1),
        ("Müller, Hannah", "Hannah", 1),
        ("Dr. Hannah Müller", "Müller", 2),
    ],
)
def test_a_part_takes_its_piece_of_the_full_name_fake(full: str, part: str, index: int) -> None:
    s = Surrogates(KEY)
    pieces = [p.strip(",") for p in s.value("PERSON", full).split()]  # as written: "Pires, Kelly"
    fake = s.value("PERSON", part, full_name=full)
    assert fold_person(fake.removesuffix("'s")) == fold_person(pieces[index])


def test_title_kept_and_case_style_followed() -> None:
    s = Surrogates(KEY)
    first, last = s.value("PERSON", "Hannah Müller").split()
    assert s.value("PERSON", "Mr. Müller", full_name="Hannah Müller") == f"Mr. {last}"
    assert s.value("PERSON", "hannah", full_name="Hannah Müller") == first.lower()
    assert s.value("PERSON", "MÜLLER", full_name="Hannah Müller") == last.upper()
    assert s.value("PERSON", "hannah müller") == f"{first} {last}".lower()
    assert s.value("PERSON", "Müller, Hannah") == f"{last}, {first}"


def test_accented_and_plain_spellings_are_one_person() -> None:
    s = Surrogates(KEY)
    assert s.value("PERSON", "Chloé Dubois") == s.value("PERSON", "Chloe Dubois")
    assert s.value("PERSON", "Chloé Dubois").upper() == s.value("PERSON", "CHLOE DUBOIS")


def test_a_part_not_in_the_full_name_is_a_name_on_its_own() -> None:
    s = Surrogates(KEY)
    assert s.value("PERSON", "Giulia", full_name="Hannah Müller") == s.value("PERSON", "Giulia")


def test_a_lone_first_name_gets_a_first_name() -> None:
    every, male, female = _name_sets()
    s = Surrogates(KEY)
    for original in originals(lambda f: f.first_name_female(), 400):
        if fold_person(original) not in female:
            continue  # "Taylor" is given to boys too: no gender to keep
        fake = s.value("PERSON", original)
        assert fold_person(fake) in every and fold_person(fake) not in male, (original, fake)


def _name_sets() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    from gateway.redaction.surrogates import _first_names

    return _first_names()


def test_non_latin_names_keep_their_script() -> None:
    s = Surrogates(KEY)
    assert re.fullmatch(r"[А-Яа-яЁё]+ [А-Яа-яЁё]+", s.value("PERSON", "Иван Петров"))


# -- bookkeeping and the operator ------------------------------------------------------------------


def test_is_surrogate_knows_its_own_fakes_only() -> None:
    s = Surrogates(KEY)
    email = s.value("EMAIL_ADDRESS", "hannah.mueller@gmail.com")
    name = s.value("PERSON", "Hannah Müller")
    assert s.is_surrogate("EMAIL_ADDRESS", email.upper())
    assert s.is_surrogate("PERSON", name) and s.is_surrogate("PERSON", name.split()[0])
    assert not s.is_surrogate("PERSON", "Hannah Müller")
    assert not s.is_surrogate("EMAIL_ADDRESS", "hannah.mueller@gmail.com")


def test_an_encoded_surface_takes_the_fake_of_its_decoded_value() -> None:
    s = Surrogates(KEY)
    s.alias("EMAIL_ADDRESS", "aGFubmFoQGdtYWlsLmNvbQ==", "hannah@gmail.com")
    assert s.value("EMAIL_ADDRESS", "aGFubmFoQGdtYWlsLmNvbQ==") == s.value(
        "EMAIL_ADDRESS", "hannah@gmail.com"
    )


def test_operator_through_presidio_anonymizer() -> None:
    s = Surrogates(KEY)
    text = "Hannah Müller wrote from hannah@gmail.com. Thanks Hannah, said Mr. Müller."
    results = [
        RecognizerResult("PERSON", 0, 13, 0.85),
        RecognizerResult("EMAIL_ADDRESS", 25, 41, 1.0),
        RecognizerResult("PERSON", 50, 56, 0.85),
        RecognizerResult("PERSON", 67, 73, 0.85),
    ]
    anonymizer = build_anonymizer()
    anonymizer.add_anonymizer(SurrogateOperator)
    params = {"surrogates": s, "full_names": {"Hannah": "Hannah Müller", "muller": "Hannah Müller"}}
    out = anonymizer.anonymize(text, results, {"DEFAULT": OperatorConfig("surrogate", params)})
    first, last = s.value("PERSON", "Hannah Müller").split()
    email = s.value("EMAIL_ADDRESS", "hannah@gmail.com")
    assert out.text == f"{first} {last} wrote from {email}. Thanks {first}, said Mr. {last}."


@pytest.mark.parametrize(
    "params",
    [
        {"entity_type": "PERSON"},
        {"entity_type": "PERSON", "surrogates": "not one"},
        {"entity_type": "", "surrogates": Surrogates(KEY)},
        {"entity_type": "PERSON", "surrogates": Surrogates(KEY), "full_names": ["Hannah"]},
    ],
)
def test_operator_validates_params(params: dict[str, object]) -> None:
    with pytest.raises(InvalidParamError):
        SurrogateOperator().validate(params)


def test_operator_name_and_type() -> None:
    operator = SurrogateOperator()
    operator.validate({"entity_type": "PERSON", "surrogates": Surrogates(KEY), "full_names": {}})
    assert operator.operator_name() == "surrogate"
    assert operator.operator_type().name == "Anonymize"


@pytest.mark.parametrize(
    "full, part, half",
    [
        ("Jean-Luc Picard", "Jean", 0),
        ("Jean-Luc Picard", "Luc", 1),
        ("Anna Müller-Schmidt", "Schmidt", 1),
    ],
)
def test_each_half_of_a_hyphenated_name_takes_its_half_of_the_fake(full: str, part: str, half: int) -> None:
    s = Surrogates(KEY)
    first, last = s.value("PERSON", full).split()
    hyphenated = first if "-" in full.split()[0] else last
    assert s.value("PERSON", part, full_name=full) == hyphenated.split("-")[half]


@pytest.mark.parametrize("part", ["Mr.", "van", ""])
def test_a_part_with_no_name_in_it_gets_the_keyed_hash(part: str) -> None:
    fake = Surrogates(KEY).value("PERSON", part, full_name="Hannah Müller")
    assert re.fullmatch(r"<PERSON#[0-9a-f]{16}>", fake)


def test_threads_get_the_same_fakes_as_one_thread() -> None:
    values = [("PERSON", n) for n in originals(lambda f: f.name(), 200)] + [
        ("PHONE_NUMBER", p) for p in originals(lambda f: f.phone_number(), 200)
    ]
    expected = [Surrogates(KEY).value(*v) for v in values]
    shared = Surrogates(KEY)
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda v: shared.value(*v), values))
    assert got == expected


def test_the_docstring_examples_hold() -> None:
    s = Surrogates(b"demo-key")
    assert s.value("PERSON", "Hannah Müller") == "Giovanna Giammusso"
    assert s.value("PERSON", "Hannah", full_name="Hannah Müller") == "Giovanna"
    assert s.value("PERSON", "Mr. Müller", full_name="Hannah Müller") == "Mr. Giammusso"
    assert s.value("PHONE_NUMBER", "+44 7911 123456") == "+44 7700 900027"
    assert s.value("IBAN_CODE", "GB56 HXDO 8816 7774 6561 19") == "GB20 TFEV 2228 4352 9489 79"


PATHOLOGICAL = [
    "a" * 20_000 + "%",
    "1 " * 10_000,
    "9" * 20_000,
    "-" * 20_000,
    "a." * 10_000 + "@",
    "Mar 3, " * 3_000,
    "NW1 6XE " * 2_500,
]
ALL_TYPES = sorted(
    {t for t, _ in NEVER_EQUAL} | {t for t, _ in SAMPLES} | {"UK_NHS", "MEDICAL_LICENSE", "US_ITIN"}
)


@pytest.mark.parametrize("text", PATHOLOGICAL, ids=lambda t: f"{t[:8]!r}x{len(t)}")
def test_long_pathological_values_are_handled_in_linear_time(text: str) -> None:
    # Every pattern here is a fixed sequence of bounded pieces; a quadratic one would not finish.
    s = Surrogates(KEY)
    for entity_type in ALL_TYPES:
        fake = s.value(entity_type, text)
        assert canonical_value(entity_type, fake) != canonical_value(entity_type, text)


def test_a_fake_name_never_reuses_another_real_persons_name_in_the_dataset() -> None:
    """Chloé's fake must not be "Hannah" when a real Hannah is in the same dataset (the scan passes every
    name part it found, `Recurrences.name_parts`)."""
    key = b"k" * 32
    first = Surrogates(key).person(full="Chloé Dubois")
    taken = fold_person(first).split()  # say the dataset's other customer is called exactly that
    surrogates = Surrogates(key)
    surrogates.avoid_names(taken)
    fake = surrogates.person(full="Chloé Dubois")
    assert fake != first
    assert not set(fold_person(fake).split()) & set(taken)
    assert not set(fold_person(fake).split()) & {"chloe", "dubois"}
