package ftgate.lib_test

import data.ftgate.lib

fields := [
	{"path": ["subject", "name"], "types": {"string"}},
	{"path": ["dataset", "records"], "types": {"number"}},
	{"path": ["resource", "team"], "types": {"string", "null"}},
]

test_invalid_fields_none_when_types_match if {
	doc := {"subject": {"name": "ada"}, "dataset": {"records": 12}, "resource": {"team": "ml"}}
	count(lib.invalid_fields(doc, fields)) == 0
}

test_invalid_fields_null_allowed_where_named if {
	doc := {"subject": {"name": "ada"}, "dataset": {"records": 12}, "resource": {"team": null}}
	count(lib.invalid_fields(doc, fields)) == 0
}

test_invalid_fields_reports_missing_and_wrong_type if {
	doc := {"subject": {}, "dataset": {"records": "12"}, "resource": {}}
	lib.invalid_fields(doc, fields) == {fields[0], fields[1]}
}

test_invalid_fields_missing_parent if {
	lib.invalid_fields({}, fields) == {fields[0], fields[1]}
}

test_input_error_message_names_path_and_types if {
	msg := lib.input_error_message("input", {"dataset": {"records": "12"}}, fields[1])
	msg == concat("", [
		"input.dataset.records must be number but is string; ",
		"the gateway sent a malformed request, report it as a bug",
	])
}

test_input_error_message_with_prefix_and_several_types if {
	msg := lib.input_error_message("input.approvals[2]", {"resource": {"team": 7}}, fields[2])
	startswith(msg, "input.approvals[2].resource.team must be null or string but is number; ")
}

teams := {
	"default": {"base_models": ["m1"], "bounds": {"lora_r": [1, 64], "batch_size": [1, 64]}},
	"research": {"bounds": {"lora_r": [1, 256]}},
}

test_team_settings_unknown_team_falls_back_to_default if {
	lib.team_settings(teams, "sales") == teams["default"]
}

test_team_settings_null_team_falls_back_to_default if {
	lib.team_settings(teams, null) == teams["default"]
}

test_team_settings_overrides_only_what_it_names if {
	settings := lib.team_settings(teams, "research")
	settings.bounds.lora_r == [1, 256]
	settings.bounds.batch_size == [1, 64]
	settings.base_models == ["m1"]
}

test_decision_sorts_reasons_by_code if {
	reasons := {{"code": "B_CODE", "message": "a"}, {"code": "A_CODE", "message": "z"}}
	lib.decision(false, reasons) == {
		"allow": false,
		"reasons": [{"code": "A_CODE", "message": "z"}, {"code": "B_CODE", "message": "a"}],
	}
}

test_decision_empty_reasons_is_an_empty_array if {
	lib.decision(true, set()) == {"allow": true, "reasons": []}
}

test_decision_with_outcomes_sorts_every_list if {
	w := {{"code": "W2", "message": "b"}, {"code": "W1", "message": "a"}}
	lib.decision_with_outcomes(true, set(), w, {{"code": "R", "message": "r"}}) == {
		"allow": true,
		"reasons": [],
		"warnings": [{"code": "W1", "message": "a"}, {"code": "W2", "message": "b"}],
		"review": [{"code": "R", "message": "r"}],
	}
}
