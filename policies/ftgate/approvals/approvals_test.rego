package ftgate.approvals_test

import data.ftgate.approvals

dataset(classification) := {"classification": classification, "uploader": "ada", "redacted_sha256": "aa"}

approval(who, verdict, sha256) := {"approver": who, "verdict": verdict, "redacted_sha256": sha256}

codes(decision) := {reason.code | some reason in decision.reasons}

test_one_approval_is_enough_for_internal_data if {
	approvals.allow with input as {"dataset": dataset("internal"), "approvals": [approval("bob", "approved", "aa")]}
}

test_confidential_data_waits_for_a_second_approver if {
	d := approvals.decision with input as {
		"dataset": dataset("confidential"),
		"approvals": [approval("bob", "approved", "aa")],
	}
	not d.allow
	codes(d) == {"APPROVALS_PENDING"}
	startswith(d.reasons[0].message, "1 of 2 approvals")
}

test_two_distinct_approvers_approve_confidential_data if {
	approvals.allow with input as {
		"dataset": dataset("confidential"),
		"approvals": [approval("bob", "approved", "aa"), approval("dave", "approved", "aa")],
	}
}

test_the_same_approver_twice_the_uploader_and_other_content_do_not_count if {
	d := approvals.decision with input as {
		"dataset": dataset("confidential"),
		"approvals": [
			approval("bob", "approved", "aa"),
			approval("bob", "approved", "aa"),
			approval("ada", "approved", "aa"),
			approval("dave", "approved", "bb"),
			approval("erin", "rejected", "aa"),
		],
	}
	not d.allow
	startswith(d.reasons[0].message, "1 of 2 approvals")
}

test_an_unknown_classification_is_never_approved if {
	d := approvals.decision with input as {"dataset": dataset("secret"), "approvals": [approval("bob", "approved", "aa")]}
	not d.allow
	codes(d) == {"CLASSIFICATION_UNKNOWN"}
}

test_missing_input_fails_closed if {
	d := approvals.decision with input as {}
	not d.allow
	codes(d) == {"INPUT_INVALID"}
}
