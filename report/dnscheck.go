package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/svc-doctor/svc-doctor/agent"
)

// DNSCheckReport is the envelope of `dnscheck -o json|yaml` (kind DNSCheckReport).
type DNSCheckReport struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Tool       Tool       `json:"tool"`
	Service    ObjectRef  `json:"service"`
	DNS        *DNSReport `json:"dns,omitempty"`
	Env        *EnvReport `json:"env,omitempty"`
	Verdict    Verdict    `json:"verdict"`
	// Summary is the DNS hop's one-line result.
	Summary string `json:"summary"`
	// Hops are the hops that ran when the DNS queries could not (the Service is missing, the
	// helper did not start).
	Hops []HopReport `json:"hops,omitempty"`
}

// EnvReport explains the service-link environment variables of the --from pod.
type EnvReport struct {
	Pod                string   `json:"pod"`
	Variables          []string `json:"variables"`
	EnableServiceLinks bool     `json:"enableServiceLinks"`
	// Expected says whether the pod's containers should have them.
	Expected bool `json:"expected"`
	// Observed is what the agent read from the container's environment ("" when not read).
	Observed []string `json:"observed,omitempty"`
	// ObservedError says why the environment could not be read.
	ObservedError string `json:"observedError,omitempty"`
	Explanation   string `json:"explanation"`
}

// DNSQuery is one name looked up from the agent, with the answer the API objects predict.
type DNSQuery struct {
	// Purpose says what the query proves: "short name", "name.namespace", "FQDN", ...
	Purpose string `json:"purpose"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	// Expected are the answers the API predicts (sorted); ExpectedFrom says where they come from.
	Expected     []string `json:"expected"`
	ExpectedFrom string   `json:"expectedFrom"`
	// AnyAnswer: any address is right (an ExternalName target).
	AnyAnswer bool     `json:"anyAnswer,omitempty"`
	Got       []string `json:"got"`
	// Failure is the agent's failure class ("" when the query got an answer).
	Failure agent.FailureClass `json:"failure,omitempty"`
	Detail  string             `json:"detail,omitempty"`
	Status  HopStatus          `json:"status"`
	Note    string             `json:"note,omitempty"`
}

// DNSReport is what the DNS hop saw: the resolver configuration and every query.
type DNSReport struct {
	Source      string            `json:"source"`
	ResolvConf  *agent.ResolvConf `json:"resolvConf,omitempty"`
	Domain      string            `json:"clusterDomain"`
	DomainGuess bool              `json:"clusterDomainAssumed,omitempty"`
	Queries     []DNSQuery        `json:"queries"`
}

// WriteTable prints the queries next to the expected answers, the environment explanation and
// the verdict.
func (rep *DNSCheckReport) WriteTable(w io.Writer, _ TableOptions) error {
	if rep.DNS == nil {
		for _, s := range rep.Hops {
			fmt.Fprintf(w, "%s  %s\n", strings.ToUpper(string(s.Status)), Sanitize(s.Summary))
			for _, e := range s.Evidence {
				fmt.Fprintf(w, "  %s\n", Sanitize(e))
			}
		}
	} else {
		d := rep.DNS
		fmt.Fprintf(w, "From %s\n", Sanitize(d.Source))
		if rc := d.ResolvConf; rc != nil {
			fmt.Fprintf(w, "resolv.conf: nameserver %s, search %s, ndots %d; cluster domain %s\n\n",
				Sanitize(strings.Join(rc.Nameservers, ",")), Sanitize(strings.Join(rc.Search, " ")), rc.Ndots, Sanitize(d.Domain))
		}
		rows := [][]string{}
		for _, q := range d.Queries {
			got := strings.Join(q.Got, ",")
			if q.Failure != "" {
				got = string(q.Failure)
			}
			exp := strings.Join(q.Expected, ",")
			if q.AnyAnswer {
				exp = "any address"
			}
			rows = append(rows, []string{strings.ToUpper(string(q.Status)), q.Type, q.Name, noneIfEmpty(exp), noneIfEmpty(got), q.ExpectedFrom + note(q.Note)})
		}
		if err := WriteTable(w, []string{"status", "type", "name", "expected", "got", "expected from"}, rows, nil); err != nil {
			return err
		}
	}
	if e := rep.Env; e != nil {
		fmt.Fprintf(w, "\nEnvironment of %s: %s\n", e.Pod, Sanitize(e.Explanation))
		switch {
		case e.Observed != nil && len(e.Observed) == 0:
			fmt.Fprintf(w, "  observed: no %s* variables in the container's environment\n", strings.TrimSuffix(e.Variables[0], "HOST"))
		case e.Observed != nil:
			fmt.Fprintf(w, "  observed: %s\n", Sanitize(strings.Join(e.Observed, " ")))
		case e.ObservedError != "":
			fmt.Fprintf(w, "  observed: %s\n", Sanitize(e.ObservedError))
		}
	}
	v := rep.Verdict
	switch v.Kind {
	case VerdictFault:
		_, err := fmt.Fprintf(w, "\nROOT CAUSE  %s\nFIX         %s\n", Sanitize(v.RootCause), Sanitize(v.Fix))
		return err
	case VerdictInconclusive:
		_, err := fmt.Fprintf(w, "\nINCONCLUSIVE  %s\n", Sanitize(v.Message))
		return err
	}
	_, err := fmt.Fprintf(w, "\nOK  %s\n", Sanitize(rep.Summary))
	return err
}

func note(s string) string {
	if s == "" {
		return ""
	}
	return "; " + s
}

func noneIfEmpty(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// JUnit implements Document: one case per query and the verdict.
func (rep *DNSCheckReport) JUnit() JUnitSuites {
	class := "dnscheck " + rep.Service.Namespace + "/" + rep.Service.Name
	suite := JUnitSuite{Name: class}
	if rep.DNS != nil {
		for _, q := range rep.DNS.Queries {
			c := JUnitCase{Name: q.Type + " " + q.Name, Classname: class,
				SystemOut: "expected " + strings.Join(q.Expected, ",") + " (" + q.ExpectedFrom + "), got " + strings.Join(q.Got, ",")}
			if q.Status == HopFail {
				c.Failure = &JUnitFailure{Message: q.Name + ": " + string(q.Failure) + q.Detail, Type: string(q.Status), Text: c.SystemOut}
			}
			suite.Cases = append(suite.Cases, c)
		}
	} else {
		suite.Cases = hopCases(class, rep.Hops)
	}
	suite.Cases = append(suite.Cases, verdictCase(class, rep.Verdict))
	out := JUnitSuites{Name: "svc-doctor dnscheck"}
	out.Add(suite)
	return out
}
