"""Repeated denials are counted, not logged one by one (issue 12, item 4).

One caller hammering an endpoint it may not use adds one decision and one log entry per minute and kind
of denial, and one `policy.denials_repeated` entry with the count once the minute has passed: every
denial is in the log, as itself or counted against its twin, and the log still verifies.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import col, select

from audit.models import AuditEntry
from gateway.api.app import create_app
from gateway.models import PolicyDecisionRecord, utcnow
from gateway.runtime import Runtime
from gateway.services.authz import close_denial_windows
from gateway.services.users import init_home
from gateway.settings import REPO_ROOT, Settings


def test_repeated_denials_are_counted_and_every_one_is_accounted_for(tmp_path: Path) -> None:
    rt = Runtime(Settings(home=tmp_path / "home", policy_dir=REPO_ROOT / "policies"))
    admin = {"Authorization": f"Bearer {init_home(rt=rt)['token']}"}
    client = TestClient(create_app(runtime=rt))
    tokens = {}
    for name, role in (("alice", "submitter"), ("carol", "auditor")):
        r = client.post("/v1/users", headers=admin, json={"name": name, "role": role, "team": "default"})
        tokens[name] = {"Authorization": f"Bearer {r.json()['token']}"}

    def counts() -> tuple[int, int]:
        with rt.session() as session:
            entries = session.exec(select(func.count()).select_from(AuditEntry)).one()
            denied = (
                select(func.count())
                .select_from(PolicyDecisionRecord)
                .where(col(PolicyDecisionRecord.allow).is_(False))
            )
            return entries, session.exec(denied).one()

    entries, denials = counts()
    answers = [client.get("/v1/users", headers=tokens["alice"]) for _ in range(40)]
    assert {r.status_code for r in answers} == {403}
    ids = {r.json()["details"]["decision_id"] for r in answers}
    assert len(ids) == 1  # the first decision stands for the repeats
    assert "repeated" not in answers[0].json()["details"]
    assert all(r.json()["details"]["repeated"] is True for r in answers[1:])
    # Another kind of denial (another action) is its own first.
    r = client.post("/v1/models", headers=tokens["alice"], json={"name": "m", "path": "/tmp"})
    assert r.status_code == 403 and r.json()["details"]["decision_id"] not in ids
    assert counts() == (entries + 2, denials + 2)  # 41 denials: two decisions, two entries so far

    # The minute passes: one entry counts the 39 repeats, and points at the decision they repeat.
    with rt.session() as session:
        assert close_denial_windows(session, now=utcnow() + timedelta(minutes=2)) == 1
    with rt.session() as session:
        last = session.exec(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()  # type: ignore[attr-defined]
    assert last is not None and last.action == "policy.denials_repeated"
    assert '"repeats":39' in last.payload.replace(" ", "") and ids.pop() in last.payload
    assert counts() == (entries + 3, denials + 2)
    verified = client.get("/v1/audit/verify", headers=tokens["carol"]).json()
    assert verified["status"] == "verified" and verified["entries"] == entries + 3
    rt.engine.dispose()
