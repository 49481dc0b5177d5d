"""The gateway's errors, each a subclass of the one root `FtgateError` (`ftgate_core.errors`).

The CLI catches `FtgateError` once and exits non-zero with its message; the API answers each with its
`http_status` and `code`. The audit package's and the trainer's errors derive from the same root.
"""

from __future__ import annotations

from typing import Any

from ftgate_core.errors import FtgateError

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "Conflict",
    "DatasetRejected",
    "FtgateError",
    "IntegrityError",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "PersonalDataInText",
    "PolicyDenied",
    "RedactionError",
    "TooBusy",
]


class ConfigError(FtgateError):
    code = "config_error"
    http_status = 500


class InvalidInput(FtgateError):
    """The request or file is malformed: nothing was created."""

    code = "invalid_input"
    http_status = 422


class PersonalDataInText(InvalidInput):
    """A name or note bound for the audit log holds personal data; nothing was stored.

    `details` names the field and the entity types found (`{"field", "entities", "fields"}`), never the
    value: the error is printed, returned and logged, and must not carry what it refused.
    """

    code = "pii_in_text"
    http_status = 422


class AuthenticationError(FtgateError):
    code = "unauthenticated"
    http_status = 401


class PermissionDenied(FtgateError):
    code = "forbidden"
    http_status = 403


class NotFound(FtgateError):
    code = "not_found"
    http_status = 404


class Conflict(FtgateError):
    code = "conflict"
    http_status = 409


class PolicyDenied(FtgateError):
    """A policy said no; `details` carries every reason as {code, message}."""

    code = "policy_denied"
    http_status = 403


class DatasetRejected(FtgateError):
    """The dataset cannot be admitted (policy or residual PII); nothing was stored."""

    code = "dataset_rejected"
    http_status = 422


class TooBusy(FtgateError):
    """The caller already has as much running as the server allows; `retry_after` is seconds to wait."""

    code = "too_busy"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class ServerBusy(TooBusy):
    """The server as a whole has as many requests waiting as it queues; `retry_after` as for TooBusy."""

    code = "server_busy"
    http_status = 503


class RedactionError(FtgateError):
    """The scanner failed: the upload is refused (fail closed)."""

    code = "redaction_failed"
    http_status = 503


class IntegrityError(FtgateError):
    """Content does not match the hash it was approved or recorded with."""

    code = "integrity_error"
    http_status = 409
