package gateway

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// pathOf returns the type and value of a path match with their defaults (HTTPRouteMatch.Path:
// "If this field is not specified, a default prefix match on the "/" path is provided").
func pathOf(m gwv1.HTTPRouteMatch) (gwv1.PathMatchType, string) {
	if m.Path == nil {
		return gwv1.PathMatchPathPrefix, "/"
	}
	return deref(m.Path.Type, gwv1.PathMatchPathPrefix), deref(m.Path.Value, "/")
}

// matchKey is the precedence of a match (HTTPRouteRule.Matches): "Exact" path match, then
// "Prefix" path match with the largest number of characters, then method match, then the largest
// number of header matches, then the largest number of query param matches. RegularExpression
// paths rank below Prefix paths: their precedence is implementation-specific.
type matchKey struct {
	pathRank, pathLen int
	method            bool
	headers, query    int
}

const (
	rankRegex = iota + 1
	rankPrefix
	rankExact
)

func keyOf(m gwv1.HTTPRouteMatch) matchKey {
	t, v := pathOf(m)
	k := matchKey{pathRank: rankPrefix, pathLen: len(v), method: m.Method != nil,
		headers: len(firstHeaders(m.Headers)), query: len(firstQuery(m.QueryParams))}
	switch t {
	case gwv1.PathMatchExact:
		k.pathRank = rankExact
	case gwv1.PathMatchRegularExpression:
		k.pathRank, k.pathLen = rankRegex, 0
	}
	return k
}

// compare returns >0 when a takes precedence over b, <0 when b does, 0 on a tie; why names the
// criterion that decided.
func (a matchKey) compare(b matchKey) (int, string) {
	switch {
	case a.pathRank != b.pathRank:
		return a.pathRank - b.pathRank, "path match type (Exact before PathPrefix before RegularExpression)"
	case a.pathLen != b.pathLen:
		return a.pathLen - b.pathLen, "longer path prefix"
	case a.method != b.method:
		if a.method {
			return 1, "method match"
		}
		return -1, "method match"
	case a.headers != b.headers:
		return a.headers - b.headers, "more header matches"
	case a.query != b.query:
		return a.query - b.query, "more query param matches"
	}
	return 0, ""
}

// firstHeaders keeps the first header match of each name ("If multiple entries specify
// equivalent header names, only the first entry with an equivalent name MUST be considered").
func firstHeaders(hs []gwv1.HTTPHeaderMatch) []gwv1.HTTPHeaderMatch {
	seen := map[string]bool{}
	var out []gwv1.HTTPHeaderMatch
	for _, h := range hs {
		n := strings.ToLower(string(h.Name))
		if !seen[n] {
			seen[n] = true
			out = append(out, h)
		}
	}
	return out
}

// firstQuery keeps the first query param match of each (case-sensitive) name.
func firstQuery(qs []gwv1.HTTPQueryParamMatch) []gwv1.HTTPQueryParamMatch {
	seen := map[string]bool{}
	var out []gwv1.HTTPQueryParamMatch
	for _, q := range qs {
		if !seen[string(q.Name)] {
			seen[string(q.Name)] = true
			out = append(out, q)
		}
	}
	return out
}

// fullMatch reports whether re matches all of s; invalid expressions match nothing. The dialect
// is RE2 (Go): the specification leaves the dialect to the implementation.
func fullMatch(re, s string) (bool, error) {
	x, err := regexp.Compile(`^(?:` + re + `)$`)
	if err != nil {
		return false, err
	}
	return x.MatchString(s), nil
}

// matchRequest evaluates one HTTPRouteMatch against a request; on a miss, why says which
// condition failed and how close it came.
func matchRequest(m gwv1.HTTPRouteMatch, req *Request) (ok bool, why string) {
	t, v := pathOf(m)
	if ok, why := pathMatches(t, v, req.Path); !ok {
		return false, why
	}
	if m.Method != nil && string(*m.Method) != req.method() {
		return false, fmt.Sprintf("method %s is not %s", req.method(), *m.Method)
	}
	for _, h := range firstHeaders(m.Headers) {
		if ok, why := headerMatches(h, req); !ok {
			return false, why
		}
	}
	for _, q := range firstQuery(m.QueryParams) {
		if ok, why := queryMatches(q, req); !ok {
			return false, why
		}
	}
	return true, ""
}

// pathMatches applies a path match (PathMatchType): Exact is case-sensitive equality; PathPrefix
// matches whole path elements and ignores a trailing slash of the match value.
func pathMatches(t gwv1.PathMatchType, v, path string) (bool, string) {
	switch t {
	case gwv1.PathMatchExact:
		switch {
		case path == v:
			return true, ""
		case strings.EqualFold(path, v):
			return false, fmt.Sprintf("path %s differs in case from Exact %s (matching is case-sensitive)", path, v)
		case path == v+"/" || v == path+"/":
			return false, fmt.Sprintf("path %s is not Exact %s: a trailing slash is a different path", path, v)
		case strings.HasPrefix(path, strings.TrimSuffix(v, "/")+"/"):
			return false, fmt.Sprintf("path %s is below Exact %s, which matches that path only (PathPrefix would match sub-paths)", path, v)
		}
		return false, fmt.Sprintf("path %s is not Exact %s", path, v)
	case gwv1.PathMatchPathPrefix:
		p := strings.TrimSuffix(v, "/")
		if p == "" || path == p || strings.HasPrefix(path, p+"/") {
			return true, ""
		}
		switch {
		case strings.HasPrefix(path, p):
			return false, fmt.Sprintf("path %s is not under PathPrefix %s: a prefix matches whole path elements (%s and %s/...), not any string that starts with it", path, v, p, p)
		case strings.HasPrefix(strings.ToLower(path), strings.ToLower(p)) && pathPrefixFold(p, path):
			return false, fmt.Sprintf("path %s differs in case from PathPrefix %s (matching is case-sensitive)", path, v)
		}
		return false, fmt.Sprintf("path %s is not under PathPrefix %s", path, v)
	case gwv1.PathMatchRegularExpression:
		ok, err := fullMatch(v, path)
		if err != nil {
			return false, fmt.Sprintf("RegularExpression %q does not compile as RE2 (%v)", v, err)
		}
		if !ok {
			return false, fmt.Sprintf("path %s does not match RegularExpression %s (whole path, RE2)", path, v)
		}
		return true, ""
	}
	return false, fmt.Sprintf("path match type %s is unknown (the route is refused with UnsupportedValue)", t)
}

func pathPrefixFold(p, path string) bool {
	lp, lpath := strings.ToLower(p), strings.ToLower(path)
	return lpath == lp || strings.HasPrefix(lpath, lp+"/")
}

// headerMatches applies a header match: the name is case-insensitive, the value exact (or a
// regular expression) and case-sensitive. A repeated request header matches when any value does.
func headerMatches(h gwv1.HTTPHeaderMatch, req *Request) (bool, string) {
	vals := req.header(string(h.Name))
	if len(vals) == 0 {
		return false, fmt.Sprintf("header %s is missing", h.Name)
	}
	regex := deref(h.Type, gwv1.HeaderMatchExact) == gwv1.HeaderMatchRegularExpression
	for _, v := range vals {
		if regex {
			if ok, _ := fullMatch(h.Value, v); ok {
				return true, ""
			}
		} else if v == h.Value {
			return true, ""
		}
	}
	if !regex && strings.EqualFold(vals[0], h.Value) {
		return false, fmt.Sprintf("header %s is %q, which differs in case from %q (values are case-sensitive)", h.Name, vals[0], h.Value)
	}
	if regex {
		return false, fmt.Sprintf("header %s is %q, which does not match RegularExpression %s", h.Name, vals[0], h.Value)
	}
	return false, fmt.Sprintf("header %s is %q, not %q", h.Name, vals[0], h.Value)
}

// queryMatches applies a query param match: the name is case-sensitive, and the first value of
// a repeated parameter is used (what the specification recommends).
func queryMatches(q gwv1.HTTPQueryParamMatch, req *Request) (bool, string) {
	vals, ok := req.Query[string(q.Name)]
	if !ok || len(vals) == 0 {
		for k := range req.Query {
			if strings.EqualFold(k, string(q.Name)) {
				return false, fmt.Sprintf("query param %s is missing (%s differs in case: names are case-sensitive)", q.Name, k)
			}
		}
		return false, fmt.Sprintf("query param %s is missing", q.Name)
	}
	if deref(q.Type, gwv1.QueryParamMatchExact) == gwv1.QueryParamMatchRegularExpression {
		if ok, _ := fullMatch(q.Value, vals[0]); ok {
			return true, ""
		}
		return false, fmt.Sprintf("query param %s is %q, which does not match RegularExpression %s", q.Name, vals[0], q.Value)
	}
	if vals[0] == q.Value {
		return true, ""
	}
	return false, fmt.Sprintf("query param %s is %q, not %q", q.Name, vals[0], q.Value)
}

// describeMatch renders a match for humans: PathPrefix /api, GET, header version=v2, query a=b.
func describeMatch(m gwv1.HTTPRouteMatch) string {
	t, v := pathOf(m)
	parts := []string{string(t) + " " + v}
	if m.Method != nil {
		parts = append(parts, "method "+string(*m.Method))
	}
	for _, h := range firstHeaders(m.Headers) {
		op := "="
		if deref(h.Type, gwv1.HeaderMatchExact) == gwv1.HeaderMatchRegularExpression {
			op = "~"
		}
		parts = append(parts, "header "+string(h.Name)+op+h.Value)
	}
	for _, q := range firstQuery(m.QueryParams) {
		op := "="
		if deref(q.Type, gwv1.QueryParamMatchExact) == gwv1.QueryParamMatchRegularExpression {
			op = "~"
		}
		parts = append(parts, "query "+string(q.Name)+op+q.Value)
	}
	return strings.Join(parts, ", ")
}

// signature is a canonical form of a match: two matches with the same signature match exactly
// the same requests.
func signature(m gwv1.HTTPRouteMatch) string {
	t, v := pathOf(m)
	if t == gwv1.PathMatchPathPrefix && v != "/" {
		v = strings.TrimSuffix(v, "/")
	}
	parts := []string{string(t) + " " + v}
	if m.Method != nil {
		parts = append(parts, "M "+string(*m.Method))
	}
	var hs []string
	for _, h := range firstHeaders(m.Headers) {
		hs = append(hs, fmt.Sprintf("H %s %s %s", strings.ToLower(string(h.Name)), deref(h.Type, gwv1.HeaderMatchExact), h.Value))
	}
	sort.Strings(hs)
	var qs []string
	for _, q := range firstQuery(m.QueryParams) {
		qs = append(qs, fmt.Sprintf("Q %s %s %s", q.Name, deref(q.Type, gwv1.QueryParamMatchExact), q.Value))
	}
	sort.Strings(qs)
	return strings.Join(append(append(parts, hs...), qs...), "\n")
}

// ruleMatches returns the matches of a rule, with the default match when it has none
// (HTTPRouteRule.Matches: "If no matches are specified, the default is a prefix path match on
// "/"").
func ruleMatches(rule gwv1.HTTPRouteRule) []gwv1.HTTPRouteMatch {
	if len(rule.Matches) == 0 {
		return []gwv1.HTTPRouteMatch{{}}
	}
	return rule.Matches
}

// RuleMatches describes the matches of rule i of an HTTPRoute (PathPrefix /api, method GET, ...);
// a rule without matches matches every request (PathPrefix /).
func (r *RouteState) RuleMatches(i int) []string {
	if r.HTTP == nil || i < 0 || i >= len(r.HTTP.Spec.Rules) {
		return nil
	}
	var out []string
	for _, m := range ruleMatches(r.HTTP.Spec.Rules[i]) {
		out = append(out, describeMatch(m))
	}
	return out
}
