package rules

import (
	"sort"
	"strings"

	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// forward reports the issues that reading and decoding the input recorded for this rule.
func forward(p *Pass) {
	for _, is := range p.Snap.Issues {
		if is.Rule == p.rule.ID {
			p.reportIssue(is)
		}
	}
}

var ruleYAMLTabs = &Rule{
	ID: manifest.RuleYAMLTabs, Severity: report.Error, Category: CatInput,
	Summary:     "YAML indented with tab characters",
	Remediation: "Replace the tabs with spaces (configure the editor to insert spaces in YAML files).",
	Docs: "YAML forbids tabs for indentation, and kubectl rejects such a document with " +
		"`found character that cannot start any token`. svc-doctor names every line that starts with a tab, then " +
		"reads the document as if each tab were 4 (or 8, or 2) spaces so that the other mistakes in it are still found.",
	Check: forward,
}

var ruleYAMLSyntax = &Rule{
	ID: manifest.RuleYAMLSyntax, Severity: report.Error, Category: CatInput,
	Summary:     "YAML or JSON that does not parse",
	Remediation: "Fix the syntax at the reported line; the hint names the usual cause.",
	Docs: "The document is skipped; the other documents of the file are still linted. Common causes: a value " +
		"containing `: ` that is not quoted, a line indented differently from its siblings, an unclosed `[` or `{`.",
	Check: forward,
}

var ruleYAMLDuplicateKey = &Rule{
	ID: manifest.RuleDuplicateKey, Severity: report.Error, Category: CatInput,
	Summary:     "the same key twice in one mapping",
	Remediation: "Keep one of the two keys; merge their values if both were meant.",
	Docs: "Kubernetes' YAML reader keeps only the last value of a duplicated key (recent kubectl versions refuse the " +
		"document), so half of what was written is silently lost, e.g. two `selector:` blocks or two `app:` labels.",
	Check: forward,
}

var ruleInvalidDocument = &Rule{
	ID: manifest.RuleInvalidDocument, Severity: report.Error, Category: CatInput,
	Summary:     "a document that is not a Kubernetes object",
	Remediation: "Each YAML document must be a mapping with apiVersion, kind and metadata.",
	Docs:        "A document that is a list or a plain value (for example a stray line after `---`) cannot be applied.",
	Check:       forward,
}

var ruleMissingTypeMeta = &Rule{
	ID: manifest.RuleMissingTypeMeta, Severity: report.Error, Category: CatInput,
	Summary:     "object without apiVersion or kind",
	Remediation: "Add the missing apiVersion and kind (for example apiVersion: v1, kind: Service).",
	Docs:        "The API server cannot tell what an object is without both fields; kubectl refuses it.",
	Check:       forward,
}

var ruleNameMissing = &Rule{
	ID: snapshot.RuleNameMissing, Severity: report.Error, Category: CatInput,
	Summary:     "object without metadata.name",
	Remediation: "Add metadata.name (or metadata.generateName, for objects created with kubectl create).",
	Docs: "Every object needs a name: the API server rejects one without (`metadata.name: Required value: name or " +
		"generateName is required`), so kubectl apply fails on the whole file. Only objects of the built-in API " +
		"groups are checked (review requests such as SelfSubjectAccessReview, and kubectl's List, take no name): files " +
		"of other tools that look like manifests, such as a kind cluster or kubeadm configuration, have none.",
	Check: forward,
}

var ruleNameInvalid = &Rule{
	ID: snapshot.RuleNameInvalid, Severity: report.Error, Category: CatInput,
	Summary:     "object name or namespace that the API server rejects (Web_Bad, longer than 63 characters)",
	Remediation: "Rename the object (and what refers to it) to a name of the form the message gives: lower-case letters, digits and '-', within the length limit.",
	Docs: "The API server validates names as its own validation code does, per kind: a Service name must be a " +
		"DNS-1035 label (at most 63 characters, lower-case letters, digits and `-`, starting with a letter: it " +
		"becomes a DNS name), a Namespace and every object's metadata.namespace a DNS-1123 label (the same, " +
		"but it may start with a digit), RBAC roles and bindings a path segment (`system:controller:x` is " +
		"fine), and most other kinds (Pods, Deployments, ConfigMaps, Secrets, Ingresses...) a DNS-1123 " +
		"subdomain (at most 253 characters, dots allowed). A Job name is at most 63 characters (its pods carry " +
		"it in a label) and a CronJob name at most 52 (the Jobs it creates add 11). `generateName` is checked as " +
		"a prefix. kubectl apply fails on the whole file with `metadata.name: Invalid value`. The check uses " +
		"k8s.io/apimachinery's validation functions; kinds whose names follow other rules (CRDs, APIServices...) " +
		"and kinds outside the built-in API groups are not checked. Clusters with the alpha feature " +
		"RelaxedServiceNameValidation enabled also accept Service names that start with a digit.",
	Check: forward,
}

var ruleUnknownField = &Rule{
	ID: snapshot.RuleUnknownField, Severity: report.Error, Category: CatInput,
	Summary:     "a field the object's type does not have (often a typo)",
	Remediation: "Correct the field name (see the suggestion) or move the field to where it belongs.",
	Docs: "Fields are case-sensitive and checked strictly, as `kubectl apply --validate=strict` does. A misspelled " +
		"field such as `serviveName` is otherwise dropped silently by the API server, and what it should have set " +
		"keeps its default. The message suggests the closest real field name.",
	Check: forward,
}

var ruleInvalidValue = &Rule{
	ID: snapshot.RuleInvalidValue, Severity: report.Error, Category: CatInput,
	Summary:     "a value of the wrong type (a string where a number is expected, and so on)",
	Remediation: "Write the value with the type the field takes; quote strings that YAML would read as booleans or numbers.",
	Docs: "Kubernetes reads YAML with YAML 1.1 rules: unquoted `yes`, `no`, `on` and `off` are booleans, and `0755` is " +
		"an octal number. A port written as `\"80\"` is a string. The API server rejects such objects.",
	Check: forward,
}

var ruleKindCase = &Rule{
	ID: snapshot.RuleKindCase, Severity: report.Error, Category: CatInput,
	Summary:     "kind written with the wrong case (kind: pod)",
	Remediation: "Write the kind exactly as the API defines it, e.g. Pod, Service, Deployment.",
	Docs:        "Kinds are case-sensitive: `kind: pod` is rejected with `no matches for kind \"pod\"`.",
	Check:       forward,
}

var ruleAPIVersionCase = &Rule{
	ID: snapshot.RuleAPIVersionCase, Severity: report.Error, Category: CatInput,
	Summary:     "apiVersion written with the wrong case (apiVersion: V1)",
	Remediation: "Write the apiVersion in lower case, e.g. v1, apps/v1.",
	Docs:        "API versions are case-sensitive: `apiVersion: V1` is rejected.",
	Check:       forward,
}

var ruleRemovedAPI = &Rule{
	ID: snapshot.RuleRemovedAPI, Severity: report.Error, Category: CatInput,
	Summary:     "an apiVersion that current Kubernetes no longer serves",
	Remediation: "Move the object to the replacement apiVersion named in the message and adapt the fields that changed.",
	Docs: "Ingress in `extensions/v1beta1` and `networking.k8s.io/v1beta1` was removed in 1.22: in " +
		"`networking.k8s.io/v1` every path needs a `pathType`, and `serviceName`/`servicePort` became " +
		"`service: {name: ..., port: {number: ...}}`. Deployments, DaemonSets and ReplicaSets left `extensions/v1beta1` " +
		"and `apps/v1beta*` in 1.16. The object is still checked by the other rules, converted to the current version.",
	Check: forward,
}

var ruleUnknownAPIVersion = &Rule{
	ID: snapshot.RuleUnknownAPIVersion, Severity: report.Error, Category: CatInput,
	Summary:     "a kind under an apiVersion that does not serve it",
	Remediation: "Use the apiVersion named in the message (for example apps/v1 for Deployment).",
	Docs:        "`apiVersion: v1` with `kind: Deployment` is rejected: Deployments live in `apps/v1`.",
	Check:       forward,
}

var ruleDuplicateObject = &Rule{
	ID: snapshot.RuleDuplicateObject, Severity: report.Warning, Category: CatInput,
	Summary:     "the same object defined twice in the input",
	Remediation: "Remove one definition or give them different names or namespaces.",
	Docs:        "When two documents define the same kind, namespace and name, only the last one applied survives.",
	Check:       forward,
}

var ruleSecretBase64 = &Rule{
	ID: snapshot.RuleSecretBase64, Severity: report.Error, Category: CatInput,
	Summary:     "Secret data that is not base64",
	Remediation: "Base64-encode values under data, or move plain text to stringData.",
	Docs: "Values under a Secret's `data` must be base64. Pasting a PEM certificate there (as in many tutorials, " +
		"`server.crt: |` followed by the certificate) makes the API server reject the Secret; `stringData` takes " +
		"plain text and is encoded for you.",
	Check: forward,
}

var ruleInvalidSuppression = &Rule{
	ID: "invalid-suppression", Severity: report.Warning, Category: CatInput,
	Summary:     "a suppression annotation without a reason or for an unknown rule",
	Remediation: "Write ignore.svc-doctor.io/<rule-id>: \"<why this is fine>\" with a real rule ID and a reason.",
	Docs: "A finding is silenced for one object with the annotation `ignore.svc-doctor.io/<rule-id>: \"<reason>\"`. " +
		"The reason is required so that reviewers can judge it; an annotation without one silences nothing.",
	Check: func(*Pass) {}, // run by the engine after the other rules, see checkSuppressions
}

// checkSuppressions reports suppression annotations that name no rule or give no reason, on the
// Services of the snapshot and (others) on its other objects.
func checkSuppressions(p *Pass, services, others bool) {
	s := p.Snap
	if services {
		for _, o := range s.Services {
			checkAnnotations(p, o.Src)
		}
	}
	if !others {
		return
	}
	for _, o := range s.Endpoints {
		checkAnnotations(p, o.Src)
	}
	for _, o := range s.EndpointSlices {
		checkAnnotations(p, o.Src)
	}
	for _, o := range s.Ingresses {
		checkAnnotations(p, o.Src)
	}
	for _, o := range s.IngressClasses {
		checkAnnotations(p, o.Src)
	}
	for _, o := range s.NetworkPolicies {
		checkAnnotations(p, o.Src)
	}
	for _, o := range s.Secrets {
		checkAnnotations(p, o.Src)
	}
	for _, o := range s.Workloads {
		checkAnnotations(p, o.Src)
	}
	for _, o := range s.Other {
		checkAnnotations(p, o)
	}
	for _, src := range s.GatewayAPI.Sources() {
		checkAnnotations(p, src)
	}
}

// checkAnnotations reports the suppression annotations of one object that name no rule or give
// no reason.
func checkAnnotations(p *Pass, src *snapshot.Source) {
	if src == nil {
		return
	}
	var keys []string
	for k := range src.Annotations {
		if strings.HasPrefix(k, SuppressPrefix) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	sort.Strings(keys)
	all := All()
	known := map[string]bool{}
	for _, r := range all {
		known[r.ID] = true
	}
	for _, k := range keys {
		id := strings.TrimPrefix(k, SuppressPrefix)
		field := "metadata.annotations[" + k + "]"
		switch {
		case !known[id]:
			p.Report(src, field, "annotation %s names no rule%s", k, didYouMean(id, all))
		case strings.TrimSpace(src.Annotations[k]) == "":
			p.Report(src, field, "annotation %s gives no reason, so it silences nothing: say why the finding does not apply", k)
		}
	}
}
