// Package helper runs the svc-doctor agent inside the cluster, from the CLI side: it builds the
// helper pod (PodSpec, a pure function), starts it and waits for it (Start), runs agent requests in
// it through the pods/exec subresource (Run), deletes it (Close), finds a kept one for reuse (Find,
// Acquire), removes leftovers (Cleanup), and alternatively adds the agent as an ephemeral container
// to an existing pod to test from that pod's network position (Attach, see FromPodNotice).
//
// # How command code must use it
//
// The helper pod must be deleted on every exit path, Ctrl-C included. Commands do this:
//
//	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM) // or helper.NotifyContext
//	defer stop()
//	h, err := helper.Acquire(ctx, client, restConfig, opts) // Start, or Find with opts.Keep
//	if err != nil {
//		return err // Start deleted its pod already, also when ctx was cancelled
//	}
//	defer h.Close(ctx) // see below: runs even after Ctrl-C cancelled ctx
//	resp, err := h.Run(ctx, req)
//
// or, equivalently, helper.WithHelper(ctx, client, restConfig, opts, func(ctx, h) error {...}).
//
// The first SIGINT/SIGTERM cancels ctx instead of killing the process: Run returns ctx's error, the
// deferred Close runs, and Close ignores ctx's cancellation (it deletes with a fresh context of
// CloseTimeout that keeps ctx's values), so the pod is deleted. Code between Start and Close must
// not call os.Exit (only main exits, after its deferred calls have run). If the process is killed
// outright (SIGKILL), the pod's activeDeadlineSeconds stops it and `svc-doctor cleanup` (Cleanup)
// deletes it: every helper pod carries the labels LabelName=NameValue and
// LabelManagedBy=ManagedByValue.
//
// With opts.Keep (--keep-helper) the pod is labelled LabelKeep=true, Close leaves it running, and the
// next Acquire with the same image reuses it through Find.
//
// Every API failure is an *APIError naming the object and, for a 403, the permission needed.
package helper
