package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "plain", in: "service/web", want: "service/web"},
		{name: "terminal escape from a cluster string", in: "evil\x1b[2J\x1b]0;title\x07", want: "evil?[2J?]0;title?"},
		{name: "newlines and tabs flattened", in: "a\nb\tc\r", want: "a b c "},
		{name: "unicode kept", in: "服务 ✓", want: "服务 ✓"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sanitize(tt.in); got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWriteTableLooksLikeKubectl(t *testing.T) {
	var b bytes.Buffer
	err := WriteTable(&b, []string{"name", "status"}, [][]string{{"web", "ok"}, {"a-much-longer-name", ""}, {"x\x1b[31m", "fail"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "NAME                 STATUS\nweb                  ok\na-much-longer-name   -\nx?[31m               fail\n"
	if b.String() != want {
		t.Errorf("table:\n%q\nwant\n%q", b.String(), want)
	}
}

func TestParseSeverity(t *testing.T) {
	tests := []struct {
		in      string
		want    Severity
		wantErr bool
	}{
		{in: "error", want: Error}, {in: "WARNING", want: Warning}, {in: "warn", want: Warning}, {in: "info", want: Info},
		{in: "fatal", wantErr: true}, {in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseSeverity(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseSeverity(%q) = %v, %v", tt.in, got, err)
		}
	}
	if !strings.Contains(Severity(9).String(), "9") {
		t.Error("unknown severity should print its number")
	}
}

func TestCountsAtOrAbove(t *testing.T) {
	c := Counts{Error: 1, Warning: 2, Info: 3}
	for _, tt := range []struct {
		s    Severity
		want int
	}{{Error, 1}, {Warning, 3}, {Info, 6}} {
		if got := c.AtOrAbove(tt.s); got != tt.want {
			t.Errorf("AtOrAbove(%v) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

// TestJUnitOneFailurePerCase checks that every test case carries at most one <failure> (CI
// systems show only the first): a case per object and rule, repeated findings in its text.
func TestJUnitOneFailurePerCase(t *testing.T) {
	pod := &ObjectRef{APIVersion: "v1", Kind: "Pod", Namespace: "default", Name: "d"}
	loc := &Location{File: "m.yaml", Document: 1, Line: 1}
	tests := []struct {
		name      string
		findings  []Finding
		wantCases int
		wantFails int
		wantText  []string
	}{
		{
			name: "two rules on one object: two cases",
			findings: []Finding{
				{Rule: "probe-multiple-handlers", Severity: Error, Message: "a", Object: pod, Location: loc},
				{Rule: "probe-port-unknown", Severity: Error, Message: "b", Object: pod, Location: loc},
			},
			wantCases: 2, wantFails: 2,
		},
		{
			name: "one rule twice on one object: one case, both in its failure text",
			findings: []Finding{
				{Rule: "probe-port-unknown", Severity: Error, Message: "container a", Object: pod, Location: loc},
				{Rule: "probe-port-unknown", Severity: Error, Message: "container b", Object: pod, Location: loc},
			},
			wantCases: 1, wantFails: 1, wantText: []string{"container a", "container b"},
		},
		{
			name: "below the threshold: a passing case with system-out",
			findings: []Finding{
				{Rule: "endpoints-deprecated", Severity: Info, Message: "deprecated", Object: pod, Location: loc},
			},
			wantCases: 1, wantFails: 0, wantText: []string{"<system-out>info [endpoints-deprecated] deprecated"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJUnit(&b, &LintReport{Findings: tc.findings}, Error); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if got := strings.Count(out, "<testcase "); got != tc.wantCases {
				t.Errorf("%d test cases, want %d:\n%s", got, tc.wantCases, out)
			}
			if got := strings.Count(out, "<failure "); got != tc.wantFails {
				t.Errorf("%d failures, want %d:\n%s", got, tc.wantFails, out)
			}
			for _, c := range strings.Split(out, "<testcase ")[1:] {
				if strings.Count(c, "<failure ") > 1 {
					t.Errorf("a test case has several failures:\n%s", c)
				}
			}
			for _, w := range tc.wantText {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
