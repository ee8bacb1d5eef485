package gateway

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// This file derives request -> expected backend or status cases from the Go sources of the
// Gateway API conformance suite (conformance/tests/httproute-*.go). It does not import the suite:
// it parses the test files with go/parser and interprets the small subset of Go the tests use to
// build their expectations (assignments, composite literals, append, range loops over slices,
// if/switch on values it can compute, t.Run closures), recording every
// http.MakeRequestAndExpectEventuallyConsistentResponse and
// tls.MakeTLSRequestAndExpectEventuallyConsistentResponse call with the Gateway whose address it
// is given. Anything it cannot compute is nil: a case whose Gateway or expectation depends on it
// is recorded as not derivable.

// confTest is one conformance test (a confsuite.ConformanceTest literal).
type confTest struct {
	File      string
	ShortName string
	Features  []string
	Manifests []string
	Cases     []confCase
}

// confCase is one request and what the suite expects of it, or (Condition set) one status
// condition the suite expects of a route or Gateway.
type confCase struct {
	Index int
	// Condition is "" for a request; Accepted or ResolvedRefs for a route condition (Route, on the
	// Gateway, with Status and Reason), NoAcceptedParents for a route, ZeroRoutes for a Gateway.
	Condition          string
	RouteNS, RouteName string
	Status             bool
	Reason             string
	// Gateway namespace/name and the listener names given to NewGatewayRef ("" when unknown).
	GatewayNS, GatewayName string
	Listeners              []string
	Scheme                 string // http or https
	SNI                    string
	// Expected is the http.ExpectedResponse literal as nested maps (field -> value).
	Expected map[string]any
	// Deleted lists the objects the test deleted before this request (Kind/namespace/name).
	Deleted []string
}

// gwAddrVal is the value of a gateway address variable: the Gateway and listeners it was built from.
type gwAddrVal struct {
	ns, name  string
	listeners []string
}

// gwRefVal is kubernetes.NewGatewayRef(nn, listeners...).
type gwRefVal gwAddrVal

// scope is a lexical scope of variables.
type scope struct {
	vars   map[string]any
	parent *scope
}

func (s *scope) get(name string) (any, bool) {
	for c := s; c != nil; c = c.parent {
		if v, ok := c.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

func (s *scope) set(name string, v any, define bool) {
	if !define {
		for c := s; c != nil; c = c.parent {
			if _, ok := c.vars[name]; ok {
				c.vars[name] = v
				return
			}
		}
	}
	s.vars[name] = v
}

func (s *scope) child() *scope { return &scope{vars: map[string]any{}, parent: s} }

// interp evaluates one test's function literal.
type interp struct {
	consts  map[string]any // exported constants of the suite's utility packages, by name
	cases   []confCase
	deleted []string
}

// typeKey is the map key under which a typed composite literal keeps its type name.
const typeKey = "__type"

// conversions are the type conversions the tests apply to values the interpreter knows.
var conversions = map[string]bool{"string": true, "int": true, "int32": true, "v1.Namespace": true,
	"v1.ObjectName": true, "v1.Hostname": true, "v1.SectionName": true, "v1.PortNumber": true}

// parseConformance reads every httproute-*.go test of the suite in dir (the conformance module);
// apiDir is the API module, whose condition type and reason constants the tests use.
func parseConformance(dir, apiDir string) ([]*confTest, error) {
	consts, err := readConsts(filepath.Join(dir, "utils"))
	if err != nil {
		return nil, err
	}
	apiConsts, err := readConsts(filepath.Join(apiDir, "apis", "v1"))
	if err != nil {
		return nil, err
	}
	for k, v := range apiConsts {
		consts[k] = v
	}
	consts["ConditionTrue"], consts["ConditionFalse"], consts["ConditionUnknown"] = "True", "False", "Unknown"
	files, err := filepath.Glob(filepath.Join(dir, "tests", "httproute-*.go"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	// every ConformanceTest literal by variable name: a test may reuse another one's Test function
	lits := map[string]*ast.CompositeLit{}
	type found struct {
		file string
		lit  *ast.CompositeLit
	}
	var tests []found
	for _, f := range files {
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			return nil, err
		}
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, v := range vs.Values {
					if cl, ok := v.(*ast.CompositeLit); ok && isSel(cl.Type, "ConformanceTest") {
						lits[vs.Names[i].Name] = cl
						tests = append(tests, found{filepath.Base(f), cl})
					}
				}
			}
		}
	}
	var out []*confTest
	for _, f := range tests {
		out = append(out, readTest(f.file, f.lit, lits, consts))
	}
	return out, nil
}

// readConsts collects the string and integer constants declared in the utility packages.
func readConsts(dir string) (map[string]any, error) {
	consts := map[string]any{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if v := basicValue(vs.Values[i]); v != nil {
							consts[name.Name] = v
						}
					}
				}
			}
		}
		return nil
	})
	return consts, err
}

func basicValue(e ast.Expr) any {
	bl, ok := e.(*ast.BasicLit)
	if !ok {
		return nil
	}
	switch bl.Kind {
	case token.STRING:
		s, err := strconv.Unquote(bl.Value)
		if err == nil {
			return s
		}
	case token.INT:
		n, err := strconv.Atoi(bl.Value)
		if err == nil {
			return n
		}
	}
	return nil
}

func isSel(e ast.Expr, name string) bool {
	se, ok := e.(*ast.SelectorExpr)
	return ok && se.Sel.Name == name
}

func readTest(file string, cl *ast.CompositeLit, lits map[string]*ast.CompositeLit, consts map[string]any) *confTest {
	t := &confTest{File: file}
	in := &interp{consts: consts}
	for _, el := range cl.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		switch kv.Key.(*ast.Ident).Name {
		case "ShortName":
			t.ShortName, _ = basicValue(kv.Value).(string)
		case "Features":
			for _, f := range kv.Value.(*ast.CompositeLit).Elts {
				if se, ok := f.(*ast.SelectorExpr); ok {
					t.Features = append(t.Features, se.Sel.Name)
				}
			}
		case "Manifests":
			for _, m := range kv.Value.(*ast.CompositeLit).Elts {
				if s, ok := basicValue(m).(string); ok {
					t.Manifests = append(t.Manifests, s)
				}
			}
		case "Test":
			if fl := testFunc(kv.Value, lits); fl != nil {
				in.block(fl.Body.List, &scope{vars: map[string]any{}})
			}
		}
	}
	for i := range in.cases {
		in.cases[i].Index = i
	}
	t.Cases = in.cases
	return t
}

// testFunc returns the function literal of a Test field: written there, or OtherTest.Test.
func testFunc(e ast.Expr, lits map[string]*ast.CompositeLit) *ast.FuncLit {
	switch e := e.(type) {
	case *ast.FuncLit:
		return e
	case *ast.SelectorExpr:
		id, ok := e.X.(*ast.Ident)
		if !ok || lits[id.Name] == nil || e.Sel.Name != "Test" {
			return nil
		}
		for _, el := range lits[id.Name].Elts {
			if kv, ok := el.(*ast.KeyValueExpr); ok && kv.Key.(*ast.Ident).Name == "Test" {
				return testFunc(kv.Value, nil)
			}
		}
	}
	return nil
}

func (in *interp) block(stmts []ast.Stmt, s *scope) {
	for _, st := range stmts {
		in.stmt(st, s)
	}
}

func (in *interp) stmt(st ast.Stmt, s *scope) {
	switch st := st.(type) {
	case *ast.AssignStmt:
		in.assign(st, s)
	case *ast.DeclStmt:
		gd, ok := st.Decl.(*ast.GenDecl)
		if !ok {
			return
		}
		for _, spec := range gd.Specs {
			if vs, ok := spec.(*ast.ValueSpec); ok {
				for i, n := range vs.Names {
					var v any = []any{} // var x []T: an empty slice to append to
					if i < len(vs.Values) {
						v = in.eval(vs.Values[i], s)
					}
					s.set(n.Name, v, true)
				}
			}
		}
	case *ast.ExprStmt:
		in.eval(st.X, s)
	case *ast.BlockStmt:
		in.block(st.List, s.child())
	case *ast.IfStmt:
		c := s.child()
		if st.Init != nil {
			in.stmt(st.Init, c)
		}
		// an undecidable condition runs neither branch
		if cond, ok := in.eval(st.Cond, c).(bool); ok && cond {
			in.block(st.Body.List, c.child())
		} else if ok && st.Else != nil {
			in.stmt(st.Else, c)
		}
	case *ast.SwitchStmt:
		in.switchStmt(st, s)
	case *ast.RangeStmt:
		in.rangeStmt(st, s)
	}
}

func (in *interp) assign(st *ast.AssignStmt, s *scope) {
	define := st.Tok == token.DEFINE
	if len(st.Lhs) != len(st.Rhs) {
		for _, l := range st.Lhs {
			if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
				s.set(id.Name, nil, define)
			}
		}
		return
	}
	for i, l := range st.Lhs {
		if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
			s.set(id.Name, in.eval(st.Rhs[i], s), define)
		}
	}
}

func (in *interp) switchStmt(st *ast.SwitchStmt, s *scope) {
	c := s.child()
	if st.Init != nil {
		in.stmt(st.Init, c)
	}
	tag := in.eval(st.Tag, c)
	if tag == nil {
		return
	}
	var def *ast.CaseClause
	for _, cc := range st.Body.List {
		clause := cc.(*ast.CaseClause)
		if clause.List == nil {
			def = clause
			continue
		}
		for _, e := range clause.List {
			if in.eval(e, c) == tag {
				in.block(clause.Body, c.child())
				return
			}
		}
	}
	if def != nil {
		in.block(def.Body, c.child())
	}
}

func (in *interp) rangeStmt(st *ast.RangeStmt, s *scope) {
	list, ok := in.eval(st.X, s).([]any)
	if !ok {
		return
	}
	for i, v := range list {
		c := s.child()
		if id, ok := st.Key.(*ast.Ident); ok && id.Name != "_" {
			c.set(id.Name, i, true)
		}
		if id, ok := st.Value.(*ast.Ident); ok && id.Name != "_" {
			c.set(id.Name, v, true)
		}
		in.block(st.Body.List, c)
	}
}

func (in *interp) eval(e ast.Expr, s *scope) any {
	switch e := e.(type) {
	case nil:
		return nil
	case *ast.BasicLit:
		return basicValue(e)
	case *ast.Ident:
		switch e.Name {
		case "true":
			return true
		case "false":
			return false
		}
		v, _ := s.get(e.Name)
		return v
	case *ast.ParenExpr:
		return in.eval(e.X, s)
	case *ast.UnaryExpr:
		if e.Op == token.AND {
			return in.eval(e.X, s)
		}
	case *ast.SelectorExpr:
		if m, ok := in.eval(e.X, s).(map[string]any); ok {
			return m[e.Sel.Name]
		}
		if id, ok := e.X.(*ast.Ident); ok {
			if _, local := s.get(id.Name); !local {
				return in.consts[e.Sel.Name]
			}
		}
	case *ast.IndexExpr:
		return index(in.eval(e.X, s), in.eval(e.Index, s))
	case *ast.CompositeLit:
		return in.composite(e, s)
	case *ast.BinaryExpr:
		return binary(e.Op, in.eval(e.X, s), in.eval(e.Y, s))
	case *ast.CallExpr:
		return in.call(e, s)
	}
	return nil
}

func index(x, i any) any {
	switch x := x.(type) {
	case []any:
		if n, ok := i.(int); ok && n >= 0 && n < len(x) {
			return x[n]
		}
	case map[string]any:
		if k, ok := i.(string); ok {
			return x[k]
		}
	}
	return nil
}

func binary(op token.Token, x, y any) any {
	if x == nil || y == nil {
		return nil
	}
	switch op {
	case token.EQL:
		return x == y
	case token.NEQ:
		return x != y
	case token.ADD:
		if a, ok := x.(string); ok {
			if b, ok := y.(string); ok {
				return a + b
			}
		}
	}
	return nil
}

// composite evaluates a composite literal: keyed literals (structs, maps) become maps, others
// (slices) lists. The element type of nested literals does not matter.
func (in *interp) composite(cl *ast.CompositeLit, s *scope) any {
	keyed := !isArrayType(cl.Type)
	for _, el := range cl.Elts {
		if _, ok := el.(*ast.KeyValueExpr); !ok {
			keyed = false
		}
	}
	if keyed {
		m := map[string]any{}
		switch t := cl.Type.(type) {
		case *ast.SelectorExpr:
			m[typeKey] = t.Sel.Name
		case *ast.Ident:
			m[typeKey] = t.Name
		}
		for _, el := range cl.Elts {
			kv := el.(*ast.KeyValueExpr)
			key := ""
			if id, ok := kv.Key.(*ast.Ident); ok {
				key = id.Name
			} else if k, ok := in.eval(kv.Key, s).(string); ok {
				key = k
			}
			m[key] = in.eval(kv.Value, s)
		}
		return m
	}
	list := make([]any, 0, len(cl.Elts))
	for _, el := range cl.Elts {
		list = append(list, in.eval(el, s))
	}
	return list
}

func isArrayType(e ast.Expr) bool {
	_, ok := e.(*ast.ArrayType)
	return ok
}
