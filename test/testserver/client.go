package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"
)

func parseDuration(s string) (time.Duration, error) { return time.ParseDuration(s) }

func after(d time.Duration) <-chan time.Time { return time.After(d) }

func getMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.String("host", "", "Host header (e.g. for Ingress rules)")
	timeout := fs.Duration("timeout", 5*time.Second, "request timeout")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: get [-host H] [-timeout D] URL")
		return exitUsage
	}
	req, err := http.NewRequest(http.MethodGet, fs.Arg(0), nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if *host != "" {
		req.Host = *host
	}
	c := &http.Client{Timeout: *timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(stdout, io.LimitReader(resp.Body, 1<<20))
	fmt.Fprintf(stderr, "HTTP %d\n", resp.StatusCode)
	if resp.StatusCode >= 400 {
		return exitFail
	}
	return exitOK
}

func tcpMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "connect timeout")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: tcp [-timeout D] HOST:PORT")
		return exitUsage
	}
	conn, err := net.DialTimeout("tcp", fs.Arg(0), *timeout)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	fmt.Fprintf(stdout, "connected %s -> %s\n", conn.LocalAddr(), conn.RemoteAddr())
	_ = conn.Close()
	return exitOK
}

func udpMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("udp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "time to wait for the echo")
	if err := fs.Parse(args); err != nil || fs.NArg() < 1 || fs.NArg() > 2 {
		fmt.Fprintln(stderr, "usage: udp [-timeout D] HOST:PORT [MESSAGE]")
		return exitUsage
	}
	msg := "ping"
	if fs.NArg() == 2 {
		msg = fs.Arg(1)
	}
	conn, err := net.DialTimeout("udp", fs.Arg(0), *timeout)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(*timeout))
	if _, err := conn.Write([]byte(msg)); err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	buf := make([]byte, 2048)
	n, err := conn.Read(buf)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	fmt.Fprintf(stdout, "%s\n", buf[:n])
	return exitOK
}

// resolver returns the system resolver (the pod's /etc/resolv.conf), or one that sends every query
// to server (IP:PORT) when it is set.
func resolver(server string) *net.Resolver {
	if server == "" {
		return &net.Resolver{PreferGo: true}
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(server, "53")
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
}

func dnsMain(kind string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(kind, flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "DNS server IP[:PORT] (default: the pod's resolv.conf)")
	timeout := fs.Duration("timeout", 4*time.Second, "timeout of one attempt")
	attempts := fs.Int("attempts", 3, "attempts when a query times out (UDP may lose a packet)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || *attempts < 1 {
		fmt.Fprintf(stderr, "usage: %s [-server IP:PORT] [-timeout D] [-attempts N] NAME\n", kind)
		return exitUsage
	}
	var lines []string
	var err error
	for i := 0; i < *attempts; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		lines, err = query(ctx, resolver(*server), kind, fs.Arg(0))
		cancel()
		var de *net.DNSError
		if err == nil || !errors.As(err, &de) || !de.IsTimeout {
			break
		}
	}
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			fmt.Fprintf(stderr, "NXDOMAIN: %v\n", err)
			return exitNotFound
		}
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return exitOK
}

// query runs one lookup and returns its answer as sorted lines.
func query(ctx context.Context, r *net.Resolver, kind, name string) ([]string, error) {
	var lines []string
	switch kind {
	case "lookup":
		addrs, err := r.LookupHost(ctx, name)
		if err != nil {
			return nil, err
		}
		lines = addrs
	case "srv":
		_, srvs, err := r.LookupSRV(ctx, "", "", name)
		if err != nil {
			return nil, err
		}
		for _, s := range srvs {
			lines = append(lines, fmt.Sprintf("%s %d %d %d", s.Target, s.Port, s.Priority, s.Weight))
		}
	case "cname":
		c, err := r.LookupCNAME(ctx, name)
		if err != nil {
			return nil, err
		}
		return []string{c}, nil
	default:
		return nil, fmt.Errorf("unknown query %q", kind)
	}
	sort.Strings(lines)
	return lines, nil
}

// trimLines splits command output into non-empty trimmed lines (used by tests).
func trimLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
