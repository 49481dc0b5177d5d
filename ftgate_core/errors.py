"""The one root of every error ftgate reports to a user.

Each subclass names what went wrong and carries a stable `code` (what a program branches on: the CLI's
`--json` error, the API's problem document) and the HTTP status the API answers with. The gateway, the
audit package and the trainer all derive their errors from it, so the CLI and the API catch one class.
"""

from __future__ import annotations

from typing import Any


class FtgateError(Exception):
    """Root of every error ftgate reports to a user: `code`, `http_status`, `message`, `details`."""

    http_status = 400
    code = "error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


__all__ = ["FtgateError"]
