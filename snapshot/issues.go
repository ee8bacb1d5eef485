package snapshot

import "strings"

// HasIssueUnder reports whether reading the input already found a problem at or below field of
// this object, so that a rule does not report its consequence a second time.
func (s *Snapshot) HasIssueUnder(src *Source, field string) bool {
	s.issueOnce.Do(func() {
		if s.issueFields == nil {
			s.issueFields = map[*Source][]string{}
		}
		for _, is := range s.Issues {
			if is.Src != nil {
				s.issueFields[is.Src] = append(s.issueFields[is.Src], is.Field)
			}
		}
	})
	for _, f := range s.issueFields[src] {
		if strings.HasPrefix(f, field) {
			return true
		}
	}
	return false
}
