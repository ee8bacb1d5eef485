package ingresscheck

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/svc-doctor/svc-doctor/report"
)

var gatewayFiles = []string{"-f", "testdata/gateway.yaml", "-f", "testdata/controller.yaml"}

// runJSON runs the command with -o json and decodes the report.
func runJSON(t *testing.T, args ...string) (*report.IngressCheckReport, string, int) {
	t.Helper()
	stdout, stderr, code := run(t, nil, append(args, "-o", "json")...)
	if code == 2 {
		return nil, stderr, code
	}
	var rep report.IngressCheckReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v; stdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	return &rep, stderr, code
}

// takingResolution returns the resolution of the Gateway whose listener takes the request.
func takingResolution(rep *report.IngressCheckReport) *report.GatewayResolution {
	if rep.Gateway == nil {
		return nil
	}
	for i := range rep.Gateway.Resolutions {
		if rep.Gateway.Resolutions[i].Takes() {
			return &rep.Gateway.Resolutions[i]
		}
	}
	return nil
}

// TestGatewayURL resolves URLs through the Gateway and HTTPRoutes of testdata/gateway.yaml:
// which path serves the URL, the winning rule and backend, why each other candidate lost, and
// the verdict (exit code and JSON).
func TestGatewayURL(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantServed  string
		wantWinner  string // httproute NS/NAME rule[i], "" for none
		wantService string // the winning rule's first backend Service
		wantExit    int
		wantVerdict string // in the verdict's text
		wantProblem string // in the verdict's problems
		wantLoser   string // a candidate's reason contains it
	}{
		{name: "no header: the catch-all rule", args: []string{"http://api.shop.example.com/x"}, wantServed: report.ServedByGateway,
			wantWinner: "httproute api/v1 rule[0]", wantService: "api-v1", wantVerdict: "is served by httproute api/v1 rule[0] on gateway edge/gw listener http -> service api-v1",
			wantLoser: "header X-Version is missing"},
		{name: "a header match wins over none", args: []string{"http://api.shop.example.com/x", "-H", "X-Version: 2"}, wantServed: report.ServedByGateway,
			wantWinner: "httproute api/v2 rule[0]", wantService: "api-v2", wantLoser: "wins by more header matches"},
		{name: "header names are case-insensitive", args: []string{"http://api.shop.example.com/x", "-H", "x-version:2"}, wantServed: report.ServedByGateway,
			wantWinner: "httproute api/v2 rule[0]", wantService: "api-v2"},
		{name: "a header value is not", args: []string{"http://api.shop.example.com/x", "-H", "X-Version: 3"}, wantServed: report.ServedByGateway,
			wantWinner: "httproute api/v1 rule[0]", wantService: "api-v1", wantLoser: "header X-Version"},
		{name: "method POST and a longer prefix", args: []string{"http://api.shop.example.com/orders/1", "-X", "post"}, wantServed: report.ServedByGateway,
			wantWinner: "httproute api/v2 rule[1]", wantService: "orders", wantLoser: "wins by longer path prefix"},
		{name: "GET does not match the POST rule", args: []string{"http://api.shop.example.com/orders/1"}, wantServed: report.ServedByGateway,
			wantWinner: "httproute api/v1 rule[0]", wantService: "api-v1", wantLoser: "method"},
		{name: "https enters the https listener", args: []string{"https://api.shop.example.com/orders", "-X", "POST"}, wantServed: report.ServedByGateway,
			wantWinner: "httproute api/v2 rule[1]", wantService: "orders", wantVerdict: "listener https"},
		{name: "query match to a missing Service", args: []string{"http://api.shop.example.com/x?debug=1"}, wantServed: report.ServedByGateway,
			wantWinner: "httproute api/v1 rule[1]", wantExit: 1, wantProblem: "BackendNotFound: Service api/debug does not exist", wantLoser: "wins by more query param matches"},
		{name: "an Ingress rule and an HTTPRoute", args: []string{"http://api.shop.example.com/legacy/a"}, wantServed: report.ServedByBoth,
			wantWinner: "httproute api/v1 rule[0]", wantService: "api-v1", wantVerdict: "ingress api/legacy spec.rules[0].http.paths[0]"},
		{name: "no listener takes the host", args: []string{"http://other.example.com/"}, wantServed: report.ServedByNone, wantExit: 1,
			wantProblem: "no rule of class traefik matches other.example.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, stderr, code := runJSON(t, append(tt.args, gatewayFiles...)...)
			if code != tt.wantExit {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tt.wantExit, stderr)
			}
			if rep.Gateway == nil || rep.Gateway.Served != tt.wantServed {
				t.Fatalf("served by %+v, want %q", rep.Gateway, tt.wantServed)
			}
			res := takingResolution(rep)
			winner, service := "", ""
			if res != nil && res.Route != nil {
				winner = res.Route.Name
				if len(res.Route.Backends) > 0 {
					service = res.Route.Backends[0].Service
				}
			}
			if winner != tt.wantWinner {
				t.Errorf("winner %q, want %q", winner, tt.wantWinner)
			}
			if tt.wantService != "" && service != tt.wantService {
				t.Errorf("backend service %q, want %q", service, tt.wantService)
			}
			if !strings.Contains(rep.Verdict.Text(), tt.wantVerdict) {
				t.Errorf("verdict %q does not contain %q", rep.Verdict.Text(), tt.wantVerdict)
			}
			if tt.wantProblem != "" && !containsSub(rep.Verdict.Problems, tt.wantProblem) {
				t.Errorf("problems %q do not mention %q", rep.Verdict.Problems, tt.wantProblem)
			}
			if tt.wantLoser != "" {
				var reasons []string
				for _, c := range res.Candidates {
					if !c.Winner {
						reasons = append(reasons, c.Reason)
					}
				}
				if !containsSub(reasons, tt.wantLoser) {
					t.Errorf("candidate reasons %q do not mention %q", reasons, tt.wantLoser)
				}
			}
		})
	}
}

// TestGatewayObjects checks httproute/NAME and gateway/NAME: every rule and listener, and the
// errors for a name that does not exist.
func TestGatewayObjects(t *testing.T) {
	tests := []struct {
		name          string
		args          []string
		wantExit      int
		wantRules     []string
		wantListeners int
		wantProblem   string
		wantErr       string
	}{
		{name: "every rule of a route", args: []string{"httproute/v2", "-n", "api"}, wantRules: []string{"httproute api/v2 rule[0]", "httproute api/v2 rule[1]"}},
		{name: "a broken rule breaks the verdict", args: []string{"httproute/api/v1"}, wantExit: 1,
			wantRules: []string{"httproute api/v1 rule[0]", "httproute api/v1 rule[1]"}, wantProblem: "BackendNotFound: Service api/debug does not exist"},
		{name: "every listener and attached rule", args: []string{"gateway/edge/gw"}, wantExit: 1, wantListeners: 2,
			wantRules: []string{"httproute api/v1 rule[0]", "httproute api/v1 rule[1]", "httproute api/v2 rule[0]", "httproute api/v2 rule[1]"}},
		{name: "a route that does not exist", args: []string{"httproute/v3", "-n", "api"}, wantExit: 2, wantErr: "httproute v3 not found in namespace api (it has v1, v2)"},
		{name: "a Gateway that does not exist", args: []string{"gtw/gw"}, wantExit: 2, wantErr: "gateway gw not found in namespace default (it has none)"},
		{name: "-H needs a URL", args: []string{"gateway/edge/gw", "-H", "a: b"}, wantExit: 2, wantErr: "-X and -H shape the request of a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, stderr, code := runJSON(t, append(tt.args, gatewayFiles...)...)
			if code != tt.wantExit {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tt.wantExit, stderr)
			}
			if tt.wantErr != "" {
				if !strings.Contains(stderr, tt.wantErr) {
					t.Errorf("stderr %q does not contain %q", stderr, tt.wantErr)
				}
				return
			}
			var names []string
			for _, r := range rep.GatewayRoutes {
				names = append(names, r.Name)
			}
			if strings.Join(names, ",") != strings.Join(tt.wantRules, ",") {
				t.Errorf("rules %q, want %q", names, tt.wantRules)
			}
			if len(rep.Listeners) != tt.wantListeners {
				t.Errorf("%d listeners, want %d", len(rep.Listeners), tt.wantListeners)
			}
			if tt.wantProblem != "" && !containsSub(rep.Verdict.Problems, tt.wantProblem) {
				t.Errorf("problems %q do not mention %q", rep.Verdict.Problems, tt.wantProblem)
			}
		})
	}
}

// TestRequestFlags checks -X, -H and --allow-unsafe-method.
func TestRequestFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "header without a colon", args: []string{"http://a.example.com/", "-H", "X-Version 2"}, wantErr: "write a header as 'Name: value'"},
		{name: "header name with a space", args: []string{"http://a.example.com/", "-H", "X Version: 2"}, wantErr: "is not a header name"},
		{name: "Host header", args: []string{"http://a.example.com/", "-H", "Host: b.example.com"}, wantErr: "the Host header is the URL's host"},
		{name: "method that is no token", args: []string{"http://a.example.com/", "-X", "GE T"}, wantErr: "is not an HTTP method"},
		{name: "unsafe method without --probe", args: []string{"http://a.example.com/", "--allow-unsafe-method"}, wantErr: "--allow-unsafe-method only applies to --probe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := run(t, nil, append(tt.args, gatewayFiles...)...)
			if code != 2 || !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.wantErr)
			}
		})
	}
}

// TestProfiles: each verdict names the semantics it was produced with and how the controller was
// recognised: traefik for an Ingress of Traefik's class, spec for a Gateway (no controller profile
// for the Gateway API yet), with the GatewayClass's controllerName.
func TestProfiles(t *testing.T) {
	rep, stderr, code := runJSON(t, append([]string{"http://api.shop.example.com/legacy"}, gatewayFiles...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if len(rep.Routes) != 1 || rep.Routes[0].Profile == nil || rep.Routes[0].Profile.Name != "traefik" ||
		rep.Routes[0].Profile.Detected != "IngressClass traefik spec.controller traefik.io/ingress-controller" {
		t.Errorf("Ingress route profile: %+v", rep.Routes)
	}
	res := takingResolution(rep)
	if res == nil || res.Profile == nil || res.Profile.Name != "spec" || res.Profile.Detected != "GatewayClass traefik controllerName traefik.io/gateway-controller" {
		t.Errorf("Gateway profile: %+v", res)
	}
}
