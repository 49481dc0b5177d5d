# METADATA
# title: Authorisation
# description: >-
#   Who may do what. Five roles with separate duties: submitters upload data and submit jobs for
#   their own team; approvers review datasets, never their own; auditors read and verify; admins
#   manage users, tokens, models and the worker but neither approve data nor submit jobs; workers
#   claim and run approved jobs and do nothing else. Everyone but a worker may list, rotate and
#   revoke their own tokens.
#   Input: {"subject": {"name", "role", "team"}, "action", "resource": {"type", "team", "owner"}}.
package ftgate.authz

import data.ftgate.lib

# METADATA
# title: Decision
# description: What the gateway reads, an object with allow (boolean) and reasons (code and message, sorted).
# entrypoint: true
decision := lib.decision(allow, deny)

default allow := false

# METADATA
# title: Allow
# description: An action is allowed when no deny rule fires.
allow if count(deny) == 0

# METADATA
# title: Actions
# description: Every action the gateway asks about.
actions := {
	"users.add", "users.list", "users.disable", "users.enable",
	"tokens.list", "tokens.rotate", "tokens.revoke",
	"models.add", "models.list",
	"datasets.upload", "datasets.list", "datasets.read", "datasets.download",
	"datasets.approve", "datasets.reject", "datasets.revoke",
	"jobs.submit", "jobs.list", "jobs.read", "jobs.approve", "jobs.reject", "jobs.cancel",
	"worker.run",
	"adapters.list", "adapters.read", "adapters.release", "adapters.download",
	"audit.verify", "audit.export",
	"policy.replay",
}

# METADATA
# title: Grants
# description: >-
#   What each role may do, and on what: "any" resource; "own_team": the resource's team is the
#   subject's (list actions may leave it null, the gateway then filters by team); "not_owner": the
#   subject is not the resource's owner (four eyes); "self": the subject is the resource's owner (their
#   own tokens). Anything not listed is denied.
grants := {
	"submitter": {
		"tokens.list": "self",
		"tokens.rotate": "self",
		"tokens.revoke": "self",
		"datasets.upload": "own_team",
		"datasets.list": "own_team",
		"datasets.read": "own_team",
		"datasets.download": "own_team",
		"jobs.submit": "own_team",
		"jobs.cancel": "own_team",
		"jobs.list": "own_team",
		"jobs.read": "own_team",
		"adapters.list": "own_team",
		"adapters.read": "own_team",
		"adapters.download": "own_team",
		"models.list": "any",
	},
	"approver": {
		"tokens.list": "self",
		"tokens.rotate": "self",
		"tokens.revoke": "self",
		"datasets.approve": "not_owner",
		"datasets.reject": "not_owner",
		"jobs.approve": "not_owner",
		"jobs.reject": "not_owner",
		"adapters.release": "not_owner",
		"adapters.download": "any",
		"datasets.revoke": "any",
		"datasets.list": "any",
		"datasets.read": "any",
		"datasets.download": "any",
		"jobs.list": "any",
		"jobs.read": "any",
		"adapters.list": "any",
		"adapters.read": "any",
	},
	"auditor": {
		"tokens.list": "self",
		"tokens.rotate": "self",
		"tokens.revoke": "self",
		"users.list": "any",
		"models.list": "any",
		"datasets.list": "any",
		"datasets.read": "any",
		"jobs.list": "any",
		"jobs.read": "any",
		"adapters.list": "any",
		"adapters.read": "any",
		"audit.verify": "any",
		"audit.export": "any",
		"policy.replay": "any",
	},
	"admin": {
		"users.add": "any",
		"users.list": "any",
		"users.disable": "any",
		"users.enable": "any",
		"tokens.list": "any",
		"tokens.rotate": "any",
		"tokens.revoke": "any",
		"models.add": "any",
		"models.list": "any",
		"worker.run": "any",
		"jobs.cancel": "any",
		"datasets.revoke": "any",
		"datasets.list": "any",
		"datasets.read": "any",
		"jobs.list": "any",
		"jobs.read": "any",
		"adapters.list": "any",
		"adapters.read": "any",
		"audit.verify": "any",
		"audit.export": "any",
		"policy.replay": "any",
	},
	"worker": {"worker.run": "any"},
}

# METADATA
# title: Duties
# description: Each role's duties in words, for messages that explain a refusal.
duties := {
	"submitter": "submitters upload data and submit jobs for their own team and do not review data",
	"approver": "approvers review datasets and do not upload data or submit jobs",
	"auditor": "auditors read and verify and change nothing",
	"admin": "admins manage users, models and the worker and do not upload or approve data or submit jobs",
	"worker": "workers claim and run approved jobs and do nothing else",
}

# METADATA
# title: Required fields
# description: The input fields the rules read, with the types they must have.
required_fields := [
	{"path": ["subject", "name"], "types": {"string"}},
	{"path": ["subject", "role"], "types": {"string"}},
	{"path": ["subject", "team"], "types": {"string", "null"}},
	{"path": ["action"], "types": {"string"}},
	{"path": ["resource", "type"], "types": {"string"}},
	{"path": ["resource", "team"], "types": {"string", "null"}},
	{"path": ["resource", "owner"], "types": {"string", "null"}},
]

# METADATA
# title: Scope
# description: On what the subject's role may perform the action; undefined when it may not at all.
scope := grants[input.subject.role][input.action]

# METADATA
# title: Resource team
# description: The resource's team; null when the gateway names none (a list over all teams).
resource_team := object.get(input, ["resource", "team"], null)

# METADATA
# title: Resource owner
# description: Who owns (uploaded) the resource; null when the gateway names nobody.
resource_owner := object.get(input, ["resource", "owner"], null)

# METADATA
# title: Roles for
# description: The roles that grants lets perform action, sorted.
roles_for(all_grants, action) := sort([role | some role, granted in all_grants; granted[action]])

# METADATA
# title: Is list action
# description: List actions name no single resource; the gateway filters their results by team.
is_list_action(action) if endswith(action, ".list")

# METADATA
# title: Input invalid
# description: A field the rules below read is missing or of the wrong type; fail closed.
deny contains {"code": "INPUT_INVALID", "message": lib.input_error_message("input", input, field)} if {
	some field in lib.invalid_fields(input, required_fields)
}

# METADATA
# title: Unknown role
# description: The subject's role is none of the four ftgate knows.
deny contains {"code": "UNKNOWN_ROLE", "message": msg} if {
	is_string(input.subject.role)
	not input.subject.role in object.keys(grants)
	msg := sprintf(
		"user %q has role %q, which is unknown; ask an admin to give the account one of %s",
		[input.subject.name, input.subject.role, concat(", ", sort(object.keys(grants)))],
	)
}

# METADATA
# title: Unknown action
# description: The gateway asked about an action the policy does not know.
deny contains {"code": "UNKNOWN_ACTION", "message": msg} if {
	is_string(input.action)
	not input.action in actions
	msg := sprintf(
		"action %q is unknown to the policy; the gateway asked about an action it should not have, report it as a bug",
		[input.action],
	)
}

# METADATA
# title: Role not permitted
# description: The role may not perform the action at all (separation of duties).
deny contains {"code": "ROLE_NOT_PERMITTED", "message": msg} if {
	input.subject.role in object.keys(grants)
	input.action in actions
	not input.action in object.keys(grants[input.subject.role])
	msg := sprintf(
		"role %q may not perform %q (%s); ask a user with role %s",
		[
			input.subject.role, input.action, duties[input.subject.role],
			concat(" or ", roles_for(grants, input.action)),
		],
	)
}

# METADATA
# title: Other team
# description: A team-scoped action on a resource that belongs to another team.
deny contains {"code": "OTHER_TEAM", "message": msg} if {
	scope == "own_team"
	is_string(resource_team)
	resource_team != input.subject.team
	msg := sprintf(
		"user %q of team %q may %s only for their own team, and this %s belongs to team %q; ask a member of that team",
		[input.subject.name, input.subject.team, input.action, input.resource.type, resource_team],
	)
}

# METADATA
# title: Resource team unknown
# description: A team-scoped action on a single resource whose team the gateway did not say; fail closed.
deny contains {"code": "RESOURCE_TEAM_UNKNOWN", "message": msg} if {
	scope == "own_team"
	resource_team == null
	not is_list_action(input.action)
	msg := sprintf(
		"the gateway did not say which team the %s belongs to, so %q cannot be checked; report it as a bug",
		[input.resource.type, input.action],
	)
}

# METADATA
# title: Self approval
# description: Nobody approves or rejects a dataset they uploaded or a job they submitted (four eyes).
deny contains {"code": "SELF_APPROVAL", "message": msg} if {
	scope == "not_owner"
	resource_owner == input.subject.name
	msg := sprintf(concat(" ", [
		"user %q %s this %s and cannot %s it:",
		"it must be reviewed by someone else (four eyes); ask another approver",
	]), [
		input.subject.name, owner_verb[input.resource.type], input.resource.type,
		split(input.action, ".")[1],
	])
}

# METADATA
# title: Owner verb
# description: How the owner of each reviewable resource came to own it, for messages.
owner_verb := {"dataset": "uploaded", "job": "submitted", "adapter": "submitted the training job of"}

# METADATA
# title: Resource owner unknown
# description: Four eyes cannot be checked when the gateway did not say who owns the resource; fail closed.
deny contains {"code": "RESOURCE_OWNER_UNKNOWN", "message": msg} if {
	scope == "not_owner"
	resource_owner == null
	msg := sprintf(
		"the gateway did not say who owns the %s, so four eyes cannot be checked for %q; report it as a bug",
		[input.resource.type, input.action],
	)
}

# METADATA
# title: Not self
# description: An action on one's own things (tokens) asked about someone else's.
deny contains {"code": "NOT_SELF", "message": msg} if {
	scope == "self"
	resource_owner != input.subject.name
	msg := sprintf(
		"user %q may %s only for themselves, and this %s is %s; ask an admin",
		[input.subject.name, input.action, input.resource.type, owner_phrase(resource_owner)],
	)
}

# METADATA
# title: Owner phrase
# description: Whose a resource is, in words, for messages.
owner_phrase(owner) := sprintf("%q's", [owner]) if is_string(owner)

owner_phrase(owner) := "nobody's the gateway named" if not is_string(owner)
