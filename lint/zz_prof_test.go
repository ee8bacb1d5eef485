package lint

import (
	"os"
	"runtime"
	"runtime/pprof"
	"testing"

	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

func TestZZProf(t *testing.T) {
	path := os.Getenv("PROF_INPUT")
	if path == "" {
		t.Skip()
	}
	res, err := manifest.Load([]string{path}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap := snapshot.FromManifests(res, "")
	res = nil
	rep, err := Lint(snap, rules.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	f, _ := os.Create(os.Getenv("PROF_OUT"))
	pprof.WriteHeapProfile(f)
	f.Close()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("findings %d heap inuse %d MB", len(rep.Findings), ms.HeapInuse>>20)
	runtime.KeepAlive(snap)
	runtime.KeepAlive(rep)
}
