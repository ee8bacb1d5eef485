package snapshot

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	netv1beta1 "k8s.io/api/networking/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/report"

	"github.com/svc-doctor/svc-doctor/rules/ruleid"
)

// Rule IDs of the issues found while decoding objects.
const (
	RuleUnknownField      = string(ruleid.UnknownField)
	RuleInvalidValue      = string(ruleid.InvalidValue)
	RuleKindCase          = string(ruleid.KindWrongCase)
	RuleAPIVersionCase    = string(ruleid.APIVersionWrongCase)
	RuleRemovedAPI        = string(ruleid.RemovedAPIVersion)
	RuleUnknownAPIVersion = string(ruleid.UnknownAPIVersion)
	RuleDuplicateObject   = string(ruleid.DuplicateObject)
	RuleSecretBase64      = string(ruleid.SecretDataNotBase64)
	RuleNameMissing       = string(ruleid.ObjectNameMissing)
)

// FromManifests builds a snapshot from parsed manifests. Objects without a namespace get
// defaultNamespace ("default" when empty). It is pure: no I/O.
func FromManifests(res *manifest.Result, defaultNamespace string) *Snapshot {
	if defaultNamespace == "" {
		defaultNamespace = "default"
	}
	s := &Snapshot{DefaultNamespace: defaultNamespace, Files: res.Files}
	for _, p := range res.Problems {
		s.Issues = append(s.Issues, issueFromProblem(p, defaultNamespace))
	}
	// typed decoding dominates: objects are decoded on every CPU, in contiguous chunks whose
	// results are merged in input order, so the snapshot is the same as a sequential decode's
	objs := res.Objects
	workers := runtime.GOMAXPROCS(0)
	if workers > len(objs)/64+1 {
		workers = len(objs)/64 + 1
	}
	parts := make([]*decoder, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := len(objs)*w/workers, len(objs)*(w+1)/workers
		parts[w] = &decoder{s: &Snapshot{DefaultNamespace: defaultNamespace}}
		wg.Add(1)
		go func(d *decoder, objs []*manifest.Object) {
			defer wg.Done()
			for _, o := range objs {
				d.add(o)
			}
		}(parts[w], objs[lo:hi])
	}
	wg.Wait()
	// a duplicate is reported on each later copy; only the last copy stays in the graph, as
	// only the last one applied survives: the earlier ones are never checked against it
	type copies struct{ first, last *Source }
	seen := map[string]copies{}
	var superseded map[*Source]bool
	for _, d := range parts {
		s.merge(d.s)
		for _, k := range d.keys {
			c, dup := seen[k.key]
			if !dup {
				seen[k.key] = copies{k.src, k.src}
				continue
			}
			s.Issues = append(s.Issues, Issue{Rule: RuleDuplicateObject, Src: k.src, Field: "metadata.name",
				Message: fmt.Sprintf("%s is defined twice (first at %s); only the last one applied survives", k.src.Ref, c.first.Location("").String())})
			if superseded == nil {
				superseded = map[*Source]bool{}
			}
			superseded[c.last] = true
			seen[k.key] = copies{c.first, k.src}
		}
	}
	if superseded != nil {
		s.dropSuperseded(superseded)
	}
	s.Index()
	return s
}

// namedKind reports whether objects of a built-in kind need metadata.name: all but kubectl's List
// and the review requests (TokenReview, SelfSubjectAccessReview...), which are created without one.
func namedKind(kind string) bool {
	return kind != "List" && kind != "TokenRequest" && !strings.HasSuffix(kind, "Review")
}

// keep returns the elements of list whose source is not in drop, in order.
func keep[T any](list []T, src func(T) *Source, drop map[*Source]bool) []T {
	out := list[:0]
	for _, v := range list {
		if !drop[src(v)] {
			out = append(out, v)
		}
	}
	return out
}

// dropSuperseded removes the objects defined again later in the input from the graph. Their
// input issues stay: the file still holds those mistakes.
func (s *Snapshot) dropSuperseded(drop map[*Source]bool) {
	before := s.Objects()
	s.Services = keep(s.Services, func(v *Service) *Source { return v.Src }, drop)
	s.Endpoints = keep(s.Endpoints, func(v *Endpoints) *Source { return v.Src }, drop)
	s.EndpointSlices = keep(s.EndpointSlices, func(v *EndpointSlice) *Source { return v.Src }, drop)
	s.Ingresses = keep(s.Ingresses, func(v *Ingress) *Source { return v.Src }, drop)
	s.IngressClasses = keep(s.IngressClasses, func(v *IngressClass) *Source { return v.Src }, drop)
	s.NetworkPolicies = keep(s.NetworkPolicies, func(v *NetworkPolicy) *Source { return v.Src }, drop)
	s.Secrets = keep(s.Secrets, func(v *Secret) *Source { return v.Src }, drop)
	s.Workloads = keep(s.Workloads, func(v *Workload) *Source { return v.Src }, drop)
	s.Other = keep(s.Other, func(v *Source) *Source { return v }, drop)
	s.GatewayAPI.drop(drop)
	s.Superseded += before - s.Objects()
}

// merge appends the objects and issues of o (decoded from later input) to s.
func (s *Snapshot) merge(o *Snapshot) {
	s.Services = append(s.Services, o.Services...)
	s.Endpoints = append(s.Endpoints, o.Endpoints...)
	s.EndpointSlices = append(s.EndpointSlices, o.EndpointSlices...)
	s.Ingresses = append(s.Ingresses, o.Ingresses...)
	s.IngressClasses = append(s.IngressClasses, o.IngressClasses...)
	s.NetworkPolicies = append(s.NetworkPolicies, o.NetworkPolicies...)
	s.Secrets = append(s.Secrets, o.Secrets...)
	s.Workloads = append(s.Workloads, o.Workloads...)
	s.Other = append(s.Other, o.Other...)
	s.GatewayAPI.merge(&o.GatewayAPI)
	s.Issues = append(s.Issues, o.Issues...)
}

func issueFromProblem(p manifest.Problem, defaultNS string) Issue {
	is := Issue{Rule: p.Rule, Field: p.Field, Message: p.Message,
		Loc: &report.Location{File: p.File, Document: p.Doc, Line: p.ObjLine, Field: p.Field, FieldLine: p.Line}}
	if p.ObjLine == 0 {
		is.Loc.Line, is.Loc.FieldLine = p.Line, 0
	}
	if p.Kind != "" || p.Name != "" {
		ns := p.Namespace
		if ns == "" && p.Kind != "" && !clusterScoped[p.Kind] {
			ns = defaultNS
		}
		is.Src = &Source{Ref: report.ObjectRef{APIVersion: p.APIVersion, Kind: p.Kind, Namespace: ns, Name: p.Name}}
	}
	return is
}

type decoder struct {
	s *Snapshot
	// keys identify the named objects decoded, in order, for duplicate detection
	keys []keyed
	// trim keeps only what the rules read of pod templates (trimWorkload)
	trim bool
}

type keyed struct {
	key string
	src *Source
}

func (d *decoder) issue(rule string, src *Source, field, format string, args ...any) {
	d.s.Issues = append(d.s.Issues, Issue{Rule: rule, Src: src, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) add(o *manifest.Object) {
	av, kind := o.APIVersion, o.Kind
	src := &Source{Manifest: o}
	if canon, ok := tables.apiVersions[strings.ToLower(av)]; ok && canon != av {
		d.issue(RuleAPIVersionCase, src, "apiVersion", "apiVersion %q is written with the wrong case: API versions are case-sensitive, write %q", av, canon)
		av = canon
	}
	if IsBuiltinGroup(av) {
		if canon, ok := tables.kindsLower[strings.ToLower(kind)]; ok && canon != kind {
			d.issue(RuleKindCase, src, "kind", "kind %q is written with the wrong case: kinds are case-sensitive, write %q", kind, canon)
			kind = canon
		}
	}
	if av != o.APIVersion {
		src.WrittenAPIVersion = o.APIVersion
	}
	ns := o.Namespace
	if clusterScoped[kind] {
		ns = ""
	} else if ns == "" {
		ns = d.s.DefaultNamespace
	}
	// a name no object can have (longer than any valid one) is shortened wherever it is shown
	src.Ref = report.ObjectRef{APIVersion: av, Kind: kind, Namespace: shortName(ns), Name: shortName(o.Name)}

	legacy := false
	if rm, ok := removedAPIs[av+"/"+kind]; ok {
		legacy = true
		if kind != "Ingress" { // the Ingress message is written after conversion, with its v1 form
			msg := fmt.Sprintf("%s %s was removed in Kubernetes %s", av, kind, rm.removedIn)
			if rm.replacement != "" {
				msg += fmt.Sprintf(": use apiVersion %s", rm.replacement)
			} else {
				msg += " and has no replacement"
			}
			d.issue(RuleRemovedAPI, src, "apiVersion", "%s", msg)
		}
		if rm.replacement != "" && kind != "Ingress" {
			src.WrittenAPIVersion, av = o.APIVersion, rm.replacement
			src.Ref.APIVersion = av
		}
	} else if IsBuiltinGroup(av) && kind != "" && !knownVersionOf(av, kind) {
		if home, ok := tables.kindHome[kind]; ok {
			d.issue(RuleUnknownAPIVersion, src, "apiVersion", "apiVersion %s does not serve kind %s: use apiVersion %s", av, kind, home)
			src.WrittenAPIVersion, av = o.APIVersion, home
			src.Ref.APIVersion = av
		} else if tables.versions[av] {
			d.issue(RuleUnknownAPIVersion, src, "kind", "apiVersion %s has no kind %q (the object is passed through unchecked)", av, kind)
		}
	}
	if o.Name == "" && IsBuiltinGroup(av) && namedKind(kind) {
		d.issue(RuleNameMissing, src, "metadata.name", "%s has no metadata.name (nor generateName): the API server rejects an object without a name", kind)
	}
	d.checkNames(src, o.Name, o.Namespace, kind, av)
	d.decode(src, av, kind, legacy)
	// objects are told apart by the group they are checked as: a removed API version read into
	// today's type is the same object as one written in today's version
	if o.Name != "" && !strings.HasSuffix(o.Name, "*") { // generateName objects never collide
		r := src.Ref
		d.keys = append(d.keys, keyed{group(r.APIVersion) + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name, src})
	}
}

func (d *decoder) decode(src *Source, av, kind string, legacy bool) {
	if d.decodeGateway(src, av, kind) { // Gateway API kinds and Namespaces: snapshot/gateway.go
		return
	}
	// lenient decoding for removed API versions read into today's types: their old fields are
	// not errors, the removed-api-version finding already says what to change
	strict := !legacy
	if d.decodeNetworking(src, av+"/"+kind, strict) || d.decodeWorkload(src, av+"/"+kind, strict) || d.decodeAppsWorkload(src, av+"/"+kind, strict, legacy) {
		return
	}
	var meta struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	_ = json.Unmarshal(src.Manifest.JSON, &meta)
	src.Annotations = meta.Metadata.Annotations
	d.s.Other = append(d.s.Other, src)
}

// decodeNetworking decodes the kinds that route traffic (Services, endpoints, Ingresses,
// IngressClasses, NetworkPolicies) and Secrets; false for another kind.
func (d *decoder) decodeNetworking(src *Source, avKind string, strict bool) bool {
	switch avKind {
	case "v1/Service":
		if svc := d.service(src); svc != nil {
			d.s.Services = append(d.s.Services, svc)
		}
	case "v1/Endpoints":
		var v corev1.Endpoints
		if d.into(src, &v, true) {
			d.endpointsEnums(src, &v)
			src.Annotations = v.Annotations
			v.Namespace, v.Name = src.Ref.Namespace, src.Ref.Name
			d.s.Endpoints = append(d.s.Endpoints, &Endpoints{Endpoints: &v, Src: src})
		}
	case "discovery.k8s.io/v1/EndpointSlice":
		var v discoveryv1.EndpointSlice
		if d.into(src, &v, strict) {
			d.sliceEnums(src, &v)
			src.Annotations = v.Annotations
			v.Namespace, v.Name = src.Ref.Namespace, src.Ref.Name
			d.s.EndpointSlices = append(d.s.EndpointSlices, &EndpointSlice{EndpointSlice: &v, Src: src})
		}
	case "networking.k8s.io/v1/Ingress":
		var v networkingv1.Ingress
		if d.into(src, &v, true) {
			d.ingressEnums(src, &v)
			src.Annotations = v.Annotations
			v.Namespace, v.Name = src.Ref.Namespace, src.Ref.Name
			d.s.Ingresses = append(d.s.Ingresses, &Ingress{Ingress: &v, Src: src})
		}
	case "extensions/v1beta1/Ingress":
		// the same schema as networking.k8s.io/v1beta1: one type reads both
		var v netv1beta1.Ingress
		if d.into(src, &v, true) {
			d.legacyIngress(src, convertNetIngress(&v))
		}
	case "networking.k8s.io/v1beta1/Ingress":
		var v netv1beta1.Ingress
		if d.into(src, &v, true) {
			d.legacyIngress(src, convertNetIngress(&v))
		}
	case "networking.k8s.io/v1/IngressClass":
		var v networkingv1.IngressClass
		if d.into(src, &v, strict) {
			src.Annotations = v.Annotations
			d.s.IngressClasses = append(d.s.IngressClasses, &IngressClass{IngressClass: &v, Src: src})
		}
	case "networking.k8s.io/v1/NetworkPolicy":
		var v networkingv1.NetworkPolicy
		if d.into(src, &v, strict) {
			src.Annotations = v.Annotations
			v.Namespace, v.Name = src.Ref.Namespace, src.Ref.Name
			d.s.NetworkPolicies = append(d.s.NetworkPolicies, &NetworkPolicy{NetworkPolicy: &v, Src: src})
		}
	case "v1/Secret":
		d.secret(src)
	default:
		return false
	}
	return true
}

// decodeWorkload decodes Pods, ReplicationControllers, Jobs and CronJobs into Workloads; false
// for another kind.
func (d *decoder) decodeWorkload(src *Source, avKind string, strict bool) bool {
	switch avKind {
	case "v1/Pod":
		var v corev1.Pod
		if d.into(src, &v, true) {
			src.Annotations = v.Annotations
			w := &Workload{Src: src, Labels: v.Labels, LabelsPath: "metadata.labels", Spec: &v.Spec, SpecPath: "spec"}
			for _, ip := range v.Status.PodIPs {
				w.PodIPs = append(w.PodIPs, ip.IP)
			}
			if len(w.PodIPs) == 0 && v.Status.PodIP != "" {
				w.PodIPs = []string{v.Status.PodIP}
			}
			d.addTemplate(w)
		}
	case "v1/ReplicationController":
		var v corev1.ReplicationController
		if d.into(src, &v, true) {
			src.Annotations = v.Annotations
			w := &Workload{Src: src, Replicas: v.Spec.Replicas, SelectorPath: "spec.selector"}
			if t := v.Spec.Template; t != nil {
				w.Labels, w.LabelsPath, w.Spec, w.SpecPath = t.Labels, "spec.template.metadata.labels", &t.Spec, "spec.template.spec"
			}
			sel := v.Spec.Selector
			if len(sel) == 0 { // defaults to the template's labels
				sel = w.Labels
			}
			if len(sel) > 0 {
				w.Selector = labels.SelectorFromSet(sel)
			}
			d.addTemplate(w)
		}
	case "batch/v1/Job":
		var v batchv1.Job
		if d.into(src, &v, true) {
			src.Annotations = v.Annotations
			t := &v.Spec.Template
			d.addTemplate(&Workload{Src: src, Labels: t.Labels, LabelsPath: "spec.template.metadata.labels", Spec: &t.Spec, SpecPath: "spec.template.spec"})
		}
	case "batch/v1/CronJob":
		var v batchv1.CronJob
		if d.into(src, &v, strict) {
			src.Annotations = v.Annotations
			t := &v.Spec.JobTemplate.Spec.Template
			d.addTemplate(&Workload{Src: src, Labels: t.Labels, LabelsPath: "spec.jobTemplate.spec.template.metadata.labels",
				Spec: &t.Spec, SpecPath: "spec.jobTemplate.spec.template.spec"})
		}
	default:
		return false
	}
	return true
}

// decodeAppsWorkload decodes the apps/v1 controllers into Workloads (legacy: read from a removed
// API version, whose selector was optional); false for another kind.
func (d *decoder) decodeAppsWorkload(src *Source, avKind string, strict, legacy bool) bool {
	switch avKind {
	case "apps/v1/Deployment":
		var v appsv1.Deployment
		if d.into(src, &v, strict) {
			src.Annotations = v.Annotations
			w := d.appsTemplate(src, v.Spec.Selector, &v.Spec.Template, v.Spec.Replicas)
			w.Deployment = &v
			w.SelectorRequired = !legacy
			d.addTemplate(w)
		}
	case "apps/v1/ReplicaSet":
		var v appsv1.ReplicaSet
		if d.into(src, &v, strict) {
			src.Annotations = v.Annotations
			w := d.appsTemplate(src, v.Spec.Selector, &v.Spec.Template, v.Spec.Replicas)
			w.SelectorRequired = !legacy
			d.addTemplate(w)
		}
	case "apps/v1/StatefulSet":
		var v appsv1.StatefulSet
		if d.into(src, &v, strict) {
			src.Annotations = v.Annotations
			w := d.appsTemplate(src, v.Spec.Selector, &v.Spec.Template, v.Spec.Replicas)
			w.SelectorRequired = !legacy
			w.ServiceName = v.Spec.ServiceName
			d.addTemplate(w)
		}
	case "apps/v1/DaemonSet":
		var v appsv1.DaemonSet
		if d.into(src, &v, strict) {
			src.Annotations = v.Annotations
			w := d.appsTemplate(src, v.Spec.Selector, &v.Spec.Template, nil)
			w.SelectorRequired = !legacy
			d.addTemplate(w)
		}
	default:
		return false
	}
	return true
}

func (d *decoder) addTemplate(w *Workload) {
	if w.Spec == nil {
		w.Spec = &corev1.PodSpec{}
	}
	d.podSpecEnums(w.Src, w.SpecPath, w.Spec)
	if d.trim {
		trimWorkload(w)
	}
	d.s.Workloads = append(d.s.Workloads, w)
}

// service decodes a v1 Service.
func (d *decoder) service(src *Source) *Service {
	var v corev1.Service
	if !d.into(src, &v, true) {
		return nil
	}
	d.serviceEnums(src, &v)
	src.Annotations = v.Annotations
	v.Namespace, v.Name = src.Ref.Namespace, src.Ref.Name
	v.Name = src.Ref.Name
	return &Service{Service: &v, Src: src}
}

func (d *decoder) appsTemplate(src *Source, sel *metav1.LabelSelector, t *corev1.PodTemplateSpec, replicas *int32) *Workload {
	w := &Workload{Src: src, Labels: t.Labels, LabelsPath: "spec.template.metadata.labels", Spec: &t.Spec,
		SpecPath: "spec.template.spec", SelectorPath: "spec.selector", Replicas: replicas}
	if sel != nil {
		if s, err := metav1.LabelSelectorAsSelector(sel); err == nil && !s.Empty() {
			w.Selector = s
		} else if err != nil {
			d.issue(RuleInvalidValue, src, "spec.selector", "spec.selector is not a valid label selector: %v", err)
		}
	}
	return w
}

func (d *decoder) legacyIngress(src *Source, v *networkingv1.Ingress) {
	src.Annotations = v.Annotations
	v.Namespace, v.Name = src.Ref.Namespace, src.Ref.Name
	rm := removedAPIs[src.Ref.APIVersion+"/Ingress"]
	d.issue(RuleRemovedAPI, src, "apiVersion", "%s Ingress was removed in Kubernetes %s: use apiVersion %s, where %s",
		src.Ref.APIVersion, rm.removedIn, rm.replacement, v1IngressForm(v))
	src.WrittenAPIVersion = src.Ref.APIVersion
	src.Ref.APIVersion = rm.replacement
	d.s.Ingresses = append(d.s.Ingresses, &Ingress{Ingress: v, Src: src, Legacy: true})
}

// v1IngressForm spells out the networking.k8s.io/v1 form of the first backend of an Ingress.
func v1IngressForm(v *networkingv1.Ingress) string {
	for _, r := range v.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if p.Backend.Service == nil {
				continue
			}
			port := "number: " + strconv.Itoa(int(p.Backend.Service.Port.Number))
			if p.Backend.Service.Port.Name != "" {
				port = "name: " + p.Backend.Service.Port.Name
			}
			return fmt.Sprintf("every path needs pathType (Prefix, Exact or ImplementationSpecific) and a backend is written "+
				"`service: {name: %s, port: {%s}}` instead of serviceName/servicePort", p.Backend.Service.Name, port)
		}
	}
	if b := v.Spec.DefaultBackend; b != nil && b.Service != nil {
		port := "number: " + strconv.Itoa(int(b.Service.Port.Number))
		if b.Service.Port.Name != "" {
			port = "name: " + b.Service.Port.Name
		}
		return fmt.Sprintf("spec.backend became spec.defaultBackend, written `defaultBackend: {service: {name: %s, port: {%s}}}` instead of serviceName/servicePort",
			b.Service.Name, port)
	}
	return "every path needs pathType (Prefix, Exact or ImplementationSpecific) and a backend is written `service: {name: NAME, port: {number: PORT}}` instead of serviceName/servicePort"
}

// secretDoc is a Secret whose data is kept as text, so that values that are not base64 can be
// named one by one.
type secretDoc struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Immutable         *bool             `json:"immutable,omitempty"`
	Data              map[string]string `json:"data,omitempty"`
	StringData        map[string]string `json:"stringData,omitempty"`
	Type              corev1.SecretType `json:"type,omitempty"`
}

func (d *decoder) secret(src *Source) {
	var v secretDoc
	if !d.into(src, &v, true) {
		return
	}
	src.Annotations = v.Annotations
	sec := &Secret{Src: src, Type: v.Type, Data: map[string][]byte{}}
	if sec.Type == "" {
		sec.Type = corev1.SecretTypeOpaque
	}
	keys := make([]string, 0, len(v.Data))
	for k := range v.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// the API server decodes like encoding/json: standard alphabet, newlines ignored
		b, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\n", "", "\r", "").Replace(v.Data[k]))
		if err != nil {
			sec.BadData = append(sec.BadData, k)
			continue
		}
		sec.Data[k] = b
	}
	for k, val := range v.StringData {
		sec.Data[k] = []byte(val)
		if sec.FromStringData == nil {
			sec.FromStringData = map[string]bool{}
		}
		sec.FromStringData[k] = true
	}
	if len(sec.BadData) > 0 {
		hint := "values under data must be base64-encoded; put plain text (such as PEM) under stringData instead, or encode it with `base64 -w0`"
		field := "data[" + sec.BadData[0] + "]"
		what := "value of data." + sec.BadData[0] + " is"
		if len(sec.BadData) > 1 {
			what = "values of data." + strings.Join(sec.BadData, ", data.") + " are"
		}
		d.issue(RuleSecretBase64, src, field, "the %s not valid base64, so the API server rejects this Secret: %s", what, hint)
	}
	d.s.Secrets = append(d.s.Secrets, sec)
}
