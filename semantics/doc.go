// Package semantics says what Kubernetes objects mean, once for the whole product: the lint rules,
// the trace hops, the route layers and expose ask it how a Service port lands on a container, what
// a Service's shape is, which class serves an Ingress, what a certificate covers. It reads objects
// only (snapshot types and API types) and imports no client-go.
package semantics
