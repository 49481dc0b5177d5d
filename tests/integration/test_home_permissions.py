"""The home is its owner's alone (issue 12, item 10): 0700, the database and every key 0600, keys
created in one step so they never exist with wider permissions."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from ftgate_testing import Cli, Home, upload

from audit.adapter_signing import ensure_key
from ftgate_core.files import create_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_home_is_private(home: Home) -> None:
    upload(home)  # the database has written through its WAL, the blob store holds a dataset
    assert mode(home.path) == 0o700
    for name in ("ftgate.db", "log-signing-key.pem", "pseudonym.key"):
        assert mode(home.path / name) == 0o600, name
    for sidecar in ("ftgate.db-wal", "ftgate.db-shm"):
        if (home.path / sidecar).exists():
            assert mode(home.path / sidecar) == 0o600, sidecar
    # Whatever else the home holds, nobody but its owner can reach it through a 0700 directory.
    assert home.cli("audit", "verify", token=home.carol)["status"] == "verified"


def test_keys_are_created_once_and_private(tmp_path: Path) -> None:
    key = ensure_key(tmp_path / "adapter.pem")
    assert mode(tmp_path / "adapter.pem") == 0o600
    again = ensure_key(tmp_path / "adapter.pem")  # a second worker: the first key, not a new one
    assert again.private_numbers() == key.private_numbers()
    create_private(tmp_path / "k", b"secret")
    with pytest.raises(FileExistsError):
        create_private(tmp_path / "k", b"other")
    assert (tmp_path / "k").read_bytes() == b"secret"


def test_production_refuses_weak_settings(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from gateway.settings import Settings

    strong = "k" * 32
    pg = "postgresql+psycopg://ftgate@db/ftgate"
    for kwargs, fragment in [
        ({"pseudonym_key": "short-but-set", "database_url": pg}, "at least 32 bytes"),
        ({"pseudonym_key": "changethis", "database_url": pg}, "real secret"),
        ({"pseudonym_key": strong}, "PostgreSQL"),
        ({"pseudonym_key": strong, "database_url": "sqlite:////tmp/x.db"}, "PostgreSQL"),
    ]:
        with pytest.raises(ValidationError, match=fragment):
            Settings(home=tmp_path, mode="production", **kwargs)
    Settings(home=tmp_path, mode="production", pseudonym_key=strong, database_url=pg)  # accepted


def test_production_refuses_key_files_others_can_read(home: Home) -> None:
    from gateway.errors import ConfigError
    from gateway.runtime import Runtime

    # The same home read as production reads it (production itself refuses SQLite: the key check is what
    # a PostgreSQL deployment meets, with its keys under FTGATE_HOME all the same).
    settings = home.settings()
    settings.mode = "production"
    key = home.path / "log-signing-key.pem"
    key.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        Runtime(settings).require_initialised()
    key.chmod(0o600)
    Runtime(settings).require_initialised()


def test_init_gives_the_home_its_own_policies(tmp_path: Path) -> None:
    """Compliance owns the home's copy of the shipped policies (or of --policies), never the package's."""
    from gateway.policy.bundle import PolicyBundle
    from gateway.settings import shipped_policies

    cli = Cli(env={"FTGATE_HOME": str(tmp_path / "home"), "FTGATE_TOKEN": ""})
    made = cli("init")
    assert made["policies"] == str((tmp_path / "home" / "policies").resolve())
    assert (
        PolicyBundle.load(tmp_path / "home" / "policies").sha256
        == PolicyBundle.load(shipped_policies()).sha256
    )
    # A bundle of one's own to start from; a broken one is refused before the home is made.
    broken = tmp_path / "broken"
    broken.mkdir()
    other = Cli(env={"FTGATE_HOME": str(tmp_path / "other"), "FTGATE_TOKEN": ""})
    refused = other("init", "--policies", str(broken), ok=False)
    assert refused["error"]["code"] == "config_error" and not (tmp_path / "other").exists()
    ours = tmp_path / "ours"
    shutil.copytree(shipped_policies(), ours, ignore=shutil.ignore_patterns("__pycache__"))
    assert other("init", "--policies", str(ours))["policies"] == str(
        (tmp_path / "other" / "policies").resolve()
    )
    # FTGATE_POLICY_DIR names the directory to use as it is: nothing copied, --policies refused.
    env = {"FTGATE_HOME": str(tmp_path / "third"), "FTGATE_TOKEN": "", "FTGATE_POLICY_DIR": str(ours)}
    assert Cli(env=env)("init", "--policies", str(ours), ok=False)["error"]["code"] == "invalid_input"
    assert Cli(env=env)("init")["policies"] == str(ours.resolve())
    assert not (tmp_path / "third" / "policies").exists()
