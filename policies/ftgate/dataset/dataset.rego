# METADATA
# title: Dataset admission
# description: >-
#   Decides at upload, and again at each approval, whether a redacted dataset may be stored and
#   used: its purpose, licence, classification, size and the PII the scanner still finds after
#   redaction. Input: {"subject", "dataset", "scan"}.
package ftgate.dataset

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
# description: A dataset is admitted when no deny rule fires.
allow if count(deny) == 0

# METADATA
# title: Required fields
# description: The input fields the rules read, with the types they must have.
required_fields := [
	{"path": ["subject", "name"], "types": {"string"}},
	{"path": ["subject", "team"], "types": {"string"}},
	{"path": ["dataset", "name"], "types": {"string"}},
	{"path": ["dataset", "team"], "types": {"string"}},
	{"path": ["dataset", "purpose"], "types": {"string"}},
	{"path": ["dataset", "classification"], "types": {"string"}},
	{"path": ["dataset", "licence"], "types": {"string"}},
	{"path": ["dataset", "records"], "types": {"number"}},
	{"path": ["scan", "residual_findings"], "types": {"number"}},
]

# METADATA
# title: Input invalid
# description: >-
#   A field the rules below read is missing or of the wrong type. Without this a missing field
#   would leave a deny rule undefined and the dataset admitted; instead it fails closed.
deny contains {"code": "INPUT_INVALID", "message": lib.input_error_message("input", input, field)} if {
	some field in lib.invalid_fields(input, required_fields)
}

# METADATA
# title: Knowledge purpose
# description: Fine-tuning teaches style and behaviour, not facts; facts belong in retrieval.
deny contains {"code": "KNOWLEDGE_PURPOSE", "message": msg} if {
	input.dataset.purpose == "knowledge"
	msg := sprintf(concat(" ", [
		"dataset %q has purpose \"knowledge\": fine-tuning is the wrong tool for teaching a model facts",
		"(it learns them unreliably and cannot cite or update them); serve the facts with retrieval (RAG)",
		"instead, or upload a dataset whose purpose is one of %s",
	]), [input.dataset.name, concat(", ", config.purposes_allowed)])
}

# METADATA
# title: Licence allowed
# description: Whether licence is on the allow-list, compared case-insensitively (SPDX ids are).
licence_allowed(licence, allowed) if lower(licence) in {lower(id) | some id in allowed}

# METADATA
# title: Licence not allowed
# description: >-
#   Training on data is use of it: only licences on licences_allowed (SPDX identifiers, and
#   LicenseRef- ids for data the organisation owns or bought) may be uploaded.
deny contains {"code": "LICENCE_NOT_ALLOWED", "message": msg} if {
	is_string(input.dataset.licence)
	not licence_allowed(input.dataset.licence, config.licences_allowed)
	msg := sprintf(concat(" ", [
		"dataset %q is under licence %q, which is not on the allow-list for training data;",
		"use data under one of %s, or ask compliance to review the licence and add it",
	]), [input.dataset.name, input.dataset.licence, concat(", ", config.licences_allowed)])
}

# METADATA
# title: Purpose not allowed
# description: The declared purpose is not on the allow-list (knowledge has its own reason).
deny contains {"code": "PURPOSE_NOT_ALLOWED", "message": msg} if {
	is_string(input.dataset.purpose)
	input.dataset.purpose != "knowledge"
	not input.dataset.purpose in config.purposes_allowed
	msg := sprintf(
		"dataset %q has purpose %q, which is not allowed; declare one of %s",
		[input.dataset.name, input.dataset.purpose, concat(", ", config.purposes_allowed)],
	)
}

# METADATA
# title: Classification unknown
# description: The classification decides how many approvals a dataset needs, so it must be known.
deny contains {"code": "CLASSIFICATION_UNKNOWN", "message": msg} if {
	is_string(input.dataset.classification)
	not input.dataset.classification in object.keys(config.classifications)
	msg := sprintf(
		"dataset %q has classification %q, which is unknown; use one of %s",
		[input.dataset.name, input.dataset.classification, concat(", ", sort(object.keys(config.classifications)))],
	)
}

# METADATA
# title: Too few records
# description: Too little data to change a model's behaviour reliably.
deny contains {"code": "TOO_FEW_RECORDS", "message": msg} if {
	# Rego orders values of different types ("250" > 100000): compare numbers only.
	is_number(input.dataset.records)
	input.dataset.records < config.min_records
	msg := sprintf(
		"dataset %q has %v records; at least %v are needed, add more examples and upload again",
		[input.dataset.name, input.dataset.records, config.min_records],
	)
}

# METADATA
# title: Too many records
# description: More data than the gateway will train on; split it or ask for a larger limit.
deny contains {"code": "TOO_MANY_RECORDS", "message": msg} if {
	is_number(input.dataset.records)
	input.dataset.records > config.max_records
	msg := sprintf(
		"dataset %q has %v records; at most %v are allowed, split it or sample it down and upload again",
		[input.dataset.name, input.dataset.records, config.max_records],
	)
}

# METADATA
# title: Residual PII
# description: The scanner still finds personal data after redaction; nothing may be stored.
deny contains {"code": "RESIDUAL_PII", "message": msg} if {
	is_number(input.scan.residual_findings)
	input.scan.residual_findings > 0
	msg := sprintf(
		"dataset %q still has %v PII finding(s) after redaction in %v record(s), listed by record, field and type; remove or mask them in the source and upload again, or ask compliance to drop such records",
		[input.dataset.name, input.scan.residual_findings, object.get(input.scan, "residual_records", "some")],
	)
}

# METADATA
# title: Team mismatch
# description: A user uploads datasets for their own team only.
deny contains {"code": "TEAM_MISMATCH", "message": msg} if {
	is_string(input.subject.team)
	input.dataset.team != input.subject.team
	msg := sprintf(
		"user %q of team %q cannot upload dataset %q for team %q; upload it for your own team or ask a member of it",
		[input.subject.name, input.subject.team, input.dataset.name, input.dataset.team],
	)
}
