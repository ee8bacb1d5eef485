// Package benchgen writes a synthetic but realistic manifest corpus for the lint benchmarks:
// applications made of a Deployment, a Service, often an Ingress and a NetworkPolicy, some
// selector-less Services with EndpointSlices, and a few real mistakes.
package benchgen

import (
	"fmt"
	"io"
)

// Write writes about n objects as YAML documents to w.
func Write(w io.Writer, n int) (int, error) {
	g := &Generator{}
	return g.Write(w, n)
}

// Generator writes applications with increasing numbers, so that several files written by one
// generator hold different objects.
type Generator struct{ next int }

// Write writes about n more objects as YAML documents to w.
func (g *Generator) Write(w io.Writer, n int) (int, error) {
	written := 0
	for written < n {
		c, err := app(w, g.next)
		if err != nil {
			return written, err
		}
		g.next++
		written += c
	}
	return written, nil
}

//nolint:funlen // one synthetic application's manifests with all its variations (each i%n choice): splitting would scatter which fault lands on which app
func app(w io.Writer, i int) (int, error) {
	ns := fmt.Sprintf("team-%d", i%20)
	name := fmt.Sprintf("app-%d", i)
	target := "http"
	if i%97 == 0 {
		target = "htttp" // a real mistake now and then
	}
	count := 2
	_, err := fmt.Fprintf(w, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: %[2]s
  labels: {app.kubernetes.io/name: %[1]s, app.kubernetes.io/part-of: shop}
spec:
  replicas: 3
  selector:
    matchLabels: {app.kubernetes.io/name: %[1]s}
  template:
    metadata:
      labels: {app.kubernetes.io/name: %[1]s, app.kubernetes.io/part-of: shop}
    spec:
      containers:
      - name: app
        image: registry.example.com/shop/%[1]s:1.%[3]d.0
        ports:
        - {name: http, containerPort: 8080}
        - {name: metrics, containerPort: 9090}
        readinessProbe:
          httpGet: {path: /ready, port: http}
          periodSeconds: 5
        livenessProbe:
          httpGet: {path: /healthz, port: http}
          failureThreshold: 6
        resources:
          requests: {cpu: 100m, memory: 128Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  selector: {app.kubernetes.io/name: %[1]s}
  ports:
  - {name: http, port: 80, targetPort: %[4]s}
  - {name: metrics, port: 9090, targetPort: metrics}
`, name, ns, i%10, target)
	if err != nil {
		return 0, err
	}
	if i%2 == 0 {
		count++
		_, err = fmt.Fprintf(w, `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  ingressClassName: nginx
  tls:
  - hosts: [%[1]s.shop.example.com]
    secretName: %[1]s-tls
  rules:
  - host: %[1]s.shop.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service: {name: %[1]s, port: {name: http}}
      - path: /api
        pathType: Prefix
        backend:
          service: {name: %[1]s, port: {number: 80}}
`, name, ns)
	}
	if i%3 == 0 {
		count++
		_, err = fmt.Fprintf(w, `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  podSelector:
    matchLabels: {app.kubernetes.io/name: %[1]s}
  ingress:
  - from:
    - podSelector: {matchLabels: {app.kubernetes.io/part-of: shop}}
    ports: [{port: 8080}]
`, name, ns)
	}
	if i%7 == 0 {
		count += 2
		_, err = fmt.Fprintf(w, `---
apiVersion: v1
kind: Service
metadata: {name: %[1]s-db, namespace: %[2]s}
spec:
  ports: [{name: pg, port: 5432}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %[1]s-db-1
  namespace: %[2]s
  labels: {kubernetes.io/service-name: %[1]s-db}
addressType: IPv4
ports: [{name: pg, port: 5432, protocol: TCP}]
endpoints:
- addresses: [10.20.%[3]d.%[4]d]
`, name, ns, i%250, i%200+1)
	}
	return count, err
}

// WriteServices writes valid Services, each in its own namespace's round robin and with its own
// selector, until about size bytes are written; it returns how many.
func WriteServices(w io.Writer, size int) (int, error) {
	n, written := 0, 0
	for written < size {
		c, err := fmt.Fprintf(w, `---
apiVersion: v1
kind: Service
metadata:
  name: svc-%[1]d
  namespace: team-%[2]d
spec:
  selector:
    app: svc-%[1]d
  ports:
  - name: http
    port: 80
    targetPort: 8080
`, n, n%20)
		if err != nil {
			return n, err
		}
		written += c
		n++
	}
	return n, nil
}

// WriteTiny writes n tiny documents that are not Kubernetes objects (a: 1): one identical finding
// each (missing-type-meta).
func WriteTiny(w io.Writer, n int) (int, error) {
	for i := 0; i < n; i++ {
		if _, err := io.WriteString(w, "---\na: 1\n"); err != nil {
			return i, err
		}
	}
	return n, nil
}
