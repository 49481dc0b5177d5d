"""Free text bound for the audit log is checked for personal data before anything is stored.

A dataset's name and every review, revocation and release note go into the append-only log, which
nothing can edit: a note holding an email address would stay there for good. So each service scans
them first, as the upload scans a dataset's strings (the compliance config's entities, thresholds and
allow-list), and a finding refuses the request before any row, decision or log entry is written.
User and team names are identities, used as the actor of every entry, and are not scanned here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from gateway.contract import LABEL_MAX, NAME_MAX, NOTE_MAX, Note, invalid, require
from gateway.errors import InvalidInput, PersonalDataInText
from gateway.runtime import Runtime

log = structlog.get_logger(__name__)

# The longest text a field may hold, checked before it is scanned (`gateway/contract.py`): a note is a
# few sentences, a name a line. Analysis costs time in proportion to the text, and these fields are
# kept in the log for good.
MAX_CHARS = {"name": NAME_MAX, "purpose": LABEL_MAX, "classification": LABEL_MAX, "licence": LABEL_MAX}
MAX_NOTE_CHARS = NOTE_MAX  # any other field: notes


def checked_texts(*, rt: Runtime, fields: Mapping[str, tuple[Any, str]]) -> dict[str, str]:
    """Each field's text as its contract type holds it (`fields` maps a field name to (type, text)),
    then checked for personal data as a whole; raises `InvalidInput` or `PersonalDataInText`."""
    values = {name: require(kind, text, name).strip() for name, (kind, text) in fields.items()}
    ensure_no_pii(rt=rt, fields=values)
    return values


def checked_note(*, rt: Runtime, note: str) -> str:
    """A review, revocation or release note: it must say why, fit the contract and hold no personal data."""
    if not note.strip():
        raise invalid(
            "note",
            "string_too_short",
            "must not be empty",
            detail="the note must say why: it is kept in the audit log",
        )
    return checked_texts(rt=rt, fields={"note": (Note, note)})["note"]


def ensure_no_pii(*, rt: Runtime, fields: Mapping[str, str]) -> None:
    """Raise `PersonalDataInText` naming each field whose text holds personal data, and its entity types
    (`InvalidInput` first if a text is longer than its field allows, before anything reads it).

    `fields` maps the request's field name (`name`, `note`) to its text. The error and the log line
    carry field names and entity types, never the text. A scanner failure raises `RedactionError`: a
    text that could not be checked is refused too (fail closed).
    """
    for name, text in fields.items():
        limit = MAX_CHARS.get(name, MAX_NOTE_CHARS)
        if len(text) > limit:
            raise InvalidInput(
                f"the {name} is {len(text):,} characters long; at most {limit:,} are allowed",
                details={"field": name, "limit": limit},
            )
    names = list(fields)
    found = rt.scanner.entities_in([fields[name] for name in names])
    flagged = {name: entities for name, entities in zip(names, found, strict=True) if entities}
    if not flagged:
        return
    log.info("free_text.refused", fields=flagged)
    field, entities = next(iter(flagged.items()))
    raise PersonalDataInText(
        _message(flagged), details={"field": field, "entities": entities, "fields": flagged}
    )


def _message(flagged: dict[str, list[str]]) -> str:
    found = [f"the {name} ({', '.join(entities)})" for name, entities in flagged.items()]
    if len(found) == 1:
        field, entities = next(iter(flagged.items()))
        what = f"the {field} holds personal data ({', '.join(entities)})"
    else:
        what = ", ".join(found[:-1]) + f" and {found[-1]} hold personal data"
    return f"{what}: names and notes are kept in the audit log for good, so remove it"
