"""The `http` decision-log sink speaks OPA's decision-log upload API (issue 14, item 6) to a real HTTP
server on a loopback port: gzip-compressed JSON arrays POSTed to /logs, cut under the upload size limit,
retried after a failure, bounded while the service is down."""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from decision_log_service import LogService, closed_port_url, log_service
from pydantic import ValidationError
from structlog.testing import capture_logs

from gateway.errors import ConfigError
from gateway.policy.decision_log import DecisionLog, make_sink
from gateway.policy.decision_sinks import FileSink
from gateway.policy.decision_upload import OpaUploadSink, chunks
from gateway.policy.engine import Decision, Reason
from gateway.settings import Settings

DENY = Decision(
    entrypoint="ftgate.authz",
    allow=False,
    reasons=[Reason(code="NOT_AUTHORIZED", message="submitters may not list users")],
    bundle_sha256="ab" * 32,
    engine="regorus",
    ms=0.25,
)
OPA_FIELDS = {
    "decision_id", "path", "input", "result", "bundles", "timestamp", "labels", "metrics", "requested_by",
}  # fmt: skip


@pytest.fixture
def service() -> Iterator[LogService]:
    with log_service() as s:
        yield s


def _log(sink: OpaUploadSink) -> DecisionLog:
    return DecisionLog(sink, instance="test-host:/srv/ftgate")


def _dry_runs(decisions: DecisionLog, n: int, *, pad: int = 0) -> list[str]:
    """Log `n` dry runs (with `pad` bytes of incompressible input each); their ids, in order."""
    return [
        decisions.dry_run(actor="alice", decision=DENY, input={"i": i, "pad": os.urandom(pad).hex()})
        for i in range(n)
    ]


def test_an_upload_is_a_gzip_json_array_of_opa_events_posted_to_logs(service: LogService) -> None:
    sink = OpaUploadSink(service.url + "/", token="s3cret", interval=600)
    decisions = _log(sink)
    ids = _dry_runs(decisions, 3)
    assert sink.pending == 3  # buffered until the upload
    assert sink.upload() is True
    [upload] = service.uploads
    assert upload.path == "/logs"
    assert upload.headers["Content-Encoding"] == "gzip"
    assert upload.headers["Content-Type"] == "application/json"
    assert upload.headers["Authorization"] == "Bearer s3cret"
    assert upload.body[:2] == b"\x1f\x8b"  # gzip's magic number
    events = upload.events
    assert [e["decision_id"] for e in events] == ids
    for i, event in enumerate(events):
        assert set(event) == OPA_FIELDS
        assert event["path"] == "ftgate/authz/decision" and event["input"]["i"] == i
        assert event["result"]["allow"] is False
        assert event["result"]["reasons"] == [{"code": "NOT_AUTHORIZED", "message": DENY.reasons[0].message}]
        assert event["bundles"] == {"ftgate": {"revision": "ab" * 32}}
        assert event["labels"]["app"] == "ftgate" and event["labels"]["id"] == "test-host:/srv/ftgate"
        assert event["labels"]["engine"] == "regorus" and event["labels"]["dry_run"] == "true"
        assert event["metrics"] == {"timer_rego_query_eval_ns": 250_000}
        assert event["requested_by"] == "alice" and event["timestamp"].endswith("Z")
    assert sink.pending == 0
    decisions.close()


def test_uploads_are_cut_under_the_size_limit_in_order(service: LogService) -> None:
    limit = 2048
    sink = OpaUploadSink(service.url, interval=600, upload_size_limit_bytes=limit)
    decisions = _log(sink)
    ids = _dry_runs(decisions, 40, pad=150)  # random hex compresses to about half: some 300 bytes each
    assert sink.upload() is True
    assert len(service.uploads) > 3
    assert all(len(u.body) <= limit for u in service.uploads)
    assert [e["decision_id"] for e in service.accepted()] == ids  # every event once, in order
    decisions.close()


def test_chunks_are_filled_close_to_the_limit_and_exact() -> None:
    events = [json.dumps({"n": i, "pad": os.urandom(100).hex()}).encode() for i in range(200)]
    bodies, too_large = chunks(events, 4096)
    assert not too_large
    decoded = [json.loads(gzip.decompress(body)) for body, _ in bodies]
    assert [count for _, count in bodies] == [len(d) for d in decoded]
    assert [e["n"] for d in decoded for e in d] == list(range(200))
    assert all(len(body) <= 4096 for body, _ in bodies)
    # Every chunk but the last was closed because the next event would not fit.
    assert all(len(body) > 4096 - 250 for body, _ in bodies[:-1])


def test_an_event_too_large_for_one_upload_is_dropped_and_counted(service: LogService) -> None:
    sink = OpaUploadSink(service.url, interval=600, upload_size_limit_bytes=1024)
    decisions = _log(sink)
    small = _dry_runs(decisions, 1)
    _dry_runs(decisions, 1, pad=2000)  # some 2 KB of random data: no gzip fits it in 1 KB
    small += _dry_runs(decisions, 1)
    with capture_logs() as logs:
        assert sink.upload() is True
    assert [e["decision_id"] for e in service.accepted()] == small
    assert sink.dropped == 1 and sink.pending == 0
    assert any(entry["event"] == "decision_log.event_too_large" for entry in logs)
    decisions.close()


def test_a_failed_upload_keeps_its_events_and_is_retried(service: LogService) -> None:
    service.statuses = [500]
    sink = OpaUploadSink(service.url, interval=600)
    decisions = _log(sink)
    first = _dry_runs(decisions, 2)
    with capture_logs() as logs:
        assert sink.upload() is False
    assert any(e["event"] == "decision_log.upload_failed" and e["problem"] == "HTTP 500" for e in logs)
    assert sink.pending == 2 and service.accepted() == []
    later = _dry_runs(decisions, 1)
    assert sink.upload() is True
    # The rejected events again, ahead of the newer one.
    assert [e["decision_id"] for e in service.accepted()] == first + later
    assert [e["decision_id"] for e in service.uploads[0].events] == first
    decisions.close()


def test_the_uploader_thread_retries_after_a_failure(service: LogService) -> None:
    service.statuses = [500, 503]
    sink = OpaUploadSink(service.url, interval=0.1)
    decisions = _log(sink)
    ids = _dry_runs(decisions, 2)
    uploads = service.wait_for(3)  # the thread's first upload, then two retries with backoff
    assert [u.status for u in uploads] == [500, 503, 200]
    assert all([e["decision_id"] for e in u.events] == ids for u in uploads)
    # The service has answered the third with 200; the sink's thread lets go of the events once that
    # answer reaches it, a moment later.
    deadline = time.monotonic() + 10
    while sink.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sink.pending == 0
    decisions.close()


def test_a_full_buffer_drops_the_oldest_events_with_a_counted_warning() -> None:
    sink = OpaUploadSink(closed_port_url(), interval=600, buffer_size_limit_bytes=4096)
    decisions = _log(sink)
    with capture_logs() as logs:
        ids = _dry_runs(decisions, 30)  # some 500 bytes each
        assert sink.upload() is False  # nobody listens
    kept = sink.pending
    assert 0 < kept < 30 and sink.dropped == 30 - kept
    warnings = [e for e in logs if e["event"] == "decision_log.buffer_full"]
    assert len(warnings) == 1 and warnings[0]["log_level"] == "warning"
    # What is kept is the newest, and is what goes once the service answers.
    with log_service() as service:
        sink.endpoint = service.url + "/logs"
        with capture_logs() as logs:
            assert sink.upload() is True
        assert [e["decision_id"] for e in service.accepted()] == ids[-kept:]
    [report] = [e for e in logs if e["event"] == "decision_log.events_dropped"]
    assert report["events"] == 30 - kept and report["log_level"] == "warning"
    decisions.close(timeout=1)


def test_close_uploads_what_is_buffered(service: LogService) -> None:
    sink = OpaUploadSink(service.url, interval=600)
    decisions = _log(sink)
    ids = _dry_runs(decisions, 5)
    decisions.close()
    assert [e["decision_id"] for e in service.accepted()] == ids
    assert sink.pending == 0


def test_close_gives_up_on_a_service_that_does_not_answer(service: LogService) -> None:
    service.release.clear()  # every answer held
    sink = OpaUploadSink(service.url, interval=600)
    decisions = _log(sink)
    _dry_runs(decisions, 2)
    with capture_logs() as logs:
        decisions.close(timeout=0.5)
    [unsent] = [e for e in logs if e["event"] == "decision_log.unsent_at_shutdown"]
    assert unsent["events"] == 2


def test_sending_to_a_service_that_hangs_returns_at_once(service: LogService) -> None:
    """The request path only buffers: with the uploader stuck in a request, more events still go in."""
    service.release.clear()
    sink = OpaUploadSink(service.url, interval=0.1)
    decisions = _log(sink)
    _dry_runs(decisions, 1)
    assert service.arrived.wait(20)  # the uploader is inside its POST, waiting for an answer
    _dry_runs(decisions, 50)
    assert sink.pending == 51  # one in the upload under way, fifty buffered
    service.release.set()
    decisions.close()
    assert len(service.accepted()) == 51


# -- configuration ----------------------------------------------------------------------------------


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(home=tmp_path, **values)


def test_the_file_is_the_default_sink_and_a_url_chooses_http(tmp_path: Path) -> None:
    assert isinstance(make_sink(_settings(tmp_path)), FileSink)
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    sink = make_sink(
        _settings(
            tmp_path,
            decision_log_url="https://logs.example.org/opa",
            decision_log_token_file=token,
            decision_log_upload_size_limit_bytes=4096,
        )
    )
    assert isinstance(sink, OpaUploadSink)
    assert sink.endpoint == "https://logs.example.org/opa/logs" and sink.upload_size_limit_bytes == 4096
    sink.close()


@pytest.mark.parametrize(
    "values, message",
    [
        ({"decision_log_url": "ftp://logs.example.org"}, "http:// or https://"),
        ({"decision_log_url": "logs.example.org"}, "http:// or https://"),
        ({"decision_log_url": "https://user:pw@logs.example.org"}, "without credentials"),
        ({"decision_log_url": "https://logs.example.org/?token=x"}, "without credentials"),
        ({"decision_log_url": "http://h:port"}, "not a URL"),
        ({"decision_log_url": "http://h", "decision_log": "/tmp/d.jsonl"}, "not both"),
        ({"decision_log_token_file": "/tmp/token"}, "without FTGATE_DECISION_LOG_URL"),
        ({"decision_log_url": "http://logs.example.org", "decision_log_token_file": "/t"}, "needs an https"),
        ({"decision_log_url": "http://h", "decision_log_upload_interval": 0}, "greater than or equal"),
        ({"decision_log_url": "http://h", "decision_log_upload_size_limit_bytes": 10}, "greater than"),
        ({"decision_log_url": "http://h", "decision_log_buffer_size_limit_bytes": 1}, "greater than"),
    ],
)
def test_bad_decision_log_settings_are_refused_at_start(
    tmp_path: Path, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        _settings(tmp_path, **values)
    # What the CLI prints of it (`errors()[0]["msg"]`) never repeats a password.
    assert "pw@" not in caught.value.errors()[0]["msg"]


def test_an_unreadable_token_file_is_refused_at_start(tmp_path: Path) -> None:
    settings = _settings(tmp_path, decision_log_url="https://h", decision_log_token_file=tmp_path / "none")
    with pytest.raises(ConfigError, match="cannot read it"):
        make_sink(settings)
    (tmp_path / "empty").write_text("\n")
    settings = _settings(tmp_path, decision_log_url="https://h", decision_log_token_file=tmp_path / "empty")
    with pytest.raises(ConfigError, match="is empty"):
        make_sink(settings)
