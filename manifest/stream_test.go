package manifest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// splitAll runs the streaming splitter over data read through r and returns the chunks it cuts,
// JSON values split as the stream does.
func splitAll(t *testing.T, r io.Reader, max int) ([]chunk, error) {
	t.Helper()
	sp := newDocSplitter(context.Background(), r, "s.yaml")
	if max > 0 {
		sp.max = max
	}
	var out []chunk
	for {
		c, err := sp.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, splitJSONValues(c)...)
	}
}

func sameChunks(a, b []chunk) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if string(a[i].text) != string(b[i].text) || a[i].line != b[i].line || a[i].problem != b[i].problem || a[i].afterJSON != b[i].afterJSON {
			return false
		}
	}
	return true
}

// TestStreamSplitsLikeTheWholeBuffer: the streaming splitter cuts every stream exactly like the
// whole-buffer splitter it replaced, whatever the sizes of the reads.
func TestStreamSplitsLikeTheWholeBuffer(t *testing.T) {
	tests := []struct {
		name  string
		input string
	}{
		{name: "empty", input: ""},
		{name: "one document without a final newline", input: "apiVersion: v1\nkind: Service"},
		{name: "blank preamble is dropped", input: "\n# c\n---\na: 1\n---\nb: 2\n"},
		{name: "a preamble with content stays", input: "a: 1\n---\nb: 2\n"},
		{name: "marker with content", input: "--- {a: 1}\n--- # c\nb: 2\n---\n"},
		{name: "not markers", input: "a: |\n  ---\n----\n---x\n"},
		{name: "JSON values", input: "{\"a\":1}\n{\"b\":2}\n---\n{\"c\":3} {\"d\":4}\ngarbage\n"},
		{name: "CRLF", input: "a: 1\r\n---\r\nb: 2\r\n"},
		{name: "a long line", input: "a: " + strings.Repeat("x", 200000) + "\n---\nb: 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := splitStream([]byte(tt.input))
			for _, r := range []io.Reader{strings.NewReader(tt.input), iotest.OneByteReader(strings.NewReader(tt.input)), iotest.HalfReader(strings.NewReader(tt.input))} {
				got, err := splitAll(t, r, 0)
				if err != nil {
					t.Fatal(err)
				}
				if !sameChunks(got, want) {
					t.Fatalf("streaming split differs:\ngot  %+v\nwant %+v", got, want)
				}
			}
		})
	}
}

// FuzzStreamSplit: on any input, the streaming splitter agrees with the whole-buffer one.
func FuzzStreamSplit(f *testing.F) {
	for _, s := range []string{"a: 1\n---\nb: 2\n", "\n---\n---\n", "{\"a\":1}{\"b\":2}\n---\nx\n", "--- a\n--- b", "a\r\n---\r\n"} {
		f.Add([]byte(s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		want := splitStream(data)
		var r io.Reader = bytes.NewReader(data)
		if chunk > 0 {
			r = &chunkReader{data: data, n: int(chunk)}
		}
		got, err := splitAll(t, r, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !sameChunks(got, want) {
			t.Fatalf("streaming split differs:\ngot  %+v\nwant %+v", got, want)
		}
	})
}

// chunkReader returns data n bytes at a time.
type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(c.n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func TestDocumentSizeLimit(t *testing.T) {
	input := "a: 1\n---\nb: " + strings.Repeat("x", 100) + "\n---\nc: 1\n"
	_, err := splitAll(t, strings.NewReader(input), 64)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "s.yaml:2: a YAML document larger than") {
		t.Fatalf("err = %v, want an InputError naming s.yaml:2", err)
	}
}

// TestOpenRefusesWhatCouldBlock: a named pipe (which would block open(2) until a writer comes),
// a device and a socket are refused with an InputError that names them, given directly or found
// in a directory; nothing blocks.
func TestOpenRefusesWhatCouldBlock(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s.yaml")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tests := []struct {
		name, path, want string
	}{
		{name: "named pipe", path: fifo, want: "a named pipe (FIFO), not a regular file"},
		{name: "device", path: "/dev/null", want: "a device, not a regular file"},
		{name: "socket", path: sock, want: "a socket, not a regular file"},
		{name: "directory holding a named pipe", path: dir, want: "pipe.yaml: is a named pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				st, err := Open(context.Background(), []string{tt.path}, "", Options{})
				if err == nil {
					for err == nil {
						_, err = st.Next()
					}
				}
				done <- err
			}()
			select {
			case err := <-done:
				var ie *InputError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "-f -") {
					t.Errorf("err = %v, want an InputError with %q that points at -f -", err, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("reading blocked")
			}
		})
	}
}

// TestStdinIsBounded: standard input that sends nothing ends reading after the timeout (an
// InputError that names --stdin-timeout) or when the context is cancelled; data that arrives is
// read.
func TestStdinIsBounded(t *testing.T) {
	silent := func() io.Reader { r, _ := io.Pipe(); return r } // never written, never closed
	tests := []struct {
		name    string
		stdin   io.Reader
		timeout time.Duration
		cancel  time.Duration
		wantErr string
		wantN   int
	}{
		{name: "silent stdin times out", stdin: silent(), timeout: 100 * time.Millisecond, wantErr: "--stdin-timeout"},
		{name: "cancelled while waiting", stdin: silent(), cancel: 100 * time.Millisecond, wantErr: context.Canceled.Error()},
		{name: "data is read", stdin: strings.NewReader("apiVersion: v1\nkind: Service\n---\na: 1\n"), timeout: time.Second, wantN: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, cancel)
			}
			st, err := Open(ctx, []string{"-"}, "", Options{Stdin: tt.stdin, StdinTimeout: tt.timeout})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			n := 0
			for {
				_, err = st.Next()
				if err != nil {
					break
				}
				n++
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if tt.wantErr == "" {
				if err != io.EOF || n != tt.wantN {
					t.Errorf("read %d documents, err %v; want %d, EOF", n, err, tt.wantN)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestInputsDescribeEmptyDirectories: what a directory argument held, for the "no objects"
// message: its manifest files and the subdirectories not read without -R.
func TestInputsDescribeEmptyDirectories(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "svc.yaml"), []byte("apiVersion: v1\nkind: Service\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, rec := range []bool{false, true} {
		st, err := Open(context.Background(), []string{dir}, "", Options{Recursive: rec})
		if err != nil {
			t.Fatal(err)
		}
		in := st.Inputs()[0]
		switch {
		case !rec && (len(in.Files) != 0 || in.SkippedDirs != 1 || in.Kind != InputDir):
			t.Errorf("without -R: files %v, skipped %d", in.Files, in.SkippedDirs)
		case rec && (len(in.Files) != 1 || in.SkippedDirs != 0):
			t.Errorf("with -R: files %v, skipped %d", in.Files, in.SkippedDirs)
		}
	}
}

// TestListItemsHaveTheirOwnText: the items of a List written in block style (kubectl get -o
// yaml) are read again from their own lines, not from the whole List; the lines of their fields
// are the same.
func TestListItemsHaveTheirOwnText(t *testing.T) {
	input := "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: a\n  spec:\n    ports:\n    - port: 80\n" +
		"- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n  spec:\n    ports: [{port: 81}]\nkind: List\nmetadata: {}\n"
	res := Parse("l.yaml", []byte(input))
	if len(res.Objects) != 2 {
		t.Fatalf("%d objects", len(res.Objects))
	}
	tests := []struct {
		obj      int
		path     string
		wantLine int
		wantText string
	}{
		{obj: 0, path: "spec.ports[0].port", wantLine: 9, wantText: "  apiVersion: v1\n  kind: Service\n  metadata:\n    name: a\n  spec:\n    ports:\n    - port: 80\n"},
		{obj: 1, path: "spec.ports[0].port", wantLine: 14, wantText: "  apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n  spec:\n    ports: [{port: 81}]\n"},
	}
	for _, tt := range tests {
		o := res.Objects[tt.obj]
		if o.item != -1 || string(o.text) != tt.wantText {
			t.Errorf("object %d: item %d, text %q; want its own text %q", tt.obj, o.item, o.text, tt.wantText)
		}
		if line, exact := o.FieldLine(tt.path); line != tt.wantLine || !exact {
			t.Errorf("object %d: FieldLine(%s) = %d,%v want %d", tt.obj, tt.path, line, exact, tt.wantLine)
		}
		o.JSON = nil
		if js, err := o.ReadJSON(); err != nil || !strings.Contains(string(js), `"port":8`) {
			t.Errorf("object %d: ReadJSON = %s, %v", tt.obj, js, err)
		}
	}
	// an anchor shared between items: each item is read from the whole List
	shared := "kind: List\nitems:\n- kind: Service\n  metadata: &m {name: a}\n- kind: Service\n  metadata: *m\n"
	for _, o := range Parse("l.yaml", []byte(shared)).Objects {
		if o.item < 0 {
			t.Errorf("item %d of a List with anchors was given its own text", o.Item)
		}
	}
}

// TestReadJSONAgrees: an object's JSON derived again from its text is the JSON read first.
func TestReadJSONAgrees(t *testing.T) {
	input := "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: [{port: 80}]\n---\n" +
		"{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"}}\n---\n" +
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: tabs\n---\n" +
		"apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: anchored}\ndata: {<<: {a: b}}\n"
	for _, o := range Parse("f.yaml", []byte(input)).Objects {
		want := string(o.JSON)
		o.JSON = nil
		got, err := o.ReadJSON()
		if err != nil || string(got) != want {
			t.Errorf("%s/%s: ReadJSON = %s, %v; want %s", o.Kind, o.Name, got, err, want)
		}
	}
}

// TestReleasedTextIsReadAgain: an object of a regular file whose text was released reads it
// again from the file (JSON, lines of fields, tab-expanded documents, List items); once the file
// changes it is not used.
func TestReleasedTextIsReadAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.yaml")
	content := "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n  - port: 80\n---\n" +
		"{\"apiVersion\": \"v1\",\t\"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"}}\n---\n" +
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: tabs\n---\n" +
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: s\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Load([]string{path}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer CloseFiles()
	type seen struct {
		json string
		line int
	}
	var before []seen
	for _, o := range res.Objects {
		l, _ := o.FieldLine("metadata.name")
		before = append(before, seen{string(o.JSON), l})
		if o.src == nil || o.src.path != path {
			t.Fatalf("%s/%s: no file to read it again from", o.Kind, o.Name)
		}
		o.JSON = nil
		o.ReleaseText()
	}
	for i, o := range res.Objects {
		js, err := o.ReadJSON()
		l, _ := o.FieldLine("metadata.name")
		if err != nil || string(js) != before[i].json || l != before[i].line {
			t.Errorf("%s/%s read again: %s line %d (%v); want %s line %d", o.Kind, o.Name, js, l, err, before[i].json, before[i].line)
		}
	}
	if err := os.WriteFile(path, []byte(strings.Replace(content, "name: a", "name: b", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	CloseFiles()
	if _, err := res.Objects[0].ReadJSON(); err == nil || !strings.Contains(err.Error(), "changed while it was being linted") {
		t.Errorf("a changed file was read: %v", err)
	}
}

// TestReadTexts: objects read again together get the text each had.
func TestReadTexts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.yaml")
	var b strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Service\nmetadata: {name: s%d}\n", i)
		if i%7 == 0 {
			b.WriteString("# " + strings.Repeat("x", 70000) + "\n") // a gap larger than one read
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Load([]string{path}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer CloseFiles()
	var want []string
	for _, o := range res.Objects {
		want = append(want, string(o.text))
		o.ReleaseText()
	}
	if err := ReadTexts(res.Objects[3:]); err != nil {
		t.Fatal(err)
	}
	for i, o := range res.Objects {
		switch {
		case i < 3 && o.text != nil:
			t.Errorf("object %d was read", i)
		case i >= 3 && string(o.text) != want[i]:
			t.Errorf("object %d: %q, want %q", i, o.text, want[i])
		}
	}
}

// TestJSONListItemsHaveTheirOwnText: the items of a JSON List (kubectl get -o json, pretty or on
// one line) are read again from their own bytes, with the lines of their fields and their JSON
// the same as from the whole List; a List the scanner cannot cut keeps the whole text.
func TestJSONListItemsHaveTheirOwnText(t *testing.T) {
	pretty := "{\n    \"apiVersion\": \"v1\",\n    \"metadata\": {\"note\": \"\\\"items\\\": [{\"},\n    \"items\": [\n" +
		"        {\n            \"apiVersion\": \"v1\",\n            \"kind\": \"Service\",\n            \"metadata\": {\"name\": \"a\", \"annotations\": {\"x\": \"}]{[\"}},\n" +
		"            \"spec\": {\n                \"ports\": [\n                    {\"port\": 80}\n                ]\n            }\n        },\n" +
		"        {\n            \"apiVersion\": \"v1\",\n            \"kind\": \"Service\",\n            \"metadata\": {\"name\": \"b\"},\n" +
		"            \"spec\": {\"ports\": [{\"port\": 81}]}\n        }\n    ],\n    \"kind\": \"List\"\n}\n"
	oneLine := `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":80}]}},{"apiVersion":"v1","kind":"Service","metadata":{"name":"b"},"spec":{"ports":[{"port":81}]}}]}`
	for _, tc := range []struct {
		name      string
		input     string
		ownText   bool
		wantLines []int // of spec.ports[0].port, per item
	}{
		{name: "pretty", input: pretty, ownText: true, wantLines: []int{11, 19}},
		{name: "one line", input: oneLine, ownText: true, wantLines: []int{1, 1}},
		{name: "YAML flow List", input: "{apiVersion: v1, kind: List, items: [{apiVersion: v1, kind: Service, metadata: {name: a}, spec: {ports: [{port: 80}]}}, {apiVersion: v1, kind: Service, metadata: {name: b}, spec: {ports: [{port: 81}]}}]}", ownText: false, wantLines: []int{1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Parse("l.json", []byte(tc.input))
			if len(res.Objects) != 2 || len(res.Problems) != 0 {
				t.Fatalf("%d objects, problems %v", len(res.Objects), res.Problems)
			}
			for i, o := range res.Objects {
				if own := o.item == -1; own != tc.ownText {
					t.Errorf("item %d: own text %v, want %v (text %q)", i, own, tc.ownText, o.text)
				}
				if line, exact := o.FieldLine("spec.ports[0].port"); line != tc.wantLines[i] || !exact {
					t.Errorf("item %d: FieldLine = %d,%v want %d", i, line, exact, tc.wantLines[i])
				}
				want := string(o.JSON)
				o.JSON = nil
				if got, err := o.ReadJSON(); err != nil || string(got) != want {
					t.Errorf("item %d: ReadJSON = %s, %v; want %s", i, got, err, want)
				}
			}
		})
	}
}
