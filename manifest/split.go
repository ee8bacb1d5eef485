package manifest

import "bytes"

// chunk is one YAML document of a stream: its text and the 1-based line of its first line.
type chunk struct {
	text []byte
	line int
}

// splitDocuments cuts a YAML stream at document markers ("---" at the start of a line). A marker
// line stays at the top of the document it opens, so that content written after the marker on the
// same line ("--- {a: 1}") is kept and line numbers stay exact. An empty preamble before the first
// marker is dropped.
func splitDocuments(data []byte) []chunk {
	var out []chunk
	start, startLine, line := 0, 1, 1
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if end >= 0 {
			next = i + end + 1
		}
		if i > start && isDocMarker(data[i:next]) {
			out = append(out, chunk{text: data[start:i], line: startLine})
			start, startLine = i, line
		}
		i = next
		line++
	}
	out = append(out, chunk{text: data[start:], line: startLine})
	if len(out) > 1 && isBlank(out[0].text) {
		out = out[1:]
	}
	return out
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
