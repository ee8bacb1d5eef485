package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// chunk is one YAML document of a stream: its text and the 1-based line of its first line.
type chunk struct {
	text []byte
	line int
	// off is the byte offset of text in its file
	off int64
	// problem, when set, is a syntax problem found while splitting the stream (text that is not
	// JSON after a stream of JSON values), reported at line instead of parsing text.
	problem string
	// afterJSON is set on the text that follows a single JSON value: a YAML document to kubectl,
	// but text that is not a YAML collection there is garbage after the JSON, a syntax problem.
	afterJSON bool
}

// splitJSONValues splits a document whose content starts with '{' or '[' into its JSON values,
// as kubectl's decoder (NewYAMLOrJSONDecoder) reads them: each value becomes a chunk of its own,
// starting at the value's first byte (a null value is then skipped like a null YAML document). A
// document whose first value is not JSON (YAML flow style, a syntax error) is returned
// whole, for the YAML parser to read and report. Text after the values that is not JSON is read
// as a YAML document when it follows a single value, as kubectl does (a scalar there is reported
// as garbage); after two or more values kubectl rejects the stream there, and so the text becomes
// a chunk that reports the problem. Text that is only whitespace and comments is dropped.
func splitJSONValues(c chunk) []chunk {
	start := jsonBodyStart(c.text)
	if start < 0 {
		return []chunk{c}
	}
	body := c.text[start:]
	dec := json.NewDecoder(bytes.NewReader(body))
	line, lineOff := c.line, 0 // line is the line of offset lineOff; offsets only grow
	lineAt := func(off int) int {
		line += bytes.Count(c.text[lineOff:off], []byte("\n"))
		lineOff = off
		return line
	}
	var out []chunk
	values := 0
	for {
		from := start + skipJSONSpace(body, int(dec.InputOffset()))
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return out
		}
		if err == nil {
			values++
			out = append(out, chunk{text: c.text[from : start+int(dec.InputOffset())], line: lineAt(from), off: c.off + int64(from)})
			continue
		}
		rest := c.text[from:]
		switch {
		case values == 0:
			return []chunk{c}
		case isBlank(rest):
			return out
		case values == 1:
			// kubectl reads on as YAML; keep the indentation of the line the text starts on
			ls := bytes.LastIndexByte(c.text[:from], '\n') + 1
			if len(bytes.TrimLeft(c.text[ls:from], " \t")) == 0 {
				from = ls
			}
			return append(out, chunk{text: c.text[from:], line: lineAt(from), off: c.off + int64(from), afterJSON: true})
		}
		at, msg := from, fmt.Sprintf("text after JSON value %d is not JSON (%v)", values, err)
		var syn *json.SyntaxError
		if errors.As(err, &syn) && start+int(syn.Offset)-1 > from {
			at, msg = start+int(syn.Offset)-1, fmt.Sprintf("JSON value %d is not valid JSON: %v", values+1, err)
		} else if errors.Is(err, io.ErrUnexpectedEOF) {
			msg = fmt.Sprintf("JSON value %d is incomplete (the input ends inside it)", values+1)
		}
		return append(out, chunk{line: lineAt(at), problem: msg + "; kubectl stops reading the stream here"})
	}
}

// jsonBodyStart returns the offset of the first byte of a document's content when that content
// starts with '{' or '[' (after blank lines, comments and a document marker line), else -1.
func jsonBodyStart(doc []byte) int {
	for off := 0; off < len(doc); {
		end := bytes.IndexByte(doc[off:], '\n')
		next := len(doc)
		if end >= 0 {
			next = off + end + 1
		}
		line := doc[off:next]
		t := bytes.TrimSpace(line)
		switch {
		case len(t) == 0 || t[0] == '#':
		case isDocMarker(line) && (len(bytes.TrimSpace(t[3:])) == 0 || bytes.TrimSpace(t[3:])[0] == '#'):
		case t[0] == '{' || t[0] == '[':
			return off + bytes.IndexByte(line, t[0])
		default:
			return -1
		}
		off = next
	}
	return -1
}

// skipJSONSpace returns the offset of the first byte at or after off that is not JSON whitespace.
func skipJSONSpace(b []byte, off int) int {
	for off < len(b) && (b[off] == ' ' || b[off] == '\t' || b[off] == '\r' || b[off] == '\n') {
		off++
	}
	return off
}

func isDocMarker(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) {
		return false
	}
	rest := line[3:]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r'
}

// isBlank reports whether a document holds nothing but whitespace, comments, markers and directives.
func isBlank(doc []byte) bool {
	for _, l := range bytes.Split(doc, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) == 0 || t[0] == '#' || t[0] == '%' || bytes.Equal(t, []byte("...")) {
			continue
		}
		if isDocMarker(t) {
			rest := bytes.TrimSpace(t[3:])
			if len(rest) == 0 || rest[0] == '#' {
				continue
			}
		}
		return false
	}
	return true
}

// leadingTabLines returns the 1-based line numbers (relative to doc) whose indentation contains a tab.
func leadingTabLines(doc []byte) []int {
	var lines []int
	for n, l := range bytes.Split(doc, []byte("\n")) {
		for _, c := range l {
			if c == ' ' {
				continue
			}
			if c == '\t' {
				lines = append(lines, n+1)
			}
			break
		}
	}
	return lines
}

// expandLeadingTabs replaces tabs in the indentation of every line with width spaces. Line
// numbers do not change.
func expandLeadingTabs(doc []byte, width int) []byte {
	var b bytes.Buffer
	b.Grow(len(doc) + 64)
	for i, l := range bytes.Split(doc, []byte("\n")) {
		if i > 0 {
			b.WriteByte('\n')
		}
		j := 0
		for ; j < len(l) && (l[j] == ' ' || l[j] == '\t'); j++ {
			if l[j] == '\t' {
				b.Write(bytes.Repeat([]byte(" "), width))
			} else {
				b.WriteByte(' ')
			}
		}
		b.Write(l[j:])
	}
	return b.Bytes()
}
