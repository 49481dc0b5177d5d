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


def test_compose_connects_as_the_app_role_with_no_default_secret() -> None:
    """Least privilege (issue 12, item 9): the gateway and worker connect as ftgate_app; only the gateway,
    for `init` and `db upgrade`, knows the owner's URL; every secret is required from docker/.env, none
    has a default, and the worker's token is the one value `init` can run without."""
    text = (DOCKER / "compose.yaml").read_text()
    services = compose()["services"]
    gateway, worker = services["gateway"]["environment"], services["worker"]["environment"]
    for env in (gateway, worker):
        assert env["FTGATE_DATABASE_URL"].startswith(
            "postgresql+psycopg://ftgate_app:${FTGATE_APP_PASSWORD:?"
        )
    assert gateway["FTGATE_MIGRATION_DATABASE_URL"].startswith(
        "postgresql+psycopg://ftgate_owner:${FTGATE_OWNER_PASSWORD:?"
    )
    assert "FTGATE_MIGRATION_DATABASE_URL" not in worker
    # No password written in the file: every credential in a URL is a required variable.
    passwords = re.findall(r"://[^:@/\s]+:(.+?)@postgres:", text)
    assert len(passwords) == 2 and all(p.startswith("${") and ":?" in p for p in passwords)
    variables = dict(re.findall(r"\$\{(\w+)(:[?-])", text))
    assert variables == {
        "FTGATE_APP_PASSWORD": ":?",
        "FTGATE_OWNER_PASSWORD": ":?",
        "FTGATE_PSEUDONYM_KEY": ":?",
        "POSTGRES_PASSWORD": ":?",
        "FTGATE_WORKER_TOKEN": ":-",  # `run --rm gateway init` works before a worker token exists
    }
    assert worker["FTGATE_TOKEN"] == "${FTGATE_WORKER_TOKEN:-}"
    postgres = services["postgres"]
    assert "POSTGRES_USER" not in postgres["environment"]  # the image's superuser stays `postgres`
    assert "./postgres-init:/docker-entrypoint-initdb.d:ro" in postgres["volumes"]
    example = (DOCKER / "env.example").read_text()
    assert set(re.findall(r"^(\w+)=$", example, flags=re.M)) == set(variables)
    assert "docker/.env" in (REPO_ROOT / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize("dockerfile", ["Dockerfile.gateway", "Dockerfile.worker"])
def test_dockerfile_copies_exist_and_entrypoint_is_ftgate(dockerfile: str) -> None:
    text = (DOCKER / dockerfile).read_text()
    for line in re.findall(r"^COPY (.+)$", text, flags=re.M):
        *sources, _dest = line.split()
        for source in sources:
            assert (REPO_ROOT / source).exists(), f"{dockerfile}: COPY {source} does not exist"
    assert 'ENTRYPOINT ["ftgate"]' in text
    # Dependencies only from a lock, by hash (tests/unit/test_lock.py), then the project without them.
    installs = re.findall(r"pip install ([^\n&]+)", text)
    assert all(
        "--require-hashes" in i or i.strip() == "--no-deps --no-build-isolation ." for i in installs
    ), installs


def test_both_images_run_the_tested_python_from_a_pinned_base_as_a_user() -> None:
    bases = set()
    for dockerfile in ("Dockerfile.gateway", "Dockerfile.worker"):
        text = (DOCKER / dockerfile).read_text()
        [base] = re.findall(r"^FROM (\S+)", text, flags=re.M)
        assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", base), base
        bases.add(base)
        users = re.findall(r"^USER (\S+)", text, flags=re.M)
        assert users == ["ftgate"] and text.index("USER ftgate") < text.index("ENTRYPOINT")
    assert len(bases) == 1


def test_the_gateway_image_carries_no_torch_and_the_worker_image_the_cuda_build() -> None:
    gateway = (DOCKER / "Dockerfile.gateway").read_text()
    worker = (DOCKER / "Dockerfile.worker").read_text()
    assert "requirements/gateway.lock" in gateway and "torch" not in " ".join(re.findall(r"RUN .+", gateway))
    assert "requirements/worker.lock" in worker
    locked = (REPO_ROOT / "requirements" / "worker.lock").read_text()
    assert re.search(r"^torch==2\.13\.0 ", locked, flags=re.M)  # not +cpu: PyPI's Linux build is CUDA
    assert re.search(r"^nvidia-cuda-runtime==", locked, flags=re.M)
