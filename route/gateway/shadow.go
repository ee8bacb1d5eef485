package gateway

import (
	"fmt"
	"sort"
)

// ShadowedMatch is an HTTPRoute match that can never win: on every listener and hostname where
// its route serves, another rule has a match for exactly the same requests and takes precedence
// (the oldest route, then namespace/name order, then the first rule, HTTPRouteRule.Matches).
type ShadowedMatch struct {
	Rule, Match int
	// Field is spec.rules[i].matches[j] (spec.rules[i] for a rule without matches).
	Field       string
	Description string
	// By is the rule that takes its requests (on Listener, for Hostname).
	By              *RouteState
	ByRule, ByMatch int
	Listener        *ListenerState
	Hostname        string
	// Tie says what made By win.
	Tie string
}

func (s *ShadowedMatch) problem(r *RouteState) Problem {
	by := fmt.Sprintf("rule[%d] of this route", s.ByRule)
	if s.By != r {
		by = fmt.Sprintf("rule[%d] of %s", s.ByRule, s.By.Ref)
	}
	return Problem{Object: r.Ref, Check: CheckShadowed, Field: s.Field, Level: Broken,
		Message: fmt.Sprintf("match %s of rule[%d] never receives a request: %s has the same match for %s on %s and wins (%s)",
			s.Description, s.Rule, by, hostnameDisplay(s.Hostname), s.Listener, s.Tie)}
}

// slot is one match of one rule, served on one listener for one hostname.
type slot struct {
	route       *RouteState
	rule, match int
	key         matchKey
}

// findShadowed finds, per listener and hostname, the matches that share a signature with a
// match of higher precedence, and keeps those shadowed wherever their route serves.
func (m *Model) findShadowed() {
	type where struct {
		l    *ListenerState
		host string
	}
	served := map[[3]any]int{}   // (route, rule, match) -> number of (listener, hostname) it serves
	shadowed := map[[3]any]int{} // -> number of those where it is shadowed
	first := map[[3]any]*ShadowedMatch{}
	for _, g := range m.gateStates {
		for _, l := range g.Listeners {
			groups := map[where]map[string][]slot{}
			for _, a := range l.Attached {
				r := a.Parent.Route
				if r.HTTP == nil {
					continue
				}
				for _, h := range a.Hostnames {
					w := where{l, h}
					if groups[w] == nil {
						groups[w] = map[string][]slot{}
					}
					for i, rule := range r.HTTP.Spec.Rules {
						for j, mt := range ruleMatches(rule) {
							sig := signature(mt)
							groups[w][sig] = appendSlot(groups[w][sig], slot{r, i, j, keyOf(mt)})
						}
					}
				}
			}
			for w, bySig := range groups {
				for _, slots := range bySig {
					sortSlots(slots)
					for k, s := range slots {
						id := [3]any{s.route, s.rule, s.match}
						served[id]++
						if k == 0 || (slots[0].route == s.route && slots[0].rule == s.rule) {
							continue
						}
						shadowed[id]++
						if first[id] == nil {
							first[id] = shadowRecord(slots[0], s, w.l, w.host)
						}
					}
				}
			}
		}
	}
	for _, r := range m.routes {
		if r.HTTP == nil {
			continue
		}
		for i, rule := range r.HTTP.Spec.Rules {
			for j := range ruleMatches(rule) {
				id := [3]any{r, i, j}
				if served[id] > 0 && shadowed[id] == served[id] {
					r.Shadowed = append(r.Shadowed, first[id])
				}
			}
		}
	}
}

// appendSlot adds a slot unless the same route, rule and match is already there (a route
// attached twice to one listener).
func appendSlot(slots []slot, s slot) []slot {
	for _, o := range slots {
		if o.route == s.route && o.rule == s.rule && o.match == s.match {
			return slots
		}
	}
	return append(slots, s)
}

func sortSlots(slots []slot) {
	sort.SliceStable(slots, func(i, j int) bool {
		a, b := slots[i], slots[j]
		ca := &Candidate{Route: a.route, Rule: a.rule, Match: a.match, key: a.key}
		cb := &Candidate{Route: b.route, Rule: b.rule, Match: b.match, key: b.key}
		return precedes(ca, cb)
	})
}

func shadowRecord(win, lose slot, l *ListenerState, host string) *ShadowedMatch {
	rule := lose.route.HTTP.Spec.Rules[lose.rule]
	s := &ShadowedMatch{Rule: lose.rule, Match: lose.match, Field: fmt.Sprintf("spec.rules[%d].matches[%d]", lose.rule, lose.match),
		Description: describeMatch(ruleMatches(rule)[lose.match]), By: win.route, ByRule: win.rule, ByMatch: win.match, Listener: l, Hostname: host}
	if len(rule.Matches) == 0 {
		s.Field = fmt.Sprintf("spec.rules[%d]", lose.rule)
	}
	wc := &Candidate{Route: win.route, Rule: win.rule, Match: win.match, key: win.key}
	lc := &Candidate{Route: lose.route, Rule: lose.rule, Match: lose.match, key: lose.key}
	s.Tie = tieText(wc, lc)
	return s
}

// tieText says why w precedes c when their matches cover the same requests.
func tieText(w, c *Candidate) string {
	if d, crit := w.key.compare(c.key); d != 0 {
		return crit
	}
	switch {
	case w.Route == c.Route:
		return "the first matching rule of a route wins"
	case !w.Route.Created.IsZero() && !c.Route.Created.IsZero() && !w.Route.Created.Equal(c.Route.Created):
		return "the older route wins"
	case w.Route.Created.IsZero() || c.Route.Created.IsZero():
		return "without creationTimestamps namespace/name order decides; on a cluster the older route wins, so one of the two is shadowed either way"
	}
	return "namespace/name order decides"
}
