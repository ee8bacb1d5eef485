package snapshot

import (
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"runtime"
	"sync"

	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/report"
)

// StreamOptions control FromStream.
type StreamOptions struct {
	// DefaultNamespace is given to namespaced objects that have none ("default" when empty).
	DefaultNamespace string
	// Issues receives every issue of the input as soon as the object it concerns is decoded,
	// with its location resolved (Issue.Loc). The snapshot then keeps none in Issues. When nil,
	// the issues are kept in Snapshot.Issues.
	Issues func(Issue)
	// KeepPassThrough decides which objects of a kind no rule models (ConfigMaps, CRDs...) are
	// kept in Snapshot.Other, like a whole read keeps them all: the rules check their suppression
	// annotations. The others are only counted (Snapshot.PassedThrough) and dropped at once.
	KeepPassThrough func(*Source) bool
	// TypedServices is how many Services are kept decoded; the Services after them are kept as
	// their text only (StreamResult.Cold) and decoded again a window at a time by the rules
	// engine (StreamResult.Decode). 0 keeps every Service decoded.
	TypedServices int
	// Trim keeps only what the lint rules read of pod templates (see trimWorkload).
	Trim bool
}

// StreamResult is what FromStream read.
type StreamResult struct {
	// Snapshot is the graph of the objects kept decoded.
	Snapshot *Snapshot
	// Cold lists the Services kept as text (beyond StreamOptions.TypedServices), in input order.
	Cold []*Source
	// Inputs are the arguments read; Objects counts the objects and problems found in each.
	Inputs  []*manifest.Input
	Objects []int
	// Services counts every Service of the graph, decoded or cold.
	Services int

	// serviceNS marks the namespaces that hold Services, cold ones included
	serviceNS map[string]bool
}

// Read counts every object read: those in the graph, cold Services, pass-through objects and
// superseded copies.
func (r *StreamResult) Read() int { return r.Snapshot.Objects() + len(r.Cold) }

// batch is a run of documents decoded by one worker.
type batch struct {
	seq  int
	docs []manifest.Document
	size int
	// results
	d      *decoder
	counts map[int]int // objects and problems per input
}

// batchBytes and batchDocs bound a batch: big enough to amortise the hand-over between
// goroutines, small enough that few documents are held at once.
const (
	batchBytes = 256 << 10
	batchDocs  = 256
)

// FromStream reads the documents of a stream and builds the snapshot, holding only what the rules
// need: documents are parsed and decoded on every CPU as they are read, in batches whose results
// are merged in input order (the snapshot is the same as a sequential read's). Each object's JSON
// is dropped once decoded, and its text too when it can be read again from its file (for the
// lines of findings, see manifest.Object.ReleaseText); objects of kinds no rule models are counted
// and dropped (see KeepPassThrough); duplicates are detected by a 128-bit hash of their identity.
// It returns ctx's error when ctx is cancelled, and an InputError when an input cannot be read.
func FromStream(ctx context.Context, st *manifest.Stream, opts StreamOptions) (*StreamResult, error) {
	if opts.DefaultNamespace == "" {
		opts.DefaultNamespace = "default"
	}
	b := newBuilder(opts)
	workers := runtime.GOMAXPROCS(0)
	batches := make(chan *batch, workers)
	results := make(chan *batch, workers)
	var readErr error
	go func() {
		defer close(batches)
		cur := &batch{}
		for {
			d, err := st.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				readErr = err
				break
			}
			cur.docs = append(cur.docs, d)
			cur.size += d.Size()
			if cur.size >= batchBytes || len(cur.docs) >= batchDocs {
				batches <- cur
				cur = &batch{seq: cur.seq + 1}
			}
		}
		if len(cur.docs) > 0 {
			batches <- cur
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for bt := range batches {
				if ctx.Err() == nil {
					b.decodeBatch(bt)
				}
				results <- bt
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	pending := map[int]*batch{}
	next := 0
	for bt := range results {
		pending[bt.seq] = bt
		for p := pending[next]; p != nil; p = pending[next] {
			delete(pending, next)
			next++
			if ctx.Err() == nil && p.d != nil {
				b.merge(p)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if readErr != nil {
		return nil, readErr
	}
	r := b.finish()
	r.Inputs = st.Inputs()
	r.Objects = make([]int, len(r.Inputs))
	for in, n := range b.counts {
		r.Objects[in] = n
	}
	for _, in := range r.Inputs {
		r.Snapshot.Files = append(r.Snapshot.Files, in.Files...)
		if in.Kind == manifest.InputStdin {
			r.Snapshot.Files = append(r.Snapshot.Files, st.StdinName())
		}
	}
	return r, nil
}

// builder merges decoded batches into a snapshot, in input order.
type builder struct {
	opts      StreamOptions
	s         *Snapshot
	cold      []*Source
	counts    map[int]int
	seeds     [2]maphash.Seed
	seen      map[[2]uint64]dupEntry
	files     []string       // files of first copies, by index
	fileIndex map[string]int // and back
	drop      map[*Source]bool
	services  int
	serviceNS map[string]bool
}

// dupEntry remembers the first and the last copy of an object seen so far.
type dupEntry struct {
	firstFile int32
	firstLine int32
	last      *Source // nil when the last copy was passed through (not kept)
}

func newBuilder(opts StreamOptions) *builder {
	b := &builder{opts: opts, s: &Snapshot{DefaultNamespace: opts.DefaultNamespace}, counts: map[int]int{},
		seen: map[[2]uint64]dupEntry{}, fileIndex: map[string]int{}, serviceNS: map[string]bool{}}
	b.seeds[0], b.seeds[1] = maphash.MakeSeed(), maphash.MakeSeed()
	return b
}

// decodeBatch parses and decodes the documents of a batch (on a worker), resolving the location
// of every issue while the objects' text is at hand.
func (b *builder) decodeBatch(bt *batch) {
	d := &decoder{s: &Snapshot{DefaultNamespace: b.opts.DefaultNamespace}, trim: b.opts.Trim}
	bt.counts = map[int]int{}
	for _, doc := range bt.docs {
		objs, probs := manifest.ParseDocument(doc)
		bt.counts[doc.Input] += len(objs) + len(probs)
		for _, p := range probs {
			d.s.Issues = append(d.s.Issues, issueFromProblem(p, b.opts.DefaultNamespace))
		}
		for _, o := range objs {
			d.add(o)
		}
	}
	for i := range d.s.Issues {
		is := &d.s.Issues[i]
		if is.Loc == nil && is.Src != nil {
			is.Loc = is.Src.Location(is.Field)
		}
	}
	// the JSON was only needed to decode; the text is read again from its file for the lines of
	// later findings (or kept, when it has no file)
	for _, src := range sources(d.s) {
		if src.Manifest != nil {
			src.Manifest.JSON = nil
			src.Manifest.ReleaseText()
		}
	}
	bt.d, bt.docs = d, nil
}

// sources lists the sources of every object of a snapshot.
func sources(s *Snapshot) []*Source {
	var out []*Source
	for _, v := range s.Services {
		out = append(out, v.Src)
	}
	for _, v := range s.Endpoints {
		out = append(out, v.Src)
	}
	for _, v := range s.EndpointSlices {
		out = append(out, v.Src)
	}
	for _, v := range s.Ingresses {
		out = append(out, v.Src)
	}
	for _, v := range s.IngressClasses {
		out = append(out, v.Src)
	}
	for _, v := range s.NetworkPolicies {
		out = append(out, v.Src)
	}
	for _, v := range s.Secrets {
		out = append(out, v.Src)
	}
	for _, v := range s.Workloads {
		out = append(out, v.Src)
	}
	out = append(out, s.GatewayAPI.Sources()...)
	return append(out, s.Other...)
}

// merge adds a decoded batch to the snapshot.
func (b *builder) merge(bt *batch) {
	d := bt.d
	for in, n := range bt.counts {
		b.counts[in] += n
	}
	passed := map[*Source]bool{} // pass-through objects not kept
	var kept []*Source
	for _, src := range d.s.Other {
		if b.opts.KeepPassThrough != nil && b.opts.KeepPassThrough(src) {
			kept = append(kept, src)
		} else {
			passed[src] = true
		}
	}
	// duplicates, in input order
	for _, k := range d.keys {
		b.dedupe(k, passed[k.src])
	}
	s := b.s
	for _, v := range d.s.Services {
		b.services++
		b.serviceNS[v.Namespace] = true
		// a Service of a flow-style List stays decoded: decoding it again would parse the whole List
		if b.opts.TypedServices > 0 && b.services > b.opts.TypedServices && !v.Src.Manifest.SharesText() {
			b.cold = append(b.cold, v.Src)
			continue
		}
		s.Services = append(s.Services, v)
	}
	s.Endpoints = append(s.Endpoints, d.s.Endpoints...)
	s.EndpointSlices = append(s.EndpointSlices, d.s.EndpointSlices...)
	s.Ingresses = append(s.Ingresses, d.s.Ingresses...)
	s.IngressClasses = append(s.IngressClasses, d.s.IngressClasses...)
	s.NetworkPolicies = append(s.NetworkPolicies, d.s.NetworkPolicies...)
	s.Secrets = append(s.Secrets, d.s.Secrets...)
	s.Workloads = append(s.Workloads, d.s.Workloads...)
	s.GatewayAPI.merge(&d.s.GatewayAPI)
	for _, is := range d.s.Issues {
		b.issue(is, passed)
	}
	s.Other = append(s.Other, kept...)
	s.PassedThrough += len(passed)
}

// issue hands an issue over (or keeps it) and remembers its field for HasIssueUnder.
func (b *builder) issue(is Issue, passed map[*Source]bool) {
	if b.opts.Issues == nil {
		b.s.Issues = append(b.s.Issues, is)
		return
	}
	if is.Src != nil && !passed[is.Src] {
		if b.s.issueFields == nil {
			b.s.issueFields = map[*Source][]string{}
		}
		b.s.issueFields[is.Src] = append(b.s.issueFields[is.Src], is.Field)
	}
	b.opts.Issues(is)
}

// dedupe records an object's identity; a later copy of an object is reported, and the earlier
// one leaves the graph (only the last copy applied survives).
func (b *builder) dedupe(k keyed, passedThrough bool) {
	h := [2]uint64{maphash.String(b.seeds[0], k.key), maphash.String(b.seeds[1], k.key)}
	last := k.src
	if passedThrough {
		last = nil
	}
	e, dup := b.seen[h]
	if !dup {
		loc := k.src.Location("")
		fi, ok := b.fileIndex[loc.File]
		if !ok {
			fi = len(b.files)
			b.files = append(b.files, loc.File)
			b.fileIndex[loc.File] = fi
		}
		b.seen[h] = dupEntry{firstFile: int32(fi), firstLine: int32(loc.Line), last: last}
		return
	}
	first := (&report.Location{File: b.files[e.firstFile], Line: int(e.firstLine)}).String()
	is := Issue{Rule: RuleDuplicateObject, Src: k.src, Field: "metadata.name",
		Message: fmt.Sprintf("%s is defined twice (first at %s); only the last one applied survives", k.src.Ref, first)}
	is.Loc = k.src.Location(is.Field)
	b.issue(is, map[*Source]bool{k.src: passedThrough})
	if e.last == nil {
		b.s.PassedThrough--
	} else {
		if b.drop == nil {
			b.drop = map[*Source]bool{}
		}
		b.drop[e.last] = true
	}
	b.s.Superseded++
	e.last = last
	b.seen[h] = e
}

// finish drops superseded copies and indexes the snapshot.
func (b *builder) finish() *StreamResult {
	s := b.s
	if b.drop != nil {
		// dropSuperseded counts what it removes; the builder counted every superseded copy already
		counted := s.Superseded
		s.dropSuperseded(b.drop)
		s.Superseded = counted
		b.cold = keep(b.cold, func(v *Source) *Source { return v }, b.drop)
	}
	s.Index()
	return &StreamResult{Snapshot: s, Cold: b.cold, Services: len(s.Services) + len(b.cold), serviceNS: b.serviceNS}
}

// Decode decodes cold Services again (see StreamOptions.TypedServices), in order: field for field
// the Services the first read decoded, whose issues were reported then. A Service whose text
// cannot be read again (its file changed meanwhile) is an error.
func (r *StreamResult) Decode(srcs []*Source) ([]*Service, error) {
	d := &decoder{s: &Snapshot{DefaultNamespace: r.Snapshot.DefaultNamespace}}
	out := make([]*Service, 0, len(srcs))
	objs := make([]*manifest.Object, len(srcs))
	for i, src := range srcs {
		objs[i] = src.Manifest
	}
	if err := manifest.ReadTexts(objs); err != nil {
		return nil, &manifest.InputError{Err: err}
	}
	defer func() {
		for _, o := range objs {
			o.JSON = nil
			o.ReleaseText()
		}
	}()
	for _, src := range srcs {
		js, err := src.Manifest.ReadJSON()
		if err != nil {
			return nil, &manifest.InputError{Err: err}
		}
		src.Manifest.JSON = js
		if svc := d.service(src); svc != nil {
			out = append(out, svc)
		}
	}
	return out, nil
}

// Partial returns a snapshot with services in place of the graph's Services, sharing every other
// object with the graph: Complete("Service", ns) and HasKind("Service") still answer for every
// Service of the input, and HasIssueUnder for every object. The rules engine checks the Services of
// a large input a window at a time with it.
func (r *StreamResult) Partial(services []*Service) *Snapshot {
	s := r.Snapshot
	p := &Snapshot{DefaultNamespace: s.DefaultNamespace, Services: services, Endpoints: s.Endpoints,
		EndpointSlices: s.EndpointSlices, Ingresses: s.Ingresses, IngressClasses: s.IngressClasses,
		NetworkPolicies: s.NetworkPolicies, Secrets: s.Secrets, Workloads: s.Workloads, Other: s.Other,
		GatewayAPI: s.GatewayAPI.clipped(), Files: s.Files, issueFields: s.issueFields}
	p.extraPresent = map[string]map[string]bool{"Service": r.serviceNS}
	p.Index()
	return p
}
