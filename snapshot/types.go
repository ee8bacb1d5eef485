package snapshot

import "strings"

// removal describes an API version the API server no longer serves for a kind.
type removal struct {
	removedIn   string // Kubernetes minor version that stopped serving it
	replacement string // apiVersion to use instead ("" when the kind is gone)
}

// removedAPIs lists removed apiVersion+kind pairs that manifests still carry.
var removedAPIs = map[string]removal{
	"extensions/v1beta1/Ingress":                            {"1.22", "networking.k8s.io/v1"},
	"networking.k8s.io/v1beta1/Ingress":                     {"1.22", "networking.k8s.io/v1"},
	"networking.k8s.io/v1beta1/IngressClass":                {"1.22", "networking.k8s.io/v1"},
	"extensions/v1beta1/Deployment":                         {"1.16", "apps/v1"},
	"extensions/v1beta1/DaemonSet":                          {"1.16", "apps/v1"},
	"extensions/v1beta1/ReplicaSet":                         {"1.16", "apps/v1"},
	"extensions/v1beta1/NetworkPolicy":                      {"1.16", "networking.k8s.io/v1"},
	"extensions/v1beta1/PodSecurityPolicy":                  {"1.16", ""},
	"apps/v1beta1/Deployment":                               {"1.16", "apps/v1"},
	"apps/v1beta1/StatefulSet":                              {"1.16", "apps/v1"},
	"apps/v1beta2/Deployment":                               {"1.16", "apps/v1"},
	"apps/v1beta2/StatefulSet":                              {"1.16", "apps/v1"},
	"apps/v1beta2/DaemonSet":                                {"1.16", "apps/v1"},
	"apps/v1beta2/ReplicaSet":                               {"1.16", "apps/v1"},
	"batch/v1beta1/CronJob":                                 {"1.25", "batch/v1"},
	"discovery.k8s.io/v1beta1/EndpointSlice":                {"1.25", "discovery.k8s.io/v1"},
	"policy/v1beta1/PodDisruptionBudget":                    {"1.25", "policy/v1"},
	"policy/v1beta1/PodSecurityPolicy":                      {"1.25", ""},
	"autoscaling/v2beta1/HorizontalPodAutoscaler":           {"1.25", "autoscaling/v2"},
	"autoscaling/v2beta2/HorizontalPodAutoscaler":           {"1.26", "autoscaling/v2"},
	"rbac.authorization.k8s.io/v1beta1/Role":                {"1.22", "rbac.authorization.k8s.io/v1"},
	"rbac.authorization.k8s.io/v1beta1/RoleBinding":         {"1.22", "rbac.authorization.k8s.io/v1"},
	"rbac.authorization.k8s.io/v1beta1/ClusterRole":         {"1.22", "rbac.authorization.k8s.io/v1"},
	"rbac.authorization.k8s.io/v1beta1/ClusterRoleBinding":  {"1.22", "rbac.authorization.k8s.io/v1"},
	"apiextensions.k8s.io/v1beta1/CustomResourceDefinition": {"1.22", "apiextensions.k8s.io/v1"},
}

// servedKinds maps each built-in apiVersion the linter knows to the kinds it serves. Kinds listed
// here are checked for case and for being written under the wrong apiVersion; objects of these
// kinds that no rule models pass through.
var servedKinds = map[string][]string{
	"v1": {"Service", "Endpoints", "Pod", "ReplicationController", "Secret", "ConfigMap", "Namespace",
		"ServiceAccount", "PersistentVolumeClaim", "PersistentVolume", "LimitRange", "ResourceQuota", "Node",
		"PodTemplate", "Event", "List"},
	"apps/v1":                      {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ControllerRevision"},
	"batch/v1":                     {"Job", "CronJob"},
	"networking.k8s.io/v1":         {"Ingress", "IngressClass", "NetworkPolicy", "IPAddress", "ServiceCIDR"},
	"discovery.k8s.io/v1":          {"EndpointSlice"},
	"policy/v1":                    {"PodDisruptionBudget"},
	"autoscaling/v1":               {"HorizontalPodAutoscaler"},
	"autoscaling/v2":               {"HorizontalPodAutoscaler"},
	"rbac.authorization.k8s.io/v1": {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"},
	"storage.k8s.io/v1":            {"StorageClass", "CSIDriver", "CSINode", "VolumeAttachment"},
	"apiextensions.k8s.io/v1":      {"CustomResourceDefinition"},
	"admissionregistration.k8s.io/v1": {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"},
	"coordination.k8s.io/v1":    {"Lease"},
	"scheduling.k8s.io/v1":      {"PriorityClass"},
	"node.k8s.io/v1":            {"RuntimeClass"},
	"certificates.k8s.io/v1":    {"CertificateSigningRequest"},
	"events.k8s.io/v1":          {"Event"},
	"apiregistration.k8s.io/v1": {"APIService"},
}

// clusterScoped kinds take no namespace.
var clusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "IngressClass": true, "ClusterRole": true,
	"ClusterRoleBinding": true, "StorageClass": true, "CSIDriver": true, "CSINode": true, "VolumeAttachment": true,
	"CustomResourceDefinition": true, "ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true, "PriorityClass": true,
	"RuntimeClass": true, "CertificateSigningRequest": true, "APIService": true, "IPAddress": true, "ServiceCIDR": true,
	"PodSecurityPolicy": true,
}

// lookupTables are derived once from the literals above.
type lookupTables struct {
	apiVersions map[string]string // lower-case -> canonical
	kindHome    map[string]string // kind -> canonical apiVersion
	kindsLower  map[string]string // lower-case kind -> canonical
	groups      map[string]bool   // built-in API groups
}

var tables = buildTables()

func buildTables() lookupTables {
	t := lookupTables{apiVersions: map[string]string{}, kindHome: map[string]string{}, kindsLower: map[string]string{}, groups: map[string]bool{"extensions": true}}
	for av, kinds := range servedKinds {
		t.apiVersions[strings.ToLower(av)] = av
		t.groups[group(av)] = true
		for _, k := range kinds {
			if _, ok := t.kindHome[k]; !ok || av == "autoscaling/v2" {
				t.kindHome[k] = av
			}
			t.kindsLower[strings.ToLower(k)] = k
		}
	}
	t.kindHome["Event"] = "v1"
	for key := range removedAPIs {
		i := strings.LastIndexByte(key, '/')
		av, k := key[:i], key[i+1:]
		t.apiVersions[strings.ToLower(av)] = av
		t.groups[group(av)] = true
		t.kindsLower[strings.ToLower(k)] = k
	}
	return t
}

func group(apiVersion string) string {
	if i := strings.IndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

// IsBuiltinGroup reports whether apiVersion belongs to a Kubernetes built-in API group.
func IsBuiltinGroup(apiVersion string) bool { return tables.groups[group(apiVersion)] }

// servedBy reports whether apiVersion serves kind.
func servedBy(apiVersion, kind string) bool {
	for _, k := range servedKinds[apiVersion] {
		if k == kind {
			return true
		}
	}
	return false
}
