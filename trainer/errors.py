"""Errors the trainer reports.

`trainer` stays independent of the gateway: its errors derive from the one root `FtgateError` in
`ftgate_core`, which the CLI and the API catch, with the stable code `trainer_error` (the API answers
422). Messages name the file, line or field at fault, never the text of a record (records may hold
personal data, even after redaction).
"""

from __future__ import annotations

from ftgate_core.errors import FtgateError


class TrainerError(FtgateError):
    """Root of every error the trainer raises on purpose."""

    code = "trainer_error"
    http_status = 422


class DataError(TrainerError):
    """The training data cannot be read, or leaves nothing to train on."""


class BaseModelError(TrainerError):
    """The base model cannot be found, hashed or loaded."""


class OutputDirError(TrainerError):
    """The output directory cannot take a fresh adapter."""
