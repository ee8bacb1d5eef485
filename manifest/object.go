package manifest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Object is one Kubernetes object read from a manifest, with where it came from.
type Object struct {
	// File is the path as given ("<stdin>" for standard input, or the --stdin-filename; for a
	// rendered kustomization the source file the object came from, or "<kustomize DIR>" when it
	// cannot be told).
	File string
	// Doc is the 1-based index of the YAML document in File.
	Doc int
	// Item is the 1-based index inside a `kind: List` document, 0 otherwise.
	Item int
	// Line is the 1-based line in File where the object starts.
	Line int

	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	// JSON is the object converted to JSON with Kubernetes' YAML scalar rules. A consumer that
	// has decoded it may drop it (set it to nil): ReadJSON derives it again from the text.
	JSON []byte
	// TabWidth is set when the document used tabs for indentation and was read by expanding them
	// to this many spaces (a Problem reports the tabs).
	TabWidth int

	text     []byte // document text, tabs already expanded (a List item's own lines when it has them)
	textLine int    // line in File of text's first line
	item     int    // index in items[] of a List whose whole text is text, -1 otherwise
	// pos, when set, is the text positions point into instead of text: the source file of an
	// object a kustomization rendered
	pos *position
	// src, when set, is where text is in its file (ReleaseText)
	src *fileText
}

// position is text that positions point into.
type position struct {
	text     []byte
	textLine int
	item     int
}

// parseTree parses text with the fast path when it applies, nil when it does not (a List item
// without its own text, a document read with tabs expanded, JSON, YAML outside the fast path's
// subset). Nothing is cached: an object kept for later checks costs only its text, and only
// objects with findings pay for parsing again.
func parseTree(text []byte, item int, tabbed bool) *fnode {
	if fastPathEnabled && item < 0 && !tabbed {
		if root, ok := fastParse(text); ok && root.kind == 'm' {
			return root
		}
	}
	return nil
}

// yamlTree parses text with the general parser and returns the object's node.
func yamlTree(text []byte, item int) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil || len(doc.Content) == 0 {
		return nil
	}
	n := doc.Content[0]
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if item >= 0 {
		items := lookupKey(n, "items")
		if items == nil || items.Kind != yaml.SequenceNode || item >= len(items.Content) {
			return nil
		}
		n = items.Content[item]
	}
	return n
}

// FieldLine returns the line in File of the field at path (for example
// "spec.ports[0].targetPort" or "metadata.labels[app.kubernetes.io/name]"). When the field is
// absent it returns the line of its nearest present ancestor and exact=false; 0 when unknown.
func (o *Object) FieldLine(path string) (line int, exact bool) {
	text, textLine, item := o.text, o.textLine, o.item
	tabbed := o.TabWidth > 0
	if o.pos != nil {
		text, textLine, item, tabbed = o.pos.text, o.pos.textLine, o.pos.item, false
	} else if text == nil {
		var err error
		if text, err = o.textBytes(); err != nil {
			return o.Line, path == ""
		}
	}
	if root := parseTree(text, item, tabbed); root != nil {
		line, exact = root.fieldLine(ParsePath(path))
		return line + textLine - 1, exact
	}
	n := yamlTree(text, item)
	if n == nil {
		return o.Line, path == ""
	}
	line, exact = nodeFieldLine(n, ParsePath(path))
	return line + textLine - 1, exact
}

// ReadJSON converts the object's text to JSON again, exactly as reading it did: for a consumer
// that dropped JSON after decoding it and needs the object once more.
func (o *Object) ReadJSON() ([]byte, error) {
	if o.JSON != nil {
		return o.JSON, nil
	}
	text, err := o.textBytes()
	if err != nil {
		return nil, err
	}
	if fastPathEnabled && o.item < 0 && o.TabWidth == 0 && !isJSONish(text) {
		if root, ok := fastParse(text); ok && root.kind == 'm' && !isListKind(root.str("kind")) {
			return root.emit(make([]byte, 0, len(text))), nil
		}
	}
	n := yamlTree(text, o.item)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the object cannot be read again", o.File, o.Line)
	}
	e := encoder{}
	if err := e.encode(n, "", 0); err != nil {
		return nil, err
	}
	return e.buf, nil
}

// nodeFieldLine walks a field path in the general parser's tree: the line of the last key found,
// and whether the whole path was.
func nodeFieldLine(n *yaml.Node, segs []string) (line int, exact bool) {
	line = n.Line
	for _, seg := range segs {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			if k := lookupKeyNode(n, seg); k != nil {
				line = k.Line
				next = lookupKey(n, seg)
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		}
		if next == nil {
			return line, false
		}
		n = next
	}
	return line, true
}

// ParsePath splits a field path into its segments: names, [index] and [key] parts.
func ParsePath(path string) []string {
	var segs []string
	for i := 0; i < len(path); {
		switch path[i] {
		case '.':
			i++
		case '[':
			end := strings.IndexByte(path[i:], ']')
			if end < 0 {
				segs = append(segs, path[i+1:])
				return segs
			}
			segs = append(segs, path[i+1:i+end])
			i += end + 1
		default:
			j := i
			for j < len(path) && path[j] != '.' && path[j] != '[' {
				j++
			}
			segs = append(segs, path[i:j])
			i = j
		}
	}
	return segs
}

// lookupKeyNode returns the key node of key in mapping m; the last one when the key is
// duplicated, since that is the value Kubernetes keeps.
func lookupKeyNode(m *yaml.Node, key string) *yaml.Node {
	var k *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == key {
			k = m.Content[i]
		}
	}
	return k
}

func lookupKey(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var v *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == key {
			v = m.Content[i+1] // last one wins, as in the JSON conversion
		}
	}
	for v != nil && v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	return v
}

// scalarAt returns the string value of a scalar at a simple key path, "" when absent.
func scalarAt(n *yaml.Node, keys ...string) (string, *yaml.Node) {
	for _, k := range keys {
		n = lookupKey(n, k)
		if n == nil {
			return "", nil
		}
	}
	if n.Kind != yaml.ScalarNode {
		return "", n
	}
	return n.Value, n
}

// Value is one value of an object, located by a Patcher.
type Value struct {
	Path string // field path, e.g. spec.ports[0].port
	Line int    // line in the file
	JSON string // the value as JSON
	Text string // the scalar as written in YAML ("" for mappings and sequences)
	// Plain is set for a scalar written without quotes (its type comes from YAML's rules)
	Plain bool
	node  *yaml.Node
}

// Patcher keeps decoding going past type errors: it finds the value a JSON decoder choked on (by
// byte offset) and re-encodes the object with that value replaced by null.
type Patcher struct {
	o     *Object
	root  *yaml.Node
	spans []span
	// JSON is the current encoding of the object.
	JSON []byte
}

// NewPatcher parses the object again (its own copy, the cached node is not touched).
func (o *Object) NewPatcher() (*Patcher, bool) {
	text, err := o.textBytes()
	if err != nil {
		return nil, false
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil || len(doc.Content) == 0 {
		return nil, false
	}
	n := doc.Content[0]
	if o.item >= 0 {
		items := lookupKey(n, "items")
		if items == nil || items.Kind != yaml.SequenceNode || o.item >= len(items.Content) {
			return nil, false
		}
		n = items.Content[o.item]
	}
	p := &Patcher{o: o, root: n}
	return p, p.encode() == nil
}

func (p *Patcher) encode() error {
	e := encoder{track: true}
	if err := e.encode(p.root, "", 0); err != nil {
		return err
	}
	p.JSON, p.spans = e.buf, e.spans
	return nil
}

// At returns the innermost value whose JSON contains byte offset off (as reported by a decoder:
// "error occurred after reading off bytes").
func (p *Patcher) At(off int) (Value, bool) {
	best := -1
	for i, s := range p.spans {
		if s.start < off && off <= s.end && (best < 0 || s.end-s.start < p.spans[best].end-p.spans[best].start) {
			best = i
		}
	}
	if best < 0 {
		return Value{}, false
	}
	return p.value(p.spans[best]), true
}

func (p *Patcher) value(s span) Value {
	v := Value{Path: s.path, Line: s.line + p.o.textLine - 1, JSON: string(p.JSON[s.start:s.end]), node: s.node}
	if s.node != nil && s.node.Kind == yaml.ScalarNode {
		v.Text = s.node.Value
		v.Plain = s.node.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
	}
	return v
}

// Values lists every value of the object, each nested value before the one that holds it.
func (p *Patcher) Values() []Value {
	out := make([]Value, len(p.spans))
	for i, s := range p.spans {
		out[i] = p.value(s)
	}
	return out
}

// Without returns the object's JSON with v replaced by null; the patcher is left as it was.
func (p *Patcher) Without(v Value) []byte {
	if v.node == nil {
		return p.JSON
	}
	saved := *v.node
	*v.node = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: saved.Line, Column: saved.Column}
	e := encoder{}
	err := e.encode(p.root, "", 0)
	*v.node = saved
	if err != nil {
		return p.JSON
	}
	return e.buf
}

// Null replaces v with null and re-encodes the object.
func (p *Patcher) Null(v Value) error {
	if v.node == nil {
		return errors.New("value has no node")
	}
	*v.node = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: v.node.Line, Column: v.node.Column}
	return p.encode()
}
