package helper

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// APIError is an API call that failed, with the object it concerned and the permission it needed.
// Its message names the object and says what to do; Unwrap gives the API error (for
// apierrors.IsForbidden and the like).
type APIError struct {
	// Object describes what was acted on, e.g. "helper pod ns/name" or "helper pod in namespace ns".
	Object string
	// Verb, Resource and Namespace name the RBAC permission the call needed.
	Verb, Resource, Namespace string
	Err                       error
}

func (e *APIError) Error() string {
	msg := apiMessage(e.Err)
	switch {
	case apierrors.IsForbidden(e.Err) && strings.Contains(msg, "violates PodSecurity"):
		return fmt.Sprintf("%s: rejected by Pod Security admission in namespace %s: %s", e.Object, e.Namespace, msg)
	case apierrors.IsForbidden(e.Err) && strings.Contains(msg, "exceeded quota"):
		return fmt.Sprintf("%s: refused by a ResourceQuota of namespace %s: %s", e.Object, e.Namespace, msg)
	case apierrors.IsForbidden(e.Err) && strings.Contains(msg, "admission webhook"):
		return fmt.Sprintf("%s: rejected by an admission webhook: %s", e.Object, msg)
	case apierrors.IsForbidden(e.Err):
		return fmt.Sprintf("%s: forbidden: needs %s on %s in namespace %s (ask for it, or use a namespace where you have it): %s",
			e.Object, e.Verb, e.Resource, e.Namespace, msg)
	}
	return fmt.Sprintf("%s: %s %s: %s", e.Object, e.Verb, e.Resource, msg)
}

func (e *APIError) Unwrap() error { return e.Err }

// apiMessage is the server's message of an API error, or the error text.
func apiMessage(err error) string {
	var s apierrors.APIStatus
	if errors.As(err, &s) && s.Status().Message != "" {
		return s.Status().Message
	}
	return err.Error()
}

func apiError(object, verb, resource, namespace string, err error) error {
	if err == nil {
		return nil
	}
	return &APIError{Object: object, Verb: verb, Resource: resource, Namespace: namespace, Err: err}
}
