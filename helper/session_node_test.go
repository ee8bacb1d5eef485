package helper

import "testing"

// TestSessionPinsToNode checks that a Session with NodeName (the per-node checks of diagnose)
// creates its pod with spec.nodeName, and one without leaves the choice to the scheduler.
func TestSessionPinsToNode(t *testing.T) {
	for _, node := range []string{"", "node-2"} {
		s := &Session{Namespace: "ns", NodeName: node, Flags: Flags{Timeout: DefaultTimeout}}
		if got := PodSpec(s.options()).Spec.NodeName; got != node {
			t.Errorf("NodeName %q: pod spec.nodeName %q", node, got)
		}
	}
}
