package manifest

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

const (
	maxDepth = 256
	// maxNodes bounds the work done on one object, aliases included ("billion laughs").
	maxNodes = 1 << 21
)

var errTooLarge = errors.New("document expands to too many nodes (alias bomb?)")

// span records where a JSON value came from, kept only when an encoder tracks positions.
type span struct {
	start, end int
	line       int
	path       string
	node       *yaml.Node
}

// dupKey is a mapping key written twice.
type dupKey struct {
	key         string
	line, first int
	node        *yaml.Node // the key node, to find its path afterwards
	path        string
}

// encoder converts a yaml.Node tree to JSON the way Kubernetes' YAML reader would.
type encoder struct {
	buf   []byte
	nodes int
	dups  []dupKey
	track bool
	spans []span
}

func (e *encoder) encode(n *yaml.Node, path string, depth int) error {
	e.nodes++
	if e.nodes > maxNodes {
		return errTooLarge
	}
	if depth > maxDepth {
		return fmt.Errorf("line %d: nesting deeper than %d levels", n.Line, maxDepth)
	}
	start := len(e.buf)
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.encode(n.Content[0], path, depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return fmt.Errorf("line %d: unknown alias", n.Line)
		}
		if err := e.encode(n.Alias, path, depth+1); err != nil {
			return err
		}
	case yaml.MappingNode:
		if err := e.mapping(n, path, depth); err != nil {
			return err
		}
	case yaml.SequenceNode:
		e.buf = append(e.buf, '[')
		for i, c := range n.Content {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			var p string
			if e.track {
				p = path + "[" + strconv.Itoa(i) + "]"
			}
			if err := e.encode(c, p, depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
	case yaml.ScalarNode:
		e.scalar(n)
	default:
		return fmt.Errorf("line %d: unsupported YAML node", n.Line)
	}
	if e.track {
		e.spans = append(e.spans, span{start: start, end: len(e.buf), line: n.Line, path: path, node: n})
	}
	return nil
}

type kv struct{ k, v *yaml.Node }

// mapping writes a mapping, resolving merge keys ("<<") and recording duplicate keys.
func (e *encoder) mapping(n *yaml.Node, path string, depth int) error {
	pairs := make([]kv, 0, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style == 0 && (k.Tag == "" || k.Tag == "!!merge" || k.ShortTag() == "!!merge") {
			merges = append(merges, n.Content[i+1])
			continue
		}
		pairs = append(pairs, kv{k, n.Content[i+1]})
	}
	seen := make(map[string]int, len(pairs))
	keys := make([]string, len(pairs))
	for i, p := range pairs {
		key, err := keyString(p.k)
		if err != nil {
			return err
		}
		keys[i] = key
		if first, ok := seen[key]; ok {
			e.dups = append(e.dups, dupKey{key: key, line: p.k.Line, first: pairs[first].k.Line, node: p.k})
		}
		seen[key] = i
	}
	// merged keys never override explicit ones; earlier merges win over later ones
	for _, m := range merges {
		for _, src := range mergeSources(m) {
			for j := 0; j+1 < len(src.Content); j += 2 {
				key, err := keyString(src.Content[j])
				if err != nil {
					return err
				}
				if _, ok := seen[key]; ok {
					continue
				}
				seen[key] = len(pairs)
				pairs = append(pairs, kv{src.Content[j], src.Content[j+1]})
				keys = append(keys, key)
			}
		}
	}
	e.buf = append(e.buf, '{')
	first := true
	for i, p := range pairs {
		if seen[keys[i]] != i { // a duplicate: the last one wins, as in Kubernetes' reader
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = appendJSONString(e.buf, keys[i])
		e.buf = append(e.buf, ':')
		var cp string
		if e.track {
			cp = joinPath(path, keys[i])
		}
		if err := e.encode(p.v, cp, depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func mergeSources(n *yaml.Node) []*yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		return []*yaml.Node{n}
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, c := range n.Content {
			out = append(out, mergeSources(c)...)
		}
		return out
	}
	return nil
}

// joinPath appends a mapping key to a field path, bracketing keys that are not plain names.
func joinPath(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || r == '$' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			plain = false
			break
		}
	}
	if !plain {
		return path + "[" + key + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func keyString(k *yaml.Node) (string, error) {
	for k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("line %d: a mapping key must be a plain value, not a %s", k.Line, kindName(k.Kind))
	}
	return resolveScalar(k).text, nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	case yaml.DocumentNode:
		return "document"
	}
	return "node"
}

type scalarKind int

const (
	scalarString scalarKind = iota
	scalarNull
	scalarBool
	scalarInt
	scalarFloat
)

type scalar struct {
	kind scalarKind
	text string // JSON text for non-strings, the string itself for strings
}

var floatRE = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// resolveScalar applies YAML 1.1 resolution (what Kubernetes' YAML reader, a yaml.v2 fork, does)
// to plain scalars; quoted and block scalars are strings; explicit tags are honoured.
func resolveScalar(n *yaml.Node) scalar {
	tag := ""
	if n.Style&yaml.TaggedStyle != 0 {
		tag = n.ShortTag() // only an explicit tag counts; the parser fills Tag in with YAML 1.2 rules
	}
	q := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
	return resolveValue(n.Value, q, tag)
}

// resolveValue resolves a scalar's text: quoted (or block) scalars are strings unless explicitly
// tagged otherwise; plain ones follow YAML 1.1.
func resolveValue(v string, quoted bool, tag string) scalar {
	if quoted && (tag == "" || tag == "!!str" || tag == "!") {
		return scalar{scalarString, v}
	}
	switch tag {
	case "", "!!int", "!!float", "!!bool", "!!null":
		// resolve below
	case "!!str", "!!binary", "!!timestamp":
		return scalar{scalarString, v}
	default:
		if !strings.HasPrefix(tag, "tag:yaml.org,2002:") {
			return scalar{scalarString, v}
		}
	}
	switch v {
	case "", "~", "null", "Null", "NULL":
		return scalar{scalarNull, "null"}
	case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
		return scalar{scalarBool, "true"}
	case "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
		return scalar{scalarBool, "false"}
	case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN":
		return scalar{scalarString, v} // not representable in JSON; the typed decode reports it
	}
	c := v[0]
	if c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9') {
		plain := v
		if strings.IndexByte(v, '_') >= 0 {
			plain = strings.ReplaceAll(v, "_", "")
		}
		if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return scalar{scalarInt, strconv.FormatInt(i, 10)}
		}
		if u, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return scalar{scalarInt, strconv.FormatUint(u, 10)}
		}
		if floatRE.MatchString(plain) {
			if f, err := strconv.ParseFloat(plain, 64); err == nil && !math.IsInf(f, 0) {
				return scalar{scalarFloat, strconv.FormatFloat(f, 'g', -1, 64)}
			}
		}
	}
	return scalar{scalarString, v}
}

func (e *encoder) scalar(n *yaml.Node) {
	s := resolveScalar(n)
	if s.kind == scalarString {
		e.buf = appendJSONString(e.buf, s.text)
		return
	}
	e.buf = append(e.buf, s.text...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// fillDupPaths sets the field path of every duplicate key found under root.
func (e *encoder) fillDupPaths(root *yaml.Node) {
	if len(e.dups) == 0 {
		return
	}
	want := make(map[*yaml.Node]int, len(e.dups))
	for i, d := range e.dups {
		want[d.node] = i
	}
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		if depth > maxDepth {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				key, _ := keyString(k)
				p := joinPath(path, key)
				if j, ok := want[k]; ok {
					e.dups[j].path = p
				}
				walk(n.Content[i+1], p, depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, path+"["+strconv.Itoa(i)+"]", depth+1)
			}
		}
	}
	walk(root, "", 0)
}
