"""The console at `/ui` (issue 13), through HTTP: sign-in and its cookie, CSRF, the CSP, each role's
pages, four eyes refused by the server, and the same refusals the API gives, as pages.

The real app on a real home (policies, database, audit log); the browser journeys are in
test_console_browser.py.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import Home, approved_dataset, audit_count, queued_job, submit, upload

from gateway.api.app import create_app
from gateway.runtime import Runtime
from gateway.ui import sessions

BASE = "http://127.0.0.1"  # loopback: the cookie is not Secure here (browsers treat it as secure)


def console(home: Home, token: str, base: str = BASE) -> TestClient:
    client = TestClient(create_app(runtime=Runtime(home.settings())), base_url=base, follow_redirects=False)
    r = client.post("/ui/login", data={"token": token, "next": "/ui/"})
    assert r.status_code == 303, r.text
    return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def test_sign_in_sets_a_strict_http_only_cookie_and_the_pages_carry_a_csp(home: Home) -> None:
    client = TestClient(create_app(runtime=Runtime(home.settings())), base_url=BASE, follow_redirects=False)
    r = client.get("/ui/queue")
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login?next=/ui/queue")
    page = client.get("/ui/login")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text  # no inline script anywhere
    bad = client.post("/ui/login", data={"token": "not-a-token"})
    assert bad.status_code == 401 and "token not recognised" in bad.text
    r = client.post("/ui/login", data={"token": home.bob, "next": "https://evil.example/"})
    assert r.status_code == 303 and r.headers["location"] == "/ui/"  # never an open redirect
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.COOKIE}=") and home.bob not in cookie
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/ui"} <= flags
    assert "secure" not in flags  # loopback
    assert client.get("/ui/").headers["location"] == "/ui/queue"  # an approver starts at the queue
    queue = client.get("/ui/queue")
    assert queue.status_code == 200 and "Review queue" in queue.text
    assert queue.headers["content-security-policy"].startswith("default-src 'self'")
    assert queue.headers["x-content-type-options"] == "nosniff"
    # Outside loopback the cookie is Secure.
    remote = TestClient(create_app(runtime=Runtime(home.settings())), base_url="https://ftgate.example")
    r = remote.post("/ui/login", data={"token": home.bob}, follow_redirects=False)
    assert "secure" in {p.strip().lower() for p in r.headers["set-cookie"].split(";")}


def test_a_forged_or_stale_cookie_is_no_session(home: Home) -> None:
    client = console(home, home.bob)
    value = client.cookies.get(sessions.COOKIE)
    assert value
    data, signature = value.split(".")
    forged = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    for bad in (f"{data}.{forged}", "x" * 5000, f"{data}.{signature}.x", ""):
        client.cookies.clear()
        client.cookies.set(sessions.COOKIE, bad)
        assert client.get("/ui/queue").status_code == 303  # to sign-in
    client.cookies.clear()
    client.cookies.set(sessions.COOKIE, value)
    assert client.get("/ui/queue").status_code == 200
    # A new token for bob (his old one revoked: `ftgate tokens rotate`) ends the sessions signed with the
    # old one; so does disabling him, until he is enabled again.
    home.cli("users", "disable", "bob", token=home.admin)
    assert client.get("/ui/queue").status_code == 303
    home.cli("users", "enable", "bob", token=home.admin)
    assert client.get("/ui/queue").status_code == 200
    home.cli("tokens", "rotate", "--user", "bob", token=home.admin)
    assert client.get("/ui/queue").status_code == 303


def test_every_form_needs_the_sessions_csrf_token(home: Home) -> None:
    ds = upload(home)
    client = console(home, home.bob)
    page = client.get(f"/ui/datasets/{ds['id']}")
    assert page.status_code == 200
    before = audit_count(home)
    for token in (None, "wrong", csrf_of(console(home, home.dave).get(f"/ui/datasets/{ds['id']}").text)):
        form: dict[str, Any] = {"verdict": "approved", "note": "looks fine"}
        if token is not None:
            form["csrf_token"] = token
        r = client.post(f"/ui/datasets/{ds['id']}/review", data=form)
        assert r.status_code == 403 and "CSRF" in r.text, r.text
    # A page of another site posting with the right token is refused too.
    r = client.post(
        f"/ui/datasets/{ds['id']}/review",
        data={"verdict": "approved", "note": "ok", "csrf_token": csrf_of(page.text)},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    assert audit_count(home) == before  # nothing happened
    assert home.cli("datasets", "show", ds["id"], token=home.bob)["status"] == "pending_review"


def test_four_eyes_the_page_says_why_and_the_server_refuses(home: Home) -> None:
    """The uploader on their own dataset's page: the review form is disabled with the policy's reason,
    and a hand-made POST is refused by the same policy, its denial on the record."""
    ds = upload(home)
    alice = console(home, home.alice)
    page = alice.get(f"/ui/datasets/{ds['id']}")
    assert page.status_code == 200
    assert re.search(r"<fieldset disabled", page.text) and "You may not review this dataset" in page.text
    assert "ROLE_NOT_PERMITTED" not in page.text and "may not perform" in page.text  # the reason, in words
    r = alice.post(
        f"/ui/datasets/{ds['id']}/review",
        data={"verdict": "approved", "note": "mine is fine", "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 403 and "Refused" in r.text and "ROLE_NOT_PERMITTED" in r.text
    assert home.cli("datasets", "show", ds["id"], token=home.bob)["status"] == "pending_review"
    log = console(home, home.carol).get("/ui/audit", params={"action": "policy.decided", "actor": "alice"})
    assert log.status_code == 200 and "datasets.approve" in log.text


def test_an_approver_reviews_a_confidential_dataset_one_of_two(home: Home) -> None:
    ds = upload(home, classification="confidential")
    bob = console(home, home.bob)
    queue = bob.get("/ui/queue")
    assert ds["id"] in queue.text and "confidential" in queue.text
    page = bob.get(f"/ui/datasets/{ds['id']}")
    assert "<svg" in page.text and "Values replaced, by entity type" in page.text  # the charts
    assert "<mark" in page.text  # placeholders highlighted in the samples
    assert "0 of 2" in page.text
    r = bob.post(
        f"/ui/datasets/{ds['id']}/review",
        data={"verdict": "approved", "note": "first look: fine", "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 303
    page = bob.get(r.headers["location"])
    assert "1 of 2" in page.text and "pending review" in page.text
    assert "You have reviewed this dataset already" in page.text
    assert ds["id"] not in bob.get("/ui/queue").text  # not waiting for bob any more
    dave = console(home, home.dave)
    page = dave.get(f"/ui/datasets/{ds['id']}")
    dave.post(
        f"/ui/datasets/{ds['id']}/review",
        data={"verdict": "approved", "note": "second pair of eyes", "csrf_token": csrf_of(page.text)},
    )
    assert home.cli("datasets", "show", ds["id"], token=home.bob)["status"] == "approved"


def test_a_rejected_content_is_announced_and_a_note_with_pii_is_refused(home: Home) -> None:
    first = upload(home)
    bob = console(home, home.bob)
    page = bob.get(f"/ui/datasets/{first['id']}")
    r = bob.post(
        f"/ui/datasets/{first['id']}/review",
        data={
            "verdict": "rejected",
            "note": "Call Maria Lopez at +44 20 7946 0958",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert r.status_code == 422 and "PHONE_NUMBER" in r.text  # nothing stored; the note is not echoed
    assert "+44 20 7946 0958" not in r.text.split("<textarea")[0]
    r = bob.post(
        f"/ui/datasets/{first['id']}/review",
        data={"verdict": "rejected", "note": "tickets quote card numbers", "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 303
    again = upload(home, name="chats again")
    page = console(home, home.dave).get(f"/ui/datasets/{again['id']}")
    assert "This content was rejected before" in page.text and "tickets quote card numbers" in page.text


@pytest.mark.parametrize(
    "who, path, text",
    [
        ("alice", "/ui/datasets", "Upload a dataset"),
        ("alice", "/ui/jobs", "Submit a job"),
        ("alice", "/ui/jobs/new", "Dry run"),
        ("carol", "/ui/audit", "Verify the whole log"),
        ("carol", "/ui/adapters", "Adapters"),
        ("admin", "/ui/admin", "Add a user"),
        ("carol", "/ui/audit/state", "Approvals and releases"),
    ],
)
def test_each_roles_pages_render(home: Home, who: str, path: str, text: str) -> None:
    r = console(home, getattr(home, who)).get(path)
    assert r.status_code == 200 and text in r.text, r.text[:2000]


def test_a_submitter_may_not_read_another_teams_dataset_or_the_log(home: Home) -> None:
    ds = upload(home)
    mallory = console(home, home.mallory)
    r = mallory.get(f"/ui/datasets/{ds['id']}")
    assert r.status_code == 403 and "Not allowed" in r.text
    r = mallory.get("/ui/audit")
    assert r.status_code == 200 and "Refused" in r.text  # the page, with the policy's reason
    assert mallory.get("/ui/datasets/ds_nothing").status_code == 404


def test_the_audit_log_filters_pages_and_verifies(home: Home) -> None:
    for i in range(3):
        upload(home, name=f"chats {i}")
    carol = console(home, home.carol)
    page = carol.get("/ui/audit", params={"action": "dataset.received"})
    assert page.status_code == 200 and page.text.count("<code>dataset.received</code>") == 3
    assert "<code>dataset.uploaded</code>" not in page.text
    r = carol.post(
        "/ui/audit/verify", data={"csrf_token": csrf_of(page.text)}, headers={"HX-Request": "true"}
    )
    assert r.status_code == 200 and "Verified" in r.text and "<html" not in r.text  # an htmx fragment
    checkpoint = carol.post("/ui/audit/checkpoint", data={"csrf_token": csrf_of(page.text)})
    note = re.search(r'<textarea id="note-text" rows="8" readonly>(.*?)</textarea>', checkpoint.text, re.S)
    assert note, checkpoint.text
    upload(home, name="one more")
    r = carol.post(
        "/ui/audit/verify",
        # As a browser sends a textarea back: CRLF line ends.
        data={
            "csrf_token": csrf_of(page.text),
            "checkpoint": html.unescape(note.group(1)).replace("\n", "\r\n"),
        },
    )
    assert "extends the checkpoint" in r.text
    state = carol.get("/ui/audit/state", params={"at": "2999-01-01T00:00:00Z"})
    assert state.status_code == 200 and "Datasets (4)" in state.text
    bad = carol.get("/ui/audit/state", params={"at": "yesterday"})
    assert bad.status_code == 200 and "not an ISO 8601 time" in bad.text
    # The same entries through the API, paged.
    api = TestClient(create_app(runtime=Runtime(home.settings())))
    first = api.get(
        "/v1/audit/entries", params={"limit": 2}, headers={"Authorization": f"Bearer {home.carol}"}
    )
    assert first.status_code == 200 and first.json()["count"] == 2 and first.json()["next"] == "2"
    rest = api.get(
        "/v1/audit/entries", params={"after": 2, "action": "dataset.received"},
        headers={"Authorization": f"Bearer {home.carol}"},
    )  # fmt: skip
    assert [e["action"] for e in rest.json()["data"]] == ["dataset.received"] * 4
    denied = api.get("/v1/audit/entries", headers={"Authorization": f"Bearer {home.alice}"})
    assert denied.status_code == 403


def test_an_upload_from_the_console_is_checked_before_the_scan(home: Home) -> None:
    alice = console(home, home.alice)
    form = alice.get("/ui/datasets/new")
    token = csrf_of(form.text)
    with open("examples/support_chats.jsonl", "rb") as f:
        refused = alice.post(
            "/ui/datasets",
            data={"csrf_token": token, "name": "chats", "purpose": "marketing", "classification": "internal",
                  "licence": "MIT"},
            files={"file": ("chats.jsonl", f, "application/x-ndjson")},
        )  # fmt: skip
    assert refused.status_code == 422 and "purpose" in refused.text.lower()
    assert home.cli("datasets", "list", token=home.alice)["count"] == 0  # nothing stored


def test_a_scanning_datasets_page_polls_its_events_alone_and_reloads_when_the_scan_ends(home: Home) -> None:
    received = home.cli(
        "datasets", "upload", "examples/support_chats.jsonl", "--name=chats", "--purpose=style",
        "--classification=internal", "--no-wait", token=home.alice,
    )  # fmt: skip
    assert received["status"] == "scanning"
    alice = console(home, home.alice)
    page = alice.get(f"/ui/datasets/{received['id']}")
    assert f'hx-get="/ui/datasets/{received["id"]}/progress"' in page.text
    events = alice.get(f"/ui/datasets/{received['id']}/progress", headers={"HX-Request": "true"})
    assert events.status_code == 200 and "received" in events.text and "<html" not in events.text
    assert "HX-Refresh" not in events.headers
    home.cli("worker", "--scan", "--once")  # a scan worker ends the scan
    ended = alice.get(f"/ui/datasets/{received['id']}/progress", headers={"HX-Request": "true"})
    assert ended.status_code == 200 and ended.headers["HX-Refresh"] == "true" and not ended.text
    assert "Scan report" in alice.get(f"/ui/datasets/{received['id']}").text
    # Another team's submitter reads no progress either.
    assert console(home, home.mallory).get(f"/ui/datasets/{received['id']}/progress").status_code == 403


def test_a_trained_jobs_page_shows_its_curve_evals_and_samples(home: Home) -> None:
    job_id = queued_job(home, "--max-steps", "2", "--max-seq-len", "64")
    home.cli("worker", "--once", token=home.admin)
    page = console(home, home.alice).get(f"/ui/jobs/{job_id}")
    assert page.status_code == 200, page.text[:3000]
    assert '<polyline points="' in page.text and "Eval loss after" in page.text
    assert "Sample generations" in page.text


def test_a_queued_jobs_page_renders_before_any_event(home: Home) -> None:
    job_id = queued_job(home)
    page = console(home, home.alice).get(f"/ui/jobs/{job_id}")
    assert page.status_code == 200 and "queued" in page.text and f"/ui/jobs/{job_id}/events" in page.text


def test_jobs_and_adapters_lists_filter_by_status_and_the_log_lists_from_the_cli(home: Home) -> None:
    """What the console's lists use, for everyone: `--status` on jobs and adapters, `audit log`."""
    job_id = queued_job(home)
    cli = home.cli
    assert [j["id"] for j in cli("jobs", "list", "--status", "queued", token=home.alice)["data"]] == [job_id]
    assert cli("jobs", "list", "--status", "running", token=home.alice)["count"] == 0
    assert cli("adapters", "list", "--status", "released", token=home.bob)["count"] == 0
    bad = cli("adapters", "list", "--status", "gone", token=home.bob, ok=False)
    assert bad["error"]["code"] == "invalid_input"
    api = TestClient(create_app(runtime=Runtime(home.settings())))
    r = api.get("/v1/jobs", params={"status": "queued"}, headers={"Authorization": f"Bearer {home.alice}"})
    assert r.status_code == 200 and [j["id"] for j in r.json()["data"]] == [job_id]
    r = api.get("/v1/adapters", params={"status": "gone"}, headers={"Authorization": f"Bearer {home.bob}"})
    assert r.status_code == 422
    log = cli("audit", "log", "--action", "job.submitted", token=home.carol)
    assert [e["subject"] for e in log["data"]] == [job_id] and log["data"][0]["payload"]["job_id"] == job_id
    first = cli("audit", "log", "--limit", "1", token=home.carol)
    assert first["count"] == 1 and first["next"] == "1"
    later = cli("audit", "log", "--since", "2999-01-01", token=home.carol)
    assert later["count"] == 0
    bad = cli("audit", "log", "--since", "yesterday", token=home.carol, ok=False)
    assert "since" in bad["error"]["message"]
    assert cli("audit", "log", token=home.alice, ok=False)["error"]["code"] == "forbidden"


def test_a_held_job_is_turned_down_in_the_console_and_its_submitter_reads_why(home: Home) -> None:
    ds = approved_dataset(home, classification="restricted")  # restricted data: every job is held
    job = submit(home, ds["id"])
    assert job["status"] == "pending_review"
    bob = console(home, home.bob)
    queue = bob.get("/ui/queue")
    assert job["id"] in queue.text
    page = bob.get(f"/ui/jobs/{job['id']}")
    assert "Sign-off" in page.text and "<fieldset disabled" not in page.text
    r = bob.post(
        f"/ui/jobs/{job['id']}/review",
        data={
            "verdict": "rejected",
            "note": "Too many steps for restricted data.",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert r.status_code == 303
    alice = console(home, home.alice)
    page = alice.get(f"/ui/jobs/{job['id']}")
    assert "rejected" in page.text and "Too many steps for restricted data." in page.text
    # The submitter's own held job: the sign-off form is closed to her, with the reason.
    other = submit(home, ds["id"])
    page = alice.get(f"/ui/jobs/{other['id']}")
    assert "<fieldset disabled" in page.text and "You may not sign off this job" in page.text


def test_the_dry_run_shows_what_is_left_of_the_teams_monthly_budget(home: Home) -> None:
    ds = approved_dataset(home)
    alice = console(home, home.alice)
    form = alice.get(f"/ui/jobs/new?dataset={ds['id']}")
    page = alice.post(
        "/ui/jobs",
        data={
            "dataset_id": ds["id"],
            "base_model": "tiny-llama",
            "max_steps": "2",
            "max_seq_len": "64",
            "action": "dry_run",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert page.status_code == 200 and "Dry run: allowed" in page.text
    # The shipped policy data gives alice's team 100 GPU-hours a month; nothing committed yet this month.
    found = re.search(r'<figcaption id="budget-title">(.*?)</figcaption>', page.text, re.S)
    caption = html.unescape(found[1]) if found else ""
    assert "of a monthly budget of 100: 100.000 left before this job" in caption, caption
    assert 'class="budget-end"' in page.text and 'class="job over"' not in page.text
    # The API's and the CLI's dry run carry the same fact.
    dry = home.cli(
        "jobs", "submit", "--dataset", ds["id"], "--base-model", "tiny-llama", "--dry-run", token=home.alice
    )
    assert dry["estimate"]["team_budget"]["gpu_hours_per_month"] == 100
    assert dry["estimate"]["team_budget"]["remaining"] == 100


def test_a_dataset_is_revoked_from_its_page(home: Home) -> None:
    ds = approved_dataset(home)
    bob = console(home, home.bob)
    page = bob.get(f"/ui/datasets/{ds['id']}")
    assert "Revoke the dataset" in page.text and "No adapter was trained on it" in page.text
    r = bob.post(
        f"/ui/datasets/{ds['id']}/revoke",
        data={"note": "consent withdrawn", "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 303
    assert home.cli("datasets", "show", ds["id"], token=home.bob)["status"] == "revoked"
    page = bob.get(r.headers["location"])
    assert "The dataset is revoked" in page.text and "Revoke the dataset" not in page.text


def test_an_admin_adds_a_user_and_a_base_model(home: Home, tiny_model: Any) -> None:
    admin = console(home, home.admin)
    page = admin.get("/ui/admin")
    r = admin.post(
        "/ui/admin/users",
        data={"name": "erin", "role": "auditor", "team": "audit", "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 201 and 'id="new-token"' in r.text
    token = re.search(r'id="new-token" readonly value="([^"]+)"', r.text)
    assert token and console(home, token.group(1)).get("/ui/").headers["location"] == "/ui/audit"
    r = admin.post(
        "/ui/admin/models",
        data={"name": "tiny-two", "path": str(tiny_model.path), "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 201 and "tiny-two" in r.text
    assert "tiny-two" in [m["name"] for m in home.cli("models", "list", token=home.alice)["data"]]
    r = admin.post(
        "/ui/admin/models", data={"name": "nothing", "path": "/no/such/dir", "csrf_token": csrf_of(page.text)}
    )
    assert r.status_code == 422 and "neither a GGUF file nor a Hugging Face model directory" in r.text
    # Not an admin: no form, and the server refuses.
    bob = console(home, home.bob)
    assert bob.get("/ui/admin").status_code == 403  # approvers list neither users nor models
    page = bob.get("/ui/queue")
    r = bob.post("/ui/admin/users", data={"name": "x", "role": "admin", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 403


def test_an_admin_disables_enables_and_gives_a_new_token(home: Home) -> None:
    admin = console(home, home.admin)
    page = admin.get("/ui/admin")
    assert page.status_code == 200 and 'aria-label="Disable alice"' in page.text
    csrf = csrf_of(page.text)
    alice = console(home, home.alice)
    r = admin.post("/ui/admin/users/alice/disable", data={"csrf_token": csrf})
    assert (
        r.status_code == 200 and "alice is now disabled" in r.text and 'aria-label="Enable alice"' in r.text
    )
    assert alice.get("/ui/datasets").status_code == 303  # her session ended with her account
    assert home.cli("datasets", "list", token=home.alice, ok=False)["error"]["code"] == "unauthenticated"
    r = admin.post("/ui/admin/users/alice/enable", data={"csrf_token": csrf})
    assert r.status_code == 200 and "alice is now active" in r.text
    r = admin.post("/ui/admin/users/alice/rotate", data={"csrf_token": csrf})
    new = re.search(r'id="new-token" readonly value="([^"]+)"', r.text)
    assert r.status_code == 200 and new and "1 old one(s) revoked" in r.text
    assert home.cli("datasets", "list", token=new.group(1))["count"] == 0
    assert home.cli("datasets", "list", token=home.alice, ok=False)["error"]["code"] == "unauthenticated"
    # The admin cannot lock themselves out; nobody else sees the buttons or may press them.
    r = admin.post("/ui/admin/users/admin/disable", data={"csrf_token": csrf})
    assert r.status_code == 409 and "yourself" in r.text
    carol = console(home, home.carol)
    page = carol.get("/ui/admin")
    assert page.status_code == 200 and "Disable" not in page.text
    r = carol.post("/ui/admin/users/bob/disable", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 403
