package policy_test

import data.policy
import rego.v1

trail(name, author, approvers) := {
	"name": name,
	"compliance_status": {"attestations_statuses": {"pull-request": {"pull_requests": [{"author": author, "approvers": approvers}]}}},
}

test_allows_independent_approval if {
	policy.allow with input as {"trails": [trail("t1", "alice", ["bob"])]}
}

test_denies_self_approval if {
	not policy.allow with input as {"trails": [trail("t1", "alice", ["alice"])]}
}

test_names_the_trail_in_violations if {
	policy.violations == {"trail \"t2\" has no pull request approved by someone other than its author"} with input as {"trails": [
		trail("t1", "alice", ["bob"]),
		trail("t2", "carol", []),
	]}
}

test_denies_when_there_are_no_trails if {
	not policy.allow with input as {"trails": []}
}
