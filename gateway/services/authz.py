"""Every action asks the `ftgate.authz` policy; an engine failure is a deny."""

from __future__ import annotations

from gateway.errors import PermissionDenied
from gateway.models import User
from gateway.runtime import Runtime


def authorize(
    *,
    rt: Runtime,
    actor: User,
    action: str,
    resource_type: str,
    team: str | None = None,
    owner: str | None = None,
) -> None:
    """Raise PermissionDenied with the policy's reasons unless `actor` may do `action`."""
    decision = rt.policy.decide(
        "ftgate.authz",
        {
            "subject": {"name": actor.name, "role": actor.role.value, "team": actor.team},
            "action": action,
            "resource": {"type": resource_type, "team": team, "owner": owner},
        },
    )
    if not decision.allow:
        reasons = [r.model_dump() for r in decision.reasons]
        summary = "; ".join(r["message"] for r in reasons) or "denied"
        raise PermissionDenied(
            f"{actor.name} ({actor.role.value}) may not {action}: {summary}", details={"reasons": reasons}
        )
