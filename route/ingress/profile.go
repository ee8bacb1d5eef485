package ingress

// Controller profiles: the route semantics a verdict is produced with. The Ingress
// specification's (spec) unless the controller of the class is one whose deviations svc-doctor
// models: Traefik (traefik.go) and ingress-nginx (nginx.go).

// Profile names.
const (
	ProfileSpec         = "spec"
	ProfileTraefik      = "traefik"
	ProfileIngressNginx = "ingress-nginx"
)
