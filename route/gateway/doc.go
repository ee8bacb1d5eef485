// Package gateway is the Gateway API route layer. From the specification alone (no controller,
// no status, no cluster) it works out what a set of Gateway API objects does:
//
//   - where each route attaches: for every parentRef, the Gateway and listeners it lands on, or the
//     reason the specification gives for refusing it (NoMatchingParent, NotAllowedByListeners,
//     NoMatchingListenerHostname), with listener allowedRoutes kinds and namespaces (Same, All,
//     Selector with full LabelSelector semantics over the route's Namespace labels) and hostname
//     intersection;
//   - what is wrong with Gateways and their listeners: a missing GatewayClass, Conflicted listeners,
//     invalid route kinds, certificate references (InvalidCertificateRef, RefNotPermitted, expired
//     certificates, certificates that do not cover the listener hostname);
//   - what is wrong with backend references (BackendNotFound, RefNotPermitted, InvalidKind, weights
//     that are all zero) and which route matches can never win (shadowed);
//   - how an HTTP request is routed: the Gateway listener it enters, the HTTPRoute rule that wins
//     under the HTTPRoute precedence rules, its backend Services and weights or the status the
//     specification implies (404, 500, a redirect), and every candidate that lost or almost
//     matched, with why.
//
// The package reads plain API objects (Objects): a snapshot of manifests or of a live cluster can
// feed it. It imports neither client-go nor a command package. Trusting status.parents is left to
// the caller: several implementations leave it empty or stale, so the attachment here is computed
// from the specs only.
package gateway
