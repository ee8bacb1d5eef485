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
