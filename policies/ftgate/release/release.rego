# METADATA
# title: Adapter release and download
# description: >-
#   Decides whether a trained adapter may be marked released, or downloaded once released: its
#   lineage is complete in the verified audit log, its files and signature check out, and the
#   approval of the data it was trained on still stands (enough approvers other than the uploader
#   and the submitter, for the very content trained on, none expired, the dataset not revoked or
#   rejected). The gateway builds every fact below from the verified log, not from its tables.
#   Input: {
#     "action": "release" | "download",
#     "subject": {"name", "role", "team"},
#     "adapter": {"id", "status": "registered" | "quarantined" | "released",
#                 "files_match": bool, "files_problem": string | null,
#                 "signature_verified": bool, "signature_problem": string | null},
#     "lineage": {"dataset_uploaded", "dataset_scanned", "job_submitted", "job_verified",
#                 "adapter_registered", "adapter_signed": bool each,
#                 "training_decision": {"decision_id", "allow", "bundle_sha256"} | null,
#                 "submitter": string | null, "trained_on_sha256": string | null},
#     "dataset": {"id", "name", "uploader": string | null, "classification": string | null,
#                 "redacted_sha256": string | null, "revoked": bool},
#     "approvals": [{"approver", "verdict", "redacted_sha256", "age_days"}]}.
package ftgate.release

import data.ftgate.config
import data.ftgate.lib

# METADATA
# title: Decision
# description: What the gateway reads, an object with allow (boolean) and reasons (code and message, sorted).
# entrypoint: true
decision := lib.decision(allow, deny)

default allow := false

# METADATA
# title: Allow
# description: An adapter may be released or downloaded when no deny rule fires.
allow if count(deny) == 0

# METADATA
# title: Actions
# description: What the gateway may ask about an adapter.
actions := {"release", "download"}

# METADATA
# title: Statuses
# description: The statuses an adapter can have.
statuses := {"registered", "quarantined", "released"}

# METADATA
# title: Links
# description: >-
#   The links of the chain the audit log must hold, each with the words a message names it by.
#   Approvals and the training decision are checked by their own rules below.
links := {
	"dataset_uploaded": "the dataset upload (dataset.uploaded)",
	"dataset_scanned": "the PII scan report of the upload",
	"job_submitted": "the training job's submission (job.submitted)",
	"job_verified": "the worker's hash and policy check before training (job.verified)",
	"adapter_registered": "the adapter's registration with its file digests (adapter.registered)",
	"adapter_signed": "the adapter's model-signing signature (adapter.signed)",
}

# METADATA
# title: Required fields
# description: The input fields the rules read, with the types they must have.
required_fields := [
	{"path": ["action"], "types": {"string"}},
	{"path": ["subject", "name"], "types": {"string"}},
	{"path": ["adapter", "id"], "types": {"string"}},
	{"path": ["adapter", "status"], "types": {"string"}},
	{"path": ["adapter", "files_match"], "types": {"boolean"}},
	{"path": ["adapter", "signature_verified"], "types": {"boolean"}},
	{"path": ["lineage", "training_decision"], "types": {"object", "null"}},
	{"path": ["lineage", "submitter"], "types": {"string", "null"}},
	{"path": ["lineage", "trained_on_sha256"], "types": {"string", "null"}},
	{"path": ["dataset", "id"], "types": {"string"}},
	{"path": ["dataset", "name"], "types": {"string"}},
	{"path": ["dataset", "uploader"], "types": {"string", "null"}},
	{"path": ["dataset", "classification"], "types": {"string", "null"}},
	{"path": ["dataset", "redacted_sha256"], "types": {"string", "null"}},
	{"path": ["dataset", "revoked"], "types": {"boolean"}},
	{"path": ["approvals"], "types": {"array"}},
]

# METADATA
# title: Link fields
# description: Every link is a boolean; a missing one fails closed rather than reading as present.
link_fields := [{"path": ["lineage", name], "types": {"boolean"}} | some name, _ in links]

# METADATA
# title: Approval fields
# description: The approval fields the rules read, with the types they must have.
approval_fields := [
	{"path": ["approver"], "types": {"string"}},
	{"path": ["verdict"], "types": {"string"}},
	{"path": ["redacted_sha256"], "types": {"string"}},
	{"path": ["age_days"], "types": {"number"}},
]

# METADATA
# title: Conflicted
# description: Whose approval does not count, the dataset's uploader and the job's submitter (four eyes).
conflicted := {person | some person in [input.dataset.uploader, input.lineage.submitter]; is_string(person)}

# METADATA
# title: Required approvals
# description: How many approvers the dataset's classification needs; undefined for an unknown one.
required_approvals := config.classifications[input.dataset.classification].approvals_required

# METADATA
# title: Approvers
# description: >-
#   The distinct people who approved content sha256 and are not in excluded; with fresh_only, only
#   those whose approval is no older than max_days.
approvers(approvals, sha256, excluded, max_days, fresh_only) := {approval.approver |
	some approval in approvals
	approval.verdict == "approved"
	approval.redacted_sha256 == sha256
	not approval.approver in excluded
	not stale(approval, max_days, fresh_only)
}

# METADATA
# title: Stale
# description: An approval that is too old, when only fresh ones count.
stale(approval, max_days, fresh_only) if {
	fresh_only == true
	approval.age_days > max_days
}

# METADATA
# title: Given approvers
# description: Everyone whose approval of the trained content counts, however old it is.
given_approvers := approvers(
	input.approvals, input.lineage.trained_on_sha256, conflicted,
	config.approval_max_age_days, false,
)

# METADATA
# title: Standing approvers
# description: Everyone whose approval of the trained content counts and has not expired.
standing_approvers := approvers(
	input.approvals, input.lineage.trained_on_sha256, conflicted,
	config.approval_max_age_days, true,
)

# METADATA
# title: Short
# description: The first 12 hex digits of a digest, for messages; "none" when there is none.
short(sha256) := substring(sha256, 0, 12) if is_string(sha256)

short(sha256) := "none" if not is_string(sha256)

# METADATA
# title: Input invalid
# description: >-
#   A field the rules below read is missing or of the wrong type. Without this a missing field
#   would leave a deny rule undefined and the adapter released; instead it fails closed.
deny contains {"code": "INPUT_INVALID", "message": lib.input_error_message("input", input, field)} if {
	some field in lib.invalid_fields(input, array.concat(required_fields, link_fields))
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
# title: Status unknown
# description: The adapter's status is none this policy knows; fail closed.
deny contains {"code": "INPUT_INVALID", "message": msg} if {
	is_string(input.adapter.status)
	not input.adapter.status in statuses
	msg := sprintf(
		"input.adapter.status is %q, not one of %s; the gateway sent a malformed request, report it as a bug",
		[input.adapter.status, concat(", ", sort(statuses))],
	)
}

# METADATA
# title: Unknown action
# description: The gateway asked about something other than release or download.
deny contains {"code": "UNKNOWN_ACTION", "message": msg} if {
	is_string(input.action)
	not input.action in actions
	msg := sprintf(
		"action %q is unknown to the release policy (it knows %s); report it as a bug",
		[input.action, concat(", ", sort(actions))],
	)
}

# METADATA
# title: Adapter quarantined
# description: The adapter's data was revoked; a quarantined adapter is neither released nor handed out.
deny contains {"code": "ADAPTER_QUARANTINED", "message": msg} if {
	input.adapter.status == "quarantined"
	msg := sprintf(
		"adapter %s is quarantined because dataset %q it was trained on was revoked; it cannot be %s",
		[input.adapter.id, input.dataset.name, past_participle(input.action)],
	)
}

# METADATA
# title: Past participle
# description: The action in words for messages ("released", "downloaded").
past_participle(action) := "released" if action == "release"

past_participle(action) := "downloaded" if action != "release"

# METADATA
# title: Already released
# description: Releasing is done once; a second release would log a second approval of the same thing.
deny contains {"code": "ALREADY_RELEASED", "message": msg} if {
	input.action == "release"
	input.adapter.status == "released"
	msg := sprintf("adapter %s is already released; download it with ftgate adapters download", [input.adapter.id])
}

# METADATA
# title: Not released
# description: Only a released adapter leaves the gateway.
deny contains {"code": "NOT_RELEASED", "message": msg} if {
	input.action == "download"
	input.adapter.status == "registered"
	msg := sprintf(
		"adapter %s has not been released; ask an approver other than its submitter to release it first",
		[input.adapter.id],
	)
}

# METADATA
# title: Self release
# description: >-
#   The person who uploaded the data or submitted the job does not release its adapter (four eyes).
#   The authz policy checks the submitter too; this holds even if a role changed since.
deny contains {"code": "SELF_RELEASE", "message": msg} if {
	input.action == "release"
	input.subject.name in conflicted
	msg := sprintf(
		"user %q uploaded the data or submitted the job of adapter %s and cannot release it; ask another approver",
		[input.subject.name, input.adapter.id],
	)
}

# METADATA
# title: Lineage link missing
# description: A link of the chain from data to adapter is not in the verified audit log.
deny contains {"code": "LINEAGE_INCOMPLETE", "message": msg} if {
	some name, words in links
	input.lineage[name] == false
	msg := sprintf(
		"lineage of adapter %s is incomplete: the audit log has no record of %s",
		[input.adapter.id, words],
	)
}

# METADATA
# title: Training decision missing
# description: The log names no policy decision that admitted the training job.
deny contains {"code": "LINEAGE_INCOMPLETE", "message": msg} if {
	input.lineage.training_decision == null
	msg := sprintf(
		"lineage of adapter %s is incomplete: the audit log has no ftgate.training decision for its job",
		[input.adapter.id],
	)
}

# METADATA
# title: Training not allowed
# description: The recorded training decision did not allow the job, or names no policy bundle.
deny contains {"code": "LINEAGE_INCOMPLETE", "message": msg} if {
	d := input.lineage.training_decision
	is_object(d)
	not training_admitted(d)
	msg := sprintf(
		"lineage of adapter %s is incomplete: training decision %v did not allow the job under a named policy bundle",
		[input.adapter.id, object.get(d, "decision_id", null)],
	)
}

# METADATA
# title: Training admitted
# description: A decision that allowed the job and names the bundle that decided it.
training_admitted(d) if {
	d.allow == true
	is_string(d.bundle_sha256)
	d.bundle_sha256 != ""
}

# METADATA
# title: Approvals missing
# description: >-
#   Fewer distinct people than the classification needs ever approved the content the job trained
#   on, leaving out the uploader and the submitter.
deny contains {"code": "LINEAGE_INCOMPLETE", "message": msg} if {
	count(given_approvers) < required_approvals
	msg := sprintf(concat(" ", [
		"lineage of adapter %s is incomplete: dataset %q is classified %q and needs %d approval(s) of the",
		"content trained on (sha256 %s) by someone other than its uploader and the job's submitter; the log holds %d",
	]), [
		input.adapter.id, input.dataset.name, input.dataset.classification, required_approvals,
		short(input.lineage.trained_on_sha256), count(given_approvers),
	])
}

# METADATA
# title: Classification unknown
# description: Without a known classification the approvals needed cannot be counted; fail closed.
deny contains {"code": "LINEAGE_INCOMPLETE", "message": msg} if {
	not input.dataset.classification in object.keys(config.classifications)
	msg := sprintf(
		"lineage of adapter %s is incomplete: dataset %q has classification %v, so its approvals cannot be counted",
		[input.adapter.id, input.dataset.name, input.dataset.classification],
	)
}

# METADATA
# title: Approval expired
# description: >-
#   Enough approvals were given, but too many are older than approval_max_age_days: the approval no
#   longer stands.
deny contains {"code": "APPROVAL_EXPIRED", "message": msg} if {
	count(given_approvers) >= required_approvals
	count(standing_approvers) < required_approvals
	msg := sprintf(concat(" ", [
		"the approval of dataset %q has expired: %d of the %d approval(s) it needs are younger than %v days;",
		"ask for a fresh review of the data before adapter %s is %s",
	]), [
		input.dataset.name, count(standing_approvers), required_approvals,
		config.approval_max_age_days, input.adapter.id, past_participle(input.action),
	])
}

# METADATA
# title: Approval revoked
# description: The dataset was revoked, so its approval no longer stands, whatever the adapter's status says.
deny contains {"code": "APPROVAL_REVOKED", "message": msg} if {
	input.dataset.revoked == true
	msg := sprintf(
		"dataset %q was revoked, so adapter %s trained on it cannot be %s",
		[input.dataset.name, input.adapter.id, past_participle(input.action)],
	)
}

# METADATA
# title: Dataset rejected
# description: Someone rejected the content the job trained on; a rejection withdraws the approval.
deny contains {"code": "DATASET_REJECTED", "message": msg} if {
	some approval in input.approvals
	approval.verdict == "rejected"
	approval.redacted_sha256 == input.lineage.trained_on_sha256
	msg := sprintf(
		"dataset %q was rejected by %q for the content adapter %s was trained on; it cannot be %s",
		[input.dataset.name, approval.approver, input.adapter.id, past_participle(input.action)],
	)
}

# METADATA
# title: Trained content differs
# description: The job trained on other content than the dataset's upload recorded.
deny contains {"code": "HASH_MISMATCH", "message": msg} if {
	is_string(input.lineage.trained_on_sha256)
	is_string(input.dataset.redacted_sha256)
	input.lineage.trained_on_sha256 != input.dataset.redacted_sha256
	msg := sprintf(
		"adapter %s was trained on content sha256 %s but dataset %q holds sha256 %s",
		[input.adapter.id, short(input.lineage.trained_on_sha256), input.dataset.name, short(input.dataset.redacted_sha256)],
	)
}

# METADATA
# title: Files changed
# description: The adapter's files no longer hash to the digests registered in the log.
deny contains {"code": "HASH_MISMATCH", "message": msg} if {
	input.adapter.files_match == false
	msg := sprintf(
		"adapter %s's files do not match the digests registered in the audit log: %s",
		[input.adapter.id, problem(input.adapter, "files_problem")],
	)
}

# METADATA
# title: Signature invalid
# description: The adapter's files do not verify against the model-signing signature in the log.
deny contains {"code": "SIGNATURE_INVALID", "message": msg} if {
	input.adapter.signature_verified == false
	msg := sprintf(
		"adapter %s does not verify against its model-signing signature: %s",
		[input.adapter.id, problem(input.adapter, "signature_problem")],
	)
}

# METADATA
# title: Problem
# description: What the gateway found wrong, in its words, or a generic phrase when it sent none.
problem(doc, key) := text if {
	text := doc[key]
	is_string(text)
}

problem(doc, key) := "no details were given" if not is_string(object.get(doc, key, null))
