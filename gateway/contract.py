"""The input contract: what each string and number a caller hands ftgate may hold.

Checked before anything is stored: SQLModel table models skip validation, so a value the columns or
the response models cannot hold would otherwise be committed first and fail on every later read (a
201-character dataset name made `GET /v1/datasets` answer 500 for everyone). The same types serve the
API's request models and parameters (FastAPI enforces them and the OpenAPI document states them) and
the services (`require`), so the CLI gets the same checks and the same messages.

Errors name the field and the rule, never the value: a refused value may be personal data, or a
megabyte of it.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, TypeVar

from pydantic import Field, StringConstraints, TypeAdapter, ValidationError

from gateway.errors import InvalidInput

# Characters no name or note may hold: C0 and C1 controls (tab and line breaks are allowed in notes
# only), DEL, the Unicode line and paragraph separators, and the bidirectional controls that make text
# read differently from how it is stored ("Trojan Source"). Patterns here are single character classes:
# pydantic runs them on Rust's regex engine, in linear time.
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Text is not blank: at least one character that is not white space. The OpenAPI document carries these
# patterns, so a client (or a fuzzer) knows that "   " is not a note before it sends one.
_ONE_LINE = f"^[^{_CONTROLS}\t\n\r]*[^\\s{_CONTROLS}][^{_CONTROLS}\t\n\r]*$"
_MANY_LINES = f"^[^{_CONTROLS}]*[^\\s{_CONTROLS}][^{_CONTROLS}]*$"

# Users, teams and base models: identities that appear as actors and subjects in every log entry.
HANDLE_MAX = 64
HANDLE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+\-]*$"
# ftgate's own ids: a short prefix, "_", letters and digits (`models.new_id`: 16 hex digits).
ID_MAX = 48
ID_PATTERN = r"^[a-z]{2,8}_[A-Za-z0-9]{1,36}$"
# Free text kept in the audit log (scanned for personal data too: `services/free_text.py`).
NAME_MAX = 200  # a dataset's name: one line
LABEL_MAX = 100  # purpose, classification, licence: one word or a few
NOTE_MAX = 4000  # a note: a few sentences
PATH_MAX = 4096  # a local path (Linux's PATH_MAX)
# A Hugging Face model id, `owner/name` (the Hub's own rules: letters, digits, '-', '_', '.').
HUB_ID_MAX = 96
HUB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$"
INT64_MAX = 2**63 - 1  # the largest integer every store (SQLite, PostgreSQL BIGINT) holds
# Lists come in pages: at most PAGE_MAX rows, PAGE_DEFAULT unless asked; `after` names the last row of
# the previous page (an id, or a base model's name).
PAGE_DEFAULT = 100
PAGE_MAX = 1000

# No type strips white space before its checks: the limits are those of the text sent, as the OpenAPI
# document states them (`checked_texts` strips names and notes once they have passed).
Handle = Annotated[str, StringConstraints(min_length=1, max_length=HANDLE_MAX, pattern=HANDLE_PATTERN)]
ResourceId = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX, pattern=_ONE_LINE)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=LABEL_MAX, pattern=_ONE_LINE)]
Note = Annotated[str, StringConstraints(min_length=1, max_length=NOTE_MAX, pattern=_MANY_LINES)]
LocalPath = Annotated[str, StringConstraints(min_length=1, max_length=PATH_MAX, pattern=_ONE_LINE)]
HubId = Annotated[str, StringConstraints(min_length=3, max_length=HUB_ID_MAX, pattern=HUB_ID_PATTERN)]
Cursor = Annotated[int, Field(ge=0, le=INT64_MAX)]
PageLimit = Annotated[int, Field(ge=1, le=PAGE_MAX, description="Rows in the page (at most 1,000).")]
PageAfter = Annotated[
    str,
    StringConstraints(min_length=1, max_length=HANDLE_MAX, pattern=HANDLE_PATTERN),
    Field(description="The `next` of the previous page: the page starts after that row."),
]

T = TypeVar("T")


@functools.cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def require(kind: Any, value: Any, field: str) -> Any:
    """`value` if the contract type `kind` holds it, or `InvalidInput`
    naming `field` and the rule it breaks (`details.errors`), never the value."""
    try:
        return _adapter(kind).validate_python(value)
    except ValidationError as exc:
        errors = field_errors(exc.errors(include_input=False, include_url=False), prefix=(field,))
        raise InvalidInput(f"{field}: {errors[0]['message']}", details={"errors": errors}) from None


def invalid(field: str, kind: str, message: str, *, detail: str | None = None) -> InvalidInput:
    """An `InvalidInput` for one field that breaks one rule, in the shape `require` raises."""
    errors = [{"field": field, "type": kind, "message": message}]
    return InvalidInput(detail or f"{field}: {message}", details={"errors": errors})


def field_errors(errors: Any, *, prefix: tuple[str | int, ...] = ()) -> list[dict[str, str]]:
    """pydantic's (or FastAPI's) validation errors as `{field, type, message}`, without the input.

    A pattern rule is stated by what it is for, not as the regular expression.
    """
    out = []
    for error in errors:
        location = [str(part) for part in (*prefix, *error.get("loc", ())) if part not in ("", None)]
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "string_too_short" and (error.get("ctx") or {}).get("min_length") == 1:
            message = "must not be empty"
        elif error.get("type") == "string_pattern_mismatch":
            pattern = str((error.get("ctx") or {}).get("pattern"))
            message = _PATTERN_RULES.get(pattern, "has characters not allowed")
        kind = str(error.get("type", "invalid"))
        out.append({"field": ".".join(location), "type": kind, "message": message})
    return out


_PATTERN_RULES = {
    HANDLE_PATTERN: "may hold only letters, digits and . _ @ + - (starting with a letter or digit)",
    ID_PATTERN: "is not an ftgate id (a prefix such as ds_ or job_, then letters and digits)",
    _ONE_LINE: "must be one line of text, not blank, without control characters",
    _MANY_LINES: "must be text, not blank, without control characters",
}

__all__ = [
    "HANDLE_MAX",
    "ID_MAX",
    "INT64_MAX",
    "LABEL_MAX",
    "NAME_MAX",
    "NOTE_MAX",
    "PAGE_DEFAULT",
    "PAGE_MAX",
    "PATH_MAX",
    "Cursor",
    "Handle",
    "Label",
    "LocalPath",
    "Name",
    "Note",
    "PageAfter",
    "PageLimit",
    "ResourceId",
    "field_errors",
    "invalid",
    "require",
]
