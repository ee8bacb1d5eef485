package gateway

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"
)

// Test objects from YAML: the conformance manifests and the inline documents of the table tests.

// confObjects are the objects of a test's manifests: what the resolver reads, and the
// Deployments behind the Services (the suite names the Deployment that answered).
type confObjects struct {
	Objects
	deployments []*appsv1.Deployment
}

// loadManifests decodes the objects of YAML files the resolver reads; the Gateway class
// placeholder is replaced with "conformance", a GatewayClass of that name is added.
func loadManifests(t *testing.T, paths ...string) *confObjects {
	t.Helper()
	objs := &confObjects{Objects: Objects{GatewayClasses: []*gwv1.GatewayClass{{ObjectMeta: metav1.ObjectMeta{Name: "conformance"}}}}}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte("{GATEWAY_CLASS_NAME}"), []byte("conformance"))
		for _, doc := range splitYAML(data) {
			if err := addObject(objs, doc); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
		}
	}
	return objs
}

func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.TrimRight(line, "\r\n") == "---" {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, cur.Bytes())
}

func addObject(objs *confObjects, doc []byte) error {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil || string(js) == "null" {
		return err
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return err
	}
	into := func(v any) error { return json.Unmarshal(js, v) }
	switch tm.Kind {
	case "GatewayClass":
		v := &gwv1.GatewayClass{}
		objs.GatewayClasses = append(objs.GatewayClasses, v)
		return into(v)
	case "Gateway":
		v := &gwv1.Gateway{}
		objs.Gateways = append(objs.Gateways, v)
		return into(v)
	case "HTTPRoute":
		v := &gwv1.HTTPRoute{}
		objs.HTTPRoutes = append(objs.HTTPRoutes, v)
		return into(v)
	case "GRPCRoute":
		v := &gwv1.GRPCRoute{}
		objs.GRPCRoutes = append(objs.GRPCRoutes, v)
		return into(v)
	case "ReferenceGrant":
		v := &gwv1.ReferenceGrant{}
		objs.ReferenceGrants = append(objs.ReferenceGrants, v)
		return into(v)
	case "Service":
		v := &corev1.Service{}
		objs.Services = append(objs.Services, v)
		return into(v)
	case "Namespace":
		v := &corev1.Namespace{}
		objs.Namespaces = append(objs.Namespaces, v)
		return into(v)
	case "Deployment":
		v := &appsv1.Deployment{}
		objs.deployments = append(objs.deployments, v)
		return into(v)
	case "Secret":
		v := &corev1.Secret{}
		if err := into(v); err != nil {
			return err
		}
		sec := &Secret{Namespace: v.Namespace, Name: v.Name, Type: v.Type, Data: map[string][]byte{}}
		for k, d := range v.Data {
			sec.Data[k] = d
		}
		for k, d := range v.StringData {
			sec.Data[k] = []byte(d)
		}
		objs.Secrets = append(objs.Secrets, sec)
	}
	return nil
}

// without returns the objects minus the deleted ones (Kind/namespace/name).
func without(objs Objects, deleted []string) Objects {
	if len(deleted) == 0 {
		return objs
	}
	gone := map[string]bool{}
	for _, d := range deleted {
		gone[d] = true
	}
	var grants []*gwv1.ReferenceGrant
	for _, g := range objs.ReferenceGrants {
		if !gone["ReferenceGrant/"+g.Namespace+"/"+g.Name] {
			grants = append(grants, g)
		}
	}
	var routes []*gwv1.HTTPRoute
	for _, r := range objs.HTTPRoutes {
		if !gone["HTTPRoute/"+r.Namespace+"/"+r.Name] {
			routes = append(routes, r)
		}
	}
	objs.ReferenceGrants, objs.HTTPRoutes = grants, routes
	return objs
}
