package ingress

import (
	"fmt"
	"sort"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/svc-doctor/svc-doctor/snapshot"
)

// NearMiss is a route that almost matches a request: why it does not, and the change that would
// make it match.
type NearMiss struct {
	Route    Route
	Why, Fix string
	rank     int // closest first: 0 the host matches, 1 a wildcard's labels, 2 another host
}

// NearMisses lists the routes that almost match host and path (a request no route matches): the
// host matches but the path does not only because of pathType Exact against a sub-path, a Prefix
// element boundary, a trailing slash or letter case; or the path matches but the host does not
// (a wildcard covers exactly one label; another host, when it looks like a typo of the requested
// one or the path matched is more than /). At most limit, closest first.
func NearMisses(routes []Route, host, path string, limit int) []NearMiss {
	host = NormalizeHost(host)
	if path == "" {
		path = "/"
	}
	var out []NearMiss
	seen := map[string]bool{}
	for _, r := range routes {
		hostOK := HostMatches(r.Host, host)
		pathOK := PathMatches(r.PathType, r.Path, path)
		var m *NearMiss
		switch {
		case hostOK && pathOK:
			continue // a match, not a near miss
		case hostOK:
			m = pathNearMiss(r, path)
		case pathOK:
			m = hostNearMiss(r, host)
		}
		if m == nil {
			continue
		}
		key := r.Namespace + "/" + r.Ingress + "/" + r.Key()
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, *m)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].rank < out[j].rank })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

func pathNearMiss(r Route, path string) *NearMiss {
	rp := r.Path
	if rp == "" {
		rp = "/"
	}
	trim := func(p string) string {
		if p != "/" {
			return strings.TrimSuffix(p, "/")
		}
		return p
	}
	if r.PathType == networkingv1.PathTypeExact {
		switch {
		case trim(rp) == trim(path):
			return &NearMiss{Route: r, Why: fmt.Sprintf("pathType Exact %s does not match %s: the trailing slash differs", rp, path),
				Fix: fmt.Sprintf("use pathType: Prefix (it ignores a trailing slash), or add an Exact path %s", path)}
		case strings.HasPrefix(path, trim(rp)+"/"):
			return &NearMiss{Route: r, Why: fmt.Sprintf("pathType Exact %s matches only that path, not the sub-path %s", rp, path),
				Fix: "use pathType: Prefix"}
		case strings.EqualFold(rp, path):
			return &NearMiss{Route: r, Why: fmt.Sprintf("paths are case-sensitive: %s is not %s", rp, path),
				Fix: fmt.Sprintf("request %s, or add the path %s", rp, path)}
		}
		return nil
	}
	switch {
	case elementPrefix(elements(strings.ToLower(rp)), elements(strings.ToLower(path))):
		return &NearMiss{Route: r, Why: fmt.Sprintf("paths are case-sensitive: %s %s does not match %s", r.PathType, rp, path),
			Fix: fmt.Sprintf("request the path in the case of the rule (%s), or add a path in the case requested", rp)}
	case strings.HasPrefix(path, trim(rp)):
		return &NearMiss{Route: r, Why: fmt.Sprintf("pathType %s %s matches whole path elements (%s and below it), and %s only begins with the same characters", r.PathType, rp, trim(rp)+"/", path),
			Fix: fmt.Sprintf("add a path for %s (pathType: Prefix)", firstElements(path, len(elements(rp))))}
	}
	return nil
}

// firstElements is the path made of the first n elements of p.
func firstElements(p string, n int) string {
	el := elements(p)
	if len(el) > n {
		el = el[:n]
	}
	return "/" + strings.Join(el, "/")
}

func hostNearMiss(r Route, host string) *NearMiss {
	rh := NormalizeHost(r.Host)
	if strings.HasPrefix(rh, "*.") {
		domain := rh[1:] // .example.com
		switch {
		case host == rh[2:]:
			return &NearMiss{Route: r, rank: 1, Why: fmt.Sprintf("wildcard host %s covers one label before %s, not %s itself", rh, rh[2:], host),
				Fix: fmt.Sprintf("add a rule for host %s", host)}
		case strings.HasSuffix(host, domain):
			return &NearMiss{Route: r, rank: 1, Why: fmt.Sprintf("wildcard host %s covers exactly one label, and %s has %d before %s", rh, host, strings.Count(strings.TrimSuffix(host, domain), ".")+1, rh[2:]),
				Fix: fmt.Sprintf("add a rule for host %s (or *.%s)", host, host[strings.IndexByte(host, '.')+1:])}
		}
	}
	// another host: a near miss when it looks like a typo, or when a path other than / matches
	// (every host has a /)
	if snapshot.EditDistance(rh, host) > 3 && (r.Path == "" || r.Path == "/") {
		return nil
	}
	return &NearMiss{Route: r, rank: 2, Why: fmt.Sprintf("its host is %s, not %s", describeHost(r.Host), host),
		Fix: fmt.Sprintf("send the request with Host: %s, or add host %s to the rule", rh, host)}
}
