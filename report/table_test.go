package report

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestWriteTableDirectLayoutEqualsTablewriter compares the direct layout of printable-ASCII tables
// with tablewriter's, on the shapes svc-doctor prints (hop tables with indented evidence rows,
// summaries, empty cells) and on random cells.
func TestWriteTableDirectLayoutEqualsTablewriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("abcXYZ019 -_./:=()[]<>\"'`~!@#$%^&*+{}|\\?,;")
	cell := func() string {
		n := rng.IntN(12)
		if rng.IntN(6) == 0 {
			n = 0
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	type table struct {
		headers []string
		rows    [][]string
	}
	tables := []table{
		{[]string{"status", "hop", "detail"}, [][]string{
			{"PASS", "1 service", "service/web: ClusterIP 10.96.0.12, port http (80/TCP)"},
			{" ", " ", "  tcp 10.96.0.12:80 (ClusterIP, port http): refused (900us)"},
			{"FAIL", "7 connectivity", "pod/web-1 refuses connections"},
			{" ", " ", "  "},
		}},
		{[]string{"verdict", "namespace", "service", "type", "hop", "detail"}, [][]string{
			{"FAULT", "shop", "api", "ClusterIP", "readiness", "none of the 2 selected pods is ready"},
			{"HEALTHY", "shop", "web", "NodePort", "", "2/2 pods ready"},
		}},
		{[]string{"status", "hop", "time", "requests", "detail"}, [][]string{{"PASS", "1 service", "1ms", "1", "x"}}},
		{[]string{"name"}, nil},
		{[]string{"container", "success/failure", "last readiness failure", "x_y", "a.b", "c-d"}, [][]string{{"a", "b", "c", "d", "e", "f"}}},
	}
	for range 300 {
		cols := 1 + rng.IntN(5)
		var tb table
		for c := range cols {
			tb.headers = append(tb.headers, []string{"status", "hop", "detail", "severity", "rule", "object", "location", "message"}[(c+rng.IntN(8))%8])
		}
		for range rng.IntN(8) {
			r := make([]string, cols)
			for c := range r {
				r[c] = cell()
			}
			tb.rows = append(tb.rows, r)
		}
		tables = append(tables, tb)
	}
	for i, tb := range tables {
		for _, color := range []Colorizer{nil, statusColor} {
			if _, ok := plainTable(tb.headers, tb.rows); !ok && i != 4 {
				t.Fatalf("table %d is printable ASCII but not laid out directly: %q", i, tb.rows)
			}
			var direct, ref bytes.Buffer
			if err := WriteTable(&direct, tb.headers, tb.rows, color); err != nil {
				t.Fatal(err)
			}
			if err := writeTablewriter(&ref, tb.headers, tb.rows, color); err != nil {
				t.Fatal(err)
			}
			if direct.String() != ref.String() {
				t.Fatalf("table %d (%q, rows %q):\ndirect:\n%s\ntablewriter:\n%s", i, tb.headers, tb.rows, direct.String(), ref.String())
			}
		}
	}
	// anything else goes to tablewriter
	for _, c := range []string{"日本語", "e\u0301", "tab\there"} {
		if _, ok := plainTable([]string{"name"}, [][]string{{c}}); ok && !strings.Contains(c, "\t") {
			t.Errorf("%q was laid out directly", c)
		}
	}
}
