package snapshot

import "sort"

// UnreadReason says why a kind is missing from a live snapshot.
type UnreadReason string

// The reasons a kind was not read.
const (
	// NotRequested: the reader did not ask for the kind (not needed, or read another way): the
	// checks that need it treat it as unknown, but nothing failed.
	NotRequested UnreadReason = "NotRequested"
	// Forbidden: the credentials may not read it.
	Forbidden UnreadReason = "Forbidden"
	// TimedOut: the API server did not answer in time.
	TimedOut UnreadReason = "TimedOut"
	// NotServed: the cluster does not serve the kind's API.
	NotServed UnreadReason = "NotServed"
	// Failed: any other error.
	Failed UnreadReason = "Failed"
)

// Unread says why a kind is missing from a live snapshot.
type Unread struct {
	Reason UnreadReason
	// Detail is the sentence for the user, e.g. "forbidden: needs list on pods in namespace
	// shop".
	Detail string
}

// Degraded reports whether the kind could not be read (as opposed to was not asked for): the
// checks that needed it are incomplete.
func (u Unread) Degraded() bool { return u.Reason != NotRequested }

// String is the detail.
func (u Unread) String() string { return u.Detail }

// NotRead is the mark of a kind the reader did not ask for, with why.
func NotRead(why string) Unread {
	return Unread{Reason: NotRequested, Detail: "not read (" + why + ")"}
}

// Degraded lists the kinds that could not be read, sorted, with why.
func (s *Snapshot) Degraded() []KindUnread {
	var out []KindUnread
	for k, u := range s.Unavailable {
		if u.Degraded() {
			out = append(out, KindUnread{Kind: k, Unread: u})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// KindUnread is a kind and why it was not read.
type KindUnread struct {
	Kind string
	Unread
}
