package trace

import (
	"context"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/rules"
)

// Findings are the lint findings on the snapshot (run once).
func (r *Reads) Findings(ctx context.Context) []report.Finding {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.findingsLocked(ctx)
}

func (r *Reads) findingsLocked(ctx context.Context) []report.Finding {
	if !r.findingsDone {
		r.findingsDone = true
		r.findings = r.runRulesLocked(ctx)
	}
	return r.findings
}

// runRulesLocked runs the lint rules on the snapshot (nil when it cannot be read).
func (r *Reads) runRulesLocked(ctx context.Context) []report.Finding {
	snap, err := r.snapshotLocked(ctx)
	if err != nil {
		return nil
	}
	out, err := rules.Run(snap, r.Rules)
	if err != nil {
		return nil
	}
	return out.Findings
}

// ServiceFindings are the lint findings on one Service of the snapshot (an index lookup: the
// diagnosis of every Service of a big cluster does not scan every finding for each Service).
func (r *Reads) ServiceFindings(ctx context.Context, namespace, name string) []report.Finding {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.serviceFindings == nil {
		all := r.findings
		if !r.findingsDone {
			all = r.runRulesLocked(ctx)
		}
		r.serviceFindings = map[string][]report.Finding{}
		for _, f := range all {
			if f.Object != nil && f.Object.Kind == "Service" {
				k := f.Object.Namespace + "/" + f.Object.Name
				r.serviceFindings[k] = append(r.serviceFindings[k], f)
			}
		}
	}
	return r.serviceFindings[namespace+"/"+name]
}
