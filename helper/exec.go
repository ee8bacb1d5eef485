package helper

import (
	"context"
	"errors"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
)

// remoteExec runs cmd in the helper's container through the pods/exec subresource, over WebSocket
// with a fallback to SPDY for API servers that do not upgrade to it (as kubectl exec does).
func remoteExec(ctx context.Context, h *Helper, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if h.config == nil {
		return errors.New("no REST config to exec with")
	}
	rc, ok := h.client.CoreV1().RESTClient().(*rest.RESTClient)
	if !ok || rc == nil {
		return errors.New("the Kubernetes client has no REST client to exec with")
	}
	req := rc.Post().Resource("pods").Namespace(h.namespace).Name(h.name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: h.container,
			Command:   cmd,
			Stdin:     stdin != nil,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec)
	spdy, err := remotecommand.NewSPDYExecutor(h.config, "POST", req.URL())
	if err != nil {
		return err
	}
	ws, err := remotecommand.NewWebSocketExecutor(h.config, "GET", req.URL().String())
	if err != nil {
		return err
	}
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return err
	}
	return exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}
