"""Errors the trainer reports.

`trainer` stays independent of the gateway, so it has its own root; the gateway catches `TrainerError`
and reports it like any of its own errors. Messages name the file, line or field at fault, never the
text of a record (records may hold personal data, even after redaction).
"""

from __future__ import annotations


class TrainerError(Exception):
    """Root of every error the trainer raises on purpose."""


class DataError(TrainerError):
    """The training data cannot be read, or leaves nothing to train on."""


class BaseModelError(TrainerError):
    """The base model cannot be found, hashed or loaded."""


class OutputDirError(TrainerError):
    """The output directory cannot take a fresh adapter."""
