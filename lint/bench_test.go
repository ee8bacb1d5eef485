package lint

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/snapshot"
	"github.com/svc-doctor/svc-doctor/test/benchgen"
)

// BenchmarkLint10k parses, decodes and lints a generated corpus of 10,000 objects (one stream) and
// reports objects/s and the heap allocated per run. hack/bench-lint.sh measures the whole binary
// (peak RSS included) and compares with kube-score.
func BenchmarkLint10k(b *testing.B) {
	var buf bytes.Buffer
	n, err := benchgen.Write(&buf, 10000)
	if err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	cfg := rules.DefaultConfig()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := manifest.Parse("bench.yaml", data)
		snap := snapshot.FromManifests(res, "")
		rep, err := Lint(snap, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Summary.Objects != n {
			b.Fatalf("linted %d objects, generated %d", rep.Summary.Objects, n)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-MiB")
}

// BenchmarkLintStream10k lints the same corpus the way the lint command does: read as a stream,
// JSON dropped once decoded, findings collected with the default --max-findings.
func BenchmarkLintStream10k(b *testing.B) {
	var buf bytes.Buffer
	n, err := benchgen.Write(&buf, 10000)
	if err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	cfg := rules.DefaultConfig()
	cfg.MaxPerRule = DefaultMaxFindings
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := manifest.Open(context.Background(), []string{"-"}, "", manifest.Options{Stdin: bytes.NewReader(data)})
		if err != nil {
			b.Fatal(err)
		}
		c, err := rules.NewCollector(cfg)
		if err != nil {
			b.Fatal(err)
		}
		res, err := snapshot.FromStream(context.Background(), st, snapshot.StreamOptions{Issues: c.Issue, KeepPassThrough: c.KeepPassThrough,
			TypedServices: typedServices, Trim: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.RunStream(res, rules.ServiceWindow); err != nil {
			b.Fatal(err)
		}
		if got := res.Read(); got != n {
			b.Fatalf("linted %d objects, generated %d", got, n)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-MiB")
}
