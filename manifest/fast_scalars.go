package manifest

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// quoted parses a single- or double-quoted scalar that must close on the same line.
func quoted(c []byte) (string, []byte) {
	q := c[0]
	var b strings.Builder
	for j := 1; j < len(c); j++ {
		ch := c[j]
		if q == '\'' {
			if ch == '\'' {
				if j+1 < len(c) && c[j+1] == '\'' {
					b.WriteByte('\'')
					j++
					continue
				}
				return b.String(), c[j+1:]
			}
			b.WriteByte(ch)
			continue
		}
		switch ch {
		case '"':
			return b.String(), c[j+1:]
		case '\\':
			if j+1 >= len(c) {
				bail()
			}
			j++
			switch c[j] {
			case '\\', '"':
				b.WriteByte(c[j])
			case 'n':
				b.WriteByte('\n')
			case 't', '\t':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case ' ':
				b.WriteByte(' ')
			case 'x', 'u', 'U':
				width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c[j]]
				if j+width >= len(c) {
					bail()
				}
				v, err := strconv.ParseUint(string(c[j+1:j+1+width]), 16, 32)
				if err != nil || !utf8.ValidRune(rune(v)) {
					bail()
				}
				b.WriteRune(rune(v))
				j += width
			default:
				bail()
			}
		default:
			b.WriteByte(ch)
		}
	}
	bail() // not closed on this line
	return "", nil
}

// flow parses a flow sequence or mapping that closes on the same line.
func flow(c []byte) (*fnode, []byte) {
	open := c[0]
	n := &fnode{kind: 's'}
	closeCh := byte(']')
	if open == '{' {
		n.kind, closeCh = 'm', '}'
	}
	seen := map[string]bool{}
	c = c[1:]
	for {
		c = bytes.TrimLeft(c, " ")
		if len(c) == 0 {
			bail()
		}
		if c[0] == closeCh {
			return n, c[1:]
		}
		if n.kind == 'm' {
			var k string
			k, c = flowScalarKey(c)
			if seen[k] {
				bail()
			}
			seen[k] = true
			c = bytes.TrimLeft(c, " ")
			if len(c) == 0 || c[0] != ':' {
				bail()
			}
			c = c[1:]
			var v *fnode
			v, c = flowValue(c)
			n.keys = append(n.keys, k)
			n.kline = append(n.kline, 0) // set by setFlowLines
			n.vals = append(n.vals, v)
		} else {
			var v *fnode
			v, c = flowValue(c)
			n.vals = append(n.vals, v)
		}
		c = bytes.TrimLeft(c, " ")
		if len(c) == 0 {
			bail()
		}
		switch c[0] {
		case ',':
			c = c[1:]
		case closeCh:
		default:
			bail()
		}
	}
}

func flowScalarKey(c []byte) (string, []byte) {
	if len(c) > maxSimpleKey-8 {
		bail()
	}
	if c[0] == '"' || c[0] == '\'' {
		return quoted(c)
	}
	end := 0
	for end < len(c) && c[end] != ',' && c[end] != '}' && c[end] != ']' && c[end] != '#' {
		if c[end] == ':' && (end+1 == len(c) || strings.IndexByte(" ,}]", c[end+1]) >= 0) {
			break // a ':' inside a plain key (as in a URL) does not end it
		}
		if strings.IndexByte("[{&*!|>%@`?:", c[end]) >= 0 && end == 0 || c[end] == '[' || c[end] == '{' {
			bail()
		}
		end++
	}
	k := strings.TrimRight(string(c[:end]), " ")
	if k == "" || k == "<<" {
		bail()
	}
	return resolvePlain(k).text, c[end:]
}

func flowValue(c []byte) (*fnode, []byte) {
	c = bytes.TrimLeft(c, " ")
	if len(c) == 0 {
		bail()
	}
	switch c[0] {
	case '[', '{':
		return flow(c)
	case '"', '\'':
		s, rest := quoted(c)
		return &fnode{kind: 'v', val: s}, rest
	case '&', '*', '!', '|', '>', '%', '@', '`', '?', '#', ':':
		bail()
	}
	end := 0
	for end < len(c) && c[end] != ',' && c[end] != '}' && c[end] != ']' {
		if c[end] == ':' && (end+1 == len(c) || c[end+1] == ' ' || c[end+1] == ',') {
			bail() // an implicit key inside a flow sequence
		}
		if c[end] == '#' && end > 0 && c[end-1] == ' ' {
			bail()
		}
		if c[end] == '[' || c[end] == '{' {
			bail()
		}
		end++
	}
	v := strings.TrimRight(string(c[:end]), " ")
	if v == "" {
		bail()
	}
	return &fnode{kind: 'v', val: v, plain: true}, c[end:]
}

// setFlowLines gives a flow collection, written on one line, that line everywhere.
func (n *fnode) setFlowLines(line int) {
	n.line = line
	for i := range n.kline {
		n.kline[i] = line
	}
	for _, v := range n.vals {
		v.setFlowLines(line)
	}
}

// fieldLine walks a field path; it mirrors Object.FieldLine on the general parser's tree.
func (n *fnode) fieldLine(segs []string) (line int, exact bool) {
	line = n.line
	for _, seg := range segs {
		var next *fnode
		switch n.kind {
		case 'm':
			for i, k := range n.keys {
				if k == seg {
					line, next = n.kline[i], n.vals[i]
				}
			}
		case 's':
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.vals) {
				next = n.vals[i]
				line = next.line
			}
		}
		if next == nil {
			return line, false
		}
		n = next
	}
	return line, true
}

// resolvePlain resolves an untagged plain scalar with YAML 1.1 rules.
func resolvePlain(v string) scalar {
	return resolveValue(v, false, "")
}

// emit writes n as JSON.
func (n *fnode) emit(b []byte) []byte {
	switch n.kind {
	case 'm':
		b = append(b, '{')
		for i, k := range n.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = n.vals[i].emit(b)
		}
		return append(b, '}')
	case 's':
		b = append(b, '[')
		for i, v := range n.vals {
			if i > 0 {
				b = append(b, ',')
			}
			b = v.emit(b)
		}
		return append(b, ']')
	}
	if !n.plain {
		return appendJSONString(b, n.val)
	}
	s := resolvePlain(n.val)
	if s.kind == scalarString {
		return appendJSONString(b, s.text)
	}
	return append(b, s.text...)
}

// get returns the value of key in mapping n.
func (n *fnode) get(key string) *fnode {
	if n == nil || n.kind != 'm' {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// str returns the scalar text at a key path, "" when absent or not a scalar.
func (n *fnode) str(keys ...string) string {
	for _, k := range keys {
		n = n.get(k)
	}
	if n == nil || n.kind != 'v' {
		return ""
	}
	return n.val
}
