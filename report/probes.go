package report

import (
	"fmt"
	"io"
	"strconv"

	"github.com/svc-doctor/svc-doctor/agent"
)

// ProbesReport is the envelope of `probes -o json|yaml` (kind ProbesReport).
type ProbesReport struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Tool       Tool          `json:"tool"`
	Target     ObjectRef     `json:"target"`
	Probes     []ProbeConfig `json:"probes"`
	Findings   []Finding     `json:"findings"`
	Pods       []PodReport   `json:"pods"`
	Runs       []RunResult   `json:"runs,omitempty"`
	// RunFrom is where --run executed the probes.
	RunFrom string  `json:"runFrom,omitempty"`
	Verdict Verdict `json:"verdict"`
}

// ProbeConfig is one probe of one container.
type ProbeConfig struct {
	Container           string `json:"container"`
	Probe               string `json:"probe"`
	Handler             string `json:"handler"`
	InitialDelaySeconds int32  `json:"initialDelaySeconds"`
	PeriodSeconds       int32  `json:"periodSeconds"`
	TimeoutSeconds      int32  `json:"timeoutSeconds"`
	SuccessThreshold    int32  `json:"successThreshold"`
	FailureThreshold    int32  `json:"failureThreshold"`
}

// PodReport is one pod's readiness.
type PodReport struct {
	Name     string `json:"name"`
	IP       string `json:"ip,omitempty"`
	Ready    bool   `json:"ready"`
	Restarts int32  `json:"restarts"`
	// Problem says why the pod is not ready.
	Problem string `json:"problem,omitempty"`
	// LastProbeFailure is the newest readiness-probe failure event; ProbeFailures counts them.
	LastProbeFailure string   `json:"lastProbeFailure,omitempty"`
	ProbeFailures    int32    `json:"probeFailures"`
	Notes            []string `json:"notes,omitempty"`
}

// RunResult is one readiness probe executed from the helper.
type RunResult struct {
	Pod       string             `json:"pod"`
	Container string             `json:"container"`
	Target    string             `json:"target"`
	OK        bool               `json:"ok"`
	Skipped   string             `json:"skipped,omitempty"`
	Failure   agent.FailureClass `json:"failure,omitempty"`
	Detail    string             `json:"detail"`
}

// WriteTable prints the review as tables and the verdict.
func (rep *ProbesReport) WriteTable(w io.Writer, _ TableOptions) error {
	section := func(title string) { fmt.Fprintf(w, "\n%s\n", title) }
	if len(rep.Probes) > 0 {
		fmt.Fprintln(w, "PROBES")
		var rows [][]string
		for _, p := range rep.Probes {
			rows = append(rows, []string{p.Container, p.Probe, p.Handler, fmt.Sprintf("%ds", p.InitialDelaySeconds), fmt.Sprintf("%ds", p.PeriodSeconds),
				fmt.Sprintf("%ds", p.TimeoutSeconds), fmt.Sprintf("%d/%d", p.SuccessThreshold, p.FailureThreshold)})
		}
		if err := WriteTable(w, []string{"container", "probe", "handler", "delay", "period", "timeout", "success/failure"}, rows, nil); err != nil {
			return err
		}
	} else if len(rep.Pods) > 0 {
		fmt.Fprintln(w, "PROBES\nno container has a probe")
	}
	if len(rep.Findings) > 0 {
		section("CONFIGURATION")
		var rows [][]string
		for _, f := range rep.Findings {
			rows = append(rows, []string{f.Severity.String(), f.Rule, f.Message})
		}
		if err := WriteTable(w, []string{"severity", "rule", "message"}, rows, nil); err != nil {
			return err
		}
	}
	if len(rep.Pods) > 0 {
		section("PODS")
		var rows [][]string
		for _, p := range rep.Pods {
			state := "ready"
			if !p.Ready {
				state = "not ready: " + p.Problem
			}
			last := p.LastProbeFailure
			if last != "" && p.ProbeFailures > 1 {
				last = fmt.Sprintf("%s (x%d)", last, p.ProbeFailures)
			}
			rows = append(rows, []string{p.Name, dashIfEmpty(p.IP), strconv.Itoa(int(p.Restarts)), state, dashIfEmpty(last)})
		}
		if err := WriteTable(w, []string{"pod", "ip", "restarts", "state", "last readiness failure"}, rows, nil); err != nil {
			return err
		}
	}
	if len(rep.Runs) > 0 {
		section("READINESS PROBES RUN NOW from " + Sanitize(rep.RunFrom) + " (the kubelet probes from the node; NetworkPolicies apply to the helper only)")
		var rows [][]string
		for _, r := range rep.Runs {
			result := "ok"
			switch {
			case r.Skipped != "":
				result = "not run: " + r.Skipped
			case !r.OK:
				result = string(r.Failure) + ": " + r.Detail
			case r.Detail != "":
				result = "ok: " + r.Detail
			}
			rows = append(rows, []string{r.Pod, r.Container, r.Target, result})
		}
		if err := WriteTable(w, []string{"pod", "container", "probe", "result"}, rows, nil); err != nil {
			return err
		}
	}
	v := rep.Verdict
	var err error
	switch v.Kind {
	case VerdictFault:
		_, err = fmt.Fprintf(w, "\nROOT CAUSE  %s\nFIX         %s\n", Sanitize(v.RootCause), Sanitize(v.Fix))
	default:
		_, err = fmt.Fprintf(w, "\nHEALTHY  %s\n", Sanitize(v.Message))
	}
	return err
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// JUnit implements Document: one case per pod's readiness, per probe run and the verdict.
func (rep *ProbesReport) JUnit() JUnitSuites {
	class := "probes " + rep.Target.Kind + " " + rep.Target.Namespace + "/" + rep.Target.Name
	suite := JUnitSuite{Name: class}
	for _, p := range rep.Pods {
		c := JUnitCase{Name: "pod " + p.Name + " ready", Classname: class}
		if !p.Ready {
			c.Failure = &JUnitFailure{Message: p.Problem, Type: "not ready", Text: p.Problem + "\n" + p.LastProbeFailure}
		}
		suite.Cases = append(suite.Cases, c)
	}
	for _, r := range rep.Runs {
		c := JUnitCase{Name: "run " + r.Pod + " " + r.Container + " " + r.Target, Classname: class, SystemOut: r.Detail}
		switch {
		case r.Skipped != "":
			c.Skipped = &JUnitSkipped{Message: r.Skipped}
		case !r.OK:
			c.Failure = &JUnitFailure{Message: string(r.Failure) + ": " + r.Detail, Type: string(r.Failure), Text: r.Detail}
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Cases = append(suite.Cases, verdictCase(class, rep.Verdict))
	out := JUnitSuites{Name: "svc-doctor probes"}
	out.Add(suite)
	return out
}
