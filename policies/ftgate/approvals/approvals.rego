# METADATA
# title: Dataset approvals
# description: >-
#   Whether a dataset's current content has the approvals its classification needs: until it has, the
#   dataset stays pending_review after each approval ("1 of 2"), and only then is it approved. Counts
#   the distinct approvers of the current redacted_sha256 other than the uploader (four eyes). Input:
#   {"dataset": {"classification", "uploader", "redacted_sha256"}, "approvals": [{"approver",
#   "verdict", "redacted_sha256"}]}. Training re-checks approvals itself (ftgate.training), with
#   their age and the submitter.
package ftgate.approvals

import data.ftgate.config
import data.ftgate.lib

# METADATA
# title: Decision
# description: Allow when the approvals are enough; otherwise the reason says how many there are of how many.
# entrypoint: true
decision := lib.decision(allow, deny)

default allow := false

# METADATA
# title: Allow
# description: Enough approvals, and no other reason against.
allow if count(deny) == 0

# METADATA
# title: Required fields
# description: The input fields the rules read, with the types they must have.
required_fields := [
	{"path": ["dataset", "classification"], "types": {"string"}},
	{"path": ["dataset", "uploader"], "types": {"string"}},
	{"path": ["dataset", "redacted_sha256"], "types": {"string"}},
	{"path": ["approvals"], "types": {"array"}},
]

# METADATA
# title: Input invalid
# description: A field the rules read is missing or of the wrong type, so the dataset is not approved (fail closed).
deny contains {"code": "INPUT_INVALID", "message": lib.input_error_message("input", input, field)} if {
	some field in lib.invalid_fields(input, required_fields)
}

# METADATA
# title: Required
# description: How many approvers the dataset's classification needs.
required := config.classifications[input.dataset.classification].approvals_required

# METADATA
# title: Approvers
# description: The distinct people, other than the uploader, who approved the current content.
approvers := {approval.approver |
	some approval in input.approvals
	approval.verdict == "approved"
	approval.redacted_sha256 == input.dataset.redacted_sha256
	approval.approver != input.dataset.uploader
}

# METADATA
# title: Classification unknown
# description: The classification names no entry of the configuration, so no count can be enough.
deny contains {"code": "CLASSIFICATION_UNKNOWN", "message": msg} if {
	is_string(input.dataset.classification)
	not input.dataset.classification in object.keys(config.classifications)
	msg := sprintf("classification %q is not configured, so no number of approvals is enough", [input.dataset.classification])
}

# METADATA
# title: Approvals pending
# description: Fewer approvers than the classification needs; the message counts them ("1 of 2").
deny contains {"code": "APPROVALS_PENDING", "message": msg} if {
	count(approvers) < required
	msg := sprintf(
		"%d of %d approvals: a %q dataset needs %d approvers other than its uploader",
		[count(approvers), required, input.dataset.classification, required],
	)
}
