package ingresscheck

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/route/ingress"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenNow is the clock of the fixtures: certificates are judged at this time.
var goldenNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// run runs the command with args against the fixtures (offline) or client (live) and returns
// stdout, stderr and the exit code.
func run(t *testing.T, client kubernetes.Interface, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	kube := &cmdutil.StaticFactory{}
	o := NewOptions(streams)
	o.Now = func() time.Time { return goldenNow }
	o.Client = client
	cmd := newCmd(kube, o)
	kube.AddFlags(cmd.Flags())
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	err := cmd.Execute()
	if err != nil && !cmdutil.IsSilent(err) {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), cmdutil.ExitCode(err)
}

func goldenCompare(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ingresscheck -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (run go test ./ingresscheck -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

var (
	shopFiles   = []string{"-f", "testdata/shop.yaml", "-f", "testdata/controller.yaml"}
	brokenFiles = []string{"-f", "testdata/broken.yaml", "-f", "testdata/controller.yaml"}
)

// TestGolden renders offline checks of the fixtures and compares them with golden files.
func TestGolden(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		golden   string
		wantExit int
	}{
		{name: "fan-out api over https", args: append([]string{"https://shop.example.com/api/v1"}, shopFiles...), golden: "shop-api.txt"},
		{name: "exact path beats the prefix", args: append([]string{"https://shop.example.com/api/v1/health", "-o", "wide"}, shopFiles...), golden: "shop-health-wide.txt"},
		{name: "wildcard host", args: append([]string{"https://a.shop.example.com/x"}, shopFiles...), golden: "shop-wildcard.txt"},
		{name: "wildcard covers one label only", args: append([]string{"http://b.a.shop.example.com/api"}, shopFiles...), golden: "shop-two-labels.txt"},
		{name: "normalised path", args: append([]string{"https://shop.example.com//api/x/../v1/health"}, shopFiles...), golden: "shop-normalised.txt"},
		{name: "json envelope", args: append([]string{"https://shop.example.com/api", "-o", "json"}, shopFiles...), golden: "shop-api.json"},
		{name: "every route of the namespace", args: append([]string{"-n", "shop"}, shopFiles...), golden: "shop-all.txt"},
		{name: "port mismatch and missing service", args: append([]string{"http://store.example.com/cart"}, brokenFiles...), golden: "broken-cart.txt", wantExit: 1},
		{name: "wrong keys", args: append([]string{"https://keys.example.com/"}, brokenFiles...), golden: "broken-keys.txt", wantExit: 1},
		{name: "broken ingress", args: append([]string{"ing/broken/store"}, brokenFiles...), golden: "broken-store.txt", wantExit: 1},
		{name: "broken ingress yaml", args: append([]string{"ing/store", "-n", "broken", "-o", "yaml"}, brokenFiles...), golden: "broken-store.yaml", wantExit: 1},
		{name: "no rule matches", args: append([]string{"http://nothing.example.com/"}, brokenFiles...), golden: "broken-nomatch.txt", wantExit: 1},
		{name: "httproute header match", args: append([]string{"http://api.shop.example.com/x", "-H", "X-Version: 2"}, gatewayFiles...), golden: "gateway-header.txt"},
		{name: "ingress and httproute", args: append([]string{"https://api.shop.example.com/legacy", "-o", "wide"}, gatewayFiles...), golden: "gateway-both-wide.txt", wantExit: 1},
		{name: "httproute json", args: append([]string{"http://api.shop.example.com/orders", "-X", "POST", "-o", "json"}, gatewayFiles...), golden: "gateway-post.json"},
		{name: "httproute rules", args: append([]string{"httproute/api/v1"}, gatewayFiles...), golden: "gateway-route-v1.txt", wantExit: 1},
		{name: "gateway listeners", args: append([]string{"gateway/edge/gw"}, gatewayFiles...), golden: "gateway-gw.txt", wantExit: 1},
		{name: "gateway junit", args: append([]string{"http://api.shop.example.com/x?debug=1", "-o", "junit"}, gatewayFiles...), golden: "gateway-debug.xml", wantExit: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, tt.args...)
			if code != tt.wantExit {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.wantExit, stderr)
			}
			goldenCompare(t, tt.golden, stdout)
		})
	}
}

// check runs Check on fixture files.
func check(t *testing.T, target string, files ...string) *report.IngressCheckReport {
	t.Helper()
	res, err := manifest.Load(files, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := ingress.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	cfg := rules.DefaultConfig()
	cfg.Now = goldenNow
	snap := snapshot.FromManifests(res, "default")
	rep, err := ingress.Check(snap, tg, ingress.CheckOptions{Findings: runRules(t, snap, cfg), Now: cfg.Now, Source: "manifests"})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestURLScenarios checks the simulation's conclusions for the fixtures, field by field.
func TestURLScenarios(t *testing.T) {
	shop := []string{"testdata/shop.yaml", "testdata/controller.yaml"}
	broken := []string{"testdata/broken.yaml", "testdata/controller.yaml"}
	tests := []struct {
		name        string
		url         string
		files       []string
		wantWinner  string // ns/name field, "" for none
		wantService string
		wantOK      bool
		wantProblem string
		wantWarning string
		wantLosers  int
	}{
		{name: "fan-out /", url: "https://shop.example.com/", files: shop, wantWinner: "shop/shop spec.rules[0].http.paths[0]", wantService: "web", wantOK: true, wantLosers: 0},
		{name: "fan-out /api", url: "https://shop.example.com/api/x", files: shop, wantWinner: "shop/shop spec.rules[0].http.paths[1]", wantService: "api", wantOK: true, wantLosers: 2},
		{name: "/apix is not under /api", url: "https://shop.example.com/apix", files: shop, wantWinner: "shop/shop spec.rules[0].http.paths[0]", wantService: "web", wantOK: true,
			wantWarning: "Traefik sends this request to ingress shop/shop spec.rules[0].http.paths[1]"},
		{name: "virtual host blog", url: "http://blog.example.com/api", files: shop, wantWinner: "shop/blog spec.rules[0].http.paths[0]", wantService: "web", wantOK: true, wantLosers: 1},
		{name: "blog has no TLS", url: "https://blog.example.com/", files: shop, wantWinner: "shop/blog spec.rules[0].http.paths[0]",
			wantProblem: "no spec.tls entry of class traefik covers host blog.example.com"},
		{name: "any host", url: "http://10.0.0.1/api", files: shop, wantWinner: "shop/catchall spec.rules[0].http.paths[0]", wantService: "api", wantOK: true},
		{name: "nothing", url: "http://10.0.0.1/", files: shop, wantProblem: "no rule of class traefik matches 10.0.0.1/"},
		{name: "port is the targetPort", url: "http://store.example.com/", files: broken, wantWinner: "broken/store spec.rules[0].http.paths[0]",
			wantProblem: "service store has no port 8080: 8080 is the targetPort of its port 80", wantWarning: "Traefik leaves the winning route out"},
		{name: "wrong-host certificate", url: "https://store.example.com/", files: broken, wantWinner: "broken/store spec.rules[0].http.paths[0]",
			wantProblem: "the certificate in Secret wrong-host does not cover store.example.com"},
		{name: "expired certificate", url: "https://old.example.com/", files: broken, wantWinner: "broken/store spec.rules[1].http.paths[0]", wantProblem: "expired on 2026-05-02"},
		{name: "http ignores TLS problems", url: "http://old.example.com/", files: broken, wantWinner: "broken/store spec.rules[1].http.paths[0]", wantService: "store", wantOK: true},
		{name: "secret with the wrong keys", url: "https://keys.example.com/", files: broken, wantWinner: "broken/store spec.rules[2].http.paths[0]", wantProblem: "lacks tls.crt and tls.key"},
		{name: "host without TLS in a class with TLS", url: "http://plain.example.com/", files: broken, wantWinner: "broken/store spec.rules[3].http.paths[0]", wantOK: true, wantService: "store"},
		{name: "dot segment: the Exact path", url: "https://shop.example.com/api/./v1/health", files: shop, wantWinner: "shop/shop spec.rules[0].http.paths[2]", wantService: "web", wantOK: true},
		{name: "leading double slash: the Exact path", url: "https://shop.example.com//api/v1/health", files: shop, wantWinner: "shop/shop spec.rules[0].http.paths[2]", wantService: "web", wantOK: true},
		{name: "double dot segment: the Exact path", url: "https://shop.example.com/x/../api/v1/health", files: shop, wantWinner: "shop/shop spec.rules[0].http.paths[2]", wantService: "web", wantOK: true},
		{name: "encoded dots: the Exact path", url: "https://shop.example.com/api/v1/x/%2E%2e/health", files: shop, wantWinner: "shop/shop spec.rules[0].http.paths[2]", wantService: "web", wantOK: true},
		{name: "encoded slash is no separator", url: "https://shop.example.com/api%2Fv1/health", files: shop, wantWinner: "shop/shop spec.rules[0].http.paths[0]", wantService: "web", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := check(t, tt.url, tt.files...)
			if len(rep.Routes) != 1 {
				t.Fatalf("%d routes, want 1", len(rep.Routes))
			}
			rc := rep.Routes[0]
			got := routeName(rc)
			if got != tt.wantWinner {
				t.Errorf("winner %q, want %q", got, tt.wantWinner)
			}
			if tt.wantService != "" && rc.Backend.Service != tt.wantService {
				t.Errorf("backend service %q, want %q", rc.Backend.Service, tt.wantService)
			}
			if rep.Verdict.OK() != tt.wantOK {
				t.Errorf("verdict OK = %v, want %v: %v", rep.Verdict.OK(), tt.wantOK, rep.Verdict.Problems)
			}
			if tt.wantProblem != "" && !containsSub(rep.Verdict.Problems, tt.wantProblem) {
				t.Errorf("problems %q do not mention %q", rep.Verdict.Problems, tt.wantProblem)
			}
			if tt.wantWarning != "" && !containsSub(rc.Warnings, tt.wantWarning) {
				t.Errorf("warnings %q do not mention %q", rc.Warnings, tt.wantWarning)
			}
			losers := 0
			for _, c := range rep.Candidates {
				if !c.Winner && c.Rank > 0 {
					losers++
				}
			}
			if tt.wantLosers > 0 && losers != tt.wantLosers {
				t.Errorf("%d losing candidates, want %d: %+v", losers, tt.wantLosers, rep.Candidates)
			}
		})
	}
}

func containsSub(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestFindingsOfTheInvolvedObjects(t *testing.T) {
	rep := check(t, "ing/broken/store", "testdata/broken.yaml", "testdata/controller.yaml")
	rulesSeen := map[string]bool{}
	for _, f := range rep.Findings {
		rulesSeen[f.Rule] = true
	}
	for _, want := range []string{"ingress-backend-port-missing", "ingress-backend-service-missing", "tls-cert-host-mismatch",
		"tls-cert-expired", "secret-tls-keys", "ingress-tls-secret-type", "ingress-tls-host-unserved", "ingress-host-without-tls",
		"ingress-route-conflict", "ingress-route-shadowed"} {
		if !rulesSeen[want] {
			t.Errorf("no %s finding among %v", want, keys(rulesSeen))
		}
	}
	b, _ := json.Marshal(rep)
	if !strings.Contains(string(b), `"kind":"IngressCheckReport"`) || !strings.Contains(string(b), `"apiVersion":"svc-doctor.io/v1"`) {
		t.Errorf("envelope missing: %s", b[:100])
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestParseTarget covers the argument forms and how a URL is split and rebuilt: the port stays
// in the URL (and out of the Host), IPv6 literals keep their brackets, the host is normalised (lower
// case, no trailing dot) and the path is normalised as clients and controllers do.
func TestParseTarget(t *testing.T) {
	tests := []struct {
		name                        string
		arg                         string
		wantHost, wantPath, wantErr string
		wantURL, wantGivenPath      string
		wantIngress, wantNamespace  string
		wantScheme                  string
	}{
		{name: "https with port, query and fragment", arg: "https://Shop.Example.com:8443/api/v1?x=1#frag", wantHost: "shop.example.com", wantPath: "/api/v1", wantScheme: "https",
			wantURL: "https://shop.example.com:8443/api/v1?x=1"},
		{name: "bare host and path", arg: "shop.example.com/api", wantHost: "shop.example.com", wantPath: "/api", wantScheme: "http", wantURL: "http://shop.example.com/api"},
		{name: "no path", arg: "http://shop.example.com", wantHost: "shop.example.com", wantPath: "/", wantScheme: "http", wantURL: "http://shop.example.com/"},
		{name: "port is kept", arg: "http://shop.example.com:8080/api", wantHost: "shop.example.com", wantPath: "/api", wantScheme: "http", wantURL: "http://shop.example.com:8080/api"},
		{name: "bare host with port", arg: "shop.example.com:8080/api", wantHost: "shop.example.com", wantPath: "/api", wantScheme: "http", wantURL: "http://shop.example.com:8080/api"},
		{name: "IPv6 without port", arg: "http://[::1]/api", wantHost: "::1", wantPath: "/api", wantScheme: "http", wantURL: "http://[::1]/api"},
		{name: "IPv6 with port", arg: "https://[2001:DB8::1]:8443/", wantHost: "2001:db8::1", wantPath: "/", wantScheme: "https", wantURL: "https://[2001:db8::1]:8443/"},
		{name: "IPv4 with port", arg: "http://10.0.0.1:30080/x", wantHost: "10.0.0.1", wantPath: "/x", wantScheme: "http", wantURL: "http://10.0.0.1:30080/x"},
		{name: "upper-case scheme and host", arg: "HTTP://SHOP.EXAMPLE.COM/Api", wantHost: "shop.example.com", wantPath: "/Api", wantScheme: "http", wantURL: "http://shop.example.com/Api"},
		{name: "trailing dot of the host", arg: "http://shop.example.com./api", wantHost: "shop.example.com", wantPath: "/api", wantScheme: "http", wantURL: "http://shop.example.com/api"},
		{name: "trailing dot and port", arg: "http://shop.example.com.:8080/api", wantHost: "shop.example.com", wantPath: "/api", wantScheme: "http", wantURL: "http://shop.example.com:8080/api"},
		{name: "highest port", arg: "http://shop.example.com:65535/", wantHost: "shop.example.com", wantPath: "/", wantScheme: "http", wantURL: "http://shop.example.com:65535/"},
		{name: "encoded space stays encoded", arg: "http://shop.example.com/a%20b", wantHost: "shop.example.com", wantPath: "/a%20b", wantScheme: "http", wantURL: "http://shop.example.com/a%20b"},
		{name: "dot segment", arg: "http://shop.example.com/api/./v1/health", wantHost: "shop.example.com", wantPath: "/api/v1/health", wantScheme: "http",
			wantURL: "http://shop.example.com/api/v1/health", wantGivenPath: "/api/./v1/health"},
		{name: "double slash", arg: "http://shop.example.com//api/v1/health", wantHost: "shop.example.com", wantPath: "/api/v1/health", wantScheme: "http",
			wantURL: "http://shop.example.com/api/v1/health", wantGivenPath: "//api/v1/health"},
		{name: "encoded unreserved characters", arg: "http://shop.example.com/%61pi/%2e%2E/x", wantHost: "shop.example.com", wantPath: "/x", wantScheme: "http",
			wantURL: "http://shop.example.com/x", wantGivenPath: "/%61pi/%2e%2E/x"},
		{name: "encoded slash is not a separator", arg: "http://shop.example.com/a%2fb", wantHost: "shop.example.com", wantPath: "/a%2Fb", wantScheme: "http",
			wantURL: "http://shop.example.com/a%2Fb", wantGivenPath: "/a%2fb"},
		{name: "ing/NAME", arg: "ing/web", wantIngress: "web"},
		{name: "ingress/NS/NAME", arg: "ingress/shop/web", wantIngress: "web", wantNamespace: "shop"},
		{name: "full kind name", arg: "ingresses.networking.k8s.io/web", wantIngress: "web"},
		{name: "no name", arg: "ing/", wantErr: "is not an Ingress name"},
		{name: "other scheme", arg: "ftp://shop.example.com/", wantErr: "the scheme must be http or https"},
		{name: "no host", arg: "https:///path", wantErr: "has no host"},
		{name: "credentials", arg: "http://user:pw@shop.example.com/", wantErr: "leave credentials out"},
		{name: "space in the host", arg: "http://sh op.example.com/", wantErr: "neither a URL nor ing/NAME"},
		{name: "underscore in the host", arg: "http://shop_1.example.com/", wantErr: "is not a DNS name"},
		{name: "port out of range", arg: "http://shop.example.com:99999/", wantErr: "port 99999 is out of range (1-65535)"},
		{name: "port zero", arg: "http://shop.example.com:0/", wantErr: "port 0 is out of range (1-65535)"},
		{name: "IPv6 port out of range", arg: "http://[::1]:65536/", wantErr: "port 65536 is out of range (1-65535)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ingress.ParseTarget(tt.arg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantIngress != "" {
				if got.Ingress != tt.wantIngress || got.Namespace != tt.wantNamespace {
					t.Errorf("ingress %q ns %q", got.Ingress, got.Namespace)
				}
				return
			}
			if got.URL == nil {
				t.Fatalf("no URL")
			}
			u := got.URL
			if u.Host != tt.wantHost || u.Path != tt.wantPath || u.Scheme != tt.wantScheme || u.URL != tt.wantURL || u.GivenPath != tt.wantGivenPath {
				t.Errorf("URL = %+v\nwant host %q path %q scheme %q url %q given path %q", *u, tt.wantHost, tt.wantPath, tt.wantScheme, tt.wantURL, tt.wantGivenPath)
			}
		})
	}
}

func TestValidateAndExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantExit int
		wantErr  string
	}{
		{name: "probe offline", args: append([]string{"http://a/", "--probe"}, shopFiles...), wantExit: 2, wantErr: "--probe sends requests through the cluster"},
		{name: "-A offline", args: append([]string{"-A"}, shopFiles...), wantExit: 2, wantErr: "-A only applies to a cluster"},
		{name: "class without URL", args: append([]string{"ing/x", "--class", "nginx"}, shopFiles...), wantExit: 2, wantErr: "--class chooses the class a URL"},
		{name: "bad output", args: append([]string{"-o", "sarif"}, shopFiles...), wantExit: 2, wantErr: "--output \"sarif\" is not supported"},
		{name: "bad target", args: append([]string{"ftp://x/"}, shopFiles...), wantExit: 2, wantErr: "the scheme must be http or https"},
		{name: "port out of range", args: append([]string{"http://shop.example.com:99999/"}, shopFiles...), wantExit: 2, wantErr: "port 99999 is out of range"},
		{name: "unknown ingress", args: append([]string{"ing/nope", "-n", "shop"}, shopFiles...), wantExit: 2, wantErr: "ingress nope not found in namespace shop (it has blog, catchall, shop)"},
		{name: "two arguments", args: append([]string{"http://a/", "http://b/"}, shopFiles...), wantExit: 2},
		{name: "missing file", args: []string{"http://a/", "-f", "testdata/nope.yaml"}, wantExit: 2},
		{name: "working route", args: append([]string{"http://shop.example.com/"}, shopFiles...), wantExit: 0},
		{name: "forced class with no rule", args: append([]string{"http://shop.example.com/", "--class", "nginx"}, shopFiles...), wantExit: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := run(t, nil, tt.args...)
			if code != tt.wantExit {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.wantExit, stderr)
			}
			if tt.wantErr != "" && !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.wantErr)
			}
		})
	}
}

// TestClassResolution covers how the class of each Ingress and of the URL is chosen: the explicit
// class, the legacy annotation, the single default, several defaults, none.
func TestClassResolution(t *testing.T) {
	const ing = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: %s, namespace: ns%s}
spec:
  %s
  rules:
  - host: %s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`
	class := func(name string, def bool) string {
		meta := "{name: " + name + "}"
		if def {
			meta = "{name: " + name + `, annotations: {ingressclass.kubernetes.io/is-default-class: "true"}}`
		}
		return "---\napiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: " + meta + "\nspec: {controller: example.com/" + name + "}\n"
	}
	traefikDeployment := func(arg string) string {
		args := "[--providers.kubernetesingress]"
		if arg != "" {
			args = "[--providers.kubernetesingress, " + arg + "]"
		}
		return "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: traefik, namespace: kube-system}\nspec:\n  selector: {matchLabels: {app: traefik}}\n" +
			"  template:\n    metadata: {labels: {app: traefik}}\n    spec:\n      containers: [{name: traefik, image: \"traefik:v3.6\", args: " + args + "}]\n"
	}
	tests := []struct {
		name       string
		manifests  string
		url        string
		flagClass  string
		wantClass  string
		wantSource string
		wantProb   string
		wantWarn   string
	}{
		{name: "explicit class", manifests: fmt.Sprintf(ing, "a", "", "ingressClassName: blue", "a.example.com") + class("blue", false) + class("green", true),
			url: "http://a.example.com/", wantClass: "blue", wantSource: "the only class with a rule matching the URL"},
		{name: "legacy annotation", manifests: fmt.Sprintf(ing, "a", ", annotations: {kubernetes.io/ingress.class: blue}", "", "a.example.com") + class("blue", false) + class("green", true),
			url: "http://a.example.com/", wantClass: "blue"},
		{name: "the default class", manifests: fmt.Sprintf(ing, "a", "", "", "a.example.com") + class("blue", false) + class("green", true),
			url: "http://a.example.com/", wantClass: "green"},
		{name: "two defaults", manifests: fmt.Sprintf(ing, "a", "", "", "a.example.com") + class("blue", true) + class("green", true),
			url: "http://a.example.com/", wantClass: "", wantSource: "the Ingresses matching the URL have no class", wantProb: "2 IngressClasses claim to be the default (blue, green)"},
		{name: "no default", manifests: fmt.Sprintf(ing, "a", "", "", "a.example.com") + class("blue", false),
			url: "http://a.example.com/", wantClass: "",
			wantWarn: "no class and no default IngressClass: only controllers that serve class-less Ingresses (Traefik does by default; ingress-nginx does not unless --watch-ingress-without-class) pick it up; svc-doctor found no Traefik that does"},
		{name: "no default, Traefik serves class-less Ingresses", manifests: fmt.Sprintf(ing, "a", "", "", "a.example.com") + class("blue", false) + traefikDeployment(""),
			url: "http://a.example.com/", wantClass: "",
			wantWarn: "pick it up; Traefik (deployment kube-system/traefik) serves it"},
		{name: "no default, Traefik restricted to a class", manifests: fmt.Sprintf(ing, "a", "", "", "a.example.com") + class("blue", false) + traefikDeployment("--providers.kubernetesingress.ingressclass=blue"),
			url: "http://a.example.com/", wantClass: "", wantWarn: "svc-doctor found no Traefik that does"},
		{name: "class that does not exist", manifests: fmt.Sprintf(ing, "a", "", "ingressClassName: red", "a.example.com") + class("blue", true),
			url: "http://a.example.com/", wantClass: "red", wantProb: "IngressClass red does not exist"},
		{name: "two classes route the URL: the default wins", manifests: fmt.Sprintf(ing, "a", "", "ingressClassName: blue", "a.example.com") + "---\n" + fmt.Sprintf(ing, "b", "", "ingressClassName: green", "a.example.com") + class("blue", false) + class("green", true),
			url: "http://a.example.com/", wantClass: "green", wantSource: "the default IngressClass; other classes also have matching rules: pass --class to choose"},
		{name: "--class", manifests: fmt.Sprintf(ing, "a", "", "ingressClassName: blue", "a.example.com") + "---\n" + fmt.Sprintf(ing, "b", "", "ingressClassName: green", "a.example.com") + class("blue", false) + class("green", true),
			url: "http://a.example.com/", flagClass: "blue", wantClass: "blue", wantSource: "--class"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.yaml")
			if err := os.WriteFile(path, []byte(tt.manifests), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := manifest.Load([]string{path}, manifest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			tg, _ := ingress.ParseTarget(tt.url)
			cfg := rules.DefaultConfig()
			cfg.Now = goldenNow
			snap := snapshot.FromManifests(res, "ns")
			rep, err := ingress.Check(snap, tg, ingress.CheckOptions{Findings: runRules(t, snap, cfg), Now: cfg.Now, Class: tt.flagClass})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Class.Name != tt.wantClass || (tt.wantSource != "" && rep.Class.Source != tt.wantSource) {
				t.Errorf("class %q (%s), want %q (%s)", rep.Class.Name, rep.Class.Source, tt.wantClass, tt.wantSource)
			}
			if tt.wantProb != "" && !containsSub(rep.Verdict.Problems, tt.wantProb) {
				t.Errorf("problems %q lack %q", rep.Verdict.Problems, tt.wantProb)
			}
			if tt.wantProb == "" && strings.Contains(strings.ToLower(strings.Join(rep.Verdict.Problems, " ")), "class") {
				t.Errorf("unexpected class problem: %q", rep.Verdict.Problems)
			}
			if tt.wantWarn != "" && (len(rep.Routes) == 0 || !containsSub(rep.Routes[0].Warnings, tt.wantWarn)) {
				t.Errorf("warnings %q lack %q", rep.Routes[0].Warnings, tt.wantWarn)
			}
		})
	}
}

// runRules runs the lint rules as the command does before the check.
func runRules(t *testing.T, snap *snapshot.Snapshot, cfg rules.Config) []report.Finding {
	t.Helper()
	out, err := rules.Run(snap, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out.Findings
}
