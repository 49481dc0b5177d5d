"""Fixtures for driving ftgate as its users do: the CLI (in process) and the HTTP API.

Everything is real: a SQLite file (or the PostgreSQL server), the regorus engine over a copy of
`policies/`, Presidio with its spaCy model, and a tiny randomly initialised Llama as base model.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from ftgate_testing import Home, fresh_pg_database, make_home, pg_url

from gateway.settings import REPO_ROOT
from trainer.models import BaseModelRef, build_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> BaseModelRef:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """A copy of the shipped policies whose allow-list also names the tiny test model.

    This is the change a compliance officer makes to admit a new base model: data, not code.
    """
    target = tmp_path / "policies"
    shutil.copytree(REPO_ROOT / "policies", target)
    data_file = target / "ftgate" / "config" / "data.json"
    data = json.loads(data_file.read_text())
    data["teams"]["default"]["base_models"].append("tiny-llama")
    data_file.write_text(json.dumps(data, indent=2))
    return target


# The store the `home` fixture puts its database in: `sqlite` (the embedded default) or `postgres`
# (a fresh database per test on the test server). CI runs the flow tests once on each.
STORE = os.environ.get("FTGATE_TEST_STORE", "sqlite")


@pytest.fixture
def home(tmp_path: Path, policy_dir: Path, tiny_model: BaseModelRef) -> Iterator[Home]:
    if STORE == "postgres":
        with fresh_pg_database() as name:
            yield make_home(tmp_path / "home", policy_dir, tiny_model.path, database_url=pg_url(name))
        return
    yield make_home(tmp_path / "home", policy_dir, tiny_model.path)


@pytest.fixture
def pg_home(tmp_path: Path, policy_dir: Path, tiny_model: BaseModelRef) -> Iterator[Home]:
    """The same, on a fresh PostgreSQL database that is dropped afterwards."""
    with fresh_pg_database() as name:
        yield make_home(tmp_path / "pg-home", policy_dir, tiny_model.path, database_url=pg_url(name))
