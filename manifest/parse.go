package manifest

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"

	"github.com/svc-doctor/svc-doctor/rules/ruleid"
)

// Rule IDs of the problems found while reading manifests. The rules package registers them with
// their documentation; they are listed here so that this package stays free of that dependency.
const (
	RuleYAMLTabs        = string(ruleid.YAMLTabs)
	RuleYAMLSyntax      = string(ruleid.YAMLSyntax)
	RuleDuplicateKey    = string(ruleid.YAMLDuplicateKey)
	RuleInvalidDocument = string(ruleid.InvalidDocument)
	RuleMissingTypeMeta = string(ruleid.MissingTypeMeta)
)

// Problem is something wrong with the input found before any rule runs.
type Problem struct {
	Rule    string
	File    string
	Doc     int
	Line    int // line of the problem (absolute in File)
	ObjLine int // line where the object starts, when known
	Field   string
	Message string
	// Kind and Name identify the object when it could be read far enough.
	Kind, Name, Namespace, APIVersion string
}

// Result is what a Parse or Load produced.
type Result struct {
	Objects  []*Object
	Problems []Problem
	// Files lists the files read, in order.
	Files []string
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// tabWidths are tried in order to read a document indented with tabs; 4 is the most common editor
// setting, then 8 (the terminal default) and 2.
var tabWidths = []int{4, 8, 2}

// fastPathEnabled lets tests turn the fast path off, to compare the results of the general parser
// alone with those of both.
var fastPathEnabled = true

// nullTag is the resolved tag of a null scalar ("null", "~", an empty value).
const nullTag = "!!null"

// ParseDocument parses one document of a stream into the objects it holds (one, the items of a
// List, or none for a null or empty document) and the problems found. It never panics.
func ParseDocument(d Document) (objs []*Object, probs []Problem) {
	objs, probs = parseDocument(d.File, d.Index, d.c)
	for _, o := range objs {
		if d.origins != nil {
			d.origins.locate(d.Index, o)
		}
		if o.src != nil {
			if d.path == "" {
				o.src = nil // not a file it can be read from again
			} else {
				o.src.path = d.path
			}
		}
	}
	return objs, probs
}

//nolint:funlen // one document from raw chunk to objects: the panic guard, the fast path and the YAML fallback share the named results
func parseDocument(file string, docIndex int, c chunk) (objs []*Object, probs []Problem) {
	defer func() {
		// the YAML library has panicked on hostile input before; a panic must never escape
		if r := recover(); r != nil {
			objs = nil
			probs = append(probs, Problem{Rule: RuleYAMLSyntax, File: file, Doc: docIndex, Line: c.line,
				Message: fmt.Sprintf("the YAML parser failed on this document: %v", r)})
		}
	}()
	if c.problem != "" {
		return nil, []Problem{{Rule: RuleYAMLSyntax, File: file, Doc: docIndex, Line: c.line, Message: c.problem}}
	}
	if isBlank(c.text) {
		return nil, nil
	}
	text := c.text
	if fastPathEnabled && !isJSONish(text) {
		if o, probs, ok := fastObject(file, docIndex, c); ok {
			if o == nil {
				return nil, probs
			}
			return []*Object{o}, probs
		}
	}
	if isJSONish(text) {
		// tabs are plain whitespace in JSON; YAML would refuse them as indentation
		text = bytes.ReplaceAll(text, []byte("\t"), []byte(" "))
	}
	var doc yaml.Node
	err := yaml.Unmarshal(text, &doc)
	tabWidth := 0
	if err != nil {
		p := syntaxProblem(file, docIndex, c, err)
		if tabs := leadingTabLines(text); len(tabs) > 0 {
			for _, w := range tabWidths {
				expanded := expandLeadingTabs(text, w)
				var d2 yaml.Node
				if yaml.Unmarshal(expanded, &d2) == nil {
					text, doc, tabWidth, err = expanded, d2, w, nil
					break
				}
			}
			p = tabProblem(file, docIndex, c, tabs, tabWidth, p)
		}
		probs = append(probs, p)
		if err != nil {
			return nil, probs
		}
	}
	if len(doc.Content) == 0 {
		return nil, probs
	}
	root := doc.Content[0]
	for root.Kind == yaml.AliasNode && root.Alias != nil {
		root = root.Alias
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == nullTag {
		return nil, probs // "null", "~" or an empty document: kubectl skips it
	}
	if tabWidth > 0 && len(probs) > 0 { // name the object the recovered document holds
		p := &probs[len(probs)-1]
		p.Kind, _ = scalarAt(root, "kind")
		p.APIVersion, _ = scalarAt(root, "apiVersion")
		p.Name, _ = scalarAt(root, "metadata", "name")
		p.Namespace, _ = scalarAt(root, "metadata", "namespace")
		p.ObjLine = c.line + root.Line - 1
	}
	if root.Kind == yaml.ScalarNode && c.afterJSON {
		probs = append(probs, Problem{Rule: RuleYAMLSyntax, File: file, Doc: docIndex, Line: c.line + root.Line - 1,
			Message: "text after the JSON value is neither JSON nor a YAML object; kubectl rejects the stream here"})
		return nil, probs
	}
	if root.Kind != yaml.MappingNode {
		probs = append(probs, Problem{Rule: RuleInvalidDocument, File: file, Doc: docIndex, Line: c.line + root.Line - 1,
			Message: fmt.Sprintf("document is a %s, not a Kubernetes object (a mapping with apiVersion and kind)", kindName(root.Kind))})
		return nil, probs
	}
	kind, _ := scalarAt(root, "kind")
	if isListKind(kind) {
		items := lookupKey(root, "items")
		if items != nil && items.Kind == yaml.SequenceNode {
			own := itemTexts(text, root, items)
			if own == nil && isJSONish(text) {
				own = jsonItemTexts(text, len(items.Content))
			}
			var whole *fileText // the items without their own text share the document's
			if own == nil {
				whole = docText(c, tabWidth)
			}
			for i, it := range items.Content {
				o, ps := newObject(file, docIndex, c, text, tabWidth, it, i)
				probs = append(probs, ps...)
				if o != nil {
					o.src = whole
					if own != nil {
						it := own[i]
						o.text, o.textLine, o.item = it.text, c.line+it.line-1, -1
						o.src = nil
						if !isJSONish(c.text) && tabWidth == 0 { // the item's bytes are the file's
							o.src = &fileText{off: c.off + int64(it.start), n: len(it.text), crc: crc32.ChecksumIEEE(c.text[it.start : it.start+len(it.text)]), dash: it.dash}
						}
					}
					objs = append(objs, o)
				}
			}
			return objs, probs
		}
	}
	o, ps := newObject(file, docIndex, c, text, tabWidth, root, -1)
	probs = append(probs, ps...)
	if o != nil {
		o.src = docText(c, tabWidth)
		objs = append(objs, o)
	}
	return objs, probs
}

// itemText is the text of one item of a List: its own lines, the sequence indicator blanked.
type itemText struct {
	text  []byte
	line  int // line of the item's first line in the document
	start int // offset of text in the document
	dash  int // offset in text of the "-" replaced by a space
}

// itemTexts cuts the lines of each item of a block-style List (as `kubectl get -o yaml` writes
// them) out of the document, so that an item is read again (for the line of a field, or its JSON)
// without parsing the whole List: a List of thousands of objects would otherwise be parsed once per
// item. Each item's text is its lines, from the line of its "- " to the line before the next item
// (or before the next key of the List), with the "-" replaced by a space: the same mapping at the
// same lines. It returns nil when that does not hold for every item (flow style, an item not
// starting on its "- " line, several items on one line) or when the document uses anchors,
// aliases, tags or merge keys, which an item could share with another part of the document.
func itemTexts(text []byte, root, items *yaml.Node) []itemText {
	if items.Style&yaml.FlowStyle != 0 || len(items.Content) == 0 || bytes.ContainsAny(text, "&*!") || bytes.Contains(text, []byte("<<")) {
		return nil
	}
	starts := []int{0} // byte offset of each line (0-based index = line-1)
	for i, b := range text {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	lineEnd := func(l int) int { // offset after line l (1-based), or len(text)
		if l < len(starts) {
			return starts[l]
		}
		return len(text)
	}
	last := items.Content[len(items.Content)-1].Line
	end := len(starts) + 1 // the line after the last item's text
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Line > last && k.Line < end {
			end = k.Line
		}
	}
	out := make([]itemText, len(items.Content))
	prev := 0
	for i, it := range items.Content {
		if it.Kind != yaml.MappingNode || it.Line <= prev || it.Line > len(starts) {
			return nil
		}
		prev = it.Line
		ls := starts[it.Line-1]
		col := it.Column - 1 // bytes before the item's first key on its line: spaces, "-", spaces
		if ls+col > len(text) {
			return nil
		}
		lead := text[ls : ls+col]
		dash := bytes.IndexByte(lead, '-')
		if dash < 0 || len(bytes.Trim(lead, " ")) != 1 {
			return nil
		}
		next := end
		if i+1 < len(items.Content) {
			next = items.Content[i+1].Line
		}
		if next <= it.Line {
			return nil
		}
		t := append([]byte(nil), text[ls:lineEnd(next-1)]...)
		t[dash] = ' '
		out[i] = itemText{text: t, line: it.Line, start: ls, dash: dash}
	}
	return out
}

// docText describes where in its file the text of a document's object comes from: the
// document's bytes, with its tabs replaced as reading it did.
func docText(c chunk, tabWidth int) *fileText {
	t := &fileText{off: c.off, n: len(c.text), crc: crc32.ChecksumIEEE(c.text), dash: -1}
	switch {
	case isJSONish(c.text):
		t.jsonTabs = true
	case tabWidth > 0:
		t.tabWidth = tabWidth
	}
	return t
}

func isListKind(kind string) bool {
	return kind == "List" || (strings.HasSuffix(kind, "List") && len(kind) > 4)
}

func isJSONish(text []byte) bool {
	for _, c := range text {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

func newObject(file string, docIndex int, c chunk, text []byte, tabWidth int, n *yaml.Node, item int) (*Object, []Problem) {
	line := c.line + n.Line - 1
	if n.Kind != yaml.MappingNode {
		return nil, []Problem{{Rule: RuleInvalidDocument, File: file, Doc: docIndex, Line: line,
			Message: fmt.Sprintf("list item %d is a %s, not a Kubernetes object", item+1, kindName(n.Kind))}}
	}
	o := &Object{File: file, Doc: docIndex, Line: line, TabWidth: tabWidth, text: text, textLine: c.line, item: item}
	if item >= 0 {
		o.Item = item + 1
	}
	o.APIVersion, _ = scalarAt(n, "apiVersion")
	o.Kind, _ = scalarAt(n, "kind")
	o.Name, _ = scalarAt(n, "metadata", "name")
	if o.Name == "" {
		if gn, _ := scalarAt(n, "metadata", "generateName"); gn != "" {
			o.Name = gn + "*"
		}
	}
	o.Namespace, _ = scalarAt(n, "metadata", "namespace")
	var probs []Problem
	e := encoder{}
	if err := e.encode(n, "", 0); err != nil {
		return nil, append(probs, Problem{Rule: RuleYAMLSyntax, File: file, Doc: docIndex, Line: line, ObjLine: line,
			Kind: o.Kind, Name: o.Name, Namespace: o.Namespace, APIVersion: o.APIVersion, Message: err.Error()})
	}
	o.JSON = e.buf
	e.fillDupPaths(n)
	for _, d := range e.dups {
		probs = append(probs, Problem{Rule: RuleDuplicateKey, File: file, Doc: docIndex, Line: c.line + d.line - 1, ObjLine: line,
			Field: d.path, Kind: o.Kind, Name: o.Name, Namespace: o.Namespace, APIVersion: o.APIVersion,
			Message: fmt.Sprintf("key %q is set twice (first on line %d); Kubernetes keeps only the last value", d.key, c.line+d.first-1)})
	}
	if p, missing := checkTypeMeta(o); missing {
		return nil, append(probs, p)
	}
	return o, probs
}

// checkTypeMeta reports an object without apiVersion or kind.
func checkTypeMeta(o *Object) (Problem, bool) {
	var missing []string
	if o.APIVersion == "" {
		missing = append(missing, "apiVersion")
	}
	if o.Kind == "" {
		missing = append(missing, "kind")
	}
	if len(missing) == 0 {
		return Problem{}, false
	}
	return Problem{Rule: RuleMissingTypeMeta, File: o.File, Doc: o.Doc, Line: o.Line, ObjLine: o.Line,
		Name: o.Name, Namespace: o.Namespace, Kind: o.Kind, APIVersion: o.APIVersion,
		Message: fmt.Sprintf("object has no %s; every manifest needs apiVersion and kind (for example apiVersion: v1, kind: Service)", strings.Join(missing, " and "))}, true
}

// fastObject reads a document with the fast path; ok is false when the general parser must.
func fastObject(file string, docIndex int, c chunk) (*Object, []Problem, bool) {
	root, ok := fastParse(c.text)
	if !ok || root.kind != 'm' || isListKind(root.str("kind")) {
		return nil, nil, false
	}
	o := &Object{File: file, Doc: docIndex, Line: c.line + root.line - 1, text: c.text, textLine: c.line, item: -1, src: docText(c, 0),
		APIVersion: root.str("apiVersion"), Kind: root.str("kind"), Name: root.str("metadata", "name"), Namespace: root.str("metadata", "namespace")}
	if o.Name == "" {
		if gn := root.str("metadata", "generateName"); gn != "" {
			o.Name = gn + "*"
		}
	}
	o.JSON = root.emit(make([]byte, 0, len(c.text)))
	if p, missing := checkTypeMeta(o); missing {
		return nil, []Problem{p}, true
	}
	return o, nil, true
}

func syntaxProblem(file string, docIndex int, c chunk, err error) Problem {
	msg := err.Error()
	line := c.line
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		msg = m[2]
		// the YAML library numbers scanner errors from 1 but parser errors ("did not find
		// expected ...") from 0, at the line where the unfinished construct started
		if strings.HasPrefix(msg, "did not find expected") {
			n++
			n = firstFailingLine(c.text, n)
		}
		line = c.line + n - 1
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if isReaderError(msg) {
		// the library names no line (or the line where an enclosing construct started) for a
		// character it cannot read: find that character
		if off, ok := badCharOffset(c.text); ok {
			ls := bytes.LastIndexByte(c.text[:off], '\n') + 1
			line = c.line + bytes.Count(c.text[:off], []byte("\n"))
			what := fmt.Sprintf("byte 0x%02X", c.text[off])
			if r, size := utf8.DecodeRune(c.text[off:]); size > 1 || r < utf8.RuneSelf {
				what = fmt.Sprintf("character U+%04X", r)
			}
			msg += fmt.Sprintf(" (%s in column %d)", what, utf8.RuneCount(c.text[ls:off])+1)
		}
	}
	return Problem{Rule: RuleYAMLSyntax, File: file, Doc: docIndex, Line: line, Message: msg + syntaxHint(msg)}
}

// readerErrors are the errors of the YAML library's reader: the input holds a byte sequence that
// is not UTF-8 or a character YAML does not allow.
var readerErrors = []string{
	"invalid leading UTF-8 octet", "incomplete UTF-8 octet sequence", "invalid trailing UTF-8 octet",
	"invalid length of a UTF-8 sequence", "invalid Unicode character", "control characters are not allowed",
}

// isReaderError reports whether a YAML error message is one of readerErrors.
func isReaderError(msg string) bool {
	for _, r := range readerErrors {
		if strings.HasPrefix(msg, r) {
			return true
		}
	}
	return false
}

// badCharOffset returns the offset of the first character the YAML reader refuses in a UTF-8
// document: an invalid or incomplete UTF-8 sequence, or a character outside YAML's printable set.
// ok is false when there is none, or when the document is UTF-16 (it starts with that byte order
// mark), whose offsets this does not follow.
func badCharOffset(doc []byte) (off int, ok bool) {
	if bytes.HasPrefix(doc, []byte{0xFE, 0xFF}) || bytes.HasPrefix(doc, []byte{0xFF, 0xFE}) {
		return 0, false
	}
	for i := 0; i < len(doc); {
		c := doc[i]
		if c < utf8.RuneSelf {
			if c == '\t' || c == '\n' || c == '\r' || c >= 0x20 && c < 0x7F {
				i++
				continue
			}
			return i, true
		}
		r, size := utf8.DecodeRune(doc[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return i, true
		case r == 0x85, r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
			i += size
		default:
			return i, true
		}
	}
	return 0, false
}

// firstFailingLine narrows a parser error down to the line that breaks the document: the YAML
// library reports where the unfinished block or flow started (from), not the offending line. The
// shortest prefix of the document (in whole lines, from that line on) that no longer parses ends
// with the offending line. Long documents keep the reported line.
func firstFailingLine(doc []byte, from int) int {
	lines := bytes.SplitAfter(doc, []byte("\n"))
	if len(lines) > 2000 || from < 1 {
		return from
	}
	var prefix []byte
	for i, l := range lines {
		prefix = append(prefix, l...)
		if i+1 < from {
			continue
		}
		var n yaml.Node
		if yaml.Unmarshal(prefix, &n) != nil {
			return i + 1
		}
	}
	return from
}

func syntaxHint(msg string) string {
	switch {
	case strings.Contains(msg, "mapping values are not allowed"):
		return " (a value contains \": \": quote the value, or check the indentation of this line)"
	case strings.Contains(msg, "did not find expected key"), strings.Contains(msg, "did not find expected '-' indicator"):
		return " (check that this line is indented like its siblings)"
	case strings.Contains(msg, "found character that cannot start any token"):
		return " (values starting with @ or ` must be quoted)"
	case strings.Contains(msg, "did not find expected ',' or ']'"), strings.Contains(msg, "did not find expected ',' or '}'"):
		return " (a flow sequence or mapping is not closed)"
	case strings.Contains(msg, "could not find expected ':'"):
		return " (a key is missing its \": \" or a multi-line value is not indented)"
	case strings.Contains(msg, "UTF-8"), strings.Contains(msg, "invalid Unicode character"):
		return " (the file is not UTF-8: convert it, for example with iconv -f latin1 -t utf-8, or remove the byte)"
	case strings.Contains(msg, "control characters are not allowed"):
		return " (remove the character, or write it as an escape such as \\u0007 in a double-quoted string)"
	}
	return ""
}

func tabProblem(file string, docIndex int, c chunk, tabs []int, width int, syntax Problem) Problem {
	abs := make([]string, 0, len(tabs))
	for i, t := range tabs {
		if i == 6 {
			abs = append(abs, fmt.Sprintf("and %d more", len(tabs)-6))
			break
		}
		abs = append(abs, strconv.Itoa(c.line+t-1))
	}
	what := "line"
	if len(tabs) > 1 {
		what = "lines"
	}
	msg := fmt.Sprintf("tab characters used for indentation on %s %s: YAML allows only spaces there, so kubectl rejects this document; replace each tab with spaces",
		what, strings.Join(abs, ", "))
	if width > 0 {
		msg += fmt.Sprintf(" (the rest of the document was checked as if each tab were %d spaces)", width)
	} else {
		msg += "; even with tabs expanded the document does not parse: " + syntax.Message
	}
	return Problem{Rule: RuleYAMLTabs, File: file, Doc: docIndex, Line: c.line + tabs[0] - 1, Message: msg}
}
