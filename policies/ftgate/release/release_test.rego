package ftgate.release_test

import data.ftgate.release

trained_sha256 := "9f2c1e7a4b3d5f60718293a4b5c6d7e8f9012345678901234567890abcdef012"

other_sha256 := "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"

approval(approver, verdict, sha256, age) := {
	"approver": approver, "verdict": verdict, "redacted_sha256": sha256, "age_days": age,
}

release_input := {
	"action": "release",
	"subject": {"name": "grace", "role": "approver", "team": "compliance"},
	"adapter": {
		"id": "ad_1",
		"status": "registered",
		"files_match": true,
		"files_problem": null,
		"signature_verified": true,
		"signature_problem": null,
	},
	"lineage": {
		"dataset_uploaded": true,
		"dataset_scanned": true,
		"job_submitted": true,
		"job_verified": true,
		"adapter_registered": true,
		"adapter_signed": true,
		"training_decision": {"decision_id": "pd_1", "allow": true, "bundle_sha256": other_sha256},
		"submitter": "ada",
		"trained_on_sha256": trained_sha256,
	},
	"dataset": {
		"id": "ds_1",
		"name": "support-tone",
		"uploader": "ada",
		"classification": "internal",
		"redacted_sha256": trained_sha256,
		"revoked": false,
	},
	"approvals": [approval("grace", "approved", trained_sha256, 3)],
}

download_input := object.union(
	release_input,
	{"action": "download", "subject": {"name": "ada", "role": "submitter", "team": "ml"}, "adapter": {"status": "released"}},
)

with_adapter(inp, fields) := object.union(inp, {"adapter": fields})

with_lineage(inp, fields) := object.union(inp, {"lineage": fields})

with_dataset(inp, fields) := object.union(inp, {"dataset": fields})

with_approvals(inp, approvals) := object.union(inp, {"approvals": approvals})

confidential(inp, approvals) := object.union(inp, {"dataset": {"classification": "confidential"}, "approvals": approvals})

codes(decision) := {reason.code | some reason in decision.reasons}

messages(decision, code) := [reason.message | some reason in decision.reasons; reason.code == code]

test_complete_lineage_is_released if {
	release.decision == {"allow": true, "reasons": []} with input as release_input
}

test_released_adapter_is_downloaded if {
	release.decision == {"allow": true, "reasons": []} with input as download_input
}

test_allow_defaults_to_false_on_empty_input if {
	not release.allow with input as {}
	codes(release.decision) == {"INPUT_INVALID"} with input as {}
}

test_input_invalid_names_the_field if {
	d := release.decision with input as with_adapter(release_input, {"files_match": "yes"})
	codes(d) == {"INPUT_INVALID"}
	startswith(d.reasons[0].message, "input.adapter.files_match must be boolean but is string")
}

test_input_invalid_on_missing_link if {
	d := release.decision with input as json.remove(release_input, ["lineage/adapter_signed"])
	codes(d) == {"INPUT_INVALID"}
	startswith(d.reasons[0].message, "input.lineage.adapter_signed must be boolean but is null")
}

test_input_invalid_not_raised_for_null_optionals if {
	inp := with_dataset(release_input, {"uploader": null})
	not "INPUT_INVALID" in codes(release.decision) with input as inp
}

test_approval_invalid if {
	inp := with_approvals(release_input, [{"approver": "grace", "verdict": "approved", "redacted_sha256": trained_sha256}])
	d := release.decision with input as inp
	"INPUT_INVALID" in codes(d)
	messages(d, "INPUT_INVALID") == [
		"input.approvals[0].age_days must be number but is null; the gateway sent a malformed request, report it as a bug",
	]
}

test_status_unknown if {
	d := release.decision with input as with_adapter(release_input, {"status": "archived"})
	codes(d) == {"INPUT_INVALID"}
	startswith(d.reasons[0].message, "input.adapter.status is \"archived\", not one of quarantined, registered, released")
}

test_unknown_action if {
	d := release.decision with input as object.union(release_input, {"action": "delete"})
	codes(d) == {"UNKNOWN_ACTION"}
	d.reasons[0].message == "action \"delete\" is unknown to the release policy (it knows download, release); report it as a bug"
}

test_known_actions_are_not_unknown if {
	every inp in [release_input, download_input] {
		not "UNKNOWN_ACTION" in codes(release.decision) with input as inp
	}
}

test_quarantined_adapter_is_neither_released_nor_downloaded if {
	every inp in [release_input, download_input] {
		d := release.decision with input as with_adapter(inp, {"status": "quarantined"})
		codes(d) == {"ADAPTER_QUARANTINED"}
	}
	d := release.decision with input as with_adapter(release_input, {"status": "quarantined"})
	d.reasons[0].message == concat("", [
		"adapter ad_1 is quarantined because dataset \"support-tone\" it was trained on was revoked; ",
		"it cannot be released",
	])
	dl := release.decision with input as with_adapter(download_input, {"status": "quarantined"})
	endswith(dl.reasons[0].message, "it cannot be downloaded")
}

test_already_released if {
	d := release.decision with input as with_adapter(release_input, {"status": "released"})
	codes(d) == {"ALREADY_RELEASED"}
	startswith(d.reasons[0].message, "adapter ad_1 is already released")
}

test_already_released_not_raised_for_download if {
	not "ALREADY_RELEASED" in codes(release.decision) with input as download_input
}

test_not_released if {
	d := release.decision with input as with_adapter(download_input, {"status": "registered"})
	codes(d) == {"NOT_RELEASED"}
	startswith(d.reasons[0].message, "adapter ad_1 has not been released")
}

test_not_released_not_raised_for_release if {
	not "NOT_RELEASED" in codes(release.decision) with input as release_input
}

test_self_release_by_submitter_or_uploader if {
	every person in ["ada", "bob"] {
		inp := with_lineage(object.union(release_input, {"subject": {"name": person}}), {"submitter": "bob"})
		codes(release.decision) == {"SELF_RELEASE"} with input as inp
	}
}

test_self_release_not_raised_for_download_by_submitter if {
	not "SELF_RELEASE" in codes(release.decision) with input as download_input
}

test_each_missing_link_is_named if {
	inp := with_lineage(release_input, {"job_verified": false, "adapter_signed": false})
	d := release.decision with input as inp
	codes(d) == {"LINEAGE_INCOMPLETE"}
	messages(d, "LINEAGE_INCOMPLETE") == [
		"lineage of adapter ad_1 is incomplete: the audit log has no record of the adapter's model-signing signature (adapter.signed)",
		"lineage of adapter ad_1 is incomplete: the audit log has no record of the worker's hash and policy check before training (job.verified)",
	]
}

test_every_link_is_checked if {
	every name, _ in release.links {
		d := release.decision with input as with_lineage(release_input, {name: false})
		codes(d) == {"LINEAGE_INCOMPLETE"}
		count(d.reasons) == 1
	}
}

test_training_decision_missing if {
	d := release.decision with input as with_lineage(release_input, {"training_decision": null})
	codes(d) == {"LINEAGE_INCOMPLETE"}
	endswith(d.reasons[0].message, "the audit log has no ftgate.training decision for its job")
}

test_training_decision_that_denied_or_names_no_bundle if {
	every decision in [
		{"decision_id": "pd_1", "allow": false, "bundle_sha256": other_sha256},
		{"decision_id": "pd_1", "allow": true, "bundle_sha256": ""},
		{"decision_id": "pd_1", "allow": true},
	] {
		inp := with_lineage(json.remove(release_input, ["lineage/training_decision"]), {"training_decision": decision})
		d := release.decision with input as inp
		codes(d) == {"LINEAGE_INCOMPLETE"}
		contains(d.reasons[0].message, "training decision pd_1 did not allow the job")
	}
}

test_approvals_missing if {
	d := release.decision with input as with_approvals(release_input, [])
	codes(d) == {"LINEAGE_INCOMPLETE"}
	d.reasons[0].message == concat("", [
		"lineage of adapter ad_1 is incomplete: dataset \"support-tone\" is classified \"internal\" and needs 1 ",
		"approval(s) of the content trained on (sha256 9f2c1e7a4b3d) by someone other than its uploader and ",
		"the job's submitter; the log holds 0",
	])
}

test_approvals_of_other_content_or_by_the_uploader_do_not_count if {
	every approvals in [
		[approval("grace", "approved", other_sha256, 1)],
		[approval("ada", "approved", trained_sha256, 1)],
		[approval("grace", "rejected", other_sha256, 1)],
	] {
		codes(release.decision) == {"LINEAGE_INCOMPLETE"} with input as with_approvals(release_input, approvals)
	}
}

test_approval_by_the_submitter_does_not_count if {
	inp := with_approvals(with_lineage(release_input, {"submitter": "bob"}), [approval("bob", "approved", trained_sha256, 1)])
	codes(release.decision) == {"LINEAGE_INCOMPLETE"} with input as inp
}

test_confidential_needs_two_distinct_approvers if {
	one := confidential(release_input, [
		approval("grace", "approved", trained_sha256, 1),
		approval("grace", "approved", trained_sha256, 2),
	])
	codes(release.decision) == {"LINEAGE_INCOMPLETE"} with input as one
	two := confidential(release_input, [
		approval("grace", "approved", trained_sha256, 1),
		approval("heidi", "approved", trained_sha256, 2),
	])
	release.allow with input as two
}

test_classification_unknown if {
	every classification in ["secret", null] {
		d := release.decision with input as with_dataset(release_input, {"classification": classification})
		codes(d) == {"LINEAGE_INCOMPLETE"}
		contains(d.reasons[0].message, "so its approvals cannot be counted")
	}
}

test_approval_expired if {
	d := release.decision with input as with_approvals(release_input, [approval("grace", "approved", trained_sha256, 91)])
	codes(d) == {"APPROVAL_EXPIRED"}
	d.reasons[0].message == concat("", [
		"the approval of dataset \"support-tone\" has expired: 0 of the 1 approval(s) it needs are younger ",
		"than 90 days; ask for a fresh review of the data before adapter ad_1 is released",
	])
}

test_approval_expired_not_raised_while_one_stands if {
	approvals := [
		approval("grace", "approved", trained_sha256, 91),
		approval("heidi", "approved", trained_sha256, 90),
	]
	release.allow with input as with_approvals(release_input, approvals)
}

test_approval_expired_not_raised_when_approvals_were_never_given if {
	not "APPROVAL_EXPIRED" in codes(release.decision) with input as with_approvals(release_input, [])
}

test_approval_revoked if {
	d := release.decision with input as with_dataset(download_input, {"revoked": true})
	codes(d) == {"APPROVAL_REVOKED"}
	d.reasons[0].message == "dataset \"support-tone\" was revoked, so adapter ad_1 trained on it cannot be downloaded"
}

test_dataset_rejected if {
	approvals := [approval("grace", "approved", trained_sha256, 3), approval("heidi", "rejected", trained_sha256, 1)]
	d := release.decision with input as with_approvals(release_input, approvals)
	codes(d) == {"DATASET_REJECTED"}
	startswith(d.reasons[0].message, "dataset \"support-tone\" was rejected by \"heidi\"")
}

test_rejection_of_other_content_does_not_block if {
	approvals := [approval("grace", "approved", trained_sha256, 3), approval("heidi", "rejected", other_sha256, 1)]
	release.allow with input as with_approvals(release_input, approvals)
}

test_trained_content_differs_from_the_dataset if {
	d := release.decision with input as with_dataset(release_input, {"redacted_sha256": other_sha256})
	codes(d) == {"HASH_MISMATCH"}
	d.reasons[0].message == "adapter ad_1 was trained on content sha256 9f2c1e7a4b3d but dataset \"support-tone\" holds sha256 0b1c2d3e4f5a"
}

test_trained_content_unknown_is_incomplete_not_a_mismatch if {
	d := release.decision with input as with_lineage(release_input, {"trained_on_sha256": null})
	codes(d) == {"LINEAGE_INCOMPLETE"}
	contains(d.reasons[0].message, "(sha256 none)")
}

test_files_changed if {
	inp := with_adapter(download_input, {"files_match": false, "files_problem": "adapter_model.safetensors changed"})
	d := release.decision with input as inp
	codes(d) == {"HASH_MISMATCH"}
	d.reasons[0].message == "adapter ad_1's files do not match the digests registered in the audit log: adapter_model.safetensors changed"
}

test_signature_invalid if {
	d := release.decision with input as with_adapter(release_input, {"signature_verified": false, "signature_problem": "x.py was added"})
	codes(d) == {"SIGNATURE_INVALID"}
	endswith(d.reasons[0].message, "does not verify against its model-signing signature: x.py was added")
}

test_signature_invalid_without_details if {
	d := release.decision with input as with_adapter(release_input, {"signature_verified": false})
	endswith(d.reasons[0].message, "model-signing signature: no details were given")
}

test_every_reason_at_once_is_sorted if {
	inp := object.union(download_input, {
		"adapter": {"status": "quarantined", "signature_verified": false, "files_match": false},
		"dataset": {"revoked": true},
	})
	d := release.decision with input as inp
	[r.code | some r in d.reasons] == ["ADAPTER_QUARANTINED", "APPROVAL_REVOKED", "HASH_MISMATCH", "SIGNATURE_INVALID"]
}
