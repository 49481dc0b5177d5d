package ftgate.training_test

import data.ftgate.training

current_sha256 := "9f2c1e7a4b3d5f60718293a4b5c6d7e8f9012345678901234567890abcdef012"

old_sha256 := "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"

valid_input := {
	"subject": {"name": "ada", "role": "submitter", "team": "ml"},
	"dataset": {
		"id": 7,
		"name": "support-tone",
		"team": "ml",
		"uploader": "ada",
		"status": "approved",
		"purpose": "style",
		"classification": "internal",
		"records": 250,
		"redacted_sha256": current_sha256,
	},
	"approvals": [{"approver": "grace", "verdict": "approved", "redacted_sha256": current_sha256}],
	"base_model": {
		"name": "smollm2-135m-instruct", "registered": true, "weights_sha256": old_sha256,
		"parameters": 134515008,
	},
	"estimate": {"tokens": 122880, "parameters": 134515008, "gpu_hours": 0.0688},
	"team_usage": {"month": "2026-11", "gpu_hours": 10},
	"config": {
		"max_steps": 60,
		"epochs": 1,
		"learning_rate": 0.0002,
		"lora_r": 8,
		"lora_alpha": 16,
		"max_seq_len": 512,
		"batch_size": 4,
		"seed": 42,
	},
}

with_dataset(fields) := object.union(valid_input, {"dataset": fields})

with_approvals(approvals) := object.union(valid_input, {"approvals": approvals})

with_config(fields) := object.union(valid_input, {"config": fields})

confidential(approvals) := object.union(
	valid_input,
	{"dataset": {"classification": "confidential"}, "approvals": approvals},
)

approval(approver, verdict, sha256) := {"approver": approver, "verdict": verdict, "redacted_sha256": sha256}

codes(decision) := {reason.code | some reason in decision.reasons}

allowed_cleanly := {"allow": true, "reasons": [], "warnings": [], "review": []}

messages(decision, code) := [reason.message | some reason in decision.reasons; reason.code == code]

test_valid_job_is_allowed if {
	training.decision == allowed_cleanly with input as valid_input
}

test_allow_defaults_to_false_on_empty_input if {
	not training.allow with input as {}
}

test_input_invalid_on_empty_input if {
	d := training.decision with input as {}
	codes(d) == {"INPUT_INVALID"}
}

test_input_invalid_on_missing_hyperparameter if {
	inp := json.remove(valid_input, ["config/learning_rate"])
	d := training.decision with input as inp
	codes(d) == {"INPUT_INVALID"}
	startswith(d.reasons[0].message, "input.config.learning_rate must be number but is null")
}

test_input_invalid_on_string_hyperparameter if {
	d := training.decision with input as with_config({"lora_r": "8"})
	codes(d) == {"INPUT_INVALID"}
}

test_input_invalid_on_malformed_approval if {
	d := training.decision with input as with_approvals([{"approver": "grace", "verdict": "approved"}])
	"INPUT_INVALID" in codes(d)
	some msg in messages(d, "INPUT_INVALID")
	startswith(msg, "input.approvals[0].redacted_sha256 must be string but is null")
}

test_input_invalid_on_unknown_verdict if {
	d := training.decision with input as with_approvals([approval("grace", "maybe", current_sha256)])
	some msg in messages(d, "INPUT_INVALID")
	startswith(msg, "input.approvals[0].verdict is \"maybe\", not one of approved, rejected")
}

test_input_invalid_on_unregistered_flag_missing if {
	inp := json.remove(valid_input, ["base_model/registered"])
	codes(training.decision) == {"INPUT_INVALID"} with input as inp
}

test_input_invalid_not_raised_for_valid_input if {
	not "INPUT_INVALID" in codes(training.decision) with input as valid_input
}

test_team_mismatch if {
	d := training.decision with input as with_dataset({"team": "finance"})
	codes(d) == {"TEAM_MISMATCH"}
	messages(d, "TEAM_MISMATCH") == [concat("", [
		"user \"ada\" of team \"ml\" cannot train on dataset \"support-tone\" of team \"finance\"; ",
		"ask a member of that team to submit the job",
	])]
}

test_team_mismatch_not_raised_for_same_team if {
	not "TEAM_MISMATCH" in codes(training.decision) with input as valid_input
}

test_dataset_not_approved if {
	d := training.decision with input as with_dataset({"status": "pending"})
	codes(d) == {"DATASET_NOT_APPROVED"}
	contains(messages(d, "DATASET_NOT_APPROVED")[0], "has status \"pending\"")
}

test_dataset_not_approved_not_raised_when_approved if {
	not "DATASET_NOT_APPROVED" in codes(training.decision) with input as valid_input
}

test_classification_unknown if {
	d := training.decision with input as with_dataset({"classification": "secret"})
	"CLASSIFICATION_UNKNOWN" in codes(d)
	not d.allow
}

test_classification_unknown_not_raised_for_known if {
	not "CLASSIFICATION_UNKNOWN" in codes(training.decision) with input as valid_input
}

test_approvals_missing_without_approvals if {
	d := training.decision with input as with_approvals([])
	codes(d) == {"APPROVALS_MISSING"}
	messages(d, "APPROVALS_MISSING") == [concat("", [
		"dataset \"support-tone\" is classified \"internal\" and needs 1 approval(s) of its current content ",
		"(sha256 9f2c1e7a4b3d) by someone other than its uploader \"ada\" and the submitter \"ada\"; ",
		"it has 0, ask an approver to review it",
	])]
}

test_confidential_needs_two_distinct_approvers if {
	d := training.decision with input as confidential([
		approval("grace", "approved", current_sha256),
		approval("grace", "approved", current_sha256),
	])
	codes(d) == {"APPROVALS_MISSING"}
	contains(messages(d, "APPROVALS_MISSING")[0], "it has 1")
}

test_confidential_allowed_with_two_approvers if {
	training.allow with input as confidential([
		approval("grace", "approved", current_sha256),
		approval("linus", "approved", current_sha256),
	])
}

test_required_approvals_come_from_data if {
	cfg := object.union(data.ftgate.config, {"classifications": {"internal": {"approvals_required": 3}}})
	codes(training.decision) == {"APPROVALS_MISSING"} with input as valid_input with data.ftgate.config as cfg
}

test_approval_hash_mismatch if {
	d := training.decision with input as with_approvals([approval("grace", "approved", old_sha256)])
	codes(d) == {"APPROVALS_MISSING", "APPROVAL_HASH_MISMATCH"}
	messages(d, "APPROVAL_HASH_MISMATCH") == [concat("", [
		"the approval by \"grace\" was given for content sha256 0b1c2d3e4f5a but dataset \"support-tone\" ",
		"now has sha256 9f2c1e7a4b3d; it does not count, ask for a review of the current content",
	])]
}

test_approval_hash_mismatch_not_raised_when_enough_current_approvals if {
	inp := with_approvals([
		approval("grace", "approved", current_sha256),
		approval("linus", "approved", old_sha256),
	])
	training.decision == allowed_cleanly with input as inp
}

test_self_approval_by_uploader if {
	inp := object.union(
		with_approvals([approval("ada", "approved", current_sha256)]),
		{"subject": {"name": "bob"}},
	)
	d := training.decision with input as inp
	codes(d) == {"APPROVALS_MISSING", "SELF_APPROVAL"}
	messages(d, "SELF_APPROVAL") == [concat("", [
		"the approval by \"ada\" does not count: \"ada\" uploaded the dataset, ",
		"and a dataset must be approved by someone else (four eyes)",
	])]
}

test_self_approval_by_submitter if {
	d := training.decision with input as with_approvals([approval("bob", "approved", current_sha256)])
		with input.subject.name as "bob"
	codes(d) == {"APPROVALS_MISSING", "SELF_APPROVAL"}
	contains(messages(d, "SELF_APPROVAL")[0], "\"bob\" submits this job")
}

test_self_approval_not_raised_when_enough_other_approvals if {
	inp := with_approvals([
		approval("ada", "approved", current_sha256),
		approval("grace", "approved", current_sha256),
	])
	training.decision == allowed_cleanly with input as inp
}

test_dataset_rejected if {
	inp := with_approvals([
		approval("grace", "approved", current_sha256),
		approval("linus", "rejected", current_sha256),
	])
	d := training.decision with input as inp
	codes(d) == {"DATASET_REJECTED"}
	contains(messages(d, "DATASET_REJECTED")[0], "rejected by \"linus\" for its current content")
}

test_dataset_rejected_not_raised_for_rejection_of_old_content if {
	inp := with_approvals([
		approval("grace", "approved", current_sha256),
		approval("linus", "rejected", old_sha256),
	])
	training.allow with input as inp
}

test_base_model_not_registered if {
	d := training.decision with input as object.union(valid_input, {"base_model": {"registered": false}})
	codes(d) == {"BASE_MODEL_NOT_REGISTERED"}
	contains(messages(d, "BASE_MODEL_NOT_REGISTERED")[0], "ask an admin to register it")
}

test_base_model_not_registered_not_raised_when_registered if {
	not "BASE_MODEL_NOT_REGISTERED" in codes(training.decision) with input as valid_input
}

test_base_model_not_allowed if {
	inp := object.union(valid_input, {"base_model": {"name": "llama-70b"}})
	d := training.decision with input as inp
	codes(d) == {"BASE_MODEL_NOT_ALLOWED"}
	messages(d, "BASE_MODEL_NOT_ALLOWED") == [
		"base model \"llama-70b\" is not allowed for team \"ml\"; use one of smollm2-135m-instruct",
	]
}

test_base_model_allowed_by_team_override if {
	cfg := object.union(data.ftgate.config, {"teams": {"ml": {"base_models": ["llama-70b"]}}})
	inp := object.union(valid_input, {"base_model": {"name": "llama-70b"}})
	training.allow with input as inp with data.ftgate.config as cfg
}

test_base_model_allow_list_is_the_subjects_team if {
	cfg := object.union(data.ftgate.config, {"teams": {"finance": {"base_models": ["llama-70b"]}}})
	inp := object.union(valid_input, {"base_model": {"name": "llama-70b"}})
	"BASE_MODEL_NOT_ALLOWED" in codes(training.decision) with input as inp with data.ftgate.config as cfg
}

test_hyperparameter_out_of_bounds_one_reason_per_field if {
	d := training.decision with input as with_config({"learning_rate": 0.01, "lora_r": 128, "max_steps": 0})
	codes(d) == {"HYPERPARAMETER_OUT_OF_BOUNDS"}
	count(d.reasons) == 3
	some lr_msg in messages(d, "HYPERPARAMETER_OUT_OF_BOUNDS")
	startswith(lr_msg, "config.learning_rate is 0.01, outside the bounds [")
	some r_msg in messages(d, "HYPERPARAMETER_OUT_OF_BOUNDS")
	r_msg == "config.lora_r is 128, outside the bounds [1, 64] for team \"ml\"; choose a value within them"
	some steps_msg in messages(d, "HYPERPARAMETER_OUT_OF_BOUNDS")
	startswith(steps_msg, "config.max_steps is 0, outside the bounds [1, 2000]")
}

test_hyperparameter_bounds_are_inclusive if {
	training.allow with input as with_config({
		"max_steps": 2000, "epochs": 0.01, "learning_rate": 0.000001, "lora_r": 64,
		"lora_alpha": 1, "max_seq_len": 4096, "batch_size": 64,
	})
}

test_hyperparameter_every_field_is_checked if {
	every field, bounds in data.ftgate.config.teams["default"].bounds {
		d := training.decision with input as with_config({field: bounds[1] * 2})
		codes(d) == {"HYPERPARAMETER_OUT_OF_BOUNDS"}
	}
}

test_hyperparameter_bounds_overridden_per_team if {
	cfg := object.union(data.ftgate.config, {"teams": {"ml": {"bounds": {"lora_r": [1, 256]}}}})
	training.allow with input as with_config({"lora_r": 128}) with data.ftgate.config as cfg
}

test_unknown_team_uses_default_bounds if {
	inp := object.union(
		with_config({"batch_size": 65}),
		{"subject": {"team": "research"}, "dataset": {"team": "research"}},
	)
	codes(training.decision) == {"HYPERPARAMETER_OUT_OF_BOUNDS"} with input as inp
}

test_every_failure_is_reported_sorted_by_code if {
	inp := object.union(valid_input, {
		"dataset": {"status": "rejected"},
		"approvals": [approval("linus", "rejected", current_sha256)],
		"base_model": {"name": "other", "registered": false},
		"config": {"batch_size": 100},
	})
	d := training.decision with input as inp
	[reason.code | some reason in d.reasons] == [
		"APPROVALS_MISSING",
		"BASE_MODEL_NOT_ALLOWED",
		"BASE_MODEL_NOT_REGISTERED",
		"DATASET_NOT_APPROVED",
		"DATASET_REJECTED",
		"HYPERPARAMETER_OUT_OF_BOUNDS",
	]
}

review_codes(decision) := {reason.code | some reason in decision.review}

warning_codes(decision) := {reason.code | some reason in decision.warnings}

test_restricted_data_waits_for_review if {
	inp := object.union(valid_input, {"dataset": {"classification": "restricted"}, "approvals": [
		approval("grace", "approved", current_sha256),
		approval("linus", "approved", current_sha256),
	]})
	d := training.decision with input as inp
	d.allow
	review_codes(d) == {"RESTRICTED_DATA"}
	contains(d.review[0].message, "ftgate jobs approve")
}

test_internal_data_needs_no_review if {
	review_codes(training.decision) == set() with input as valid_input
}

with_estimate(gpu_hours) := object.union(valid_input, {"estimate": {"gpu_hours": gpu_hours}})

with_usage(gpu_hours) := object.union(valid_input, {"team_usage": {"gpu_hours": gpu_hours}})

test_job_above_auto_approve_limit_waits_for_review if {
	d := training.decision with input as with_estimate(2.5)
	d.allow
	review_codes(d) == {"ABOVE_AUTO_APPROVE_LIMIT"}
	contains(d.review[0].message, "2.5 GPU-hours")
}

test_job_at_auto_approve_limit_needs_no_review if {
	d := training.decision with input as with_estimate(2)
	review_codes(d) == set()
}

test_job_within_remaining_budget_is_allowed if {
	# 100 per month, 99.9 used: 0.0688 still fits.
	training.decision == allowed_cleanly with input as with_usage(99.9)
}

test_job_beyond_remaining_budget_is_denied if {
	d := training.decision with input as with_usage(99.95)
	codes(d) == {"BUDGET_EXCEEDED"}
	contains(messages(d, "BUDGET_EXCEEDED")[0], "0.05 of its 100 GPU-hours left for 2026-11")
}

test_budget_exhausted_reports_nothing_left if {
	d := training.decision with input as with_usage(130)
	contains(messages(d, "BUDGET_EXCEEDED")[0], "has 0 of its 100")
}

test_budget_is_what_the_month_leaves_before_the_job if {
	training.budget == {"gpu_hours_per_month": 100, "remaining": 60, "month": "2026-11"} with input as with_usage(40)
	training.budget.remaining == 0 with input as with_usage(130)
}

test_team_budget_comes_from_policy_data if {
	cfg := object.union(data.ftgate.config, {"teams": {"ml": {"gpu_hours_per_month": 10}}})
	d := training.decision with input as valid_input with data.ftgate.config as cfg
	codes(d) == {"BUDGET_EXCEEDED"}
}

test_unknown_cost_is_denied if {
	d := training.decision with input as with_estimate(null)
	codes(d) == {"COST_UNKNOWN"}
}

test_missing_estimate_fails_closed if {
	inp := object.remove(valid_input, ["estimate"])
	d := training.decision with input as inp
	not d.allow
	"INPUT_INVALID" in codes(d)
}

test_high_learning_rate_warns_but_allows if {
	d := training.decision with input as with_config({"learning_rate": 0.0009})
	d.allow
	d.reasons == []
	warning_codes(d) == {"HIGH_LEARNING_RATE"}
}

test_ordinary_learning_rate_does_not_warn if {
	warning_codes(training.decision) == set() with input as valid_input
}

test_expired_approval_does_not_count if {
	old := object.union(approval("grace", "approved", current_sha256), {"age_days": 91})
	d := training.decision with input as with_approvals([old])
	codes(d) == {"APPROVALS_MISSING", "APPROVAL_EXPIRED"}
	contains(messages(d, "APPROVAL_EXPIRED")[0], "91 days old")
}

test_approval_within_its_age_counts if {
	recent := object.union(approval("grace", "approved", current_sha256), {"age_days": 89.5})
	training.allow with input as with_approvals([recent])
}
