"""Every Rego test rule as its own pytest case (`package::rule`), and checks on the suite itself."""

from __future__ import annotations

import re

import pytest

from gateway.policy.bundle import PolicyBundle
from gateway.policy.testing import RegoTestSuite, rego_coverage, run_rego_tests

from .conftest import POLICY_DIR

SUITE = RegoTestSuite(POLICY_DIR)
ENTRYPOINTS = ["ftgate.approvals", "ftgate.authz", "ftgate.dataset", "ftgate.release", "ftgate.training"]


@pytest.mark.parametrize(("package", "name"), SUITE.tests, ids=SUITE.ids)
def test_rego(package: str, name: str) -> None:
    result = SUITE.run(package, name)
    assert result.passed, result.error or "the test rule evaluated to false"


def test_every_package_has_tests() -> None:
    packages = {package for package, _ in SUITE.tests}
    assert packages == {f"{p}_test" for p in [*ENTRYPOINTS, "ftgate.lib"]}


def test_run_rego_tests_reports_every_test() -> None:
    results = run_rego_tests(POLICY_DIR)
    assert [r.id for r in results] == SUITE.ids
    assert all(r.passed for r in results)
    assert len(results) >= 100


def test_every_line_of_every_policy_is_covered() -> None:
    report = {f.path: f for f in rego_coverage(POLICY_DIR)}
    policies = [f.path for f in PolicyBundle.load(POLICY_DIR).policy_files]
    uncovered = {path: report[path].not_covered for path in policies if report[path].not_covered}
    assert uncovered == {}


@pytest.mark.parametrize("entrypoint", ENTRYPOINTS)
def test_every_reason_code_is_upper_snake_and_tested(entrypoint: str) -> None:
    name = entrypoint.split(".")[-1]
    source = (POLICY_DIR / "ftgate" / name / f"{name}.rego").read_text()
    tests = (POLICY_DIR / "ftgate" / name / f"{name}_test.rego").read_text()
    codes = set(re.findall(r'deny contains \{"code": "([^"]+)"', source))
    assert codes, "no deny rules found"
    assert all(re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*", code) for code in codes)
    assert {code for code in codes if f'"{code}"' not in tests} == set()


@pytest.mark.parametrize("entrypoint", ENTRYPOINTS)
def test_entrypoint_style(entrypoint: str) -> None:
    """The house style the engine relies on: a default-deny allow and an annotated decision entrypoint."""
    name = entrypoint.split(".")[-1]
    source = (POLICY_DIR / "ftgate" / name / f"{name}.rego").read_text()
    assert f"package {entrypoint}\n" in source
    assert "default allow := false\n" in source
    assert "# entrypoint: true\ndecision := " in source
    assert re.search(r"^[^#\n]*[^:=!<>]=[^=]", source, flags=re.MULTILINE) is None, "use := or ==, never ="


def metadata_blocks(source: str) -> list[tuple[int, str]]:
    """Each `# METADATA` comment block of a Rego file, as (line number, YAML text)."""
    blocks, lines, i = [], source.split("\n"), 0
    while i < len(lines):
        if lines[i] != "# METADATA":
            i += 1
            continue
        start, i = i + 1, i + 1
        while i < len(lines) and lines[i].startswith("#"):
            i += 1
        blocks.append((start, "\n".join(line[2:] for line in lines[start:i])))
    return blocks


@pytest.mark.parametrize("path", [f.path for f in PolicyBundle.load(POLICY_DIR).policy_files])
def test_metadata_is_valid_yaml_with_title_and_description(path: str) -> None:
    # regorus ignores annotations, but OPA parses them as YAML and refuses the bundle if one is bad.
    yaml = pytest.importorskip("yaml")
    blocks = metadata_blocks((POLICY_DIR / path).read_text())
    assert blocks
    for line, text in blocks:
        annotation = yaml.safe_load(text)
        assert isinstance(annotation, dict), f"{path}:{line}"
        assert {"title", "description"} <= annotation.keys(), f"{path}:{line}"


def test_failing_and_erroring_tests_are_reported(tmp_path) -> None:
    folder = tmp_path / "p" / "demo"
    folder.mkdir(parents=True)
    (folder / "demo.rego").write_text("package demo\n\nvalue := 1\n\nhalf(x) := x / 2\n")
    (folder / "demo_test.rego").write_text(
        "package demo_test\n\nimport data.demo\n\n"
        "test_passes if demo.value == 1\n\n"
        "test_fails if demo.value == 2\n\n"
        'test_errors if demo.half("one") == 1\n\n'
        "helper(x) := x\n"
    )
    results = {r.name: r for r in run_rego_tests(tmp_path / "p")}
    assert set(results) == {"test_passes", "test_fails", "test_errors"}
    assert results["test_passes"].passed
    assert not results["test_fails"].passed
    assert results["test_fails"].error == "undefined"
    assert not results["test_errors"].passed
    assert "demo/demo.rego:5" in (results["test_errors"].error or "")
