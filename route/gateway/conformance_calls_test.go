package gateway

import (
	"go/ast"
	"strings"
)

// The calls of the conformance tests the interpreter understands: the suite's helpers that name
// Gateways, routes, conditions and requests, and the few builtins the tests compute with.

func (in *interp) call(c *ast.CallExpr, s *scope) any {
	name := ""
	switch f := c.Fun.(type) {
	case *ast.Ident:
		name = f.Name
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok {
			name = x.Name + "." + f.Sel.Name
		}
	}
	args := func(i int) any {
		if i < len(c.Args) {
			return in.eval(c.Args[i], s)
		}
		return nil
	}
	if conversions[name] && len(c.Args) == 1 {
		return args(0)
	}
	if sel, ok := c.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Delete" && isSel(sel.X, "Client") {
		in.deleteObject(args(1))
		return nil
	}
	if v, ok := builtin(name, c, args); ok {
		return v
	}
	return in.suiteCall(name, c, s, args)
}

// builtin evaluates the few functions the tests compute values with; ok is false for others.
func builtin(name string, c *ast.CallExpr, args func(int) any) (v any, ok bool) {
	switch name {
	case "append":
		list, _ := args(0).([]any)
		out := append([]any(nil), list...)
		for i := 1; i < len(c.Args); i++ {
			v := args(i)
			if more, isList := v.([]any); isList && c.Ellipsis.IsValid() && i == len(c.Args)-1 {
				out = append(out, more...)
				continue
			}
			out = append(out, v)
		}
		return out, true
	case "len":
		if l, isList := args(0).([]any); isList {
			return len(l), true
		}
		return nil, true
	case "strings.Split":
		str, ok1 := args(0).(string)
		sep, ok2 := args(1).(string)
		if !ok1 || !ok2 {
			return nil, true
		}
		var out []any
		for _, p := range strings.Split(str, sep) {
			out = append(out, p)
		}
		return out, true
	}
	return nil, false
}

// suiteCall evaluates the suite's helpers: Gateway references and addresses, the conditions the
// test waits for, the requests it makes, and t.Run closures.
func (in *interp) suiteCall(name string, c *ast.CallExpr, s *scope, args func(int) any) any {
	switch name {
	case "kubernetes.NewGatewayRef":
		nn, _ := args(0).(map[string]any)
		ref := gwRefVal{}
		ref.ns, _ = nn["Namespace"].(string)
		ref.name, _ = nn["Name"].(string)
		for i := 1; i < len(c.Args); i++ {
			if l, ok := args(i).(string); ok {
				ref.listeners = append(ref.listeners, l)
			}
		}
		return ref
	case "kubernetes.GatewayAndHTTPRoutesMustBeAccepted":
		ref, _ := args(4).(gwRefVal)
		for i := 5; i < len(c.Args); i++ {
			routes := []any{args(i)}
			if c.Ellipsis.IsValid() && i == len(c.Args)-1 {
				routes, _ = args(i).([]any)
			}
			for _, r := range routes {
				in.condition("Accepted", r, map[string]any{"Namespace": ref.ns, "Name": ref.name}, true, "")
			}
		}
		if ref.name != "" {
			return gwAddrVal(ref)
		}
	case "kubernetes.HTTPRouteMustHaveResolvedRefsConditionsTrue":
		in.condition("ResolvedRefs", args(3), args(4), true, "")
	case "kubernetes.HTTPRouteMustHaveCondition":
		cond, _ := args(5).(map[string]any)
		typ, _ := cond["Type"].(string)
		status, _ := cond["Status"].(string)
		reason, _ := cond["Reason"].(string)
		if typ == "Accepted" || typ == "ResolvedRefs" {
			in.condition(typ, args(3), args(4), status == "True", reason)
		}
	case "kubernetes.HTTPRouteMustHaveNoAcceptedParents":
		in.condition("NoAcceptedParents", args(3), nil, true, "")
	case "kubernetes.GatewayMustHaveZeroRoutes":
		in.condition("ZeroRoutes", nil, args(3), true, "")
	case "t.Run":
		if fl, ok := c.Args[len(c.Args)-1].(*ast.FuncLit); ok {
			in.block(fl.Body.List, s.child())
		}
	case "http.MakeRequestAndExpectEventuallyConsistentResponse":
		in.record(args(3), args(4), "http", "")
	case "tls.MakeTLSRequestAndExpectEventuallyConsistentResponse":
		sni, _ := args(7).(string)
		in.record(args(3), args(8), "https", sni)
	case "require.NoError":
		for i := range c.Args {
			args(i) // for the calls inside, such as suite.Client.Delete
		}
	}
	return nil
}

// condition records a status condition the suite expects of a route (and Gateway).
func (in *interp) condition(kind string, route, gw any, status bool, reason string) {
	c := confCase{Condition: kind, Status: status, Reason: reason, Deleted: append([]string(nil), in.deleted...)}
	if r, ok := route.(map[string]any); ok {
		c.RouteNS, _ = r["Namespace"].(string)
		c.RouteName, _ = r["Name"].(string)
	}
	if g, ok := gw.(map[string]any); ok {
		c.GatewayNS, _ = g["Namespace"].(string)
		c.GatewayName, _ = g["Name"].(string)
	}
	in.cases = append(in.cases, c)
}

// deleteObject records that the test deleted an object: later requests run without it.
func (in *interp) deleteObject(obj any) {
	m, _ := obj.(map[string]any)
	meta, _ := m["ObjectMeta"].(map[string]any)
	kind, _ := m[typeKey].(string)
	ns, _ := meta["Namespace"].(string)
	name, _ := meta["Name"].(string)
	if kind != "" && name != "" {
		in.deleted = append(in.deleted, kind+"/"+ns+"/"+name)
	}
}

func (in *interp) record(addr, exp any, scheme, sni string) {
	c := confCase{Scheme: scheme, SNI: sni, Deleted: append([]string(nil), in.deleted...)}
	c.Expected, _ = exp.(map[string]any)
	if a, ok := addr.(gwAddrVal); ok {
		c.GatewayNS, c.GatewayName, c.Listeners = a.ns, a.name, a.listeners
	}
	in.cases = append(in.cases, c)
}
