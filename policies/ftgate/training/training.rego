# METADATA
# title: Training job admission
# description: >-
#   Decides whether a fine-tuning job may run: the dataset is approved, by enough people other than
#   its uploader and the submitter, for its current content; the base model is registered and
#   allowed for the team; every hyper-parameter is within the team's bounds; the estimated cost fits
#   the team's remaining monthly GPU-hour budget.
#   Input: {"subject", "dataset", "approvals", "base_model", "config", "estimate", "team_usage"};
#   estimate is the gateway's arithmetic (gateway/services/costs.py: tokens, parameters, gpu_hours),
#   team_usage the GPU-hours the team's jobs admitted this month have committed.
package ftgate.training

import data.ftgate.config
import data.ftgate.lib

# METADATA
# title: Decision
# description: >-
#   What the gateway reads: allow (boolean), reasons to deny, warnings (the job goes through and
#   they are recorded and shown) and review (the job waits for an approver's sign-off), each a
#   sorted list of code and message.
# entrypoint: true
decision := lib.decision_with_outcomes(allow, deny, warn, review)

default allow := false

# METADATA
# title: Allow
# description: A job may run when no deny rule fires.
allow if count(deny) == 0

# METADATA
# title: Required fields
# description: The input fields the rules read, with the types they must have.
required_fields := [
	{"path": ["subject", "name"], "types": {"string"}},
	{"path": ["subject", "team"], "types": {"string"}},
	{"path": ["dataset", "name"], "types": {"string"}},
	{"path": ["dataset", "team"], "types": {"string"}},
	{"path": ["dataset", "uploader"], "types": {"string"}},
	{"path": ["dataset", "status"], "types": {"string"}},
	{"path": ["dataset", "classification"], "types": {"string"}},
	{"path": ["dataset", "redacted_sha256"], "types": {"string"}},
	{"path": ["approvals"], "types": {"array"}},
	{"path": ["base_model", "name"], "types": {"string"}},
	{"path": ["base_model", "registered"], "types": {"boolean"}},
	{"path": ["config", "seed"], "types": {"number"}},
	{"path": ["estimate", "tokens"], "types": {"number"}},
	{"path": ["estimate", "gpu_hours"], "types": {"number", "null"}},
	{"path": ["team_usage", "month"], "types": {"string"}},
	{"path": ["team_usage", "gpu_hours"], "types": {"number"}},
]

# METADATA
# title: Approval fields
# description: The approval fields the rules read, with the types they must have.
approval_fields := [
	{"path": ["approver"], "types": {"string"}},
	{"path": ["verdict"], "types": {"string"}},
	{"path": ["redacted_sha256"], "types": {"string"}},
]

# METADATA
# title: Verdicts
# description: The verdicts an approval may carry.
verdicts := {"approved", "rejected"}

# METADATA
# title: Team
# description: The submitter's team settings, its bounds and base models; teams not listed get "default".
team := lib.team_settings(config.teams, input.subject.team)

# METADATA
# title: Conflicted
# description: Whose approval does not count; four eyes means neither the uploader nor the submitter.
conflicted := {input.dataset.uploader, input.subject.name}

# METADATA
# title: Current approvers
# description: The distinct people whose approval counts for the dataset's current content.
current_approvers := valid_approvers(input.approvals, input.dataset.redacted_sha256, conflicted)

# METADATA
# title: Required approvals
# description: How many approvers the dataset's classification needs.
required_approvals := config.classifications[input.dataset.classification].approvals_required

# METADATA
# title: Approvals short
# description: Fewer approvals count than the classification needs.
approvals_short if count(current_approvers) < required_approvals

# METADATA
# title: Conflict role
# description: Why person's approval is a self-approval, in words for a message.
conflict_role(person, uploader) := "uploaded the dataset" if person == uploader

conflict_role(person, uploader) := "submits this job" if person != uploader

# METADATA
# title: Short
# description: >-
#   The first 12 hex digits of a digest: enough to tell two contents apart, short enough to read.
short(sha256) := substring(sha256, 0, 12)

# METADATA
# title: Valid approvers
# description: >-
#   The distinct people who approved the content with digest sha256 and are not in excluded.
valid_approvers(approvals, sha256, excluded) := {approval.approver |
	some approval in approvals
	approval.verdict == "approved"
	approval.redacted_sha256 == sha256
	not approval.approver in excluded
	not expired(approval, config.approval_max_age_days)
}

# METADATA
# title: Expired
# description: >-
#   An approval older than max_days no longer counts. The gateway sends each approval's age in
#   days (age_days), so a stored decision replays the same later; an approval without one is fresh.
expired(approval, max_days) if object.get(approval, "age_days", 0) > max_days

# METADATA
# title: Outside
# description: Whether value lies outside the closed interval bounds ([low, high]).
outside(value, bounds) if value < bounds[0]

outside(value, bounds) if value > bounds[1]

# METADATA
# title: Input invalid
# description: >-
#   A field the rules below read is missing or of the wrong type. Without this a missing field
#   would leave a deny rule undefined and the job allowed; instead it fails closed.
deny contains {"code": "INPUT_INVALID", "message": lib.input_error_message("input", input, field)} if {
	some field in lib.invalid_fields(input, required_fields)
}

# METADATA
# title: Approval invalid
# description: An approval lacks a field or has one of the wrong type; fail closed.
deny contains {"code": "INPUT_INVALID", "message": msg} if {
	some i, approval in input.approvals
	some field in lib.invalid_fields(approval, approval_fields)
	msg := lib.input_error_message(sprintf("input.approvals[%d]", [i]), approval, field)
}

# METADATA
# title: Verdict unknown
# description: An approval's verdict is neither approved nor rejected; fail closed.
deny contains {"code": "INPUT_INVALID", "message": msg} if {
	some i, approval in input.approvals
	is_string(approval.verdict)
	not approval.verdict in verdicts
	msg := sprintf(
		"input.approvals[%d].verdict is %q, not one of %s; the gateway sent a malformed request, report it as a bug",
		[i, approval.verdict, concat(", ", sort(verdicts))],
	)
}

# METADATA
# title: Hyper-parameter invalid
# description: A bounded hyper-parameter is missing or not a number; fail closed.
deny contains {"code": "INPUT_INVALID", "message": msg} if {
	some field, _ in team.bounds
	value := object.get(input, ["config", field], null)
	not is_number(value)
	msg := sprintf(
		"input.config.%s must be number but is %s; the gateway sent a malformed request, report it as a bug",
		[field, type_name(value)],
	)
}

# METADATA
# title: Team mismatch
# description: Only members of the dataset's team may train on it.
deny contains {"code": "TEAM_MISMATCH", "message": msg} if {
	is_string(input.dataset.team)
	input.subject.team != input.dataset.team
	msg := sprintf(
		"user %q of team %q cannot train on dataset %q of team %q; ask a member of that team to submit the job",
		[input.subject.name, input.subject.team, input.dataset.name, input.dataset.team],
	)
}

# METADATA
# title: Dataset not approved
# description: Only a dataset whose status is "approved" can be trained on.
deny contains {"code": "DATASET_NOT_APPROVED", "message": msg} if {
	is_string(input.dataset.status)
	input.dataset.status != "approved"
	msg := sprintf(
		"dataset %q has status %q; only approved datasets can be trained on, ask an approver to review it",
		[input.dataset.name, input.dataset.status],
	)
}

# METADATA
# title: Classification unknown
# description: The classification says how many approvals are needed, so it must be known.
deny contains {"code": "CLASSIFICATION_UNKNOWN", "message": msg} if {
	is_string(input.dataset.classification)
	not input.dataset.classification in object.keys(config.classifications)
	msg := sprintf(
		"dataset %q has classification %q, which is unknown; re-upload it with one of %s",
		[input.dataset.name, input.dataset.classification, concat(", ", sort(object.keys(config.classifications)))],
	)
}

# METADATA
# title: Approvals missing
# description: >-
#   Fewer distinct people approved the dataset's current content than its classification needs.
#   Only approvals of the current redacted_sha256 by someone other than the uploader and the
#   submitter count; the two reasons below say why an approval did not.
deny contains {"code": "APPROVALS_MISSING", "message": msg} if {
	approvals_short
	msg := sprintf(concat(" ", [
		"dataset %q is classified %q and needs %d approval(s) of its current content (sha256 %s)",
		"by someone other than its uploader %q and the submitter %q; it has %d, ask an approver to review it",
	]), [
		input.dataset.name, input.dataset.classification, required_approvals, short(input.dataset.redacted_sha256),
		input.dataset.uploader, input.subject.name, count(current_approvers),
	])
}

# METADATA
# title: Approval hash mismatch
# description: >-
#   An approval was given for other content than the dataset has now, so it does not count.
#   Reported only while approvals are missing: a stale approval does not block on its own.
deny contains {"code": "APPROVAL_HASH_MISMATCH", "message": msg} if {
	approvals_short
	some approval in input.approvals
	approval.verdict == "approved"
	is_string(approval.redacted_sha256)
	approval.redacted_sha256 != input.dataset.redacted_sha256
	msg := sprintf(concat(" ", [
		"the approval by %q was given for content sha256 %s but dataset %q now has sha256 %s;",
		"it does not count, ask for a review of the current content",
	]), [approval.approver, short(approval.redacted_sha256), input.dataset.name, short(input.dataset.redacted_sha256)])
}

# METADATA
# title: Self approval
# description: >-
#   The uploader or the submitter approved the dataset; four eyes means that does not count.
#   Reported only while approvals are missing.
deny contains {"code": "SELF_APPROVAL", "message": msg} if {
	approvals_short
	some approval in input.approvals
	approval.verdict == "approved"
	approval.approver in conflicted
	msg := sprintf(
		"the approval by %q does not count: %q %s, and a dataset must be approved by someone else (four eyes)",
		[approval.approver, approval.approver, conflict_role(approval.approver, input.dataset.uploader)],
	)
}

# METADATA
# title: Approval expired
# description: An approval is older than approval_max_age_days, so it does not count; reported while approvals are missing.
deny contains {"code": "APPROVAL_EXPIRED", "message": msg} if {
	approvals_short
	some approval in input.approvals
	approval.verdict == "approved"
	expired(approval, config.approval_max_age_days)
	msg := sprintf(
		"the approval by %q is %v days old, older than the %v days an approval stands; ask for a fresh review",
		[approval.approver, approval.age_days, config.approval_max_age_days],
	)
}

# METADATA
# title: Dataset rejected
# description: Someone rejected the dataset's current content; a rejection always blocks.
deny contains {"code": "DATASET_REJECTED", "message": msg} if {
	some approval in input.approvals
	approval.verdict == "rejected"
	approval.redacted_sha256 == input.dataset.redacted_sha256
	msg := sprintf(
		"dataset %q was rejected by %q for its current content; address the rejection and upload a corrected dataset",
		[input.dataset.name, approval.approver],
	)
}

# METADATA
# title: Base model not registered
# description: Only registered base models, whose weights digest is on record, can be trained.
deny contains {"code": "BASE_MODEL_NOT_REGISTERED", "message": msg} if {
	input.base_model.registered == false
	msg := sprintf(
		"base model %q is not registered; ask an admin to register it (with its weights digest) first",
		[input.base_model.name],
	)
}

# METADATA
# title: Base model not allowed
# description: The base model is not on the allow-list of the submitter's team.
deny contains {"code": "BASE_MODEL_NOT_ALLOWED", "message": msg} if {
	is_string(input.base_model.name)
	not input.base_model.name in team.base_models
	msg := sprintf(
		"base model %q is not allowed for team %q; use one of %s",
		[input.base_model.name, input.subject.team, concat(", ", sort(team.base_models))],
	)
}

# METADATA
# title: Hyper-parameter out of bounds
# description: One reason per config field outside the submitter's team bounds.
deny contains {"code": "HYPERPARAMETER_OUT_OF_BOUNDS", "message": msg} if {
	some field, bounds in team.bounds
	value := input.config[field]
	is_number(value)
	outside(value, bounds)
	msg := sprintf(
		"config.%s is %v, outside the bounds [%v, %v] for team %q; choose a value within them",
		[field, value, bounds[0], bounds[1], input.subject.team],
	)
}

# METADATA
# title: Cost unknown
# description: >-
#   The gateway could not estimate the job's GPU-hours (the base model's size is unknown), so it
#   cannot be held to a budget; fail closed.
deny contains {"code": "COST_UNKNOWN", "message": msg} if {
	input.estimate.gpu_hours == null
	msg := sprintf(
		"the cost of training %q cannot be estimated because its parameter count is unknown; ask an admin to re-register the model",
		[input.base_model.name],
	)
}

# METADATA
# title: Budget exceeded
# description: >-
#   The estimated GPU-hours would take the team past its monthly budget (gpu_hours_per_month),
#   counting what its jobs admitted this month have already committed.
deny contains {"code": "BUDGET_EXCEEDED", "message": msg} if {
	is_number(input.estimate.gpu_hours)
	is_number(input.team_usage.gpu_hours)
	remaining := team.gpu_hours_per_month - input.team_usage.gpu_hours
	input.estimate.gpu_hours > remaining
	msg := sprintf(
		"the job is estimated at %v GPU-hours (%d tokens on a %d-parameter model) but team %q has %v of its %v GPU-hours left for %s; lower max_steps, epochs or max_seq_len, or ask for a larger budget",
		[
			input.estimate.gpu_hours, input.estimate.tokens, input.base_model.parameters, input.subject.team,
			max([round(remaining * 1000) / 1000, 0]), team.gpu_hours_per_month, input.team_usage.month,
		],
	)
}

# METADATA
# title: Budget
# description: >-
#   The team's monthly GPU-hour budget and what its jobs admitted this month leave of it, before this
#   job: a fact the submit form shows beside the decision (it decides nothing).
budget := {
	"gpu_hours_per_month": team.gpu_hours_per_month,
	"remaining": max([team.gpu_hours_per_month - input.team_usage.gpu_hours, 0]),
	"month": input.team_usage.month,
} if {
	is_number(team.gpu_hours_per_month)
	is_number(input.team_usage.gpu_hours)
}

# METADATA
# title: Restricted data needs review
# description: Training on data of a classification listed in review_classifications waits for sign-off.
review contains {"code": "RESTRICTED_DATA", "message": msg} if {
	input.dataset.classification in config.review_classifications
	msg := sprintf(
		"dataset %q is classified %q: the job waits until an approver other than %q signs it off (ftgate jobs approve)",
		[input.dataset.name, input.dataset.classification, input.subject.name],
	)
}

# METADATA
# title: Costly job needs review
# description: A job estimated above the team's auto-approve limit in GPU-hours waits for sign-off.
review contains {"code": "ABOVE_AUTO_APPROVE_LIMIT", "message": msg} if {
	is_number(input.estimate.gpu_hours)
	input.estimate.gpu_hours > team.auto_approve_gpu_hours
	msg := sprintf(
		"the job is estimated at %v GPU-hours, above team %q's auto-approve limit of %v; it waits for an approver's sign-off",
		[input.estimate.gpu_hours, input.subject.team, team.auto_approve_gpu_hours],
	)
}

# METADATA
# title: High learning rate
# description: A learning rate above the team's warning level is allowed but flagged.
warn contains {"code": "HIGH_LEARNING_RATE", "message": msg} if {
	is_number(input.config.learning_rate)
	input.config.learning_rate > team.warn_learning_rate
	msg := sprintf(
		"learning_rate %v is above %v, where LoRA runs often diverge; watch the loss in ftgate jobs logs",
		[input.config.learning_rate, team.warn_learning_rate],
	)
}
