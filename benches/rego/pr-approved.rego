# Benchmark policy modelled on Kosli's documented pull-request example: every trail's pull requests
# (under the attestation named by data.params.pr_attestation_name) must each have an approver.
package policy

import rego.v1

pr_attestation := data.params.pr_attestation_name

default allow := false

approved(trail) if {
	every pr in trail.compliance_status.attestations_statuses[pr_attestation].pull_requests {
		count(pr.approvers) > 0
	}
}

allow if {
	every trail in input.trails {
		approved(trail)
	}
}

violations contains msg if {
	some trail in input.trails
	some pr in trail.compliance_status.attestations_statuses[pr_attestation].pull_requests
	count(pr.approvers) == 0
	msg := sprintf("trail %q: pull request %v has no approvers", [trail.name, pr.url])
}
