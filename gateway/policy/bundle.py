"""The policy bundle: every file that defines the policies, read once and named by one SHA-256.

What belongs to the bundle: every `*.rego` file (the `*_test.rego` files included) and every
`data.json` under the policy directory, hidden files and folders excepted. The tests are part of
the bundle because they are part of what was reviewed: a change to a test is a change to the
bundle, and the hash an auditor sees in a decision pins the tests that vouched for the rules.
Only non-test Rego and the data are evaluated (`PolicyBundle.policy_files`, `.data_files`).

The hash is SHA-256 over the `sha256sum`-style manifest, one `<file sha256>  <relative path>\\n`
line per file, sorted by path (POSIX separators). An operator can reproduce it with:

    cd policies && find . -type f \\( -name '*.rego' -o -name data.json \\) -not -path '*/.*' \\
        | sed 's|^\\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum

A `data.json` in folder `a/b` loads as `data.a.b`, the convention `opa run -s policies/` follows, so
`ftgate/config/data.json` is `data.ftgate.config` in both engines.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from gateway.errors import ConfigError

DATA_FILE = "data.json"
TEST_SUFFIX = "_test.rego"
# OPA's bundle manifest: a hidden file, so never part of the hash it records.
OPA_MANIFEST = ".manifest"

FileKind = Literal["policy", "test", "data"]


def is_bundle_file(name: str) -> bool:
    """Whether a file of this name belongs to a bundle (hidden files never do)."""
    return not name.startswith(".") and (name.endswith(".rego") or name == DATA_FILE)


def walk_bundle(root: Path) -> Iterator[tuple[Path, list[str]]]:
    """Each folder of the bundle under `root` (hidden ones skipped) with its bundle file names, sorted."""
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        yield Path(folder), sorted(n for n in names if is_bundle_file(n))


@dataclass(frozen=True)
class BundleFile:
    """One file of a bundle: its path relative to the bundle root, its digest and its bytes."""

    path: str
    sha256: str
    content: bytes = field(repr=False)

    @property
    def kind(self) -> FileKind:
        if self.path.rsplit("/", 1)[-1] == DATA_FILE:
            return "data"
        return "test" if self.path.endswith(TEST_SUFFIX) else "policy"

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")

    @property
    def data_path(self) -> list[str]:
        """Where a data file's document goes under `data`: its folder, one key per part."""
        return self.path.split("/")[:-1]

    def document(self) -> dict[str, Any]:
        """A data file's content nested under its `data_path`, ready to merge into `data`."""
        doc = json.loads(self.content)
        for key in reversed(self.data_path):
            doc = {key: doc}
        if not isinstance(doc, dict):
            raise ConfigError(f"{self.path}: a data.json at the bundle root must hold an object")
        return doc


class PolicyBundle:
    """The files of a policy directory, read once: what is hashed is exactly what is loaded."""

    def __init__(self, root: Path, files: Sequence[BundleFile]) -> None:
        self.root = root
        self.files: tuple[BundleFile, ...] = tuple(sorted(files, key=lambda f: f.path))

    @classmethod
    def load(cls, root: Path | str) -> PolicyBundle:
        """Read every bundle file under `root`; ConfigError if there is no directory or no policy."""
        root = Path(root)
        if not root.is_dir():
            raise ConfigError(f"policy directory {root} does not exist")
        files = []
        for folder, names in walk_bundle(root):
            for name in names:
                content = (folder / name).read_bytes()
                relative = (folder / name).relative_to(root).as_posix()
                files.append(BundleFile(relative, hashlib.sha256(content).hexdigest(), content))
        bundle = cls(root, files)
        if not bundle.policy_files:
            raise ConfigError(f"policy directory {root} holds no .rego policies")
        return bundle

    @property
    def policy_files(self) -> list[BundleFile]:
        return [f for f in self.files if f.kind == "policy"]

    @property
    def test_files(self) -> list[BundleFile]:
        return [f for f in self.files if f.kind == "test"]

    @property
    def data_files(self) -> list[BundleFile]:
        return [f for f in self.files if f.kind == "data"]

    def manifest_text(self) -> str:
        """The `sha256sum`-style listing the bundle hash is taken over."""
        return "".join(f"{f.sha256}  {f.path}\n" for f in self.files)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.manifest_text().encode("utf-8")).hexdigest()

    def manifest(self) -> dict[str, Any]:
        """The bundle hash and every file's path and digest, for decisions, logs and exports."""
        return {"sha256": self.sha256, "files": [{"path": f.path, "sha256": f.sha256} for f in self.files]}

    def opa_manifest(self) -> dict[str, Any]:
        """OPA's `.manifest` for this directory: the revision is the bundle hash, so an OPA serving it
        (`opa run --server --bundle`) reports the revision ftgate's decisions name; the roots are the
        top-level paths the bundle's files live under (`ftgate`: `data.ftgate.*`)."""
        roots = sorted({f.path.split("/", 1)[0] for f in self.files if "/" in f.path})
        return {"revision": self.sha256, "roots": roots}

    def opa_manifest_state(self) -> str:
        """`current`, `stale` (written for other files) or `missing`: the `.manifest` in the directory."""
        path = self.root / OPA_MANIFEST
        if not path.exists():
            return "missing"
        try:
            written = json.loads(path.read_text())
        except (ValueError, OSError):
            return "stale"
        return "current" if written == self.opa_manifest() else "stale"
