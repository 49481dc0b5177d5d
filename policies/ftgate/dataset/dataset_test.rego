package ftgate.dataset_test

import data.ftgate.dataset

valid_input := {
	"subject": {"name": "ada", "role": "submitter", "team": "ml"},
	"dataset": {
		"name": "support-tone",
		"team": "ml",
		"purpose": "style",
		"classification": "internal",
		"licence": "CC-BY-4.0",
		"records": 250,
	},
	"scan": {"entities": {"EMAIL_ADDRESS": 3}, "records_changed": 3, "residual_findings": 0},
}

with_dataset(fields) := object.union(valid_input, {"dataset": fields})

codes(decision) := {reason.code | some reason in decision.reasons}

test_valid_dataset_is_admitted if {
	dataset.decision == {"allow": true, "reasons": []} with input as valid_input
}

test_every_allowed_purpose_is_admitted if {
	every purpose in ["style", "format", "behaviour", "task"] {
		dataset.allow with input as with_dataset({"purpose": purpose})
	}
}

test_allow_defaults_to_false_on_empty_input if {
	not dataset.allow with input as {}
}

test_input_invalid_on_empty_input if {
	d := dataset.decision with input as {}
	not d.allow
	codes(d) == {"INPUT_INVALID"}
	count(d.reasons) == 9
}

test_input_invalid_on_wrong_type if {
	d := dataset.decision with input as with_dataset({"records": "250"})
	codes(d) == {"INPUT_INVALID"}
	d.reasons[0].message == concat("", [
		"input.dataset.records must be number but is string; ",
		"the gateway sent a malformed request, report it as a bug",
	])
}

test_input_invalid_on_missing_scan if {
	inp := json.remove(valid_input, ["scan"])
	codes(dataset.decision) == {"INPUT_INVALID"} with input as inp
}

test_input_invalid_not_raised_for_valid_input if {
	not "INPUT_INVALID" in codes(dataset.decision) with input as valid_input
}

test_knowledge_purpose_points_to_retrieval if {
	d := dataset.decision with input as with_dataset({"purpose": "knowledge"})
	codes(d) == {"KNOWLEDGE_PURPOSE"}
	contains(d.reasons[0].message, "retrieval (RAG)")
	contains(d.reasons[0].message, "wrong tool")
}

test_knowledge_purpose_not_raised_for_style if {
	not "KNOWLEDGE_PURPOSE" in codes(dataset.decision) with input as valid_input
}

test_purpose_not_allowed if {
	d := dataset.decision with input as with_dataset({"purpose": "marketing"})
	codes(d) == {"PURPOSE_NOT_ALLOWED"}
	d.reasons[0].message == concat("", [
		"dataset \"support-tone\" has purpose \"marketing\", which is not allowed; ",
		"declare one of behaviour, format, style, task",
	])
}

test_purpose_not_allowed_not_raised_for_allowed_purpose if {
	not "PURPOSE_NOT_ALLOWED" in codes(dataset.decision) with input as valid_input
}

test_purpose_allow_list_comes_from_data if {
	cfg := object.union(data.ftgate.config, {"purposes_allowed": ["marketing"]})
	d := dataset.decision with input as with_dataset({"purpose": "marketing"}) with data.ftgate.config as cfg
	d.allow
}

test_classification_unknown if {
	d := dataset.decision with input as with_dataset({"classification": "secret"})
	codes(d) == {"CLASSIFICATION_UNKNOWN"}
	contains(d.reasons[0].message, "confidential, internal, public, restricted")
}

test_classification_known_values_are_admitted if {
	every classification in ["public", "internal", "confidential", "restricted"] {
		dataset.allow with input as with_dataset({"classification": classification})
	}
}

test_too_few_records if {
	d := dataset.decision with input as with_dataset({"records": 9})
	codes(d) == {"TOO_FEW_RECORDS"}
	contains(d.reasons[0].message, "has 9 records; at least 10 are needed")
}

test_too_few_records_not_raised_at_minimum if {
	dataset.allow with input as with_dataset({"records": 10})
}

test_too_many_records if {
	d := dataset.decision with input as with_dataset({"records": 100001})
	codes(d) == {"TOO_MANY_RECORDS"}
	contains(d.reasons[0].message, "at most 100000 are allowed")
}

test_too_many_records_not_raised_at_maximum if {
	dataset.allow with input as with_dataset({"records": 100000})
}

test_record_bounds_come_from_data if {
	cfg := object.union(data.ftgate.config, {"min_records": 1000})
	codes(dataset.decision) == {"TOO_FEW_RECORDS"} with input as valid_input with data.ftgate.config as cfg
}

test_residual_pii if {
	inp := object.union(valid_input, {"scan": {"residual_findings": 2}})
	d := dataset.decision with input as inp
	codes(d) == {"RESIDUAL_PII"}
	contains(d.reasons[0].message, "still has 2 PII finding(s)")
}

test_residual_pii_not_raised_when_clean if {
	not "RESIDUAL_PII" in codes(dataset.decision) with input as valid_input
}

test_team_mismatch if {
	d := dataset.decision with input as with_dataset({"team": "finance"})
	codes(d) == {"TEAM_MISMATCH"}
	contains(d.reasons[0].message, "for team \"finance\"")
}

test_team_mismatch_not_raised_for_own_team if {
	not "TEAM_MISMATCH" in codes(dataset.decision) with input as valid_input
}

test_every_failure_is_reported_sorted_by_code if {
	inp := object.union(
		with_dataset({"purpose": "knowledge", "classification": "secret", "records": 1}),
		{"scan": {"residual_findings": 1}},
	)
	d := dataset.decision with input as inp
	not d.allow
	[reason.code | some reason in d.reasons] == [
		"CLASSIFICATION_UNKNOWN",
		"KNOWLEDGE_PURPOSE",
		"RESIDUAL_PII",
		"TOO_FEW_RECORDS",
	]
}

test_residual_pii_of_wrong_type_is_input_invalid_only if {
	inp := object.union(valid_input, {"scan": {"residual_findings": "2"}})
	codes(dataset.decision) == {"INPUT_INVALID"} with input as inp
}

test_allowed_licences_are_admitted_whatever_their_case if {
	every licence in ["CC-BY-4.0", "cc-by-4.0", "MIT", "LicenseRef-internal"] {
		dataset.allow with input as with_dataset({"licence": licence})
	}
}

test_licence_not_on_the_allow_list_is_refused if {
	d := dataset.decision with input as with_dataset({"licence": "CC-BY-NC-4.0"})
	codes(d) == {"LICENCE_NOT_ALLOWED"}
	contains(d.reasons[0].message, "\"CC-BY-NC-4.0\", which is not on the allow-list")
}

test_licence_allow_list_is_policy_data if {
	cfg := object.union(data.ftgate.config, {"licences_allowed": ["CC-BY-NC-4.0"]})
	dataset.allow with input as with_dataset({"licence": "CC-BY-NC-4.0"}) with data.ftgate.config as cfg
}

test_missing_licence_fails_closed if {
	d := dataset.decision with input as json.remove(valid_input, ["dataset/licence"])
	codes(d) == {"INPUT_INVALID"}
}
