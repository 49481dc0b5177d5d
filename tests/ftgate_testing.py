"""Helpers for driving ftgate as its users do, shared by the integration tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.settings import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "support_chats.jsonl"


@dataclass
class Cli:
    """Runs `ftgate ... --json` in process and returns the one JSON document it printed."""

    env: dict[str, str]
    runner: CliRunner = field(default_factory=CliRunner)
    last_stderr: str = ""

    def __call__(self, *args: str, token: str | None = None, ok: bool = True) -> Any:
        env = dict(self.env)
        if token is not None:
            env["FTGATE_TOKEN"] = token
        result = self.runner.invoke(app, [*args, "--json"], env=env, catch_exceptions=False)
        self.last_stderr = result.stderr
        assert (result.exit_code == 0) == ok, (
            f"ftgate {' '.join(args)} exited {result.exit_code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
        return json.loads(result.stdout)


@dataclass
class Home:
    cli: Cli
    path: Path
    admin: str
    alice: str  # submitter, team default
    bob: str  # approver
    carol: str  # auditor
    dave: str  # second approver
    mallory: str  # submitter of another team


def people(cli: Cli, admin: str) -> dict[str, str]:
    tokens = {}
    for name, role, team in [
        ("alice", "submitter", "default"),
        ("bob", "approver", "compliance"),
        ("carol", "auditor", "audit"),
        ("dave", "approver", "compliance"),
        ("mallory", "submitter", "other"),
    ]:
        tokens[name] = cli("users", "add", name, "--role", role, "--team", team, token=admin)["token"]
    return tokens


def audit_count(home: Home) -> int:
    return home.cli("audit", "verify", token=home.carol)["entries"]
