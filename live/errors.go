package live

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/svc-doctor/svc-doctor/snapshot"
)

// UnresponsiveError is the error of a request to an API server that did not answer in time. Once
// one request timed out this way, the requests after it fail at once with the same error: a server
// that accepts connections but never answers cannot hold a command for longer than one request
// timeout.
type UnresponsiveError struct {
	Server  string
	Timeout time.Duration
	// Request is what timed out first, e.g. "GET /api/v1/namespaces/shop/services".
	Request string
	Err     error
}

func (e *UnresponsiveError) Error() string {
	return fmt.Sprintf("the API server %s did not answer within %s (%s timed out; raise --request-timeout if the server is only slow)",
		e.Server, e.Timeout, e.Request)
}

func (e *UnresponsiveError) Unwrap() error { return e.Err }

// IsUnresponsive reports whether err comes from an API server that did not answer in time.
func IsUnresponsive(err error) bool {
	var ue *UnresponsiveError
	return errors.As(err, &ue)
}

// describeAPIError turns an API error into a sentence that says what permission or condition
// is missing, e.g. "forbidden: needs list on pods in namespace shop", or which server did not
// answer.
func describeAPIError(err error, verb, resource, scope string) string {
	var ue *UnresponsiveError
	switch {
	case errors.As(err, &ue):
		return fmt.Sprintf("timed out reading %s: %v", resource, ue)
	case apierrors.IsForbidden(err):
		return fmt.Sprintf("forbidden: needs %s on %s in %s", verb, resource, scopeText(scope))
	case apierrors.IsNotFound(err):
		return fmt.Sprintf("%s are not served by this cluster", resource)
	case apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("timed out reading %s", resource)
	case apierrors.IsUnauthorized(err):
		return "unauthorized: the credentials in the kubeconfig were rejected"
	}
	return fmt.Sprintf("%s %s failed: %v", verb, resource, err)
}

func scopeText(scope string) string {
	if scope == "the cluster" || scope == "all namespaces" {
		return scope
	}
	return "namespace " + scope
}

// DescribeAPIError is describeAPIError for other packages.
func DescribeAPIError(err error, verb, resource, namespace string) string {
	if namespace == "" {
		namespace = "the cluster"
	}
	return describeAPIError(err, verb, resource, namespace)
}

// UnreadOf is the mark of a kind whose read failed with err.
func UnreadOf(err error, verb, resource, scope string) snapshot.Unread {
	reason := snapshot.Failed
	var ue *UnresponsiveError
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		reason = snapshot.Forbidden
	case apierrors.IsNotFound(err):
		reason = snapshot.NotServed
	case errors.As(err, &ue) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || errors.Is(err, context.DeadlineExceeded):
		reason = snapshot.TimedOut
	}
	return snapshot.Unread{Reason: reason, Detail: describeAPIError(err, verb, resource, scope)}
}
