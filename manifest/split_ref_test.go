package manifest

import "bytes"

// The reference splitter: the whole-buffer version of docSplitter that the loader used before it
// streamed. The streaming splitter must cut every input exactly like it (FuzzStreamSplit).

// splitStream cuts a stream into the documents kubectl reads from it: at YAML document markers
// (splitDocuments), then each document that holds several JSON values one after another (as
// `jq -c` or a loop over `kubectl get -o json` writes them) into one document per value.
func splitStream(data []byte) []chunk {
	docs := splitDocuments(data)
	out := docs[:0:0]
	for _, c := range docs {
		out = append(out, splitJSONValues(c)...)
	}
	return out
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
