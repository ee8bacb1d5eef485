package snapshot

import (
	"reflect"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// removal describes an API version the API server no longer serves for a kind.
type removal struct {
	removedIn   string // Kubernetes minor version that stopped serving it
	replacement string // apiVersion to use instead ("" when the kind is gone)
}

// removedAPIs lists removed apiVersion+kind pairs that manifests still carry (the Kubernetes
// deprecated API migration guide). The client-go scheme still holds the types of most of them, so
// this knowledge cannot be derived from it: these entries win over the scheme.
var removedAPIs = map[string]removal{
	"extensions/v1beta1/Ingress":                                          {"1.22", "networking.k8s.io/v1"},
	"networking.k8s.io/v1beta1/Ingress":                                   {"1.22", "networking.k8s.io/v1"},
	"networking.k8s.io/v1beta1/IngressClass":                              {"1.22", "networking.k8s.io/v1"},
	"extensions/v1beta1/Deployment":                                       {"1.16", "apps/v1"},
	"extensions/v1beta1/DaemonSet":                                        {"1.16", "apps/v1"},
	"extensions/v1beta1/ReplicaSet":                                       {"1.16", "apps/v1"},
	"extensions/v1beta1/NetworkPolicy":                                    {"1.16", "networking.k8s.io/v1"},
	"extensions/v1beta1/PodSecurityPolicy":                                {"1.16", ""},
	"apps/v1beta1/Deployment":                                             {"1.16", "apps/v1"},
	"apps/v1beta1/StatefulSet":                                            {"1.16", "apps/v1"},
	"apps/v1beta1/ControllerRevision":                                     {"1.16", "apps/v1"},
	"apps/v1beta2/Deployment":                                             {"1.16", "apps/v1"},
	"apps/v1beta2/StatefulSet":                                            {"1.16", "apps/v1"},
	"apps/v1beta2/DaemonSet":                                              {"1.16", "apps/v1"},
	"apps/v1beta2/ReplicaSet":                                             {"1.16", "apps/v1"},
	"apps/v1beta2/ControllerRevision":                                     {"1.16", "apps/v1"},
	"batch/v1beta1/CronJob":                                               {"1.25", "batch/v1"},
	"discovery.k8s.io/v1beta1/EndpointSlice":                              {"1.25", "discovery.k8s.io/v1"},
	"events.k8s.io/v1beta1/Event":                                         {"1.25", "events.k8s.io/v1"},
	"node.k8s.io/v1beta1/RuntimeClass":                                    {"1.25", "node.k8s.io/v1"},
	"policy/v1beta1/PodDisruptionBudget":                                  {"1.25", "policy/v1"},
	"policy/v1beta1/PodSecurityPolicy":                                    {"1.25", ""},
	"autoscaling/v2beta1/HorizontalPodAutoscaler":                         {"1.25", "autoscaling/v2"},
	"autoscaling/v2beta2/HorizontalPodAutoscaler":                         {"1.26", "autoscaling/v2"},
	"rbac.authorization.k8s.io/v1beta1/Role":                              {"1.22", "rbac.authorization.k8s.io/v1"},
	"rbac.authorization.k8s.io/v1beta1/RoleBinding":                       {"1.22", "rbac.authorization.k8s.io/v1"},
	"rbac.authorization.k8s.io/v1beta1/ClusterRole":                       {"1.22", "rbac.authorization.k8s.io/v1"},
	"rbac.authorization.k8s.io/v1beta1/ClusterRoleBinding":                {"1.22", "rbac.authorization.k8s.io/v1"},
	"apiextensions.k8s.io/v1beta1/CustomResourceDefinition":               {"1.22", "apiextensions.k8s.io/v1"},
	"apiregistration.k8s.io/v1beta1/APIService":                           {"1.22", "apiregistration.k8s.io/v1"},
	"admissionregistration.k8s.io/v1beta1/MutatingWebhookConfiguration":   {"1.22", "admissionregistration.k8s.io/v1"},
	"admissionregistration.k8s.io/v1beta1/ValidatingWebhookConfiguration": {"1.22", "admissionregistration.k8s.io/v1"},
	"authentication.k8s.io/v1beta1/TokenReview":                           {"1.22", "authentication.k8s.io/v1"},
	"authorization.k8s.io/v1beta1/SubjectAccessReview":                    {"1.22", "authorization.k8s.io/v1"},
	"authorization.k8s.io/v1beta1/LocalSubjectAccessReview":               {"1.22", "authorization.k8s.io/v1"},
	"authorization.k8s.io/v1beta1/SelfSubjectAccessReview":                {"1.22", "authorization.k8s.io/v1"},
	"authorization.k8s.io/v1beta1/SelfSubjectRulesReview":                 {"1.22", "authorization.k8s.io/v1"},
	"certificates.k8s.io/v1beta1/CertificateSigningRequest":               {"1.22", "certificates.k8s.io/v1"},
	"coordination.k8s.io/v1beta1/Lease":                                   {"1.22", "coordination.k8s.io/v1"},
	"scheduling.k8s.io/v1beta1/PriorityClass":                             {"1.22", "scheduling.k8s.io/v1"},
	"storage.k8s.io/v1beta1/CSIDriver":                                    {"1.22", "storage.k8s.io/v1"},
	"storage.k8s.io/v1beta1/CSINode":                                      {"1.22", "storage.k8s.io/v1"},
	"storage.k8s.io/v1beta1/StorageClass":                                 {"1.22", "storage.k8s.io/v1"},
	"storage.k8s.io/v1beta1/VolumeAttachment":                             {"1.22", "storage.k8s.io/v1"},
	"storage.k8s.io/v1beta1/CSIStorageCapacity":                           {"1.27", "storage.k8s.io/v1"},
	"flowcontrol.apiserver.k8s.io/v1beta1/FlowSchema":                     {"1.26", "flowcontrol.apiserver.k8s.io/v1"},
	"flowcontrol.apiserver.k8s.io/v1beta1/PriorityLevelConfiguration":     {"1.26", "flowcontrol.apiserver.k8s.io/v1"},
	"flowcontrol.apiserver.k8s.io/v1beta2/FlowSchema":                     {"1.29", "flowcontrol.apiserver.k8s.io/v1"},
	"flowcontrol.apiserver.k8s.io/v1beta2/PriorityLevelConfiguration":     {"1.29", "flowcontrol.apiserver.k8s.io/v1"},
	"flowcontrol.apiserver.k8s.io/v1beta3/FlowSchema":                     {"1.32", "flowcontrol.apiserver.k8s.io/v1"},
	"flowcontrol.apiserver.k8s.io/v1beta3/PriorityLevelConfiguration":     {"1.32", "flowcontrol.apiserver.k8s.io/v1"},
}

// extraKinds are built-in kinds the client-go scheme does not register: the API groups served by
// the apiextensions and aggregator parts of the API server, and kubectl's List.
var extraKinds = map[string][]string{
	"v1":                        {"List"},
	"apiextensions.k8s.io/v1":   {"CustomResourceDefinition"},
	"apiregistration.k8s.io/v1": {"APIService"},
}

// notObjects are kinds the scheme registers that are not objects a manifest can hold: request
// options, watch events, discovery documents, subresources and internal types.
var notObjects = map[string]bool{
	"WatchEvent": true, "Status": true, "APIGroup": true, "APIVersions": true, "APIGroupList": true,
	"APIResourceList": true, "SerializedReference": true, "RangeAllocation": true, "Scale": true,
	"DeploymentRollback": true,
}

// clusterScoped kinds take no namespace.
var clusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "ComponentStatus": true, "IngressClass": true,
	"ClusterRole": true, "ClusterRoleBinding": true, "StorageClass": true, "CSIDriver": true, "CSINode": true,
	"VolumeAttachment": true, "VolumeAttributesClass": true, "CustomResourceDefinition": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true, "ValidatingAdmissionPolicy": true,
	"ValidatingAdmissionPolicyBinding": true, "MutatingAdmissionPolicy": true, "MutatingAdmissionPolicyBinding": true,
	"PriorityClass": true, "RuntimeClass": true, "CertificateSigningRequest": true, "ClusterTrustBundle": true,
	"APIService": true, "IPAddress": true, "ServiceCIDR": true, "PodSecurityPolicy": true, "FlowSchema": true,
	"PriorityLevelConfiguration": true, "TokenReview": true, "SubjectAccessReview": true,
	"SelfSubjectAccessReview": true, "SelfSubjectRulesReview": true, "SelfSubjectReview": true,
	"DeviceClass": true, "ResourceSlice": true, "DeviceTaintRule": true, "StorageVersion": true,
	"StorageVersionMigration": true, "GatewayClass": true,
}

// kindKey is an apiVersion and a kind (a map key that needs no string concatenation).
type kindKey struct{ apiVersion, kind string }

// lookupTables are derived once, at start-up, from the built-in API types and the literals above.
type lookupTables struct {
	// served holds the kinds of GA versions (v1, v2...): served by default.
	served map[kindKey]bool
	// prerelease holds the kinds of alpha and beta versions the scheme knows and that are not
	// known to be removed: served when the cluster enables them, passed through.
	prerelease  map[kindKey]bool
	versions    map[string]bool   // every built-in apiVersion
	apiVersions map[string]string // lower-case -> canonical
	kindHome    map[string]string // kind -> preferred apiVersion
	kindsLower  map[string]string // lower-case kind -> canonical
	groups      map[string]bool   // built-in API groups
}

var tables = buildTables(schemeTypes())

// schemeTypes returns the group/version/kinds of every built-in API type.
func schemeTypes() map[schema.GroupVersionKind]reflect.Type { return builtinScheme.AllKnownTypes() }

// buildTables derives the lookup tables from the scheme's group/version/kinds.
func buildTables(known map[schema.GroupVersionKind]reflect.Type) lookupTables {
	t := lookupTables{served: map[kindKey]bool{}, prerelease: map[kindKey]bool{}, versions: map[string]bool{},
		apiVersions: map[string]string{}, kindHome: map[string]string{}, kindsLower: map[string]string{}, groups: map[string]bool{}}
	homeRank := map[string]int{}
	addKind := func(av, kind string) {
		t.versions[av] = true
		t.apiVersions[strings.ToLower(av)] = av
		t.groups[group(av)] = true
		t.kindsLower[strings.ToLower(kind)] = kind
	}
	// offer proposes av as the home of kind: GA before beta before alpha, the core group first,
	// then the highest version; ties go to the smaller group name so the result is stable
	offer := func(av, kind string) {
		r := versionRank(av)
		if group(av) == "" {
			r += 1 << 20
		}
		if old, ok := t.kindHome[kind]; ok && (homeRank[kind] > r || homeRank[kind] == r && group(old) < group(av)) {
			return
		}
		t.kindHome[kind], homeRank[kind] = av, r
	}
	for gvk := range known {
		k := gvk.Kind
		if gvk.Version == "" || gvk.Version == "__internal" || notObjects[k] ||
			strings.HasSuffix(k, "Options") || (strings.HasSuffix(k, "List") && k != "List") {
			continue
		}
		rank := versionRank(gvk.Version)
		if rank == 0 {
			continue
		}
		av := gvk.GroupVersion().String()
		addKind(av, k)
		if _, removed := removedAPIs[av+"/"+k]; removed {
			continue
		}
		if rank < gaRank {
			t.prerelease[kindKey{av, k}] = true
		} else {
			t.served[kindKey{av, k}] = true
		}
		offer(av, k)
	}
	for av, kinds := range extraKinds {
		for _, k := range kinds {
			addKind(av, k)
			t.served[kindKey{av, k}] = true
			offer(av, k)
		}
	}
	// removed versions are known (their case is checked) but neither served nor a kind's home
	for key := range removedAPIs {
		i := strings.LastIndexByte(key, '/')
		addKind(key[:i], key[i+1:])
	}
	// extensions is the group of removed kinds only
	t.groups["extensions"] = true
	return t
}

// gaRank is the lowest versionRank of a GA version.
const gaRank = 3 << 16

// versionRank orders the version of an apiVersion ("apps/v1", "v1beta2"): GA above beta above
// alpha, then by number; 0 when it is not a Kubernetes version (v<n>[alpha<n>|beta<n>]).
func versionRank(apiVersion string) int {
	v := apiVersion[strings.IndexByte(apiVersion, '/')+1:]
	if len(v) < 2 || v[0] != 'v' {
		return 0
	}
	i := 1
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	major, err := strconv.Atoi(v[1:i])
	if err != nil || major == 0 {
		return 0
	}
	stage, rest := gaRank, v[i:]
	switch {
	case rest == "":
		return stage + major<<8
	case strings.HasPrefix(rest, "beta"):
		stage, rest = 2<<16, rest[len("beta"):]
	case strings.HasPrefix(rest, "alpha"):
		stage, rest = 1<<16, rest[len("alpha"):]
	default:
		return 0
	}
	minor, err := strconv.Atoi(rest)
	if err != nil || minor == 0 || rest[0] == '+' || rest[0] == '-' {
		return 0
	}
	return stage + major<<8 + minor
}

func group(apiVersion string) string {
	if i := strings.IndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

// IsBuiltinGroup reports whether apiVersion belongs to a Kubernetes built-in API group.
func IsBuiltinGroup(apiVersion string) bool { return tables.groups[group(apiVersion)] }

// knownVersionOf reports whether the scheme knows kind in apiVersion, served by default or not.
func knownVersionOf(apiVersion, kind string) bool {
	key := kindKey{apiVersion, kind}
	return tables.served[key] || tables.prerelease[key]
}
