package rules

// ProbeRuleIDs are the rules that review probe configuration (used by `svc-doctor probes`).
func ProbeRuleIDs() []string {
	return []string{ruleProbeHandlers.ID, ruleProbePort.ID, ruleProbeTimeout.ID, ruleProbeSuccess.ID,
		ruleProbeIdentical.ID, ruleReadinessMissing.ID}
}
