package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// TestWriteJSONItemsIsMarshalIndent: a summary written an item at a time is byte for byte the
// summary encoded whole, with no Service, one, or many (HTML-escaped characters, nested traces).
func TestWriteJSONItemsIsMarshalIndent(t *testing.T) {
	svc := func(i int) ServiceSummary {
		return ServiceSummary{Namespace: "ns", Name: fmt.Sprintf("web-%d", i), Type: "ClusterIP",
			Verdict: Verdict{Kind: VerdictFault, Hop: "endpoints", RootCause: "no <ready> endpoints & more"},
			Hops:    []HopLine{{ID: "service", Status: "pass", Summary: "ok"}},
			Trace:   []HopReport{{ID: "endpoints", Status: "fail", Summary: "0 ready", Evidence: []string{"a", "b"}}},
			Detail:  "services \"web\" \u2028", Warnings: i}
	}
	for _, n := range []int{0, 1, 3} {
		s := &DiagnoseSummary{APIVersion: APIVersion, Kind: "DiagnoseSummary", Tool: Tool{Name: "svc-doctor", Version: "dev"},
			Namespace: "ns", Services: []ServiceSummary{}, Note: "static"}
		for i := range n {
			s.Services = append(s.Services, svc(i))
		}
		s.Counts.Fault = n
		want, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := WriteJSON(&got, s); err != nil {
			t.Fatal(err)
		}
		if got.String() != string(want)+"\n" {
			t.Errorf("%d Services: written an item at a time:\n%s\nwant:\n%s", n, got.String(), want)
		}
	}
}
