"""The OPA backend: decisions from an Open Policy Agent server, asked over its REST Data API.

Each decision is one `POST /v1/data/<entrypoint path>/decision?strict-builtin-errors=true` with
`{"input": <object>}`, sent with opa-python-client's `query_rule`. OPA answers `{"result": <value>}`,
or `{}` when the rule (or the whole package) is undefined. Everything that is not a well-formed
result raises, so that `PolicyEngine.decide` turns it into a deny with ENGINE_ERROR: a refused
connection, no answer within the timeout (2 s by default), an HTTP error, a body that is not JSON,
an undefined or malformed decision.

The bundle hash. The gateway cannot hash what the server holds, so it hashes the policy directory
it is configured with (`PolicyBundle`: the same files docker/compose.yaml mounts into OPA) and
checks that the server serves that bundle before it trusts an answer:

- the server's modules (`GET /v1/policies`, each module's `raw` text) must be exactly the local
  non-test `.rego` files, or those plus the local `*_test.rego` files (`opa run --bundle dir` loads
  the tests too; `--ignore '*_test.rego'` leaves them out). Module ids are not compared: they name
  the path OPA loaded a file from, which differs between hosts.
- the server's document at each local `data.json`'s path (`GET /v1/data/ftgate/config`) must equal
  that file's content (merged as OPA merges data files).

The check runs at construction, whenever a local file changes (the same stat-based watch the
regorus backend uses), and again once `recheck_s` has passed, since OPA may load another bundle on
its own. While the bundles differ, every decision denies with ENGINE_ERROR (`BundleMismatch`) and
the difference is logged once as `policy.opa_bundle_mismatch`. A gateway whose OPA is unreachable
or still loading at start does start; its decisions deny until the server answers and matches.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import structlog
from opa_client.opa import OpaClient

from gateway.errors import ConfigError
from gateway.policy.bundle import PolicyBundle
from gateway.policy.engine import (
    DECISION_RULE,
    ENTRYPOINT_PATTERN,
    MalformedDecision,
    PolicyBundleError,
    PolicyEngine,
    UndefinedDecision,
    UnknownEntrypoint,
)
from gateway.policy.watch import Snapshot
from gateway.settings import Settings

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT_S = 2.0
DEFAULT_RECHECK_S = 30.0
# By default OPA turns a built-in function's error (`to_number("x")`) into "undefined", which can
# leave a deny rule unfired and so allow; regorus raises instead. Strict mode makes OPA answer 500,
# so both backends fail closed alike.
_STRICT = {"strict-builtin-errors": "true"}
# While the server serves another bundle, look again this soon: an operator fixing it wants
# decisions back without waiting for a full recheck period.
_MISMATCH_RECHECK_S = 1.0


class OpaError(Exception):
    """OPA could not be asked, or did not answer as its REST API specifies."""


class OpaUnavailable(OpaError):
    """No connection to the OPA server (refused, reset, unresolvable host)."""


class OpaTimeout(OpaUnavailable):
    """The OPA server did not answer within the timeout."""


class OpaServerError(OpaError):
    """OPA answered with an HTTP error status, or with a body that is not its JSON."""


class BundleMismatch(Exception):
    """The OPA server serves other policies or data than the local policy directory holds."""


class _Client(OpaClient):
    """opa-python-client, plus reads it offers only in lossy forms.

    `get_policies_list` drops each module's raw text and `get_data` reports a server error as
    "not found"; the bundle check needs both exactly, so they are read here with the client's own
    session (same pool, headers, TLS settings and timeout).
    """

    def policy_modules(self) -> list[tuple[str, str]]:
        """(id, raw text) of every module the server holds (`GET /v1/policies`)."""
        response = self._session.get(f"{self.root_url}/policies", timeout=self.timeout)
        response.raise_for_status()
        body = response.json()
        modules = body.get("result") if isinstance(body, dict) else None
        if not isinstance(modules, list):
            raise OpaServerError("GET /v1/policies: no result list in the answer")
        out = []
        for module in modules:
            if not (isinstance(module, dict) and isinstance(module.get("raw"), str)):
                raise OpaServerError("GET /v1/policies: a module without raw text")
            out.append((str(module.get("id")), module["raw"]))
        return out

    def document(self, path: list[str]) -> tuple[bool, Any]:
        """(defined, value) of `data.<path>` without input (`GET /v1/data/<path>`)."""
        url = f"{self.root_url}/data/" + "/".join(quote(part, safe="") for part in path)
        response = self._session.get(url, timeout=self.timeout)
        response.raise_for_status()
        body = response.json()
        if not isinstance(body, dict):
            raise OpaServerError("GET /v1/data: the answer is not a JSON object")
        return ("result" in body, body.get("result"))


@dataclass(frozen=True)
class _Local:
    """One read of the local policy directory: what was watched and the bundle it gave."""

    snapshot: Snapshot
    bundle: PolicyBundle | None
    error: Exception | None

    def stale(self) -> bool:
        return self.snapshot.stale()


@dataclass(frozen=True)
class _Verdict:
    """The outcome of one comparison of the served bundle with a local one."""

    bundle_sha256: str
    checked_at: float  # time.monotonic()
    problems: tuple[str, ...]

    def fresh(self, bundle_sha256: str, recheck_s: float) -> bool:
        period = min(recheck_s, _MISMATCH_RECHECK_S) if self.problems else recheck_s
        return self.bundle_sha256 == bundle_sha256 and time.monotonic() - self.checked_at < period


class OpaEngine(PolicyEngine):
    """Asks the OPA server at `url`; the bundle it must serve is the one in `policy_dir`."""

    def __init__(
        self,
        url: str,
        policy_dir: Path | str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        recheck_s: float = DEFAULT_RECHECK_S,
    ) -> None:
        if timeout_s <= 0:
            raise ConfigError(f"the OPA timeout must be positive, not {timeout_s}")
        self.url = url
        self.policy_dir = Path(policy_dir)
        self.timeout_s = timeout_s
        self.recheck_s = recheck_s
        self._client = _client_for(url, timeout_s)
        self._local_lock = threading.Lock()
        # Separate, so that a reload of the local files never waits on a slow server.
        self._verify_lock = threading.Lock()
        self._local_state = self._load_local()
        self._verdict: _Verdict | None = None
        local = self._local_state
        if local.bundle is None:  # refuse to start, as the regorus backend does
            raise ConfigError(f"cannot load the policy bundle in {self.policy_dir}: {local.error}")
        try:
            self._verified(local.bundle, force=True)
        except OpaError as exc:
            # OPA may still be starting (compose starts the gateway once the container runs, not
            # once it serves); decisions deny until it answers.
            log.warning("policy.opa_unreachable", opa_url=self.url, error=str(exc))

    @classmethod
    def name(cls) -> str:
        return "opa"

    @classmethod
    def from_settings(cls, settings: Settings) -> OpaEngine:
        if not settings.opa_url:
            raise ConfigError("the opa policy backend needs FTGATE_OPA_URL")
        return cls(settings.opa_url, settings.policy_dir)

    @property
    def bundle(self) -> PolicyBundle | None:
        """The local bundle the server must serve; None while the directory cannot be read."""
        return self._local().bundle

    @property
    def bundle_sha256(self) -> str:
        bundle = self.bundle
        return bundle.sha256 if bundle is not None else "unknown"

    def check(self) -> None:
        """Return if OPA is reachable and serves the local bundle; raise ConfigError saying why not."""
        local = self._local()
        if local.bundle is None:
            raise ConfigError(f"cannot load the policy bundle in {self.policy_dir}: {local.error}")
        try:
            verdict = self._verified(local.bundle, force=True)
        except OpaError as exc:
            raise ConfigError(f"cannot ask OPA at {self.url}: {exc}") from exc
        if verdict.problems:
            raise ConfigError(_mismatch_message(self.url, self.policy_dir, verdict.problems))

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close_connection()

    def evaluate(self, entrypoint: str, input: dict[str, Any], rule: str = DECISION_RULE) -> Any:
        return self.evaluate_with_bundle(entrypoint, input, rule)[0]

    def evaluate_with_bundle(
        self, entrypoint: str, input: dict[str, Any], rule: str = DECISION_RULE
    ) -> tuple[Any, str]:
        if not ENTRYPOINT_PATTERN.fullmatch(f"{entrypoint}.{rule}"):  # it becomes a URL path below
            raise UnknownEntrypoint(f"not a package path: {entrypoint!r}")
        if not isinstance(input, dict):
            # `{"input": null}` is no input to OPA, and with no input no deny rule fires: every
            # ftgate entrypoint then allows. Only an object is ever sent.
            raise TypeError(f"policy input must be an object, not {type(input).__name__}")
        # What regorus refuses, OPA must not be sent either (NaN is not JSON); same error types.
        json.dumps(input, allow_nan=False)
        local = self._local()
        if local.bundle is None:
            raise PolicyBundleError(
                f"the policy bundle in {self.policy_dir} cannot be loaded"
            ) from local.error
        verdict = self._verified(local.bundle)
        if verdict.problems:
            raise BundleMismatch(_mismatch_message(self.url, self.policy_dir, verdict.problems))
        with self._opa_errors(f"POST /v1/data/{entrypoint.replace('.', '/')}/{rule}"):
            body = self._client.query_rule(
                input_data=input, package_path=entrypoint, rule_name=rule, query_params=_STRICT
            )
        if not isinstance(body, dict):
            raise OpaServerError("the Data API answer is not a JSON object")
        if "result" not in body:  # OPA's way of saying undefined, also for an unknown package
            raise UndefinedDecision(f"data.{entrypoint}.{rule} is undefined on the OPA server")
        if body["result"] is None:
            raise MalformedDecision(f"data.{entrypoint}.{rule} is null")
        return body["result"], local.bundle.sha256

    # -- the local bundle -------------------------------------------------------------------------

    def _local(self) -> _Local:
        state = self._local_state
        if state.stale():
            with self._local_lock:
                if self._local_state is state:  # else another thread reloaded while this one waited
                    self._local_state = self._load_local()
                state = self._local_state
        return state

    def _load_local(self) -> _Local:
        snapshot = Snapshot.take(self.policy_dir)  # before reading: a later change is seen next time
        try:
            bundle = PolicyBundle.load(self.policy_dir)
            for file in bundle.data_files:
                file.document()  # the bundle check compares it with the server's; it must parse
        except Exception as exc:
            log.error("policy.load_failed", policy_dir=str(self.policy_dir), error=str(exc))
            return _Local(snapshot, None, exc)
        log.info("policy.loaded", policy_dir=str(self.policy_dir), bundle_sha256=bundle.sha256)
        return _Local(snapshot, bundle, None)

    # -- the served bundle ------------------------------------------------------------------------

    def _verified(self, bundle: PolicyBundle, *, force: bool = False) -> _Verdict:
        """The comparison of the served bundle with `bundle`, redone when stale; OpaError if OPA fails."""
        verdict = self._verdict
        if not force and verdict is not None and verdict.fresh(bundle.sha256, self.recheck_s):
            return verdict
        with self._verify_lock:  # one comparison at a time; the others wait for its outcome
            previous = self._verdict
            if not force and previous is not None and previous.fresh(bundle.sha256, self.recheck_s):
                return previous
            verdict = _Verdict(bundle.sha256, time.monotonic(), tuple(self._differences(bundle)))
            self._verdict = verdict
        changed = previous is None or (previous.bundle_sha256, previous.problems) != (
            verdict.bundle_sha256,
            verdict.problems,
        )
        if changed and verdict.problems:
            log.error(
                "policy.opa_bundle_mismatch",
                opa_url=self.url,
                policy_dir=str(self.policy_dir),
                bundle_sha256=bundle.sha256,
                problems=list(verdict.problems),
            )
        elif changed:
            log.info("policy.opa_bundle_verified", opa_url=self.url, bundle_sha256=bundle.sha256)
        return verdict

    def _differences(self, bundle: PolicyBundle) -> list[str]:
        """How the bundle OPA serves differs from `bundle`, one line per difference; [] if it does not."""
        problems = []
        with self._opa_errors("GET /v1/policies"):
            served = self._client.policy_modules()
        served_texts = Counter(raw for _, raw in served)
        policies = Counter(f.text for f in bundle.policy_files)
        tests = Counter(f.text for f in bundle.test_files)
        if served_texts not in (policies, policies + tests):
            missing = sorted(f.path for f in bundle.policy_files if served_texts[f.text] < policies[f.text])
            unknown = sorted(i for i, raw in served if raw not in policies and raw not in tests)
            if missing:
                problems.append(f"policy files not served as they are here: {', '.join(missing)}")
            if unknown:
                problems.append(f"modules served that are not in the local bundle: {', '.join(unknown)}")
            if not (missing or unknown):
                problems.append("the server holds some of the local test modules but not all, or duplicates")
        merged: dict[str, Any] = {}
        for file in bundle.data_files:
            _merge(merged, file.document())
        for path in _data_paths(bundle):
            ref = "data." + ".".join(path)
            with self._opa_errors(f"GET /v1/data/{'/'.join(path)}"):
                defined, value = self._client.document(path)
            if not defined:
                problems.append(f"{ref} is undefined on the server")
            elif not _same_json(value, _get_in(merged, path)):
                problems.append(f"{ref} differs from the local data.json")
        return problems

    @contextmanager
    def _opa_errors(self, request: str) -> Iterator[None]:
        """Turn what `requests` raises into OpaError subclasses that name the request."""
        try:
            yield
        except requests.Timeout as exc:  # before ConnectionError: ConnectTimeout is both
            raise OpaTimeout(f"{request}: no answer from {self.url} within {self.timeout_s} s") from exc
        except requests.ConnectionError as exc:
            raise OpaUnavailable(f"{request}: cannot connect to {self.url}") from exc
        except requests.HTTPError as exc:
            status, code = _status_and_code(exc.response)
            log.warning("policy.opa_http_error", request=request, status=status, opa_code=code)
            raise OpaServerError(f"{request}: HTTP {status} ({code or 'no OPA error code'})") from exc
        except requests.JSONDecodeError as exc:
            raise OpaServerError(f"{request}: the answer is not JSON") from exc


def _client_for(url: str, timeout_s: float) -> _Client:
    """An opa-python-client for `scheme://host[:port]`; ConfigError for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"FTGATE_OPA_URL {url!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"FTGATE_OPA_URL {url!r} must look like http://host:8181")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        # opa-python-client builds every URL as scheme://host:port/v1/...; a path prefix would be lost.
        raise ConfigError(f"FTGATE_OPA_URL {url!r} must be scheme://host[:port], without a path or query")
    https = parts.scheme == "https"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    # retries=0: urllib3 retries only refused connections for a POST anyway, and a decision should
    # fail within one timeout rather than several.
    return _Client(host=host, port=port or (443 if https else 80), ssl=https, retries=0, timeout=timeout_s)


def _status_and_code(response: requests.Response | None) -> tuple[int | None, str | None]:
    """The HTTP status and OPA's error `code` (e.g. "internal_error"); its message may quote input."""
    if response is None:
        return None, None
    try:
        body = response.json()
    except ValueError:
        return response.status_code, None
    code = body.get("code") if isinstance(body, dict) else None
    return response.status_code, code if isinstance(code, str) else None


def _mismatch_message(url: str, policy_dir: Path, problems: tuple[str, ...]) -> str:
    return (
        f"OPA at {url} serves another policy bundle than {policy_dir} ({'; '.join(problems)}); "
        "restart OPA on the same files (or run it with --watch)"
    )


def _data_paths(bundle: PolicyBundle) -> list[list[str]]:
    """Where the bundle puts data under `data`: each data file's folder, or its keys at the root."""
    paths: list[list[str]] = []
    for file in bundle.data_files:
        # A root data.json is checked key by key: `GET /v1/data` would evaluate every policy too.
        candidates = [file.data_path] if file.data_path else [[key] for key in file.document()]
        paths.extend(p for p in candidates if p not in paths)
    return paths


def _merge(into: dict[str, Any], doc: dict[str, Any]) -> None:
    """Merge one data file's document into `into`, objects key by key, as OPA merges bundle data."""
    for key, value in doc.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _get_in(doc: Any, path: list[str]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _same_json(a: Any, b: Any) -> bool:
    """Equality of JSON values: 1 == 1.0 (JSON has one number type) but true != 1, unlike Python's ==."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b
