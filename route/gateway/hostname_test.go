package gateway

import "testing"

func TestIntersectHostnames(t *testing.T) {
	tests := []struct {
		name, listener, route string
		want                  string
		ok                    bool
	}{
		{name: "no listener hostname", listener: "", route: "a.example.com", want: "a.example.com", ok: true},
		{name: "no route hostname", listener: "*.example.com", route: "", want: "*.example.com", ok: true},
		{name: "equal exact", listener: "test.example.com", route: "test.example.com", want: "test.example.com", ok: true},
		{name: "different exact", listener: "test.example.com", route: "other.example.com", ok: false},
		{name: "route wildcard covers listener", listener: "test.example.com", route: "*.example.com", want: "test.example.com", ok: true},
		{name: "exact route under wildcard listener", listener: "*.example.com", route: "test.example.com", want: "test.example.com", ok: true},
		{name: "wildcard matches several labels", listener: "*.example.com", route: "foo.test.example.com", want: "foo.test.example.com", ok: true},
		{name: "wildcard does not match the apex", listener: "*.example.com", route: "example.com", ok: false},
		{name: "other domain", listener: "*.example.com", route: "test.example.net", ok: false},
		{name: "more specific route wildcard", listener: "*.example.com", route: "*.foo.example.com", want: "*.foo.example.com", ok: true},
		{name: "more specific listener wildcard", listener: "*.foo.example.com", route: "*.example.com", want: "*.foo.example.com", ok: true},
		{name: "disjoint wildcards", listener: "*.foo.com", route: "*.bar.com", ok: false},
		{name: "case-insensitive", listener: "Test.Example.com", route: "test.example.COM", want: "test.example.com", ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := intersectHostnames(tt.listener, tt.route)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Fatalf("intersectHostnames(%q, %q) = %q, %v; want %q, %v", tt.listener, tt.route, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestHostnameMatchesAndNormalize(t *testing.T) {
	tests := []struct {
		name, hostname, host string
		want                 bool
	}{
		{name: "empty matches all", hostname: "", host: "anything.io", want: true},
		{name: "wildcard one label", hostname: "*.example.com", host: "a.example.com", want: true},
		{name: "wildcard two labels (suffix match)", hostname: "*.example.com", host: "a.b.example.com", want: true},
		{name: "wildcard not the apex", hostname: "*.example.com", host: "example.com", want: false},
		{name: "wildcard needs a dot boundary", hostname: "*.example.com", host: "aexample.com", want: false},
		{name: "exact", hostname: "example.com", host: "example.com", want: true},
		{name: "port and case are normalized first", hostname: "example.com", host: NormalizeHost("EXAMPLE.com:8080"), want: true},
		{name: "trailing dot", hostname: "example.com", host: NormalizeHost("example.com."), want: true},
		{name: "IPv6 with port", hostname: "::1", host: NormalizeHost("[::1]:80"), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HostnameMatches(tt.hostname, tt.host); got != tt.want {
				t.Fatalf("HostnameMatches(%q, %q) = %v, want %v", tt.hostname, tt.host, got, tt.want)
			}
		})
	}
}

func TestListenerSpecificity(t *testing.T) {
	order := []string{"foo.example.com", "*.foo.example.com", "*.example.com", ""}
	for i := 0; i+1 < len(order); i++ {
		if listenerSpecificity(order[i]) <= listenerSpecificity(order[i+1]) {
			t.Errorf("%q must take precedence over %q", order[i], order[i+1])
		}
	}
}
