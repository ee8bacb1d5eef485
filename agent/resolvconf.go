package agent

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// DefaultResolvConfPath is where the pod's resolver configuration lives.
const DefaultResolvConfPath = "/etc/resolv.conf"

// maxNdots is the largest ndots glibc accepts.
const maxNdots = 15

// ParseResolvConf reads a resolv.conf the way glibc does: nameserver lines in order, the last search
// or domain line wins, options ndots:N (default 1, at most 15). Unknown lines are ignored.
func ParseResolvConf(rd io.Reader) (ResolvConf, error) {
	rc := ResolvConf{Ndots: 1, Nameservers: []string{}, Search: []string{}}
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			rc.Nameservers = append(rc.Nameservers, f[1])
		case "search":
			rc.Search = append([]string{}, f[1:]...)
		case "domain":
			rc.Search = []string{f[1]}
		case "options":
			for _, o := range f[1:] {
				rc.Options = append(rc.Options, o)
				if v, ok := strings.CutPrefix(o, "ndots:"); ok {
					if n, err := strconv.Atoi(v); err == nil && n >= 0 {
						rc.Ndots = min(n, maxNdots)
					}
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return ResolvConf{}, err
	}
	return rc, nil
}

func (r *Runner) resolvConfPath() string {
	if r.ResolvConfPath != "" {
		return r.ResolvConfPath
	}
	return DefaultResolvConfPath
}

func (r *Runner) loadResolvConf() (ResolvConf, error) {
	path := r.resolvConfPath()
	f, err := os.Open(path)
	if err != nil {
		return ResolvConf{}, err
	}
	defer func() { _ = f.Close() }()
	rc, err := ParseResolvConf(f)
	if err != nil {
		return ResolvConf{}, fmt.Errorf("reading %s: %w", path, err)
	}
	rc.Path = path
	return rc, nil
}

func (r *Runner) checkResolvConf() Result {
	res := Result{Target: r.resolvConfPath()}
	rc, err := r.loadResolvConf()
	if err != nil {
		res.Failure, res.Detail = FailOther, err.Error()
		return res
	}
	res.ResolvConf = &rc
	res.Detail = fmt.Sprintf("nameservers %s; search %s; ndots %d",
		listOrNone(rc.Nameservers), listOrNone(rc.Search), rc.Ndots)
	return res
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, " ")
}

// searchNames returns the absolute names a glibc resolver tries for name, in order: a name with a
// trailing dot as is; a name with at least ndots dots as is first, then with each search domain; any
// other name with each search domain first and as is last.
func searchNames(name string, search []string, ndots int) []string {
	if strings.HasSuffix(name, ".") {
		return []string{name}
	}
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		n = strings.TrimSuffix(n, ".") + "."
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	asIsFirst := strings.Count(name, ".") >= ndots
	if asIsFirst {
		add(name)
	}
	for _, d := range search {
		add(name + "." + strings.TrimSuffix(d, "."))
	}
	if !asIsFirst {
		add(name)
	}
	return out
}
