package snapshot

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	sjson "sigs.k8s.io/json"

	"github.com/svc-doctor/svc-doctor/manifest"
)

var strictErrRE = regexp.MustCompile(`^(unknown|duplicate) field "(.*)"$`)

// into decodes the object's JSON into v (a pointer). Unknown fields (when strict) and values of
// the wrong type become issues; decoding goes on past a wrong value (it is treated as absent), so
// that one mistake does not hide the others. It returns false only when nothing usable was
// decoded. An object whose JSON was dropped after a first decode is read again from its text.
func (d *decoder) into(src *Source, v any, strict bool) bool {
	o := src.Manifest
	data := o.JSON
	if data == nil {
		var err error
		if data, err = o.ReadJSON(); err != nil {
			d.issue(RuleInvalidValue, src, "", "%s cannot be read: %v", src.Ref.Kind, err)
			return false
		}
	}
	var patcher *manifest.Patcher
	rt := reflect.TypeOf(v).Elem()
	decode := func(data []byte) ([]error, error) {
		reflect.ValueOf(v).Elem().Set(reflect.Zero(rt))
		if strict {
			return sjson.UnmarshalStrict(data, v)
		}
		return nil, sjson.UnmarshalCaseSensitivePreserveInts(data, v)
	}
	for attempt := 0; attempt < maxBadValues; attempt++ {
		strictErrs, err := decode(data)
		if err == nil {
			for _, se := range strictErrs {
				m := strictErrRE.FindStringSubmatch(se.Error())
				if m == nil {
					d.issue(RuleUnknownField, src, "", "%v", se)
					continue
				}
				if m[1] == "duplicate" {
					continue // reported as a duplicate YAML key already
				}
				d.issue(RuleUnknownField, src, m[2], "%s", unknownFieldMessage(rt, m[2]))
			}
			return true
		}
		if patcher == nil {
			var pok bool
			if patcher, pok = o.NewPatcher(); !pok {
				d.issue(RuleInvalidValue, src, "", "%s cannot be read: %v", src.Ref.Kind, err)
				return false
			}
		}
		val, msg, found := badValue(patcher, err, func(data []byte) error { _, err := decode(data); return err })
		if !found {
			d.issue(RuleInvalidValue, src, "", "%s cannot be read: %v", src.Ref.Kind, err)
			return false
		}
		d.issue(RuleInvalidValue, src, val.Path, "%s", msg)
		if patcher.Null(val) != nil {
			return false
		}
		data = patcher.JSON
	}
	d.issue(RuleInvalidValue, src, "", "%s has more than %d values that cannot be read; fix the ones reported and lint it again", src.Ref.Kind, maxBadValues)
	return false
}

// maxBadValues bounds how many wrong values of one object are reported (and worked around).
const maxBadValues = 16

// maxSearch bounds how many values are tried to find one the decoder rejected without saying
// where.
const maxSearch = 4096

// typeError is what the decoder's type error says (its type lives in an internal package, so its
// exported fields are read by reflection).
type typeError struct {
	off   int64
	typ   reflect.Type
	field string // the Go field path, e.g. spec.ports.targetPort
}

func asTypeError(err error) (typeError, bool) {
	rv := reflect.ValueOf(err)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct || rv.Elem().Type().Name() != "UnmarshalTypeError" {
		return typeError{}, false
	}
	e := rv.Elem()
	off, typ, field := e.FieldByName("Offset"), e.FieldByName("Type"), e.FieldByName("Field")
	if !off.IsValid() || !typ.IsValid() {
		return typeError{}, false
	}
	te := typeError{off: off.Int()}
	te.typ, _ = typ.Interface().(reflect.Type)
	if field.IsValid() && field.Kind() == reflect.String {
		te.field = field.String()
	}
	return te, true
}

// badValue finds the value a decode error is about and describes it. A type error gives a byte
// offset, but a type that decodes itself (IntOrString, Quantity, Time) counts it from the start
// of its own value: the value found must then be at the field the error names, or else the
// value of that field that does not decode into the type is the one. An error without a position
// (a Time or a Quantity that does not parse) is traced to the value whose removal makes it go away.
func badValue(p *manifest.Patcher, err error, decode func([]byte) error) (manifest.Value, string, bool) {
	if te, ok := asTypeError(err); ok {
		val, found := p.At(int(te.off))
		if found && (te.field == "" || fieldMatches(val.Path, te.field)) {
			return val, typeErrorMessage(val, te.typ), true
		}
		if te.field != "" && te.typ != nil {
			for _, val := range p.Values() {
				if fieldMatches(val.Path, te.field) && !decodesInto(val.JSON, te.typ) {
					return val, typeErrorMessage(val, te.typ), true
				}
			}
		}
	}
	// try the scalars first, those the message quotes before the others
	vals := p.Values()
	order := make([]manifest.Value, 0, len(vals))
	msg := err.Error()
	for _, v := range vals {
		if v.Text != "" && strings.Contains(msg, v.Text) {
			order = append(order, v)
		}
	}
	for _, v := range vals {
		if v.Text == "" || !strings.Contains(msg, v.Text) {
			order = append(order, v)
		}
	}
	for i, v := range order {
		if i >= maxSearch {
			break
		}
		if e := decode(p.Without(v)); e == nil || e.Error() != msg {
			return v, fmt.Sprintf("%s is %s, which cannot be read: %v", v.Path, describeValue(v), err), true
		}
	}
	return manifest.Value{}, "", false
}

// fieldMatches reports whether a field path (spec.ports[0].targetPort) is the Go field path a
// decoder names (spec.ports.targetPort), or a map entry below it.
func fieldMatches(path, field string) bool {
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		if path[i] == '[' {
			if j := strings.IndexByte(path[i:], ']'); j >= 0 {
				i += j
				continue
			}
		}
		b.WriteByte(path[i])
	}
	p := b.String()
	return p == field || strings.HasPrefix(p, field+".")
}

// decodesInto reports whether JSON text decodes into a value of type t.
func decodesInto(text string, t reflect.Type) bool {
	return json.Unmarshal([]byte(text), reflect.New(t).Interface()) == nil
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "base64 text"
		}
		return "a list"
	case reflect.Map, reflect.Struct:
		if t.Name() == "IntOrString" {
			return "a number or a name"
		}
		if t.Name() == "Quantity" {
			return "a quantity such as 100m or 1Gi"
		}
		return "a mapping"
	}
	return t.String()
}

// describeValue says what a value is: "a mapping", "the string \"80x\"", "the number 80.5"...
func describeValue(v manifest.Value) string {
	switch {
	case strings.HasPrefix(v.JSON, "{"):
		return "a mapping"
	case strings.HasPrefix(v.JSON, "["):
		return "a list"
	case strings.HasPrefix(v.JSON, "\""):
		return "the string " + v.JSON
	case v.JSON == "true" || v.JSON == "false":
		return "the boolean " + v.JSON
	case v.JSON == "null":
		return "null"
	case v.Plain && v.Text != "":
		return "the number " + v.Text
	}
	return "the number " + v.JSON
}

// integerRE matches an integer as YAML or JSON writes it.
var integerRE = regexp.MustCompile(`^[-+]?[0-9][0-9_]*$`)

// intRange describes the values an integer type holds.
func intRange(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		bits := t.Bits()
		return fmt.Sprintf("an integer from %d to %d", int64(-1)<<(bits-1), int64(1)<<(bits-1)-1)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		return fmt.Sprintf("an integer from 0 to %d", uint64(1)<<t.Bits()-1)
	}
	return "an integer"
}

func typeErrorMessage(v manifest.Value, t reflect.Type) string {
	want := ""
	if t != nil {
		want = describeType(t)
	}
	got := describeValue(v)
	if want == "an integer" && strings.HasPrefix(got, "the number ") {
		written := strings.TrimPrefix(got, "the number ")
		if integerRE.MatchString(written) {
			return fmt.Sprintf("%s is %s, which is out of range: it must be %s", v.Path, written, intRange(t))
		}
		return fmt.Sprintf("%s is %s, but it must be a whole number (an integer)", v.Path, got)
	}
	if strings.HasPrefix(v.JSON, "\"") && v.Plain && want == "an integer" {
		return fmt.Sprintf("%s is %s, which Kubernetes cannot read as a number (it reads it as text): it must be %s", v.Path, v.Text, intRange(t))
	}
	msg := fmt.Sprintf("%s is %s, but it must be %s", v.Path, got, want)
	if (v.JSON == "true" || v.JSON == "false") && v.Text != "" && v.Text != "true" && v.Text != "false" && want == "a string" {
		msg += fmt.Sprintf(" (Kubernetes reads an unquoted %s as a boolean: write \"%s\")", v.Text, v.Text)
	} else if strings.HasPrefix(v.JSON, "\"") && want == "an integer" {
		msg += " (remove the quotes)"
	} else if want == "a string" && v.Text != "" && !strings.HasPrefix(v.JSON, "\"") {
		msg += fmt.Sprintf(" (quote it: \"%s\")", v.Text)
	}
	return msg
}
