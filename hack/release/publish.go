package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// PublishSteps are the commands --publish runs: upload every asset to the GitHub release of the tag
// (created from the existing tag, never a new one), then push the agent image index with all its
// platforms. gh reads GH_TOKEN/GITHUB_TOKEN; skopeo the registry login (skopeo login ghcr.io).
func PublishSteps(rel *Release) [][]string {
	gh := []string{"gh", "release", "create", rel.Version, "--verify-tag", "--title", rel.Version, "--notes", "svc-doctor " + rel.Version}
	for _, a := range rel.Assets {
		gh = append(gh, a.Path)
	}
	steps := [][]string{gh}
	if rel.Image != nil {
		steps = append(steps, []string{"skopeo", "copy", "--all", "--preserve-digests",
			"oci-archive:" + rel.Image.File, "docker://" + rel.Image.Ref})
	}
	return steps
}

// Publish runs the steps, failing before the first one when a tool is missing.
func Publish(ctx context.Context, rel *Release, steps [][]string, stdout, stderr io.Writer) error {
	for _, s := range steps {
		if _, err := exec.LookPath(s[0]); err != nil {
			return fmt.Errorf("--publish needs %s on PATH: %w (the release is built in %s)", s[0], err, rel.Dist)
		}
	}
	for _, s := range steps {
		fmt.Fprintf(stdout, "+ %v\n", s)
		cmd := exec.CommandContext(ctx, s[0], s[1:]...)
		cmd.Stdout, cmd.Stderr, cmd.Env = stdout, stderr, os.Environ()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s failed: %w", s[0], err)
		}
	}
	return nil
}
