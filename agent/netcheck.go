package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func checkTCP(ctx context.Context, c *TCPCheck) Result {
	res := Result{TCP: &TCPResult{}}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", hostPort(c.Host, c.Port))
	if err != nil {
		res.Failure, res.Detail = Classify(err), err.Error()
		return res
	}
	defer func() { _ = conn.Close() }()
	res.TCP.LocalAddr, res.TCP.RemoteAddr = conn.LocalAddr().String(), conn.RemoteAddr().String()
	res.Detail = fmt.Sprintf("connected to %s from %s", res.TCP.RemoteAddr, res.TCP.LocalAddr)
	return res
}

// defaultUDPPayload is sent when a UDP check names no payload.
const defaultUDPPayload = "svc-doctor\n"

func checkUDP(ctx context.Context, c *UDPCheck) Result {
	res := Result{UDP: &UDPResult{}}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", hostPort(c.Host, c.Port))
	if err != nil {
		res.Failure, res.Detail = Classify(err), err.Error()
		return res
	}
	defer func() { _ = conn.Close() }()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Closing the socket when ctx ends unblocks the read even without a deadline.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	payload := c.Payload
	if payload == "" {
		payload = defaultUDPPayload
	}
	if _, err := conn.Write([]byte(payload)); err != nil {
		res.Failure, res.Detail = Classify(err), err.Error()
		if res.Failure == FailRefused {
			res.UDP.Outcome = UDPRefused
		}
		return res
	}
	buf := make([]byte, MaxUDPPayload)
	n, err := conn.Read(buf)
	switch {
	case err == nil:
		res.UDP.Outcome, res.UDP.Reply = UDPReply, strings.ToValidUTF8(string(buf[:n]), "\uFFFD")
		res.Detail = fmt.Sprintf("%d-byte reply from %s", n, conn.RemoteAddr())
	case Classify(err) == FailRefused:
		res.UDP.Outcome, res.Failure = UDPRefused, FailRefused
		res.Detail = fmt.Sprintf("ICMP port unreachable from %s: nothing listens on that UDP port", conn.RemoteAddr())
	case Classify(err) == FailTimeout:
		res.UDP.Outcome = UDPNoAnswer
		if c.ExpectReply {
			res.Failure = FailTimeout
			res.Detail = fmt.Sprintf("no reply from %s before the deadline", conn.RemoteAddr())
		} else {
			res.Detail = fmt.Sprintf("no reply and no ICMP error from %s: open or filtered (UDP is best effort)", conn.RemoteAddr())
		}
	default:
		res.Failure, res.Detail = Classify(err), err.Error()
	}
	return res
}

func (r *Runner) checkEnv(c *EnvCheck) Result {
	res := Result{Env: &EnvResult{Vars: []EnvVar{}}}
	var environ []string
	switch {
	case c.PID > 0:
		root := r.ProcRoot
		if root == "" {
			root = "/proc"
		}
		data, err := os.ReadFile(filepath.Join(root, strconv.Itoa(c.PID), "environ"))
		if err != nil {
			res.Failure = FailOther
			if errors.Is(err, os.ErrPermission) {
				res.Detail = fmt.Sprintf("cannot read the environment of pid %d: permission denied (the process runs as another user)", c.PID)
			} else {
				res.Detail = fmt.Sprintf("cannot read the environment of pid %d: %v", c.PID, err)
			}
			return res
		}
		environ = strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
	case r.Environ != nil:
		environ = r.Environ()
	default:
		environ = os.Environ()
	}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, c.Prefix) {
			res.Env.Vars = append(res.Env.Vars, EnvVar{Name: k, Value: v})
		}
	}
	sort.Slice(res.Env.Vars, func(i, j int) bool { return res.Env.Vars[i].Name < res.Env.Vars[j].Name })
	if len(res.Env.Vars) == 0 {
		res.Detail = fmt.Sprintf("no environment variable starts with %s", c.Prefix)
	} else {
		names := make([]string, len(res.Env.Vars))
		for i, v := range res.Env.Vars {
			names[i] = v.Name
		}
		res.Detail = fmt.Sprintf("%d variable(s) start with %s: %s", len(names), c.Prefix, strings.Join(names, ", "))
	}
	return res
}
