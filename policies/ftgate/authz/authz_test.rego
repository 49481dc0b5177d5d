package ftgate.authz_test

import data.ftgate.authz

# The permission table as the specification states it, written out independently of the
# policy's grants so a change to either shows up here.
permitted := {
	"submitter": {
		"datasets.upload", "datasets.list", "datasets.read", "datasets.download",
		"jobs.submit", "jobs.list", "jobs.read", "jobs.cancel", "adapters.list", "adapters.read",
		"adapters.download", "models.list", "tokens.list", "tokens.rotate", "tokens.revoke",
	},
	"approver": {
		"datasets.approve", "datasets.reject", "datasets.list", "datasets.read", "datasets.download",
		"jobs.list", "jobs.read", "jobs.approve", "jobs.reject", "adapters.list", "adapters.read",
		"datasets.revoke", "adapters.release", "adapters.download",
		"tokens.list", "tokens.rotate", "tokens.revoke",
	},
	"auditor": {
		"users.list", "models.list", "datasets.list", "datasets.read", "jobs.list", "jobs.read",
		"adapters.list", "adapters.read", "audit.verify", "audit.export", "policy.replay",
		"tokens.list", "tokens.rotate", "tokens.revoke",
	},
	"admin": {
		"users.add", "users.list", "models.add", "models.list", "worker.run", "jobs.cancel", "datasets.revoke",
		"datasets.list", "datasets.read", "jobs.list", "jobs.read", "adapters.list", "adapters.read",
		"audit.verify", "audit.export", "policy.replay",
		"users.disable", "users.enable", "tokens.list", "tokens.rotate", "tokens.revoke",
	},
	"worker": {"worker.run"},
}

all_actions := {
	"users.add", "users.list", "users.disable", "users.enable", "models.add", "models.list",
	"tokens.list", "tokens.rotate", "tokens.revoke",
	"datasets.upload", "datasets.list", "datasets.read", "datasets.download",
	"datasets.approve", "datasets.reject", "datasets.revoke", "jobs.submit", "jobs.list", "jobs.read",
	"jobs.approve", "jobs.reject", "jobs.cancel",
	"worker.run", "adapters.list", "adapters.read", "adapters.release", "adapters.download",
	"audit.verify", "audit.export", "policy.replay",
}

request(role, action, resource) := {
	"subject": {"name": "ada", "role": role, "team": "ml"},
	"action": action,
	"resource": resource,
}

own_dataset := {"type": "dataset", "team": "ml", "owner": "bob"}

finance_dataset := {"type": "dataset", "team": "finance", "owner": "eve"}

teamless_dataset := {"type": "dataset", "team": null, "owner": "bob"}

adas_dataset := {"type": "dataset", "team": "ml", "owner": "ada"}

ownerless_dataset := {"type": "dataset", "team": "ml", "owner": null}

adas_token := {"type": "token", "team": null, "owner": "ada"}

bobs_token := {"type": "token", "team": null, "owner": "bob"}

# The resource each action of the matrix is asked about: the subject's own token for token actions.
resource_for(action) := adas_token if startswith(action, "tokens.")

resource_for(action) := own_dataset if not startswith(action, "tokens.")

codes(decision) := {reason.code | some reason in decision.reasons}

test_policy_knows_every_action if {
	authz.actions == all_actions
}

test_permission_matrix if {
	every role, allowed_actions in permitted {
		every action in all_actions {
			allowed := authz.allow with input as request(role, action, resource_for(action))
			allowed == (action in allowed_actions)
		}
	}
}

test_denied_actions_say_role_not_permitted if {
	every role, allowed_actions in permitted {
		every action in all_actions - allowed_actions {
			d := authz.decision with input as request(role, action, resource_for(action))
			codes(d) == {"ROLE_NOT_PERMITTED"}
		}
	}
}

test_admin_cannot_approve_separation_of_duties if {
	d := authz.decision with input as request("admin", "datasets.approve", own_dataset)
	not d.allow
	d.reasons == [{"code": "ROLE_NOT_PERMITTED", "message": concat("", [
		"role \"admin\" may not perform \"datasets.approve\" (admins manage users, models and the worker ",
		"and do not upload or approve data or submit jobs); ask a user with role approver",
	])}]
}

test_admin_cannot_submit_jobs if {
	d := authz.decision with input as request("admin", "jobs.submit", own_dataset)
	codes(d) == {"ROLE_NOT_PERMITTED"}
	endswith(d.reasons[0].message, "ask a user with role submitter")
}

test_auditor_cannot_upload_approve_or_submit if {
	every action in ["datasets.upload", "datasets.approve", "datasets.reject", "jobs.submit"] {
		d := authz.decision with input as request("auditor", action, own_dataset)
		codes(d) == {"ROLE_NOT_PERMITTED"}
	}
}

test_role_not_permitted_not_raised_for_granted_action if {
	not "ROLE_NOT_PERMITTED" in codes(authz.decision) with input as request("auditor", "audit.export", own_dataset)
}

test_read_lists_every_role_that_may if {
	d := authz.decision with input as request("submitter", "audit.verify", {"type": "log", "team": null, "owner": null})
	endswith(d.reasons[0].message, "ask a user with role admin or auditor")
}

test_unknown_role if {
	d := authz.decision with input as request("superuser", "datasets.read", own_dataset)
	codes(d) == {"UNKNOWN_ROLE"}
	d.reasons[0].message == concat("", [
		"user \"ada\" has role \"superuser\", which is unknown; ",
		"ask an admin to give the account one of admin, approver, auditor, submitter, worker",
	])
}

test_unknown_role_not_raised_for_known_roles if {
	every role, _ in permitted {
		not "UNKNOWN_ROLE" in codes(authz.decision) with input as request(role, "datasets.list", own_dataset)
	}
}

test_tokens_only_ones_own if {
	every role in ["submitter", "approver", "auditor"] {
		every action in ["tokens.list", "tokens.rotate", "tokens.revoke"] {
			authz.allow with input as request(role, action, adas_token)
			d := authz.decision with input as request(role, action, bobs_token)
			codes(d) == {"NOT_SELF"}
			d.reasons[0].message == sprintf(
				"user \"ada\" may %s only for themselves, and this token is \"bob\"'s; ask an admin",
				[action],
			)
		}
	}
}

test_tokens_of_nobody_named_fail_closed if {
	d := authz.decision with input as request("submitter", "tokens.revoke", {"type": "token", "team": null, "owner": null})
	codes(d) == {"NOT_SELF"}
}

test_admin_manages_anyones_tokens if {
	every action in ["tokens.list", "tokens.rotate", "tokens.revoke"] {
		authz.allow with input as request("admin", action, bobs_token)
	}
}

test_worker_runs_jobs_and_nothing_else if {
	authz.allow with input as request("worker", "worker.run", {"type": "job", "team": null, "owner": null})
	every action in all_actions - {"worker.run"} {
		d := authz.decision with input as request("worker", action, resource_for(action))
		codes(d) == {"ROLE_NOT_PERMITTED"}
	}
}

test_unknown_action if {
	d := authz.decision with input as request("admin", "datasets.delete", own_dataset)
	codes(d) == {"UNKNOWN_ACTION"}
	startswith(d.reasons[0].message, "action \"datasets.delete\" is unknown to the policy")
}

test_unknown_action_not_raised_for_known_action if {
	not "UNKNOWN_ACTION" in codes(authz.decision) with input as request("admin", "users.add", own_dataset)
}

test_input_invalid_on_empty_input if {
	d := authz.decision with input as {}
	not d.allow
	codes(d) == {"INPUT_INVALID"}
}

test_input_invalid_on_missing_resource if {
	inp := json.remove(request("admin", "users.list", own_dataset), ["resource"])
	codes(authz.decision) == {"INPUT_INVALID"} with input as inp
}

test_input_invalid_on_numeric_team if {
	d := authz.decision with input as request("admin", "users.list", {"type": "user", "team": 3, "owner": null})
	codes(d) == {"INPUT_INVALID"}
	startswith(d.reasons[0].message, "input.resource.team must be null or string but is number")
}

test_input_invalid_not_raised_for_null_team_and_owner if {
	authz.allow with input as request("admin", "users.list", {"type": "user", "team": null, "owner": null})
}

test_submitter_reads_own_team if {
	every action in ["datasets.read", "datasets.download", "jobs.read", "adapters.read", "datasets.list"] {
		authz.allow with input as request("submitter", action, own_dataset)
	}
}

test_other_team if {
	d := authz.decision with input as request("submitter", "datasets.read", finance_dataset)
	codes(d) == {"OTHER_TEAM"}
	d.reasons[0].message == concat("", [
		"user \"ada\" of team \"ml\" may datasets.read only for their own team, ",
		"and this dataset belongs to team \"finance\"; ask a member of that team",
	])
}

test_other_team_applies_to_list_upload_and_submit if {
	every action in ["datasets.list", "datasets.upload", "jobs.submit", "adapters.list"] {
		d := authz.decision with input as request("submitter", action, finance_dataset)
		codes(d) == {"OTHER_TEAM"}
	}
}

test_other_team_not_raised_for_approvers_and_auditors if {
	every role in ["approver", "auditor", "admin"] {
		authz.allow with input as request(role, "datasets.read", finance_dataset)
	}
}

test_list_with_null_team_is_allowed_for_gateway_filtering if {
	every action in ["datasets.list", "jobs.list", "adapters.list"] {
		authz.allow with input as request("submitter", action, {"type": "dataset", "team": null, "owner": null})
	}
}

test_resource_team_unknown if {
	d := authz.decision with input as request("submitter", "datasets.read", teamless_dataset)
	codes(d) == {"RESOURCE_TEAM_UNKNOWN"}
}

test_resource_team_unknown_not_raised_for_list if {
	not "RESOURCE_TEAM_UNKNOWN" in codes(authz.decision) with input as request(
		"submitter", "jobs.list", {"type": "job", "team": null, "owner": null},
	)
}

test_self_approval if {
	every action in ["datasets.approve", "datasets.reject"] {
		d := authz.decision with input as request("approver", action, adas_dataset)
		codes(d) == {"SELF_APPROVAL"}
	}
}

test_self_approval_message if {
	d := authz.decision with input as request("approver", "datasets.approve", adas_dataset)
	d.reasons[0].message == concat("", [
		"user \"ada\" uploaded this dataset and cannot approve it: ",
		"it must be reviewed by someone else (four eyes); ask another approver",
	])
}

test_self_approval_not_raised_for_someone_elses_dataset if {
	authz.decision == {"allow": true, "reasons": []} with input as request("approver", "datasets.approve", own_dataset)
}

test_approver_may_review_any_team if {
	authz.allow with input as request("approver", "datasets.reject", finance_dataset)
}

test_resource_owner_unknown if {
	d := authz.decision with input as request("approver", "datasets.approve", ownerless_dataset)
	codes(d) == {"RESOURCE_OWNER_UNKNOWN"}
}

test_resource_owner_unknown_not_raised_for_reads if {
	authz.allow with input as request("approver", "datasets.read", ownerless_dataset)
}

test_submitter_of_a_job_cannot_sign_it_off if {
	d := authz.decision with input as request("approver", "jobs.approve", {"type": "job", "team": "ml", "owner": "ada"})
	codes(d) == {"SELF_APPROVAL"}
	d.reasons[0].message == concat("", [
		"user \"ada\" submitted this job and cannot approve it: ",
		"it must be reviewed by someone else (four eyes); ask another approver",
	])
}

test_another_approver_signs_off_a_job if {
	authz.allow with input as request("approver", "jobs.approve", {"type": "job", "team": "ml", "owner": "bob"})
}

adapter_of(team, submitter) := {"type": "adapter", "team": team, "owner": submitter}

test_submitter_of_the_training_job_cannot_release_its_adapter if {
	d := authz.decision with input as request("approver", "adapters.release", adapter_of("ml", "ada"))
	codes(d) == {"SELF_APPROVAL"}
	startswith(d.reasons[0].message, "user \"ada\" submitted the training job of this adapter and cannot release it")
}

test_another_approver_releases_an_adapter if {
	authz.allow with input as request("approver", "adapters.release", adapter_of("finance", "bob"))
}

test_release_needs_the_submitter_named if {
	d := authz.decision with input as request("approver", "adapters.release", adapter_of("ml", null))
	codes(d) == {"RESOURCE_OWNER_UNKNOWN"}
}

test_submitters_download_only_their_teams_adapters if {
	authz.allow with input as request("submitter", "adapters.download", adapter_of("ml", "bob"))
	d := authz.decision with input as request("submitter", "adapters.download", adapter_of("finance", "eve"))
	codes(d) == {"OTHER_TEAM"}
}

test_submitters_auditors_and_admins_cannot_release if {
	every role in ["submitter", "auditor", "admin"] {
		d := authz.decision with input as request(role, "adapters.release", adapter_of("ml", "bob"))
		codes(d) == {"ROLE_NOT_PERMITTED"}
	}
}
