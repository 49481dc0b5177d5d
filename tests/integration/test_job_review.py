"""Outcomes beyond allow and deny: warnings go through and are recorded; review holds the job."""

from __future__ import annotations

from fastapi.testclient import TestClient
from ftgate_testing import Home, approved_dataset, submit

from gateway.api.app import create_app
from gateway.runtime import Runtime


def test_warning_is_shown_and_recorded_and_the_job_runs(home: Home) -> None:
    ds = approved_dataset(home, "internal")
    job = submit(home, ds["id"], "--lr", "0.0009")
    assert job["status"] == "queued"
    assert [w["code"] for w in job["decision"]["warnings"]] == ["HIGH_LEARNING_RATE"]
    assert home.cli("worker", "--once", token=home.admin)["data"][0]["status"] == "succeeded"


def test_restricted_data_waits_for_a_reviewer_other_than_the_submitter(home: Home) -> None:
    ds = approved_dataset(home, "restricted")
    job = submit(home, ds["id"])
    assert job["status"] == "pending_review"
    assert [r["code"] for r in job["decision"]["review"]] == ["RESTRICTED_DATA"]
    assert [j["id"] for j in home.cli("jobs", "queue", token=home.bob)["data"]] == [job["id"]]

    # Nothing trains while the job waits.
    assert home.cli("worker", "--once", token=home.admin)["data"] == []

    # The submitter cannot sign off (role), nor can an approver without a note.
    assert (
        home.cli("jobs", "approve", job["id"], "--note", "mine", token=home.alice, ok=False)["error"]["code"]
        == "forbidden"
    )
    assert (
        home.cli("jobs", "approve", job["id"], "--note", " ", token=home.bob, ok=False)["error"]["code"]
        == "invalid_input"
    )

    signed = home.cli(
        "jobs", "approve", job["id"], "--note", "restricted data, small run: ok", token=home.bob
    )
    assert signed["status"] == "queued" and signed["reviewed_by"] == "bob"
    assert (
        home.cli("jobs", "approve", job["id"], "--note", "again", token=home.dave, ok=False)["error"]["code"]
        == "conflict"
    )
    [done] = home.cli("worker", "--once", token=home.admin)["data"]
    assert done["status"] == "succeeded", done


def test_rejected_review_never_trains(home: Home) -> None:
    ds = approved_dataset(home, "restricted")
    job = submit(home, ds["id"])
    rejected = home.cli("jobs", "reject", job["id"], "--note", "not this quarter", token=home.dave)
    assert rejected["status"] == "rejected"
    # The submitter sees why, on the job and in its events, without access to the audit log.
    shown = home.cli("jobs", "show", job["id"], token=home.alice)
    assert shown["status"] == "rejected" and shown["error"] == "rejected by dave: not this quarter"
    events = home.cli("jobs", "logs", job["id"], token=home.alice)["data"]
    assert [(e["kind"], e["data"]) for e in events] == [
        ("review_rejected", {"reviewer": "dave", "note": "not this quarter"})
    ]
    assert home.cli("worker", "--once", token=home.admin)["data"] == []
    assert home.cli("audit", "verify", token=home.carol)["status"] == "verified"


def test_a_submitter_lists_the_base_models_a_job_may_name(home: Home) -> None:
    models = home.cli("models", "list", token=home.alice)["data"]
    assert "tiny-llama" in {m["name"] for m in models}
    refused = home.cli("models", "add", "other", "/nowhere", token=home.alice, ok=False)
    assert refused["error"]["code"] == "forbidden"  # listing, not adding


def test_the_job_review_queue_over_http(home: Home) -> None:
    ds = approved_dataset(home, "restricted")
    held, other = submit(home, ds["id"]), submit(home, ds["id"])
    client = TestClient(create_app(runtime=Runtime(home.settings())))
    bob, alice = ({"Authorization": f"Bearer {t}"} for t in (home.bob, home.alice))
    r = client.get("/v1/jobs/queue", headers=bob)
    assert r.status_code == 200 and [j["id"] for j in r.json()["data"]] == [held["id"], other["id"]]
    r = client.post(f"/v1/jobs/{held['id']}/approve", headers=alice, json={"note": "mine, fine"})
    assert r.status_code == 403  # four eyes: never the submitter
    r = client.post(f"/v1/jobs/{held['id']}/approve", headers=bob, json={"note": "small run: ok"})
    assert r.status_code == 200 and r.json()["status"] == "queued"
    r = client.post(f"/v1/jobs/{other['id']}/reject", headers=bob, json={"note": "not this quarter"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    r = client.get(f"/v1/jobs/{other['id']}", headers=alice)
    assert r.json()["error"] == "rejected by bob: not this quarter"
    r = client.post(f"/v1/jobs/{other['id']}/approve", headers=bob, json={"note": "changed my mind"})
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    assert client.get("/v1/jobs/queue", headers=bob).json()["data"] == []
