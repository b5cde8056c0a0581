# Benchmark policy modelled on Kosli's documented Snyk example: no artifact of the trail may have more
# high-severity findings than data.params.max_high.
package policy

import rego.v1

max_high := data.params.max_high

default allow := false

high(artifact) := sum([run.high_count | some run in artifact.attestations_statuses["snyk-scan"].processed_snyk_results.results])

allow if {
	every _, artifact in input.trail.compliance_status.artifacts_statuses {
		high(artifact) <= max_high
	}
}

violations contains msg if {
	some name, artifact in input.trail.compliance_status.artifacts_statuses
	high(artifact) > max_high
	msg := sprintf("artifact %q has %d high-severity findings (at most %d allowed)", [name, high(artifact), max_high])
}
