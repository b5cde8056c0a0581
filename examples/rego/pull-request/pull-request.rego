# Every artifact of every trail needs a pull request approved by someone other than its author.
# Evaluate:  verdict evaluate input --input-file examples/rego/pull-request/trails-input.json --policy examples/rego/pull-request/pull-request.rego
package policy

import rego.v1

default allow := false

# Allowed only when every trail shows the evidence: an approved pull request with an independent reviewer.
allow if {
	count(input.trails) > 0
	every trail in input.trails {
		independent_approval(trail)
	}
}

independent_approval(trail) if {
	some pr in trail.compliance_status.attestations_statuses["pull-request"].pull_requests
	some approver in pr.approvers
	approver != pr.author
}

violations contains msg if {
	some trail in input.trails
	not independent_approval(trail)
	msg := sprintf("trail %q has no pull request approved by someone other than its author", [trail.name])
}
