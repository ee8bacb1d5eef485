package rules

import (
	"container/heap"
	"fmt"
	"runtime"
	"sort"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// Collector gathers the findings of a run: suppressed ones are counted and dropped, every other
// one is counted by severity, and with Config.MaxPerRule only the first findings of each rule (in
// report order) are kept, so that memory does not grow with the number of findings. A finding's
// location is resolved (its field's line read from the object's text) only when it is kept and
// its line decides its place.
type Collector struct {
	cfg        Config
	enabled    []*Rule
	on         map[string]bool
	perRule    map[string]*ruleFindings
	order      []string // rules in the order they first reported
	suppressed int
	counts     report.Counts
	byID       map[string]*Rule
}

// pending is a finding whose location may not be resolved yet.
type pending struct {
	f     report.Finding
	src   *snapshot.Source
	field string
	// lazy is set while f.Location still lacks the field's line (a finding on an object read
	// from a manifest)
	lazy bool
	// key is the file, document and object line, known without reading the text again;
	// anchored says that key.line is the first line of the object the finding is about
	key      lk
	anchored bool
	seq      int // insertion order, for a stable sort
}

// location resolves the finding's location.
func (p *pending) location() *report.Location {
	if p.lazy {
		p.f.Location = p.src.Location(p.field)
		p.lazy = false
	}
	return p.f.Location
}

// ruleFindings holds the findings of one rule: all of them, or the first max in report order (a
// heap whose root is the last of them).
type ruleFindings struct {
	kept    []*pending
	max     int
	total   int
	dropped report.Severity // the highest severity among those not kept
}

func (r *ruleFindings) Len() int           { return len(r.kept) }
func (r *ruleFindings) Less(i, j int) bool { return before(r.kept[j], r.kept[i]) } // a max-heap
func (r *ruleFindings) Swap(i, j int)      { r.kept[i], r.kept[j] = r.kept[j], r.kept[i] }
func (r *ruleFindings) Push(x any)         { r.kept = append(r.kept, x.(*pending)) }
func (r *ruleFindings) Pop() any {
	last := r.kept[len(r.kept)-1]
	r.kept = r.kept[:len(r.kept)-1]
	return last
}

// NewCollector returns a collector for the rules cfg enables; an unknown rule ID is an error.
func NewCollector(cfg Config) (*Collector, error) {
	enabled, err := Enabled(cfg)
	if err != nil {
		return nil, err
	}
	c := &Collector{cfg: cfg, enabled: enabled, on: map[string]bool{}, perRule: map[string]*ruleFindings{}}
	for _, r := range enabled {
		c.on[r.ID] = true
	}
	return c, nil
}

// Issue reports an issue found while reading the input, as the input rule it names would: the
// snapshot.StreamOptions.Issues of a streaming read.
func (c *Collector) Issue(is snapshot.Issue) {
	r := c.ruleByID(is.Rule)
	if r == nil || !c.on[r.ID] {
		return
	}
	c.issue(r, is)
}

func (c *Collector) issue(r *Rule, is snapshot.Issue) {
	f := report.Finding{Rule: r.ID, Severity: r.Severity, Message: is.Message, Remediation: r.Remediation}
	if is.Src != nil {
		ref := is.Src.Ref
		f.Object = &ref
	}
	p := &pending{f: f, src: is.Src}
	switch {
	case is.Loc != nil:
		loc := *is.Loc
		p.f.Location = &loc
	case is.Src != nil:
		p.field, p.lazy = is.Field, true
	}
	c.add(p)
}

// KeepPassThrough tells a streaming read which objects of kinds no rule models to keep: those
// with suppression annotations, which the rules check (snapshot.StreamOptions.KeepPassThrough).
func (c *Collector) KeepPassThrough(src *snapshot.Source) bool {
	if !c.on[ruleInvalidSuppression.ID] {
		return false
	}
	for k := range src.Annotations {
		if strings.HasPrefix(k, SuppressPrefix) {
			return true
		}
	}
	return false
}

// add records a finding.
func (c *Collector) add(p *pending) {
	if p.src != nil && p.f.Rule != ruleInvalidSuppression.ID {
		if reason, ok := p.src.Annotations[SuppressPrefix+p.f.Rule]; ok && strings.TrimSpace(reason) != "" {
			c.suppressed++
			return
		}
	}
	c.counts.Add(p.f.Severity)
	rf := c.perRule[p.f.Rule]
	if rf == nil {
		rf = &ruleFindings{max: c.cfg.MaxPerRule}
		c.perRule[p.f.Rule] = rf
		c.order = append(c.order, p.f.Rule)
	}
	p.seq = rf.total
	rf.total++
	if p.src != nil && p.src.Manifest != nil {
		m := p.src.Manifest
		p.key, p.anchored = lk{m.File, m.Doc, m.Line}, true
	} else if l := p.f.Location; l != nil {
		p.key = lk{l.File, l.Document, l.Line}
	}
	switch {
	case rf.max <= 0:
		rf.kept = append(rf.kept, p)
	case len(rf.kept) < rf.max:
		heap.Push(rf, p)
	case before(p, rf.kept[0]):
		rf.drop(rf.kept[0])
		rf.kept[0] = p
		heap.Fix(rf, 0)
	default:
		rf.drop(p)
	}
}

func (r *ruleFindings) drop(p *pending) {
	if p.f.Severity > r.dropped {
		r.dropped = p.f.Severity
	}
}

// before orders findings as SortFindings does, reading a field's line only when it decides: two
// findings of different objects that start on different lines of a document are in the order of
// those lines, as an object's fields lie between its first line and the next object's.
func before(a, b *pending) bool {
	if a.key.file != b.key.file {
		return a.key.file < b.key.file
	}
	if a.key.doc != b.key.doc {
		return a.key.doc < b.key.doc
	}
	if a.anchored && b.anchored && a.key.line != b.key.line {
		return a.key.line < b.key.line
	}
	la, lb := a.location().BestLine(), b.location().BestLine()
	if la != lb {
		return la < lb
	}
	if objKey(a.f) != objKey(b.f) {
		return objKey(a.f) < objKey(b.f)
	}
	if a.f.Rule != b.f.Rule {
		return a.f.Rule < b.f.Rule
	}
	if a.f.Message != b.f.Message {
		return a.f.Message < b.f.Message
	}
	return a.seq < b.seq
}

// Run runs the enabled rules over a snapshot (the issues it holds are forwarded by the input
// rules).
func (c *Collector) Run(snap *snapshot.Snapshot) {
	for _, r := range c.enabled {
		r.Check(&Pass{Snap: snap, Config: &c.cfg, rule: r, c: c})
	}
	// suppression annotations are themselves checked
	if c.on[ruleInvalidSuppression.ID] {
		checkSuppressions(&Pass{Snap: snap, Config: &c.cfg, rule: ruleInvalidSuppression, c: c}, true, true)
	}
}

// ServiceWindow is how many Services a streaming run decodes at a time.
const ServiceWindow = 2048

// RunStream runs the enabled rules over what a streaming read kept (its issues went to Issue and
// KeepPassThrough as it read). When the read kept Services as text only (StreamResult.Cold), the rules
// that check one Service at a time (Rule.PerService) run over the Services window Services at a
// time, each window decoded in turn; the other rules then run once over the Services they can
// need: those referenced by name (Endpoints, EndpointSlices, Ingress backends), those that select
// a pod template, and those with node ports. Every rule sees what it would see in a whole graph.
func (c *Collector) RunStream(r *snapshot.StreamResult, window int) error {
	if len(r.Cold) == 0 {
		c.Run(r.Snapshot)
		return nil
	}
	if window < 1 {
		window = ServiceWindow
	}
	var perService, graph []*Rule
	for _, rule := range c.enabled {
		if rule.PerService {
			perService = append(perService, rule)
		} else {
			graph = append(graph, rule)
		}
	}
	refs := referencedServices(r.Snapshot)
	var needed []*snapshot.Service
	check := func(svcs []*snapshot.Service) {
		part := r.Partial(svcs)
		for _, rule := range perService {
			rule.Check(&Pass{Snap: part, Config: &c.cfg, rule: rule, c: c})
		}
		if c.on[ruleInvalidSuppression.ID] {
			checkSuppressions(&Pass{Snap: part, Config: &c.cfg, rule: ruleInvalidSuppression, c: c}, true, false)
		}
		for _, svc := range svcs {
			if refs[svc.Namespace+"/"+svc.Name] || hasNodePorts(svc) ||
				len(part.SelectedWorkloads(svc)) > 0 || len(part.SelectedRunToCompletion(svc)) > 0 {
				needed = append(needed, svc)
			}
		}
	}
	typed := r.Snapshot.Services
	for i := 0; i < len(typed); i += window {
		check(typed[i:min(i+window, len(typed))])
	}
	// decoding dominates: windows are decoded on every CPU, a few ahead, and checked in order
	type decoded struct {
		svcs []*snapshot.Service
		err  error
	}
	ahead := runtime.GOMAXPROCS(0)
	windows := make(chan chan decoded, ahead)
	stop := make(chan struct{})
	defer close(stop)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	go func() {
		defer close(windows)
		for i := 0; i < len(r.Cold); i += window {
			ch := make(chan decoded, 1)
			select {
			case windows <- ch:
			case <-stop:
				return
			}
			sem <- struct{}{}
			go func(srcs []*snapshot.Source) {
				defer func() { <-sem }()
				svcs, err := r.Decode(srcs)
				ch <- decoded{svcs, err}
			}(r.Cold[i:min(i+window, len(r.Cold))])
		}
	}()
	for ch := range windows {
		d := <-ch
		if d.err != nil {
			return d.err
		}
		check(d.svcs)
	}
	g := r.Partial(needed)
	for _, rule := range graph {
		rule.Check(&Pass{Snap: g, Config: &c.cfg, rule: rule, c: c})
	}
	if c.on[ruleInvalidSuppression.ID] {
		checkSuppressions(&Pass{Snap: g, Config: &c.cfg, rule: ruleInvalidSuppression, c: c}, false, true)
	}
	return nil
}

// referencedServices lists the Services other objects name (namespace/name): the Service of an
// Endpoints object (its name), of an EndpointSlice (its label and, for the label rule, its name)
// the backends of Ingresses and the backendRefs (and mirror targets) of HTTPRoutes and GRPCRoutes.
func referencedServices(s *snapshot.Snapshot) map[string]bool {
	refs := map[string]bool{}
	for _, ep := range s.Endpoints {
		refs[ep.Namespace+"/"+ep.Name] = true
	}
	for _, es := range s.EndpointSlices {
		refs[es.Namespace+"/"+es.Name] = true
		if name, ok := es.Labels[serviceNameLabel]; ok {
			refs[es.Namespace+"/"+name] = true
		}
	}
	for _, ing := range s.Ingresses {
		for _, br := range ingressBackends(ing) {
			if br.b.Service != nil {
				refs[ing.Namespace+"/"+br.b.Service.Name] = true
			}
		}
	}
	for _, rt := range s.HTTPRoutes {
		for _, rule := range rt.Spec.Rules {
			for _, br := range rule.BackendRefs {
				markBackendRef(refs, rt.Namespace, br.BackendObjectReference)
				for _, f := range br.Filters {
					if f.RequestMirror != nil {
						markBackendRef(refs, rt.Namespace, f.RequestMirror.BackendRef)
					}
				}
			}
			for _, f := range rule.Filters {
				if f.RequestMirror != nil {
					markBackendRef(refs, rt.Namespace, f.RequestMirror.BackendRef)
				}
			}
		}
	}
	for _, rt := range s.GRPCRoutes {
		for _, rule := range rt.Spec.Rules {
			for _, br := range rule.BackendRefs {
				markBackendRef(refs, rt.Namespace, br.BackendObjectReference)
			}
			for _, f := range rule.Filters {
				if f.RequestMirror != nil {
					markBackendRef(refs, rt.Namespace, f.RequestMirror.BackendRef)
				}
			}
		}
	}
	return refs
}

// markBackendRef records the Service a Gateway API backendRef names (its own namespace unless it
// says another); references to other kinds are marked too, which only keeps a Service that happens
// to share the name.
func markBackendRef(refs map[string]bool, ns string, ref gwv1.BackendObjectReference) {
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	refs[ns+"/"+string(ref.Name)] = true
}

func hasNodePorts(svc *snapshot.Service) bool {
	if svc.Spec.HealthCheckNodePort != 0 {
		return true
	}
	for _, sp := range svc.Spec.Ports {
		if sp.NodePort != 0 {
			return true
		}
	}
	return false
}

// Outcome returns the findings: those kept, sorted, then a summary finding for each rule that had
// more than Config.MaxPerRule.
func (c *Collector) Outcome() *Outcome {
	oc := &Outcome{Rules: len(c.enabled), Suppressed: c.suppressed, Counts: c.counts}
	var all []*pending
	for _, id := range c.order {
		all = append(all, c.perRule[id].kept...)
	}
	for _, p := range all {
		p.location()
	}
	// kept findings in insertion order within each rule, for a stable sort like an uncapped run's
	for _, id := range c.order {
		rf := c.perRule[id]
		if rf.max > 0 {
			sort.Slice(rf.kept, func(i, j int) bool { return rf.kept[i].seq < rf.kept[j].seq })
		}
	}
	all = all[:0]
	for _, id := range c.order {
		all = append(all, c.perRule[id].kept...)
	}
	oc.Findings = make([]report.Finding, 0, len(all))
	for _, p := range all {
		oc.Findings = append(oc.Findings, p.f)
	}
	SortFindings(oc.Findings)
	for _, r := range All() {
		rf := c.perRule[r.ID]
		if rf == nil || rf.max <= 0 || rf.total <= rf.max {
			continue
		}
		n := rf.total - rf.max
		oc.Findings = append(oc.Findings, report.Finding{Rule: r.ID, Severity: rf.dropped, Omitted: n,
			Message: fmt.Sprintf("%d more %s %s not listed: only the first %d of each rule are (--max-findings %d; 0 lists them all)",
				n, r.ID, plural(n, "finding is", "findings are"), rf.max, rf.max),
			Remediation: r.Remediation})
	}
	return oc
}

// ruleByID returns the registered rule with this ID, or nil.
func (c *Collector) ruleByID(id string) *Rule {
	if c.byID == nil {
		c.byID = map[string]*Rule{}
		for _, r := range All() {
			c.byID[r.ID] = r
		}
	}
	return c.byID[id]
}
