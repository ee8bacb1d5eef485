package snapshot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svc-doctor/svc-doctor/manifest"
)

// TestFromStreamColdServices: past TypedServices, Services are kept as text (Cold), those of a JSON
// List included (its items have their own text), except those of a flow-style YAML List, which
// could only be read again by parsing the whole List; a cold Service decodes again to the same
// object.
func TestFromStreamColdServices(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"apiVersion": "v1", "kind": "List", "items": [`)
	for i := 0; i < 3; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "l%d", "annotations": {"a": "b"}}, "spec": {"selector": {"app": "l%d"}, "ports": [{"port": 8%d, "targetPort": "http"}]}}`, i, i, i)
	}
	b.WriteString("]}\n---\n{apiVersion: v1, kind: List, items: [{apiVersion: v1, kind: Service, metadata: {name: f0}, spec: {ports: [{port: 70}]}}]}\n")
	for i := 3; i < 6; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Service\nmetadata: {name: s%d, annotations: {a: b}}\nspec:\n  selector: {app: s%d}\n  ports: [{port: 8%d, targetPort: http}]\n", i, i, i)
	}
	path := filepath.Join(t.TempDir(), "in.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := manifest.Open(context.Background(), []string{path}, "", manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer manifest.CloseFiles()
	res, err := FromStream(context.Background(), st, StreamOptions{TypedServices: 2})
	if err != nil {
		t.Fatal(err)
	}
	var typed, cold []string
	for _, s := range res.Snapshot.Services {
		typed = append(typed, s.Name)
	}
	for _, s := range res.Cold {
		cold = append(cold, s.Ref.Name)
	}
	if got, want := strings.Join(typed, ","), "l0,l1,f0"; got != want {
		t.Errorf("decoded Services %s, want %s (a flow-style YAML List's stay decoded past TypedServices)", got, want)
	}
	if got, want := strings.Join(cold, ","), "l2,s3,s4,s5"; got != want {
		t.Errorf("cold Services %s, want %s", got, want)
	}
	if res.Services != 7 || res.Read() != 7 {
		t.Errorf("counted %d Services, %d objects; want 7", res.Services, res.Read())
	}
	svcs, err := res.Decode(res.Cold)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range svcs {
		n := i + 2
		if !strings.HasSuffix(s.Name, fmt.Sprint(n)) || s.Spec.Ports[0].Port != int32(80+n) || s.Spec.Ports[0].TargetPort.StrVal != "http" ||
			s.Spec.Selector["app"] != s.Name || s.Src != res.Cold[i] || s.Src.Annotations["a"] != "b" {
			t.Errorf("Service %d decoded again as %+v", i, s.Service)
		}
	}
}
