# A trail may ship when it is COMPLIANT (every attestation its template requires is present and compliant)
# and its pull request was approved by someone other than its author.
# Evaluate:  verdict evaluate trail TRAIL --flow FLOW --policy examples/rego/trail-policy.rego
package policy

import rego.v1

default allow := false

statuses := input.trail.compliance_status

pull_request := statuses.attestations_statuses["pull-request"]

independently_approved if {
	some approver in pull_request.user_data.approvers
	approver != pull_request.user_data.author
}

allow if {
	statuses.status == "COMPLIANT"
	independently_approved
}

violations contains msg if {
	some name, attestation in statuses.attestations_statuses
	attestation.status != "COMPLIANT"
	msg := sprintf("attestation %q is %s", [name, attestation.status])
}

violations contains msg if {
	some artifact, artifact_status in statuses.artifacts_statuses
	some name, attestation in artifact_status.attestations_statuses
	attestation.status != "COMPLIANT"
	msg := sprintf("attestation %q of artifact %q is %s", [name, artifact, attestation.status])
}

violations contains "the pull request was not approved by someone other than its author" if {
	not independently_approved
}
