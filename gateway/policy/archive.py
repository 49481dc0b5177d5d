"""Every policy bundle that made a decision is kept, so the decision can be replayed later.

A decision names the SHA-256 of the bundle that made it. The archive keeps that bundle's files
under the same hash (one JSON document per bundle, written once), and `materialize` rebuilds the
directory after checking that the files still hash to the name: an archive cannot be swapped for
another bundle without the replay noticing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import structlog

from gateway.errors import IntegrityError, NotFound
from gateway.policy.bundle import BundleFile, PolicyBundle
from gateway.policy.engine import Decision, PolicyEngine

log = structlog.get_logger(__name__)

ARCHIVE_FORMAT = "ftgate.policy-bundle/v1"


class BundleArchive:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise NotFound(f"not a bundle hash: {sha256!r}")
        return self.root / f"{sha256}.json"

    def has(self, sha256: str) -> bool:
        return self._path(sha256).exists()

    def put(self, bundle: PolicyBundle) -> None:
        """Keep the bundle's files under its hash; a no-op when already kept."""
        target = self._path(bundle.sha256)
        if target.exists():
            return
        document = {
            "format": ARCHIVE_FORMAT,
            "sha256": bundle.sha256,
            "files": {f.path: base64.b64encode(f.content).decode() for f in bundle.files},
        }
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            json.dump(document, f)
        os.replace(tmp, target)
        log.info("policy.bundle_archived", bundle_sha256=bundle.sha256, files=len(bundle.files))

    def load(self, sha256: str) -> PolicyBundle:
        """The archived bundle, re-hashed: IntegrityError if its files no longer give its name."""
        path = self._path(sha256)
        if not path.exists():
            raise NotFound(f"policy bundle {sha256} is not in the archive (decided before archiving began?)")
        document: dict[str, Any] = json.loads(path.read_text())
        files = []
        for name, encoded in document["files"].items():
            content = base64.b64decode(encoded)
            files.append(BundleFile(name, _sha256(content), content))
        bundle = PolicyBundle(path.parent, files)
        if bundle.sha256 != sha256:
            raise IntegrityError(
                f"archived policy bundle does not match its hash: expected {sha256}, computed {bundle.sha256}"
            )
        return bundle

    def materialize(self, sha256: str, into: Path) -> Path:
        """Write the archived bundle's files under `into` and return that directory."""
        bundle = self.load(sha256)
        for f in bundle.files:
            target = into / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.content)
        return into


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class ArchivingPolicy:
    """The engine the gateway uses: decides with the backend, then makes sure the bundle is kept."""

    def __init__(self, engine: PolicyEngine, archive: BundleArchive) -> None:
        self.engine = engine
        self.archive = archive
        self._kept: set[str] = set()

    def decide(self, entrypoint: str, input: dict[str, Any]) -> Decision:
        decision = self.engine.decide(entrypoint, input)
        sha256 = decision.bundle_sha256
        if sha256 not in self._kept:
            bundle = getattr(self.engine, "bundle", None)
            if isinstance(bundle, PolicyBundle) and bundle.sha256 == sha256:
                self.archive.put(bundle)
                self._kept.add(sha256)
            elif self.archive.has(sha256):
                self._kept.add(sha256)
        return decision

    def value(self, entrypoint: str, rule: str, input: dict[str, Any]) -> Any:
        """The backend's `value`: a fact shown beside a decision, which no bundle is kept for."""
        return self.engine.value(entrypoint, rule, input)

    @property
    def bundle_sha256(self) -> str:
        return self.engine.bundle_sha256

    def name(self) -> str:
        return self.engine.name()
