package manifest

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// The fast path converts the YAML that manifests are almost always written in (block mappings and
// sequences, plain, quoted and block scalars, single-line flow collections, comments) straight to
// JSON, several times faster than building the general YAML library's node tree. Anything outside
// that subset (anchors, aliases, tags, merge keys, complex keys, multi-line plain or quoted
// scalars, tabs, duplicate keys, odd indentation) makes it give up, and the document goes through
// the general parser instead, so the result is always the same: a differential test and a fuzz
// target compare the two on every input where the fast path answers.

// errFallback is returned when the document is outside the fast path's subset.
type fallback struct{}

// fnode is a parsed YAML value.
type fnode struct {
	kind  byte // 'm' mapping, 's' sequence, 'v' scalar
	line  int  // 1-based line within the document
	val   string
	plain bool // a plain (unquoted, non-block) scalar: resolved with YAML 1.1 rules
	keys  []string
	kline []int // line of each key (1-based within the document)
	vals  []*fnode
}

type fline struct {
	indent  int
	content []byte // from the first non-space character; comments not yet stripped
	blank   bool   // empty or comment only
}

type fparser struct {
	lines []fline
	i     int
	arena []fnode // nodes are carved from here, a chunk at a time
	// stacks collect a mapping's or sequence's entries while nested values are parsed; each
	// collection then copies its own entries out once, at their final size
	keyStack  []string
	lineStack []int
	valStack  []*fnode
	// noFinalNewline is set when the last line has no line break (it changes block scalars)
	noFinalNewline bool
}

// fastParse parses a document; ok is false when the document must go through the general parser.
func fastParse(doc []byte) (root *fnode, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, isFallback := r.(fallback); !isFallback {
				panic(r)
			}
			root, ok = nil, false
		}
	}()
	if !printable(doc) {
		bail()
	}
	p := &fparser{noFinalNewline: len(doc) > 0 && doc[len(doc)-1] != '\n'}
	p.lines = make([]fline, 0, bytes.Count(doc, []byte("\n"))+1)
	for len(doc) > 0 {
		end := bytes.IndexByte(doc, '\n')
		var l []byte
		if end < 0 {
			l, doc = doc, nil
		} else {
			l, doc = doc[:end], doc[end+1:]
		}
		l = bytes.TrimSuffix(l, []byte("\r"))
		n := 0
		for n < len(l) && l[n] == ' ' {
			n++
		}
		if n < len(l) && l[n] == '\t' {
			bail()
		}
		c := l[n:]
		p.lines = append(p.lines, fline{indent: n, content: c, blank: len(c) == 0 || c[0] == '#'})
	}
	// a leading document marker line (possibly with a comment) is allowed
	p.skipBlank()
	if p.i < len(p.lines) && bytes.HasPrefix(p.lines[p.i].content, []byte("---")) {
		rest := bytes.TrimSpace(p.lines[p.i].content[3:])
		if len(rest) > 0 && rest[0] != '#' || p.lines[p.i].indent != 0 {
			bail()
		}
		p.i++
	}
	p.skipBlank()
	if p.i >= len(p.lines) {
		bail() // empty documents are rare; let the general path decide
	}
	l := p.lines[p.i]
	if l.indent != 0 || l.content[0] == '-' || l.content[0] == '[' || l.content[0] == '{' || l.content[0] == '%' {
		bail()
	}
	root = p.block(0)
	p.skipBlank()
	if p.i < len(p.lines) {
		bail() // trailing content at a smaller indentation, a "..." marker, ...
	}
	return root, true
}

func bail() { panic(fallback{}) }

// newNode returns a node from the arena.
func (p *fparser) newNode(kind byte, line int) *fnode {
	if len(p.arena) == cap(p.arena) {
		// about one node per line; a full chunk is replaced, nodes already handed out stay valid
		p.arena = make([]fnode, 0, len(p.lines)+8)
	}
	p.arena = append(p.arena, fnode{kind: kind, line: line})
	return &p.arena[len(p.arena)-1]
}

// scalarNode returns a scalar node from the arena.
func (p *fparser) scalarNode(line int, val string, plain bool) *fnode {
	n := p.newNode('v', line)
	n.val, n.plain = val, plain
	return n
}

// printable reports whether doc holds only characters YAML accepts in a stream (and no byte order
// mark): anything else is left to the general parser, which reports it.
func printable(doc []byte) bool {
	for i := 0; i < len(doc); {
		c := doc[i]
		if c < utf8.RuneSelf {
			if c == '\r' && (i+1 >= len(doc) || doc[i+1] != '\n') {
				return false // a lone carriage return is a line break to YAML
			}
			// tabs are legal in places (separators, inside scalars) but trimmed and folded by rules
			// the fast path does not implement: documents with tabs take the general path
			if c >= 0x20 && c != 0x7f || c == '\n' || c == '\r' {
				i++
				continue
			}
			return false
		}
		r, size := utf8.DecodeRune(doc[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == 0xFEFF, r == 0x2028, r == 0x2029:
			return false // invalid, a byte order mark, or Unicode line breaks (YAML breaks lines there)
		case r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
		i += size
	}
	return true
}

func (p *fparser) skipBlank() {
	for p.i < len(p.lines) && p.lines[p.i].blank {
		p.i++
	}
}

func isSeqItem(c []byte) bool {
	return len(c) > 0 && c[0] == '-' && (len(c) == 1 || c[1] == ' ')
}

// block parses the mapping or sequence starting at the current line, at indentation ind.
func (p *fparser) block(ind int) *fnode {
	if isSeqItem(p.lines[p.i].content) {
		return p.seq(ind)
	}
	return p.mapping(ind)
}

func (p *fparser) mapping(ind int) *fnode {
	n := p.newNode('m', p.i+1)
	base, vbase := len(p.keyStack), len(p.valStack) // sequences use the value stack only
	defer func() {                                  // copy this mapping's entries out of the stacks, at their final size
		n.keys = append([]string(nil), p.keyStack[base:]...)
		n.kline = append([]int(nil), p.lineStack[base:]...)
		n.vals = append([]*fnode(nil), p.valStack[vbase:]...)
		p.keyStack, p.lineStack, p.valStack = p.keyStack[:base], p.lineStack[:base], p.valStack[:vbase]
	}()
	for {
		p.skipBlank()
		if p.i >= len(p.lines) {
			return n
		}
		l := p.lines[p.i]
		if l.indent < ind {
			return n
		}
		if l.indent > ind || isSeqItem(l.content) {
			bail()
		}
		key, rest := p.key(l.content)
		for _, k := range p.keyStack[base:] {
			if k == key {
				bail() // the general path reports duplicates
			}
		}
		line := p.i
		p.i++
		p.keyStack = append(p.keyStack, key)
		p.lineStack = append(p.lineStack, line+1)
		p.valStack = append(p.valStack, nil)
		slot := len(p.valStack) - 1
		v := p.value(rest, ind, line, true)
		p.valStack[slot] = v
	}
}

func (p *fparser) seq(ind int) *fnode {
	n := p.newNode('s', p.i+1)
	base := len(p.valStack)
	defer func() {
		n.vals = append([]*fnode(nil), p.valStack[base:]...)
		p.valStack = p.valStack[:base]
	}()
	for {
		p.skipBlank()
		if p.i >= len(p.lines) {
			return n
		}
		l := p.lines[p.i]
		if l.indent < ind {
			return n
		}
		if l.indent > ind || !isSeqItem(l.content) {
			if l.indent == ind && !isSeqItem(l.content) {
				return n // back to the keys of the mapping this sequence belongs to
			}
			bail()
		}
		rest := l.content[1:]
		spaces := 0
		for spaces < len(rest) && rest[spaces] == ' ' {
			spaces++
		}
		rest = rest[spaces:]
		if len(rest) > 0 && rest[0] != '#' && startsBlockInline(rest) {
			// "- key: value" or "- - x": a nested block that starts on this line
			p.lines[p.i] = fline{indent: ind + 1 + spaces, content: rest}
			p.valStack = append(p.valStack, nil)
			slot := len(p.valStack) - 1
			v := p.block(ind + 1 + spaces)
			p.valStack[slot] = v
			continue
		}
		line := p.i
		p.i++
		p.valStack = append(p.valStack, nil)
		slot := len(p.valStack) - 1
		v := p.value(rest, ind, line, false)
		p.valStack[slot] = v
	}
}

// startsBlockInline reports whether an item's content starts a nested block: a sequence item or a
// "key:" pair (a plain or quoted key followed by ": " or ":" at the end).
func startsBlockInline(c []byte) bool {
	if isSeqItem(c) {
		return true
	}
	switch c[0] {
	case '[', '{', '|', '>', '&', '*', '!', '%', '@', '`', '?', '#':
		return false
	case '"', '\'':
		q := c[0]
		for j := 1; j < len(c); j++ {
			if c[j] == '\\' && q == '"' {
				j++
				continue
			}
			if c[j] == q {
				if q == '\'' && j+1 < len(c) && c[j+1] == '\'' {
					j++
					continue
				}
				r := c[j+1:]
				return len(r) > 0 && r[0] == ':' && (len(r) == 1 || r[1] == ' ')
			}
		}
		return false
	}
	return keyColon(c) >= 0
}

// keyColon returns the index of the ':' that ends a plain key, or -1.
func keyColon(c []byte) int {
	for j := 0; j < len(c); j++ {
		switch c[j] {
		case ':':
			if j+1 == len(c) || c[j+1] == ' ' {
				return j
			}
		case '#':
			if j > 0 && c[j-1] == ' ' {
				return -1
			}
		}
	}
	return -1
}

// maxSimpleKey is YAML's limit on the length of an implicit key.
const maxSimpleKey = 1024

// key parses "key: rest" and returns the key and what follows the colon.
func (p *fparser) key(c []byte) (string, []byte) {
	if len(c) > maxSimpleKey-8 {
		if j := keyColon(c); j < 0 || j > maxSimpleKey-8 {
			bail() // possibly longer than YAML allows an implicit key: let the general parser decide
		}
		if c[0] == '"' || c[0] == '\'' {
			bail()
		}
	}
	switch c[0] {
	case '"', '\'':
		s, rest := quoted(c)
		rest = bytes.TrimLeft(rest, " ")
		if len(rest) == 0 || rest[0] != ':' || (len(rest) > 1 && rest[1] != ' ') {
			bail()
		}
		return s, rest[1:]
	case '[', '{', '|', '>', '&', '*', '!', '%', '@', '`', '?', '-', '#', ',', ']', '}':
		bail()
	}
	j := keyColon(c)
	if j <= 0 {
		bail()
	}
	k := bytes.TrimRight(c[:j], " ")
	if bytes.Equal(k, []byte("<<")) {
		bail() // merge key
	}
	return resolvePlain(string(k)).text, c[j+1:]
}

// value parses what follows "key:" or "- " on line (0-based) and the lines below it.
func (p *fparser) value(rest []byte, ind, line int, inMapping bool) *fnode {
	rest = bytes.TrimLeft(rest, " ")
	if len(rest) == 0 || rest[0] == '#' {
		p.skipBlank()
		if p.i < len(p.lines) {
			l := p.lines[p.i]
			if l.indent > ind {
				return p.block(l.indent)
			}
			if inMapping && l.indent == ind && isSeqItem(l.content) {
				return p.seq(ind) // "key:" followed by "- item" at the same indentation
			}
		}
		return p.scalarNode(line+1, "", true) // an empty value, as the general parser reads it: null
	}
	var n *fnode
	switch rest[0] {
	case '|', '>':
		return p.blockScalar(rest, ind, line)
	case '"', '\'':
		s, after := quoted(rest)
		n = p.scalarNode(line+1, s, false)
		rest = after
	case '[', '{':
		var after []byte
		n, after = flow(rest)
		n.setFlowLines(line + 1)
		rest = after
	case '&', '*', '!', '%', '@', '`', '?', ',', ']', '}':
		bail()
	default:
		end := len(rest)
		for j := 0; j < len(rest); j++ {
			if rest[j] == '#' && j > 0 && rest[j-1] == ' ' {
				end = j
				break
			}
			if rest[j] == ':' && (j+1 == len(rest) || rest[j+1] == ' ') {
				bail() // "a: b: c" is an error for the general parser to report
			}
		}
		v := bytes.TrimRight(rest[:end], " ")
		if len(v) > 0 && v[0] == '-' && (len(v) == 1 || v[1] == ' ') {
			bail()
		}
		n = p.scalarNode(line+1, string(v), true)
		rest = nil
	}
	rest = bytes.TrimLeft(rest, " ")
	if len(rest) > 0 && rest[0] != '#' {
		bail()
	}
	// a more-indented line after a scalar would continue it (multi-line scalar): not handled here
	p.skipBlank()
	if p.i < len(p.lines) && p.lines[p.i].indent > ind && n.kind == 'v' {
		bail()
	}
	return n
}

// blockScalar parses a literal (|) or folded (>) block scalar whose header is on line.
func (p *fparser) blockScalar(header []byte, ind, line int) *fnode {
	style := header[0]
	h := header[1:]
	chomp := byte(0)
	if len(h) > 0 && (h[0] == '-' || h[0] == '+') {
		chomp, h = h[0], h[1:]
	}
	h = bytes.TrimLeft(h, " ")
	if len(h) > 0 && h[0] != '#' {
		bail() // indentation indicators and anything else
	}
	// the content: every following line more indented than ind, or empty
	start := p.i
	blockInd := -1
	var raw [][]byte
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		empty := len(l.content) == 0
		if !empty && l.indent <= ind {
			break
		}
		if !empty && blockInd < 0 {
			blockInd = l.indent
		}
		if !empty && l.indent < blockInd || empty && l.indent > 0 && (blockInd < 0 || l.indent > blockInd) {
			bail() // less-indented content, or a spaces-only line with significant spaces
		}
		if empty {
			raw = append(raw, nil)
		} else {
			raw = append(raw, append(bytes.Repeat([]byte(" "), l.indent-blockInd), l.content...))
		}
		p.i++
	}
	// trailing empty lines belong to the chomping, not to the content
	last := len(raw)
	for last > 0 && raw[last-1] == nil {
		last--
	}
	trailing := len(raw) - last
	body := raw[:last]
	if p.noFinalNewline && start+len(raw) == len(p.lines) {
		bail() // the block ends the document without a line break: chomping differs
	}
	var b strings.Builder
	if style == '|' {
		for i, l := range body {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.Write(l)
		}
	} else {
		for i, l := range body {
			if len(l) > 0 && l[0] == ' ' {
				bail() // more-indented lines in a folded scalar keep their breaks: general path
			}
			if i > 0 {
				if len(l) == 0 || len(body[i-1]) == 0 {
					b.WriteByte('\n')
				} else {
					b.WriteByte(' ')
				}
			}
			b.Write(l)
		}
		if strings.Contains(b.String(), "\n") {
			bail() // folding across empty lines has subtle rules: general path
		}
	}
	s := b.String()
	switch chomp {
	case '-':
	case '+':
		if len(body) > 0 {
			s += "\n" + strings.Repeat("\n", trailing)
		} else {
			s += strings.Repeat("\n", trailing)
		}
	default:
		if len(body) > 0 {
			s += "\n"
		}
	}
	if len(body) == 0 && chomp == '+' {
		bail()
	}
	return p.scalarNode(line+1, s, false)
}
