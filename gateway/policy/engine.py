"""One interface for every policy backend, and the fail-closed `decide` the gateway calls.

A backend only has to evaluate `data.<entrypoint>.decision` and hand back what the policy returned.
`PolicyEngine.decide` turns that into a `Decision` and is the one place that enforces the
invariant "an engine error is a deny": an exception, an undefined result or a result of the wrong
shape all become `allow=False` with the reason `ENGINE_ERROR`. The backends (`regorus_backend.py`,
`opa_backend.py`) subclass it; `gateway/policy/backends.py` picks one from the settings.
"""

from __future__ import annotations

import asyncio
import re
import time
from abc import ABC, abstractmethod
from typing import Any

import structlog
from pydantic import BaseModel, Field

from gateway.settings import Settings

log = structlog.get_logger(__name__)

ENGINE_ERROR = "ENGINE_ERROR"

# Rego package paths: dotted identifiers. Anything else never reaches an engine's query string.
ENTRYPOINT_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_RULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The rule every entrypoint's decision comes from.
DECISION_RULE = "decision"


class Reason(BaseModel):
    """Why a policy said no: a stable UPPER_SNAKE code and a message that says what to do."""

    code: str
    message: str


class Decision(BaseModel):
    """A policy answer together with what made it: the bundle hash, the engine and the time taken."""

    entrypoint: str = Field(description='Rego package asked, e.g. "ftgate.training".')
    allow: bool
    reasons: list[Reason] = Field(default_factory=list)
    warnings: list[Reason] = Field(
        default_factory=list, description="The request goes through; these are recorded and shown."
    )
    review: list[Reason] = Field(
        default_factory=list,
        description="The request waits until someone other than the requester signs it off.",
    )
    bundle_sha256: str = Field(description="SHA-256 of the policy bundle that made the decision.")
    engine: str = Field(description='Backend name, e.g. "regorus".')
    ms: float = Field(description="Wall-clock time of the evaluation in milliseconds.")


class UndefinedDecision(Exception):
    """The entrypoint's `decision` rule evaluated to nothing."""


class MalformedDecision(Exception):
    """The `decision` rule returned something other than {"allow": bool, "reasons": [...]}
    (optionally with "warnings" and "review" lists of the same shape)."""


class UnknownEntrypoint(Exception):
    """No policy package has the requested name."""


class PolicyBundleError(Exception):
    """The policy bundle on disk cannot be compiled or served."""


class PolicyEngine(ABC):
    """A policy backend: a name, the hash of the bundle it serves, and `evaluate`."""

    @classmethod
    @abstractmethod
    def name(cls) -> str:
        """The backend's name, as every `Decision` reports it."""

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Settings) -> PolicyEngine:
        """Build the backend from the gateway settings."""

    @property
    @abstractmethod
    def bundle_sha256(self) -> str:
        """SHA-256 of the policy bundle this engine currently serves."""

    @abstractmethod
    def evaluate(self, entrypoint: str, input: dict[str, Any], rule: str = DECISION_RULE) -> Any:
        """Evaluate `data.<entrypoint>.<rule>` for `input` and return it as the policy produced it."""

    def evaluate_with_bundle(
        self, entrypoint: str, input: dict[str, Any], rule: str = DECISION_RULE
    ) -> tuple[Any, str]:
        """`evaluate`, paired with the hash of the bundle that produced the result.

        A backend that reloads its bundle overrides this so the pair cannot straddle a reload.
        """
        return self.evaluate(entrypoint, input, rule), self.bundle_sha256

    def value(self, entrypoint: str, rule: str, input: dict[str, Any]) -> Any:
        """A fact the policy computes for `input` (`data.<entrypoint>.<rule>`), to show a user what a
        decision rests on, such as a team's budget; None when it is undefined or the engine fails.

        Never a decision: nothing is allowed on it, so it is read without failing closed.
        """
        if not ENTRYPOINT_PATTERN.fullmatch(entrypoint) or not _RULE.fullmatch(rule) or rule == DECISION_RULE:
            raise ValueError(f"not a policy fact: {entrypoint!r}, {rule!r}")
        try:
            return self.evaluate_with_bundle(entrypoint, input, rule)[0]
        except (KeyboardInterrupt, SystemExit, GeneratorExit, asyncio.CancelledError):
            raise
        except BaseException as exc:  # PyO3 panics derive from BaseException
            log.warning(
                "policy.value_unavailable",
                entrypoint=entrypoint,
                rule=rule,
                engine=self.name(),
                error_type=type(exc).__name__,
            )
            return None

    def decide(self, entrypoint: str, input: dict[str, Any]) -> Decision:
        """Ask the policy; never raises for an engine failure and never allows on one (fail closed)."""
        start = time.perf_counter()
        try:
            if not ENTRYPOINT_PATTERN.fullmatch(entrypoint):
                raise UnknownEntrypoint(f"not a package path: {entrypoint!r}")
            raw, bundle_sha256 = self.evaluate_with_bundle(entrypoint, input)
            allow, reasons, warnings, review = _parse_decision(raw)
        except (KeyboardInterrupt, SystemExit, GeneratorExit, asyncio.CancelledError):
            raise
        except BaseException as exc:  # PyO3 panics derive from BaseException: deny on them too.
            allow, reasons, warnings, review = False, [_engine_error(exc)], [], []
            bundle_sha256 = self._bundle_sha256_or_unknown()
            # The error type only: regorus messages can quote input values ("Got `5`").
            log.warning(
                "policy.engine_error",
                entrypoint=entrypoint,
                engine=self.name(),
                error_type=type(exc).__name__,
            )
        ms = (time.perf_counter() - start) * 1000
        return Decision(
            entrypoint=entrypoint,
            allow=allow,
            reasons=reasons,
            warnings=warnings,
            review=review,
            bundle_sha256=bundle_sha256,
            engine=self.name(),
            ms=ms,
        )

    def _bundle_sha256_or_unknown(self) -> str:
        try:
            return self.bundle_sha256
        except Exception:  # the decision is a deny already; it must still be returned
            return "unknown"


_OUTCOMES = {"allow", "reasons", "warnings", "review"}


def _parse_reasons(value: Any, key: str) -> list[Reason]:
    if not isinstance(value, list):
        raise MalformedDecision(f"decision.{key} must be an array")
    parsed = []
    for reason in value:
        code = reason.get("code") if isinstance(reason, dict) else None
        message = reason.get("message") if isinstance(reason, dict) else None
        if not (isinstance(code, str) and isinstance(message, str)):
            raise MalformedDecision(
                f"every entry of decision.{key} must be an object with string code and message"
            )
        parsed.append(Reason(code=code, message=message))
    return parsed


def _parse_decision(raw: Any) -> tuple[bool, list[Reason], list[Reason], list[Reason]]:
    """Check the shape of a policy's `decision`; anything unexpected raises and so becomes a deny."""
    if raw is None:
        raise UndefinedDecision("the decision rule is undefined")
    if not isinstance(raw, dict) or not {"allow", "reasons"} <= set(raw) or not set(raw) <= _OUTCOMES:
        raise MalformedDecision(
            "decision must be an object with the keys allow and reasons, and optionally warnings and review"
        )
    allow = raw["allow"]
    if type(allow) is not bool:
        raise MalformedDecision("decision.allow must be a boolean")
    reasons = _parse_reasons(raw["reasons"], "reasons")
    warnings = _parse_reasons(raw.get("warnings", []), "warnings")
    review = _parse_reasons(raw.get("review", []), "review")
    if allow and reasons:
        # The ftgate packages define allow as "no deny reason"; both at once is a policy bug.
        raise MalformedDecision("decision allows yet gives reasons to deny")
    return allow, reasons, warnings, review


def _engine_error(exc: BaseException) -> Reason:
    return Reason(
        code=ENGINE_ERROR,
        message=(
            f"the policy engine could not decide ({type(exc).__name__}), so the request is denied; "
            "an operator should check the policy bundle and the gateway log"
        ),
    )
