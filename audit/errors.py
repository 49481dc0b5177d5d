"""Errors of the audit package: subclasses of the one root `FtgateError` (`ftgate_core`), never of the
gateway's, so the package stands on its own. The API answers 409 (404 for what is not there)."""

from __future__ import annotations

from ftgate_core.errors import FtgateError


class AuditError(FtgateError):
    """Root of the audit package's errors."""

    code = "audit_error"
    http_status = 409


class AuditVerificationError(AuditError):
    """The log does not verify; names the first bad entry and the expected and computed values."""

    code = "audit_verification_failed"

    def __init__(
        self, message: str, *, seq: int | None = None, expected: str = "", computed: str = ""
    ) -> None:
        super().__init__(message)
        self.seq = seq
        self.expected = expected
        self.computed = computed
