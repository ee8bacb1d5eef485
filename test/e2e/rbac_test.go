package e2e

// The ClusterRoles of deploy/rbac, tested as a user bound to exactly them: a ServiceAccount of the
// test namespace with a RoleBinding to the namespaced role and a ClusterRoleBinding to the
// cluster-scoped one, a token from the TokenRequest API and a kubeconfig of its own. Each command
// must work with its role, and with one permission removed it must fail (non-zero exit) or warn
// with "forbidden: needs <verb> on <resource> ...", never with a stack trace.

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
)

// rbacUser is a ServiceAccount bound to copies of a command's ClusterRoles.
type rbacUser struct {
	Name       string
	Kubeconfig string
	Client     kubernetes.Interface
}

// permission names one verb on one resource ("pods/exec") to take out of a role.
type permission struct{ verb, resource string }

// loadRoles reads the ClusterRoles of deploy/rbac/<file>.
func loadRoles(t *testing.T, file string) []rbacv1.ClusterRole {
	t.Helper()
	path := filepath.Join(framework.RepoRoot(), "deploy", "rbac", file)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var roles []rbacv1.ClusterRole
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var r rbacv1.ClusterRole
		if err := dec.Decode(&r); err != nil {
			break
		}
		if r.Kind == "ClusterRole" {
			roles = append(roles, r)
		}
	}
	if len(roles) != 2 {
		t.Fatalf("%s: %d ClusterRoles, want 2 (namespaced and -cluster)", path, len(roles))
	}
	return roles
}

// without returns rules with the permission removed (rules left with no verb are dropped).
func without(rules []rbacv1.PolicyRule, drop permission) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range rules {
		has := false
		for _, res := range r.Resources {
			has = has || res == drop.resource
		}
		if !has {
			out = append(out, r)
			continue
		}
		// split the resource off the rule, minus the verb
		var others []string
		for _, res := range r.Resources {
			if res != drop.resource {
				others = append(others, res)
			}
		}
		if len(others) > 0 {
			out = append(out, rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: others, Verbs: r.Verbs})
		}
		var verbs []string
		for _, v := range r.Verbs {
			if v != drop.verb {
				verbs = append(verbs, v)
			}
		}
		if len(verbs) > 0 {
			out = append(out, rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: []string{drop.resource}, Verbs: verbs})
		}
	}
	return out
}

// newRBACUser binds a new ServiceAccount of f.Namespace to copies of the ClusterRoles in file
// (namespaced role with a RoleBinding, -cluster role with a ClusterRoleBinding), minus drop.
func newRBACUser(t *testing.T, f *framework.F, file string, drop *permission) *rbacUser {
	t.Helper()
	ctx := f.Ctx
	cs := f.Client
	ns := f.Namespace
	sa := "svc-doctor-user"
	if drop != nil {
		sa += "-no-" + strings.NewReplacer("/", "-").Replace(drop.verb+"-"+drop.resource)
	}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	subject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}
	for _, role := range loadRoles(t, file) {
		cr := role.DeepCopy()
		cr.ObjectMeta = metav1.ObjectMeta{Name: role.Name + "-" + ns + "-" + sa, Labels: map[string]string{"svc-doctor.io/e2e": "true"}}
		if drop != nil {
			cr.Rules = without(cr.Rules, *drop)
		}
		if _, err := cs.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.RbacV1().ClusterRoles().Delete(context.Background(), cr.Name, metav1.DeleteOptions{}) })
		ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cr.Name}
		if strings.HasSuffix(role.Name, "-cluster") {
			crb := &rbacv1.ClusterRoleBinding{ObjectMeta: cr.ObjectMeta, RoleRef: ref, Subjects: []rbacv1.Subject{subject}}
			if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), crb.Name, metav1.DeleteOptions{})
			})
			continue
		}
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name + "-" + sa, Namespace: ns}, RoleRef: ref, Subjects: []rbacv1.Subject{subject}}
		if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", ns, sa, err)
	}
	kubeconfig := writeTokenKubeconfig(t, f.Cluster.Config, ns, tok.Status.Token)
	cfg := rest.AnonymousClientConfig(f.Cluster.Config)
	cfg.BearerToken = tok.Status.Token
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := &rbacUser{Name: sa, Kubeconfig: kubeconfig, Client: client}
	// RBAC is cached by the API server's authorizer: wait until the bindings are in effect
	f.WaitFor("the RBAC bindings to take effect", 30*time.Second, func(ctx context.Context) (bool, error) {
		return u.can(ctx, "list", "", "services", ns), nil
	})
	return u
}

func (u *rbacUser) can(ctx context.Context, verb, group, resource, ns string) bool {
	res, sub, _ := strings.Cut(resource, "/")
	r, err := u.Client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: verb, Group: group, Resource: res, Subresource: sub}}}, metav1.CreateOptions{})
	return err == nil && r.Status.Allowed
}

// writeTokenKubeconfig writes a kubeconfig for the cluster of cfg with a bearer token.
func writeTokenKubeconfig(t *testing.T, cfg *rest.Config, ns, token string) string {
	t.Helper()
	ca := cfg.TLSClientConfig.CAData
	if len(ca) == 0 && cfg.TLSClientConfig.CAFile != "" {
		b, err := os.ReadFile(cfg.TLSClientConfig.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		ca = b
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: ca,
		TLSServerName: cfg.TLSClientConfig.ServerName, InsecureSkipTLSVerify: cfg.TLSClientConfig.Insecure}
	kc.AuthInfos["svc-doctor-user"] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "svc-doctor-user", Namespace: ns}
	kc.CurrentContext = "e2e"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// run runs kubectl-svc_doctor as the user (its kubeconfig only).
func (u *rbacUser) run(t *testing.T, f *framework.F, args ...string) framework.Result {
	t.Helper()
	bin := framework.SvcDoctorBinary(t)
	ctx, cancel := context.WithTimeout(f.Ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+u.Kubeconfig, "NO_COLOR=1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := framework.Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.ExitCode = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	t.Logf("as %s: kubectl-svc_doctor %s: exit %d\nstderr:\n%s", u.Name, strings.Join(args, " "), res.ExitCode, res.Stderr)
	return res
}

// noCrash fails when output looks like a panic or an unexplained Go error dump.
func noCrash(t *testing.T, r framework.Result) {
	t.Helper()
	for _, bad := range []string{"panic:", "goroutine ", "runtime error", ".go:"} {
		if strings.Contains(r.Stderr, bad) || strings.Contains(r.Stdout, bad) {
			t.Errorf("output contains %q (a stack trace?):\n%s", bad, r.Stderr)
		}
	}
}

// rbacFixture is a Service with ready pods, an Ingress with a TLS Secret and a NetworkPolicy: every
// kind the commands read.
func rbacFixture(f *framework.F) {
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	f.Apply(`apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  tls: [{hosts: [web.example.test], secretName: web-tls}]
  rules:
  - host: web.example.test
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress: [{}]
`)
}

func TestRBACLintLive(t *testing.T) {
	f := framework.New(t)
	rbacFixture(f)
	t.Run("with the role", func(t *testing.T) {
		u := newRBACUser(t, f, "lint.yaml", nil)
		r := u.run(t, f, "lint", "--live", "-o", "json")
		noCrash(t, r)
		if r.ExitCode > 1 {
			t.Errorf("exit %d, want 0 or 1 (findings)", r.ExitCode)
		}
		if strings.Contains(r.Stderr, "not checked") || strings.Contains(r.Stderr, "forbidden") {
			t.Errorf("lint --live degraded with exactly its role:\n%s", r.Stderr)
		}
		if !strings.Contains(r.Stdout, `"kind": "LintReport"`) && !strings.Contains(r.Stdout, `"apiVersion": "svc-doctor.io/v1"`) {
			t.Errorf("no report on stdout:\n%s", r.Stdout)
		}
	})
	for _, tt := range []struct {
		file string
		drop permission
		want string
	}{
		{"lint.yaml", permission{"list", "pods"}, "forbidden: needs list on pods in namespace " + f.Namespace},
		{"lint.yaml", permission{"get", "secrets"}, "forbidden: needs get on secrets in namespace " + f.Namespace},
		{"lint.yaml", permission{"list", "ingressclasses"}, "forbidden: needs list on ingressclasses in the cluster"},
	} {
		t.Run("without "+tt.drop.verb+" "+tt.drop.resource, func(t *testing.T) {
			u := newRBACUser(t, f, tt.file, &tt.drop)
			r := u.run(t, f, "lint", "--live")
			noCrash(t, r)
			if !strings.Contains(r.Stderr, tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, r.Stderr)
			}
			if r.ExitCode == 0 {
				t.Errorf("exit 0 although %s %s was forbidden: want non-zero (3, could not complete)", tt.drop.verb, tt.drop.resource)
			}
		})
	}
}

func TestRBACDiagnose(t *testing.T) {
	f := framework.New(t)
	rbacFixture(f)
	client := f.ClientPod("client")
	t.Run("with the role", func(t *testing.T) {
		u := newRBACUser(t, f, "diagnose.yaml", nil)
		r := u.run(t, f, "diagnose", "svc/web")
		noCrash(t, r)
		if r.ExitCode != 0 {
			t.Errorf("diagnose svc/web exit %d, want 0:\n%s\n%s", r.ExitCode, r.Stdout, r.Stderr)
		}
		if strings.Contains(r.Stdout+r.Stderr, "forbidden") {
			t.Errorf("diagnose met a forbidden call with exactly its role:\n%s\n%s", r.Stdout, r.Stderr)
		}
		r = u.run(t, f, "diagnose", "svc/web", "--from", "pod/"+client)
		noCrash(t, r)
		if r.ExitCode != 0 || strings.Contains(r.Stdout+r.Stderr, "forbidden") {
			t.Errorf("diagnose --from exit %d:\n%s\n%s", r.ExitCode, r.Stdout, r.Stderr)
		}
		// the focused commands run on the same role
		for _, args := range [][]string{{"dnscheck", "web"}, {"probes", "svc/web"}, {"probes", "deploy/web"}, {"probes", "deploy/web", "--run"}, {"cleanup"}} {
			r = u.run(t, f, args...)
			noCrash(t, r)
			if r.ExitCode > 1 || strings.Contains(r.Stdout+r.Stderr, "forbidden") {
				t.Errorf("%s: exit %d with exactly the diagnose role:\n%s\n%s", strings.Join(args, " "), r.ExitCode, r.Stdout, r.Stderr)
			}
		}
		framework.AssertNoManagedPods(t, f.Namespace, 30*time.Second)
	})
	// a missing read degrades the checks that need it; the others still run and the report comes out
	t.Run("without list pods", func(t *testing.T) {
		u := newRBACUser(t, f, "diagnose.yaml", &permission{"list", "pods"})
		r := u.run(t, f, "diagnose", "svc/web", "-o", "json")
		noCrash(t, r)
		if r.ExitCode != 3 {
			t.Errorf("exit %d, want 3 (the report is incomplete)", r.ExitCode)
		}
		var rep struct {
			Hops []struct{ ID, Status, Summary string }
		}
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatalf("no JSON report on stdout: %v\n%s", err, r.Stdout)
		}
		got := map[string]string{}
		for _, h := range rep.Hops {
			got[h.ID] = h.Status + ": " + h.Summary
		}
		for id, want := range map[string]string{
			"selector":     "skip: cannot read pods: forbidden: needs list on pods in namespace " + f.Namespace,
			"endpoints":    "pass: 1 endpoint: 1 ready",
			"dns":          "pass:",
			"connectivity": "pass: the ClusterIP",
		} {
			if !strings.HasPrefix(got[id], want) {
				t.Errorf("hop %s = %q, want it to start with %q", id, got[id], want)
			}
		}
		framework.AssertNoManagedPods(t, f.Namespace, 30*time.Second)
	})
	for _, tt := range []struct {
		drop permission
		args []string
		want string
	}{
		{permission{"create", "pods"}, []string{"diagnose", "svc/web"}, "forbidden: needs create on pods in namespace " + f.Namespace},
		// exec goes over WebSocket (GET, authorized as get and create) and falls back to SPDY (POST,
		// authorized as create), also when the WebSocket upgrade is forbidden: create is the one needed
		{permission{"create", "pods/exec"}, []string{"diagnose", "svc/web"}, "forbidden: needs get and create on pods/exec in namespace " + f.Namespace},
		{permission{"update", "pods/ephemeralcontainers"}, []string{"diagnose", "svc/web", "--from", "pod/" + client}, "forbidden: needs update on pods/ephemeralcontainers in namespace " + f.Namespace},
	} {
		t.Run("without "+tt.drop.verb+" "+tt.drop.resource, func(t *testing.T) {
			u := newRBACUser(t, f, "diagnose.yaml", &tt.drop)
			r := u.run(t, f, tt.args...)
			noCrash(t, r)
			if !strings.Contains(r.Stdout+r.Stderr, tt.want) {
				t.Errorf("output does not say %q:\n%s\n%s", tt.want, r.Stdout, r.Stderr)
			}
			if r.ExitCode == 0 {
				t.Errorf("exit 0 although %s %s was forbidden", tt.drop.verb, tt.drop.resource)
			}
			framework.AssertNoManagedPods(t, f.Namespace, 30*time.Second)
		})
	}
	// without get on pods/exec the WebSocket upgrade is forbidden and the SPDY fallback (create)
	// carries the agent's checks, as kubectl exec does: the diagnosis is complete
	t.Run("without get pods/exec", func(t *testing.T) {
		u := newRBACUser(t, f, "diagnose.yaml", &permission{"get", "pods/exec"})
		r := u.run(t, f, "diagnose", "svc/web")
		noCrash(t, r)
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "PASS     7 connectivity") {
			t.Errorf("exit %d, want 0 with the connectivity hop passed through the SPDY fallback:\n%s\n%s", r.ExitCode, r.Stdout, r.Stderr)
		}
		framework.AssertNoManagedPods(t, f.Namespace, 30*time.Second)
	})
}

func TestRBACExpose(t *testing.T) {
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	t.Run("with the role", func(t *testing.T) {
		u := newRBACUser(t, f, "expose.yaml", nil)
		r := u.run(t, f, "expose", "deploy/web", "--port", "80:8080")
		noCrash(t, r)
		if r.ExitCode != 0 || strings.Contains(r.Stdout+r.Stderr, "forbidden") {
			t.Errorf("expose deploy/web exit %d:\n%s\n%s", r.ExitCode, r.Stdout, r.Stderr)
		}
		if _, err := f.Client.CoreV1().Services(f.Namespace).Get(f.Ctx, "web", metav1.GetOptions{}); err != nil {
			t.Errorf("service/web not created: %v", err)
		}
		// an Ingress no controller picks up: the after-check times out and the diagnosis of its
		// backend runs, with exactly the expose role
		r = u.run(t, f, "expose", "ingress", "nowhere", "--class", "no-such-class", "--rule", "nowhere.svcdoc.test/=web:80", "--force", "--wait=2s")
		noCrash(t, r)
		if r.ExitCode != 1 || strings.Contains(r.Stdout+r.Stderr, "forbidden") || !strings.Contains(r.Stdout, "diagnosis (healthy): no fault found") {
			t.Errorf("expose ingress --wait: exit %d, want 1 with a diagnosis and nothing forbidden:\n%s\n%s", r.ExitCode, r.Stdout, r.Stderr)
		}
	})
	for _, tt := range []struct {
		drop permission
		args []string
		want string
	}{
		{permission{"patch", "services"}, []string{"expose", "deploy/web", "--port", "80:8080", "--name", "web2"}, "forbidden: needs create and patch on services in namespace " + f.Namespace}, // server-side apply of a new object needs both
		{permission{"get", "deployments"}, []string{"expose", "deploy/web", "--port", "80:8080", "--name", "web3"}, "forbidden: needs get on deployments in namespace " + f.Namespace},
		// server-side apply of a new object is also authorized as create
		{permission{"create", "services"}, []string{"expose", "deploy/web", "--port", "80:8080", "--name", "web4"}, "forbidden: needs create and patch on services in namespace " + f.Namespace},
	} {
		t.Run("without "+tt.drop.verb+" "+tt.drop.resource, func(t *testing.T) {
			u := newRBACUser(t, f, "expose.yaml", &tt.drop)
			r := u.run(t, f, tt.args...)
			noCrash(t, r)
			if !strings.Contains(r.Stdout+r.Stderr, tt.want) {
				t.Errorf("output does not say %q:\n%s\n%s", tt.want, r.Stdout, r.Stderr)
			}
			if r.ExitCode == 0 {
				t.Errorf("exit 0 although %s %s was forbidden", tt.drop.verb, tt.drop.resource)
			}
		})
	}
}

func TestRBACIngresscheck(t *testing.T) {
	f := framework.New(t)
	rbacFixture(f)
	url := "http://web.example.test/"
	t.Run("with the role", func(t *testing.T) {
		u := newRBACUser(t, f, "ingresscheck.yaml", nil)
		for _, args := range [][]string{{"ingresscheck", url}, {"ingresscheck", "ing/web"}, {"ingresscheck", url, "--probe"}} {
			r := u.run(t, f, args...)
			noCrash(t, r)
			// the fixture's TLS Secret does not exist: a finding (exit 1) is expected, forbidden is not
			if r.ExitCode > 1 || strings.Contains(r.Stdout+r.Stderr, "forbidden") {
				t.Errorf("%s: exit %d with exactly the ingresscheck role:\n%s\n%s", strings.Join(args, " "), r.ExitCode, r.Stdout, r.Stderr)
			}
		}
		framework.AssertNoManagedPods(t, f.Namespace, 30*time.Second)
	})
	for _, tt := range []struct {
		drop permission
		want string
	}{
		{permission{"get", "secrets"}, "forbidden: needs get on secrets in namespace " + f.Namespace},
		{permission{"list", "ingresses"}, "forbidden: needs list on ingresses in"},
		{permission{"list", "daemonsets"}, "forbidden: needs list on daemonsets in"},
	} {
		t.Run("without "+tt.drop.verb+" "+tt.drop.resource, func(t *testing.T) {
			u := newRBACUser(t, f, "ingresscheck.yaml", &tt.drop)
			r := u.run(t, f, "ingresscheck", url)
			noCrash(t, r)
			if !strings.Contains(r.Stdout+r.Stderr, tt.want) {
				t.Errorf("output does not say %q:\n%s\n%s", tt.want, r.Stdout, r.Stderr)
			}
			if r.ExitCode == 0 {
				t.Errorf("exit 0 although %s %s was forbidden", tt.drop.verb, tt.drop.resource)
			}
		})
	}
}
