package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

// Runner runs the checks of a request. The zero value is ready to use and reads the real
// /etc/resolv.conf and environment; tests point its fields elsewhere.
type Runner struct {
	// Version is reported as Response.AgentVersion and in the HTTP User-Agent.
	Version string
	// Concurrency is how many checks run at once; zero means DefaultConcurrency.
	Concurrency int
	// ResolvConfPath is the resolver configuration read by dns and resolvconf checks; empty means
	// /etc/resolv.conf.
	ResolvConfPath string
	// NameserverPort is the port of the nameservers listed in resolv.conf; empty means 53.
	NameserverPort string
	// Environ returns the agent's environment; nil means os.Environ.
	Environ func() []string
	// ProcRoot is where /proc is mounted (read for EnvCheck.PID); empty means /proc.
	ProcRoot string
}

// Run validates req and runs its checks, at most Concurrency at a time, each under its own timeout
// and under ctx. Results keep the order of the checks. A failing check is a Result, not an error: the
// error is only for a request that cannot be run at all.
func (r *Runner) Run(ctx context.Context, req Request) (*Response, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	resp := &Response{
		APIVersion:   APIVersion,
		Kind:         KindCheckResponse,
		AgentVersion: r.Version,
		Results:      make([]Result, len(req.Checks)),
	}
	workers := r.Concurrency
	if workers <= 0 {
		workers = DefaultConcurrency
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, c := range req.Checks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			resp.Results[i] = r.runCheck(ctx, c)
		}()
	}
	wg.Wait()
	return resp, nil
}

// runCheck runs one check under its timeout and fills the common fields. A panic in a check becomes
// a failed result so that one bad check cannot lose the others' results.
func (r *Runner) runCheck(ctx context.Context, c Check) (res Result) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			res = Result{Failure: FailOther, Detail: fmt.Sprintf("internal error in the agent: %v", p)}
		}
		res.ID, res.Type = c.ID, c.Type
		if res.Target == "" {
			res.Target = c.target()
		}
		res.OK = res.Failure == ""
		res.Duration = Duration{time.Since(start).Round(time.Microsecond)}
	}()
	switch c.Type {
	case CheckDNS:
		return r.checkDNS(ctx, c.DNS)
	case CheckResolvConf:
		return r.checkResolvConf()
	case CheckTCP:
		return checkTCP(ctx, c.TCP)
	case CheckUDP:
		return checkUDP(ctx, c.UDP)
	case CheckHTTP:
		return r.checkHTTP(ctx, c.HTTP)
	case CheckEnv:
		return r.checkEnv(c.Env)
	}
	return Result{Failure: FailOther, Detail: fmt.Sprintf("unknown check type %q", c.Type)}
}

// target is a short human name of what a check looks at.
func (c Check) target() string {
	switch {
	case c.DNS != nil:
		qtype := c.DNS.QType
		if qtype == "" {
			qtype = QueryA
		}
		if c.DNS.Server != "" {
			return qtype + " " + c.DNS.Name + " @" + c.DNS.Server
		}
		return qtype + " " + c.DNS.Name
	case c.TCP != nil:
		return "tcp://" + hostPort(c.TCP.Host, c.TCP.Port)
	case c.UDP != nil:
		return "udp://" + hostPort(c.UDP.Host, c.UDP.Port)
	case c.HTTP != nil:
		return c.HTTP.URL
	case c.Env != nil:
		if c.Env.PID > 0 {
			return "env " + c.Env.Prefix + "* of pid " + strconv.Itoa(c.Env.PID)
		}
		return "env " + c.Env.Prefix + "*"
	}
	return string(c.Type)
}

// HandleCheck is the `svc-doctor-agent check` command: it reads one Request from in (at most
// MaxRequestBytes), runs it and writes the Response to out. It returns the process exit code: 0 when
// the request ran (whatever the checks found), 2 when the request was malformed or unsupported (the
// Response then carries Error), 1 when the response could not be written (err says why).
func HandleCheck(ctx context.Context, in io.Reader, out io.Writer, r *Runner) (int, error) {
	code := 0
	resp, err := readAndRun(ctx, in, r)
	if err != nil {
		code = 2
		resp = &Response{APIVersion: APIVersion, Kind: KindCheckResponse, AgentVersion: r.Version,
			Error: err.Error(), Results: []Result{}}
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(resp); err != nil {
		return 1, fmt.Errorf("writing the response: %w", err)
	}
	return code, nil
}

func readAndRun(ctx context.Context, in io.Reader, r *Runner) (*Response, error) {
	data, err := io.ReadAll(io.LimitReader(in, MaxRequestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the request: %w", err)
	}
	if len(data) > MaxRequestBytes {
		return nil, fmt.Errorf("request is larger than %d bytes", MaxRequestBytes)
	}
	req, err := DecodeRequest(data)
	if err != nil {
		return nil, err
	}
	return r.Run(ctx, req)
}
