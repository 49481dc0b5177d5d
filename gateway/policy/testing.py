"""Run the bundle's Rego unit tests with regorus, the way `opa test` would, plus line coverage.

A test is a rule named `test_*` without arguments in a `*_test.rego` file. Like `opa test`, it
passes when it evaluates to anything but false or undefined; an evaluation error fails it with the
engine's message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regorus

from gateway.policy.bundle import TEST_SUFFIX, PolicyBundle
from gateway.policy.regorus_backend import compile_bundle, engine_message


@dataclass(frozen=True)
class RegoTestResult:
    """The outcome of one Rego test rule."""

    package: str
    name: str
    passed: bool
    error: str | None = None

    @property
    def id(self) -> str:
        return f"{self.package}::{self.name}"


@dataclass(frozen=True)
class FileCoverage:
    """Which lines of one Rego file the tests evaluated."""

    path: str
    covered: tuple[int, ...]
    not_covered: tuple[int, ...]

    @property
    def percent(self) -> float:
        total = len(self.covered) + len(self.not_covered)
        return 100.0 * len(self.covered) / total if total else 100.0


def _ref_path(node: dict[str, Any]) -> list[str]:
    """A dotted reference (`ftgate.training_test`) from regorus's AST JSON."""
    if "Var" in node:
        return [node["Var"]["value"]]
    if "RefDot" in node:
        ref = node["RefDot"]
        return [*_ref_path(ref["refr"]), ref["field"][1]]
    raise ValueError(f"unsupported reference in a package name: {sorted(node)}")


def _test_rules(module: dict[str, Any]) -> list[str]:
    """Names of the argument-less `test_*` rules of one module, in source order, each once."""
    names: list[str] = []
    for rule in module["rules"]:
        head = rule.get("Spec", {}).get("head", {})
        compr = head.get("Compr")  # complete rules; functions ("Func") and sets are never tests
        name = compr["refr"].get("Var", {}).get("value") if compr else None
        if isinstance(name, str) and name.startswith("test_") and name not in names:
            names.append(name)
    return names


class RegoTestSuite:
    """The Rego tests of a policy directory, compiled once; run them one by one or all at once."""

    def __init__(self, policy_dir: Path | str, *, coverage: bool = False) -> None:
        self.bundle = PolicyBundle.load(policy_dir)
        self._engine = compile_bundle(self.bundle, include_tests=True)
        self._coverage = coverage
        if coverage:
            self._engine.set_enable_coverage(True)
        self.tests: list[tuple[str, str]] = []
        for module in json.loads(self._engine.get_ast_as_json()):
            if module["source"]["file"].endswith(TEST_SUFFIX):
                package = ".".join(_ref_path(module["ast"]["package"]["refr"]))
                self.tests.extend((package, name) for name in _test_rules(module["ast"]))

    @property
    def ids(self) -> list[str]:
        return [f"{package}::{name}" for package, name in self.tests]

    def run(self, package: str, name: str) -> RegoTestResult:
        """Evaluate one test rule on a fresh clone (or, collecting coverage, on the engine itself)."""
        engine: regorus.Engine = self._engine if self._coverage else self._engine.clone()
        try:
            value = engine.eval_rule(f"data.{package}.{name}")
        except Exception as exc:
            return RegoTestResult(package, name, passed=False, error=engine_message(exc))
        if value is None:
            return RegoTestResult(package, name, passed=False, error="undefined")
        return RegoTestResult(package, name, passed=value is not False)

    def run_all(self) -> list[RegoTestResult]:
        return [self.run(package, name) for package, name in self.tests]

    def coverage(self) -> list[FileCoverage]:
        """Line coverage of every Rego file by the tests run so far (needs `coverage=True`)."""
        if not self._coverage:
            raise RuntimeError("coverage was not enabled for this suite")
        report = json.loads(self._engine.get_coverage_report_as_json())
        return [
            FileCoverage(f["path"], tuple(f["covered"]), tuple(f["not_covered"])) for f in report["files"]
        ]


def run_rego_tests(policy_dir: Path | str) -> list[RegoTestResult]:
    """Run every Rego test in `policy_dir`; one result per test rule."""
    return RegoTestSuite(policy_dir).run_all()


def rego_coverage(policy_dir: Path | str) -> list[FileCoverage]:
    """Run every Rego test and report which lines of each Rego file they evaluated."""
    suite = RegoTestSuite(policy_dir, coverage=True)
    suite.run_all()
    return suite.coverage()
