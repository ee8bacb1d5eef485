package snapshot

import (
	"fmt"
	"hash/fnv"
	"strings"
	"unicode/utf8"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"

	"github.com/svc-doctor/svc-doctor/rules/ruleid"
)

// RuleNameInvalid is the rule of object names and namespaces the API server refuses.
const RuleNameInvalid = string(ruleid.ObjectNameInvalid)

// nameRule is how the API server validates the names of one kind.
type nameRule struct {
	// validate is the API server's own function (k8s.io/apimachinery/pkg/api/validation)
	validate func(name string, prefix bool) []string
	// what describes the form in messages
	what string
	// limit is the form's length limit (0: none); dots and letterFirst say what else it allows
	limit       int
	dots        bool
	letterFirst bool
	// maxLen, when set, is a shorter limit that kind has on top of validate
	maxLen int
	why    string // the reason for maxLen
}

var (
	dns1035Label = nameRule{validate: apimachineryvalidation.NameIsDNS1035Label, limit: 63, letterFirst: true,
		what: "a DNS-1035 label: at most 63 characters, lower-case letters, digits and '-', starting with a letter and ending with a letter or digit"}
	dns1123Label = nameRule{validate: apimachineryvalidation.NameIsDNSLabel, limit: 63,
		what: "a DNS-1123 label: at most 63 characters, lower-case letters, digits and '-', starting and ending with a letter or digit"}
	dns1123Subdomain = nameRule{validate: apimachineryvalidation.NameIsDNSSubdomain, limit: 253, dots: true,
		what: "a DNS-1123 subdomain: at most 253 characters, lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"}
	pathSegment = nameRule{validate: validatePathSegmentName,
		what: "a path segment: not \".\" or \"..\", and without '/' or '%'"}
)

// nameRules lists the built-in kinds whose name validation svc-doctor knows, as the API server's
// validation code (pkg/apis/*/validation) defines it. Kinds not listed are not checked.
var nameRules = map[string]nameRule{
	"Service":   dns1035Label,
	"Namespace": dns1123Label,
	// RBAC names may hold ':' (system:controller:...)
	"Role": pathSegment, "ClusterRole": pathSegment, "RoleBinding": pathSegment, "ClusterRoleBinding": pathSegment,
	// the Job controller writes the Job's name into a label of its pods (job-name), and label
	// values are at most 63 characters: the API server refuses a longer Job name
	"Job": withMax(dns1123Subdomain, 63, "the Job's pods carry its name in the job-name label, and label values are at most 63 characters"),
	// the CronJob controller names each Job <cronjob>-<11 characters>
	"CronJob": withMax(dns1123Subdomain, 52, "the CronJob controller names each Job it creates <name>-<11 characters>, and a Job name is at most 63"),
	"Pod":     dns1123Subdomain, "ReplicationController": dns1123Subdomain, "Endpoints": dns1123Subdomain,
	"Secret": dns1123Subdomain, "ConfigMap": dns1123Subdomain, "ServiceAccount": dns1123Subdomain,
	"PersistentVolume": dns1123Subdomain, "PersistentVolumeClaim": dns1123Subdomain, "Node": dns1123Subdomain,
	"LimitRange": dns1123Subdomain, "ResourceQuota": dns1123Subdomain, "PodTemplate": dns1123Subdomain,
	"Deployment": dns1123Subdomain, "ReplicaSet": dns1123Subdomain, "StatefulSet": dns1123Subdomain,
	"DaemonSet": dns1123Subdomain, "Ingress": dns1123Subdomain, "IngressClass": dns1123Subdomain,
	"NetworkPolicy": dns1123Subdomain, "EndpointSlice": dns1123Subdomain, "HorizontalPodAutoscaler": dns1123Subdomain,
	"PodDisruptionBudget": dns1123Subdomain, "StorageClass": dns1123Subdomain, "PriorityClass": dns1123Subdomain,
}

// withMax returns r with a shorter length limit.
func withMax(r nameRule, max int, why string) nameRule {
	r.maxLen, r.why = max, why
	return r
}

// maxRefName is the longest name or namespace carried as is in references and messages: no valid
// name is longer, and a longer one (a 50 MB scalar) would be printed with every finding.
const maxRefName = 253

// shortName returns s, or for a string longer than maxRefName a short stand-in that stays unique:
// its first characters, its length and a hash.
func shortName(s string) string {
	if len(s) <= maxRefName {
		return s
	}
	h := fnv.New64a()
	h.Write([]byte(s))
	cut := 48
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes, %08x)", s[:cut], len(s), uint32(h.Sum64()))
}

// checkNames reports a name or namespace the API server would refuse (built-in kinds only: other
// tools' files that look like manifests follow their own rules).
func (d *decoder) checkNames(src *Source, name, namespace, kind, apiVersion string) {
	if !IsBuiltinGroup(apiVersion) {
		return
	}
	if r, ok := nameRules[kind]; ok && name != "" {
		field, n, prefix := "metadata.name", name, false
		if strings.HasSuffix(name, "*") { // generateName, read as "prefix*"
			field, n, prefix = "metadata.generateName", strings.TrimSuffix(name, "*"), true
		}
		if msg := nameProblem(n, prefix, r); msg != "" {
			d.issue(RuleNameInvalid, src, field, "%s %s is not a valid %s name: %s; it must be %s, so the API server rejects this object",
				field, quoteName(n), kind, msg, r.what)
		} else if r.maxLen > 0 && !prefix && len(n) > r.maxLen {
			d.issue(RuleNameInvalid, src, field, "%s %s is %d characters long: a %s name may have at most %d, because %s",
				field, quoteName(n), len(n), kind, r.maxLen, r.why)
		}
	}
	if namespace != "" && !clusterScoped[kind] {
		if msg := nameProblem(namespace, false, dns1123Label); msg != "" {
			d.issue(RuleNameInvalid, src, "metadata.namespace", "metadata.namespace %s is not a valid namespace name: %s; it must be %s, so the API server rejects this object",
				quoteName(namespace), msg, dns1123Label.what)
		}
	}
}

// quoteName quotes a name for a message, shortened when it is very long.
func quoteName(s string) string {
	if len(s) <= 80 {
		return fmt.Sprintf("%q", s)
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q (%d characters)", s[:cut]+"…", utf8.RuneCountInString(s))
}

// nameProblem says what is wrong with a name ("" when the API server accepts it): the verdict is
// the API server's own validation function's, the wording ours.
func nameProblem(name string, prefix bool, r nameRule) string {
	var errs []string
	if r.limit > 0 && len(name) > 4*r.limit {
		errs = []string{"too long"} // a huge scalar: no need to run a regular expression over it
	} else {
		errs = r.validate(name, prefix)
	}
	if len(errs) == 0 {
		return ""
	}
	n := utf8.RuneCountInString(name)
	var parts []string
	if r.limit > 0 && n > r.limit {
		parts = append(parts, fmt.Sprintf("it is %d characters long (at most %d)", n, r.limit))
	}
	if r.limit > 0 {
		head := name // the characters are described from the first ones
		if len(head) > 1024 {
			head = head[:1024]
		}
		if strings.IndexFunc(head, func(c rune) bool { return c >= 'A' && c <= 'Z' }) >= 0 {
			parts = append(parts, "it has upper-case letters")
		}
		for _, c := range head {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' && r.dots {
				continue
			}
			parts = append(parts, fmt.Sprintf("it contains %q", c))
			break
		}
		if first, _ := utf8.DecodeRuneInString(name); r.letterFirst && !(first >= 'a' && first <= 'z' || first >= 'A' && first <= 'Z') {
			parts = append(parts, fmt.Sprintf("it starts with %q, not a letter", first))
		}
		if last, _ := utf8.DecodeLastRuneInString(name); (last == '-' || last == '.') && !prefix {
			parts = append(parts, fmt.Sprintf("it ends with %q", last))
		}
	}
	if len(parts) == 0 {
		return errs[0]
	}
	return strings.Join(parts, ", ")
}

// validatePathSegmentName is the API server's rule for names that are one path segment (its
// apimachinery function is deprecated for use outside it): not "." or "..", and no '/' or '%'.
func validatePathSegmentName(name string, prefix bool) []string {
	if !prefix && (name == "." || name == "..") {
		return []string{fmt.Sprintf("may not be '%s'", name)}
	}
	var errs []string
	for _, bad := range []string{"/", "%"} {
		if strings.Contains(name, bad) {
			errs = append(errs, fmt.Sprintf("may not contain '%s'", bad))
		}
	}
	return errs
}
