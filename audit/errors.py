"""Errors of the audit package, independent of the gateway."""

from __future__ import annotations


class AuditError(Exception):
    """Root of the audit package's errors."""

    code = "audit_error"


class AuditVerificationError(AuditError):
    """The log does not verify; names the first bad entry and the expected and computed values."""

    code = "audit_verification_failed"

    def __init__(
        self, message: str, *, seq: int | None = None, expected: str = "", computed: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.seq = seq
        self.expected = expected
        self.computed = computed
