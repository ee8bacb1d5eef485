package ingress

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

func TestNearMisses(t *testing.T) {
	route := func(host, path string, pt networkingv1.PathType) Route {
		return Route{Namespace: "shop", Ingress: "web", Host: host, Path: path, PathType: pt}
	}
	exact, prefix := networkingv1.PathTypeExact, networkingv1.PathTypePrefix
	tests := []struct {
		name       string
		routes     []Route
		host, path string
		// want are fragments of the Why and Fix of each near miss, in order ("" none)
		want []string
	}{
		{name: "Exact against a sub-path", routes: []Route{route("shop.example.com", "/api", exact)}, host: "shop.example.com", path: "/api/v1",
			want: []string{"pathType Exact /api matches only that path, not the sub-path /api/v1 | use pathType: Prefix"}},
		{name: "Exact and a trailing slash", routes: []Route{route("shop.example.com", "/api", exact)}, host: "shop.example.com", path: "/api/",
			want: []string{"the trailing slash differs | use pathType: Prefix"}},
		{name: "Prefix element boundary", routes: []Route{route("shop.example.com", "/api", prefix)}, host: "shop.example.com", path: "/apiv2/users",
			want: []string{"matches whole path elements (/api/ and below it), and /apiv2/users only begins with the same characters | add a path for /apiv2"}},
		{name: "case", routes: []Route{route("shop.example.com", "/API", prefix)}, host: "shop.example.com", path: "/api/users",
			want: []string{"paths are case-sensitive: Prefix /API does not match /api/users | "}},
		{name: "wildcard covers one label only", routes: []Route{route("*.example.com", "/", prefix)}, host: "a.b.example.com", path: "/",
			want: []string{"wildcard host *.example.com covers exactly one label, and a.b.example.com has 2 before example.com | add a rule for host a.b.example.com (or *.b.example.com)"}},
		{name: "wildcard and the bare domain", routes: []Route{route("*.example.com", "/", prefix)}, host: "example.com", path: "/",
			want: []string{"covers one label before example.com, not example.com itself | add a rule for host example.com"}},
		{name: "wrong host, after the closer misses", routes: []Route{route("www.example.com", "/shop", prefix), route("shop.example.com", "/api", exact)}, host: "shop.example.com", path: "/shop",
			want: []string{"its host is www.example.com, not shop.example.com | Host: www.example.com"}},
		{name: "a typo in the host", routes: []Route{route("shop.exmaple.com", "/", prefix)}, host: "shop.example.com", path: "/",
			want: []string{"its host is shop.exmaple.com, not shop.example.com | "}},
		{name: "another host's / is no near miss", routes: []Route{route("www.example.com", "/", prefix)}, host: "shop.example.com", path: "/"},
		{name: "host matches but the path is unrelated: no near miss", routes: []Route{route("shop.example.com", "/api", prefix)}, host: "shop.example.com", path: "/images/a.png"},
		{name: "both differ: no near miss", routes: []Route{route("www.example.com", "/api", prefix)}, host: "shop.example.com", path: "/images"},
		{name: "closest first, at most 3", routes: []Route{route("www.example.com", "/x", prefix), route("*.example.com", "/", prefix), route("a.b.example.com", "/x", exact), route("a.b.example.com", "/y", exact), route("a.b.example.com", "/X", exact)},
			host: "a.b.example.com", path: "/x/1",
			want: []string{"pathType Exact /x matches only that path | use pathType: Prefix", "wildcard host *.example.com covers exactly one label | ", "its host is www.example.com | "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NearMisses(tt.routes, tt.host, tt.path, 3)
			if len(got) != len(tt.want) {
				t.Fatalf("%d near misses, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				why, fix, _ := strings.Cut(w, " | ")
				if !strings.Contains(got[i].Why, why) || !strings.Contains(got[i].Fix, fix) {
					t.Errorf("near miss %d = %q / %q, want %q / %q", i, got[i].Why, got[i].Fix, why, fix)
				}
			}
		})
	}
}
