package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// identity is what the server tells about itself.
type identity struct {
	Pod       string `json:"pod"`
	Namespace string `json:"namespace,omitempty"`
	PodIP     string `json:"podIP,omitempty"`
	Node      string `json:"node,omitempty"`
}

func identityFromEnv() identity {
	id := identity{Pod: os.Getenv("POD_NAME"), Namespace: os.Getenv("POD_NAMESPACE"), PodIP: os.Getenv("POD_IP"), Node: os.Getenv("NODE_NAME")}
	if id.Pod == "" {
		id.Pod, _ = os.Hostname()
	}
	return id
}

// server holds the state behind the HTTP handler.
type server struct {
	id          identity
	unreadyFile string
	failReady   atomic.Bool
	log         *log.Logger
}

// echoResponse is the body of /echo and /info.
type echoResponse struct {
	identity
	Client     string              `json:"client"`   // remote address as seen by the server (ip:port)
	ClientIP   string              `json:"clientIP"` // just the ip
	ServerAddr string              `json:"serverAddr,omitempty"`
	Host       string              `json:"host"`
	Method     string              `json:"method"`
	Path       string              `json:"path"`
	Headers    map[string][]string `json:"headers,omitempty"`
}

func (s *server) ready() (bool, string) {
	if s.failReady.Load() {
		return false, "not ready (POST /ready/fail)"
	}
	if s.unreadyFile != "" {
		if _, err := os.Stat(s.unreadyFile); err == nil {
			return false, "not ready (" + s.unreadyFile + " exists)"
		}
	}
	return true, "ready"
}

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, s.id.Pod)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {
		ok, msg := s.ready()
		if !ok {
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, msg)
	})
	mux.HandleFunc("POST /ready/fail", func(w http.ResponseWriter, r *http.Request) {
		s.failReady.Store(true)
		fmt.Fprintln(w, "readiness will fail")
	})
	mux.HandleFunc("POST /ready/ok", func(w http.ResponseWriter, r *http.Request) {
		s.failReady.Store(false)
		if s.unreadyFile != "" {
			_ = os.Remove(s.unreadyFile)
		}
		fmt.Fprintln(w, "readiness restored")
	})
	echo := func(w http.ResponseWriter, r *http.Request) {
		resp := echoResponse{identity: s.id, Client: r.RemoteAddr, Host: r.Host, Method: r.Method, Path: r.URL.Path, Headers: r.Header}
		resp.ClientIP, _, _ = net.SplitHostPort(r.RemoteAddr)
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			resp.ServerAddr = a.String()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}
	mux.HandleFunc("/echo", echo)
	mux.HandleFunc("/info", echo)
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.PathValue("code"))
		if err != nil || code < 100 || code > 599 {
			http.Error(w, "bad status code", http.StatusBadRequest)
			return
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "%d %s\n", code, s.id.Pod)
	})
	return s.logged(mux)
}

func (s *server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Printf("%s %s %s host=%s", r.RemoteAddr, r.Method, r.URL.Path, r.Host)
		h.ServeHTTP(w, r)
	})
}

// parsePorts reads a port list like "8080,9090" (spaces allowed); it falls back to def when empty.
func parsePorts(s, def string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		s = def
	}
	var ports []int
	seen := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := strconv.Atoi(f)
		if err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("bad port %q", f)
		}
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	if len(ports) == 0 {
		return nil, errors.New("no port to listen on")
	}
	return ports, nil
}

// defaultPorts: $PORTS, else $PORT, else 8080.
func defaultPorts() string {
	if v := os.Getenv("PORTS"); v != "" {
		return v
	}
	if v := os.Getenv("PORT"); v != "" {
		return v
	}
	return "8080"
}

func serveMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	portsFlag := fs.String("ports", defaultPorts(), "comma separated TCP ports for HTTP (env PORTS or PORT)")
	udpFlag := fs.String("udp-port", os.Getenv("UDP_PORT"), "UDP echo port (env UDP_PORT; empty = none)")
	unready := fs.String("unready-file", "/tmp/unready", "while this file exists /ready answers 503 (empty = off)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	ports, err := parsePorts(*portsFlag, "8080")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	s := &server{id: identityFromEnv(), unreadyFile: *unready, log: log.New(stdout, "", log.LstdFlags)}
	h := s.handler()
	errs := make(chan error, len(ports)+1)
	var servers []*http.Server
	for _, p := range ports {
		ln, err := net.Listen("tcp", ":"+strconv.Itoa(p))
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitFail
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() { errs <- srv.Serve(ln) }()
	}
	var udp net.PacketConn
	if *udpFlag != "" {
		up, err := parsePorts(*udpFlag, "")
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitUsage
		}
		if udp, err = net.ListenPacket("udp", ":"+strconv.Itoa(up[0])); err != nil {
			fmt.Fprintln(stderr, err)
			return exitFail
		}
		go func() { errs <- s.udpEcho(udp) }()
	}
	s.log.Printf("testserver %s serving HTTP on %v udp=%q", s.id.Pod, ports, *udpFlag)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	select {
	case sig := <-sigs:
		s.log.Printf("%v: exiting", sig)
	case err := <-errs:
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Go(func() { _ = srv.Close() })
	}
	if udp != nil {
		_ = udp.Close()
	}
	wg.Wait()
	return exitOK
}

// udpEcho answers every datagram with "POD CLIENT-ADDR MESSAGE".
func (s *server) udpEcho(pc net.PacketConn) error {
	buf := make([]byte, 2048)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		reply := fmt.Sprintf("%s %s %s", s.id.Pod, addr, buf[:n])
		_, _ = pc.WriteTo([]byte(reply), addr)
	}
}
