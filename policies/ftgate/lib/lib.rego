# METADATA
# title: Shared helpers
# description: >-
#   Functions the ftgate packages share. Each takes what it needs as arguments and reads
#   neither input nor data, so it is testable on its own and reusable by any package.
package ftgate.lib

# METADATA
# title: Invalid fields
# description: >-
#   The entries of fields ({"path": [...], "types": {...}}) whose value in doc is missing or of a
#   type not in types. A missing value reads as null, so a field may allow "null" explicitly.
invalid_fields(doc, fields) := {field |
	some field in fields
	not type_name(object.get(doc, field.path, null)) in field.types
}

# METADATA
# title: Input error message
# description: >-
#   Says which field of doc is wrong, what it should be and what it is; prefix names doc in the
#   input ("input", "input.approvals[0]").
input_error_message(prefix, doc, field) := sprintf(
	"%s.%s must be %s but is %s; the gateway sent a malformed request, report it as a bug",
	[prefix, concat(".", field.path), concat(" or ", sort(field.types)), type_name(object.get(doc, field.path, null))],
)

# METADATA
# title: Team settings
# description: >-
#   The settings of team: its entry in teams merged over teams["default"], so a team overrides
#   only what it names (one bound, the model list) and inherits the rest.
team_settings(teams, team) := object.union(teams["default"], object.get(teams, team, {}))

# METADATA
# title: Decision
# description: >-
#   The object every entrypoint returns. Reasons are sorted: objects order by their sorted keys
#   and then values, so {"code", "message"} objects sort by code, then message, in OPA and
#   regorus alike; the output is stable whatever order the rules fire in.
decision(allowed, reasons) := {"allow": allowed, "reasons": sort(reasons)}

# METADATA
# title: Decision with outcomes
# description: >-
#   A decision that may also go through with warnings (recorded and shown to the requester) or
#   wait for review (an approver other than the requester signs it off). Each list sorted as above.
decision_with_outcomes(allowed, reasons, warnings, review) := {
	"allow": allowed,
	"reasons": sort(reasons),
	"warnings": sort(warnings),
	"review": sort(review),
}
