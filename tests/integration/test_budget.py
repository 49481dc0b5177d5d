"""Cost before GPU time: each job's GPU-hours are estimated at submit and held to its team's monthly
budget and auto-approve limit, both policy data a compliance officer edits (no code)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ftgate_testing import Home, approved_dataset, submit

from gateway.api.app import create_app
from gateway.runtime import Runtime
from gateway.services.costs import FLOPS_PER_PARAMETER_TOKEN
from trainer.models import BaseModelRef, parameter_count


def set_team(policy_dir: Path, **settings: Any) -> None:
    """Edit the default team's settings in the policy data, as compliance would."""
    data_file = policy_dir / "ftgate" / "config" / "data.json"
    data = json.loads(data_file.read_text())
    data["teams"]["default"].update(settings)
    data_file.write_text(json.dumps(data, indent=2))


def dry_run_estimate(home: Home, dataset_id: str) -> dict[str, Any]:
    result = submit(home, dataset_id, "--dry-run")
    assert result["status"] == "allowed", result
    return result["estimate"]


def test_the_estimate_follows_the_model_size_and_the_planned_tokens(
    home: Home, tiny_model: BaseModelRef
) -> None:
    ds = approved_dataset(home)
    estimate = dry_run_estimate(home, ds["id"])
    # One step of one record of at most 64 tokens: the steps bound the tokens, not the data.
    assert estimate["tokens"] == 64
    assert estimate["parameters"] == parameter_count(tiny_model) > 1_000_000
    flops = FLOPS_PER_PARAMETER_TOKEN * estimate["parameters"] * 64
    assert estimate["gpu_hours"] == pytest.approx(flops / (400e12 * 3600))
    assert estimate["team_usage"]["gpu_hours"] == 0

    # Twice the steps, twice the cost; the data's size bounds it once the steps no longer do.
    doubled = submit(home, ds["id"], "--dry-run", "--max-steps", "2")["estimate"]
    assert doubled["gpu_hours"] == pytest.approx(2 * estimate["gpu_hours"])
    whole = submit(home, ds["id"], "--dry-run", "--max-steps", "2000", "--epochs", "1")["estimate"]
    assert whole["tokens"] <= ds["records"] * 64


def test_a_job_beyond_the_remaining_budget_is_refused_before_any_gpu_time(
    home: Home, policy_dir: Path
) -> None:
    ds = approved_dataset(home)
    cost = dry_run_estimate(home, ds["id"])["gpu_hours"]
    set_team(policy_dir, gpu_hours_per_month=1.5 * cost)

    first = submit(home, ds["id"])
    assert first["status"] == "queued"
    assert first["estimated_gpu_hours"] == pytest.approx(cost)

    refused = submit(home, ds["id"], ok=False)
    assert refused["error"]["code"] == "policy_denied"
    [reason] = refused["error"]["details"]["reasons"]
    assert reason["code"] == "BUDGET_EXCEEDED"
    assert 'team "default"' in reason["message"] and "GPU-hours left" in reason["message"]
    assert refused["error"]["details"]["estimate"]["team_usage"]["gpu_hours"] == pytest.approx(cost)

    # A queued job cancelled before any worker claimed it spent nothing: its budget comes back.
    home.cli("jobs", "cancel", first["id"], token=home.alice)
    assert submit(home, ds["id"])["status"] == "queued"


def test_a_job_above_the_auto_approve_limit_waits_for_review(home: Home, policy_dir: Path) -> None:
    ds = approved_dataset(home)
    cost = dry_run_estimate(home, ds["id"])["gpu_hours"]
    set_team(policy_dir, auto_approve_gpu_hours=cost / 2)
    job = submit(home, ds["id"])
    assert job["status"] == "pending_review"
    assert [r["code"] for r in job["decision"]["review"]] == ["ABOVE_AUTO_APPROVE_LIMIT"]
    signed = home.cli("jobs", "approve", job["id"], "--note", "worth it", token=home.bob)
    assert signed["status"] == "queued"


def test_budget_over_http(home: Home, policy_dir: Path) -> None:
    ds = approved_dataset(home)
    client = TestClient(create_app(runtime=Runtime(home.settings())))
    headers = {"Authorization": f"Bearer {home.alice}"}
    body = {"dataset_id": ds["id"], "base_model": "tiny-llama", "config": {"max_steps": 1, "max_seq_len": 64}}

    r = client.post("/v1/jobs", headers=headers, json={**body, "dry_run": True})
    assert r.status_code == 200, r.text
    cost = r.json()["estimate"]["gpu_hours"]
    assert cost > 0

    set_team(policy_dir, gpu_hours_per_month=cost / 2)
    r = client.post("/v1/jobs", headers=headers, json=body)
    assert r.status_code == 403, r.text
    problem = r.json()
    assert [reason["code"] for reason in problem["details"]["reasons"]] == ["BUDGET_EXCEEDED"]
