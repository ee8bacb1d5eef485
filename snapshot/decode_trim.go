package snapshot

import corev1 "k8s.io/api/core/v1"

// trimWorkload keeps only what the lint rules read of a workload's pod template, so that a large
// input of workloads is held in little memory: of the pod spec its containers, init containers
// and restartPolicy, of each container its name, image, ports, probes and restartPolicy (sidecars).
// The rest of the decoded object (the Deployment, volumes, environment, resources...) is left
// to the garbage collector. A rule that reads more of a pod template must keep it here: the
// streaming test in lint compares every fixture's findings with and without trimming.
func trimWorkload(w *Workload) {
	ps := w.Spec
	t := &corev1.PodSpec{RestartPolicy: ps.RestartPolicy, Containers: trimContainers(ps.Containers), InitContainers: trimContainers(ps.InitContainers)}
	w.Spec = t
	w.Deployment = nil
	if w.Replicas != nil {
		r := *w.Replicas
		w.Replicas = &r
	}
}

func trimContainers(cs []corev1.Container) []corev1.Container {
	if cs == nil {
		return nil
	}
	out := make([]corev1.Container, len(cs))
	for i, c := range cs {
		out[i] = corev1.Container{Name: c.Name, Image: c.Image, Ports: c.Ports, RestartPolicy: c.RestartPolicy,
			ReadinessProbe: c.ReadinessProbe, LivenessProbe: c.LivenessProbe, StartupProbe: c.StartupProbe}
	}
	return out
}
