"""Canonical JSON: the exact bytes that are hashed, so any re-serialisation verifies the same.

Two encodings, because the log kept the first for its early entries (audit/README.md, "Leaf formats"):
- `canonical_json`: Python's `json.dumps` with sorted keys and no whitespace (leaf format 1). Only
  Python writes it exactly: floats as `repr` writes them (`1.0`, `1e-07`), keys by code point.
- `jcs`: RFC 8785, the JSON Canonicalization Scheme (leaf format 2), through Trail of Bits' `rfc8785`:
  numbers as ECMAScript writes them (`1`, `1e-7`), keys by UTF-16 code unit. Any JCS implementation
  (npm `canonicalize`, Go's, Java's) gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8; NaN and infinities are refused."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


_SAFE = 2**53 - 1  # RFC 8785 numbers are IEEE doubles: every integer up to this is one exactly


def jcs(value: Any) -> bytes:
    """RFC 8785 bytes of `value`; NaN, infinities and integers past 2^53 are refused (ValueError): a
    value the log records must mean the same to every JSON reader."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise ValueError(f"not canonicalizable as RFC 8785 JSON: {exc}") from exc


def read_json(text: str | bytes) -> Any:
    """JSON read as RFC 8785 reads it, to be written again with `jcs`: an integer past 2^53 is the double
    nearest to it. JCS writes the double 1.429558948627382e20 as `142955894862738200000`, which
    `json.loads` reads as an integer that no double equals; read as a double, it is written back the same.
    """
    return json.loads(text, parse_int=_json_int)


def as_doubles(value: Any) -> Any:
    """`value` (already parsed by `json.loads`) as `read_json` would have read it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _json_int(str(value)) if abs(value) > _SAFE else value
    if isinstance(value, dict):
        return {k: as_doubles(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_doubles(v) for v in value]
    return value


def _json_int(digits: str) -> int | float:
    number = int(digits)
    return float(number) if abs(number) > _SAFE else number


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
