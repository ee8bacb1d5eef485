package expose

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/client-go/kubernetes"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/trace"
	"github.com/svc-doctor/svc-doctor/trace/servicetrace"
)

// StaticDiagnosis is the DiagnoseFunc of the CLI: the diagnosis's static hops (service,
// selector, ports, readiness, endpoints, exposure), which explain a Service without ready
// endpoints from the API alone, without starting a helper pod. Its verdict names the hop, the
// root cause and the fix.
func StaticDiagnosis(cs kubernetes.Interface) DiagnoseFunc {
	return func(ctx context.Context, namespace, service string) (string, error) {
		reads := trace.NewReads(cs, namespace)
		reads.OneService = true
		st := servicetrace.NewState(servicetrace.Config{Namespace: namespace, Name: service, Static: true}, reads, nil)
		steps := servicetrace.Run(ctx, st, servicetrace.StaticHops())
		if err := st.Fatal(); err != nil {
			return "", err
		}
		return formatVerdict(trace.Conclude(steps)), nil
	}
}

func formatVerdict(v report.Verdict) string {
	var b strings.Builder
	switch v.Kind {
	case report.VerdictFault:
		fmt.Fprintf(&b, "diagnosis: fault at hop %s: %s", v.Hop, v.RootCause)
		if v.Fix != "" {
			fmt.Fprintf(&b, "\n  fix: %s", v.Fix)
		}
	default:
		msg := v.Message
		if msg == "" {
			msg = v.Kind
		}
		fmt.Fprintf(&b, "diagnosis (%s): %s", v.Kind, msg)
	}
	return b.String()
}
