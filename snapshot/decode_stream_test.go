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

// TestFromStreamColdServices: past TypedServices, Services are kept as text (Cold), except those
// of a flow-style List, which could only be read again by parsing the whole List; a cold Service
// decodes again to the same object.
func TestFromStreamColdServices(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"apiVersion": "v1", "kind": "List", "items": [`)
	for i := 0; i < 5; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "l%d"}, "spec": {"ports": [{"port": 80}]}}`, i)
	}
	b.WriteString("]}\n")
	for i := 0; i < 5; i++ {
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
	if got, want := strings.Join(typed, ","), "l0,l1,l2,l3,l4"; got != want {
		t.Errorf("decoded Services %s, want %s (a flow-style List's stay decoded)", got, want)
	}
	if got, want := strings.Join(cold, ","), "s0,s1,s2,s3,s4"; got != want {
		t.Errorf("cold Services %s, want %s", got, want)
	}
	if res.Services != 10 || res.Read() != 10 {
		t.Errorf("counted %d Services, %d objects; want 10", res.Services, res.Read())
	}
	svcs, err := res.Decode(res.Cold)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range svcs {
		if s.Name != fmt.Sprintf("s%d", i) || s.Spec.Ports[0].Port != int32(80+i) || s.Spec.Ports[0].TargetPort.StrVal != "http" ||
			s.Spec.Selector["app"] != s.Name || s.Src != res.Cold[i] || s.Src.Annotations["a"] != "b" {
			t.Errorf("Service %d decoded again as %+v", i, s.Service)
		}
	}
	defer manifest.CloseFiles()
}
