// Command release builds a svc-doctor release into dist/: the kubectl-svc_doctor archives for
// linux, darwin and windows on amd64 and arm64 (.tar.gz, .zip on Windows, each with LICENSE, and
// the kubectl completion hook kubectl_complete-svc_doctor outside Windows), the
// helper agent image as an OCI archive (linux/amd64 + linux/arm64, one index tagged
// ghcr.io/svc-doctor/agent:<version>), a sha256 checksums file, and the krew manifest rendered from
// krew/svc-doctor.yaml.tmpl. Builds are reproducible: CGO_ENABLED=0, -trimpath, the version,
// commit and date stamped into internal/version with -ldflags, archive times set to the commit's.
//
//	go run ./hack/release --snapshot              # any tree: version vX.Y.Z+1-snapshot.<commit>; publishes nothing
//	go run ./hack/release --version v0.1.0 --dry-run   # the release of a tag, built locally; publishes nothing
//	go run ./hack/release --version v0.1.0 --publish   # CI, on a clean checkout of the tag: also uploads
//
// Publishing uploads the archives, checksums and manifest to the GitHub release of the tag (gh) and
// the image to ghcr.io (skopeo); nothing else ever leaves the machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := Config{}
	snapshot := fs.Bool("snapshot", false, "build from any tree, with a snapshot version; implies --dry-run")
	dryRun := fs.Bool("dry-run", false, "build everything into --dist and publish nothing")
	publish := fs.Bool("publish", false, "after building, upload to the GitHub release of --version and push the image (needs gh, skopeo, a clean tree at the tag)")
	fs.StringVar(&cfg.Version, "version", "", "release version, a tag vX.Y.Z[-PRE] (default with --snapshot: derived from git)")
	fs.StringVar(&cfg.Dist, "dist", "dist", "output directory (emptied first; must be new, empty, or an earlier release's)")
	platforms := fs.String("platforms", strings.Join(DefaultPlatforms, ","), "plugin archives to build, OS/ARCH comma separated")
	imagePlatforms := fs.String("image-platforms", strings.Join(DefaultImagePlatforms, ","), "agent image platforms, linux/ARCH comma separated; empty: no image")
	fs.BoolVar(&cfg.WriteKrewManifest, "update-krew-manifest", false, "also write krew/svc-doctor.yaml in the checkout (default: only for --publish)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case *publish && (*snapshot || *dryRun):
		return fmt.Errorf("--publish cannot be combined with --snapshot or --dry-run")
	case !*publish && !*snapshot && !*dryRun:
		return fmt.Errorf("say what to do: --snapshot (local build of this tree), --dry-run (build --version without publishing) or --publish")
	case *snapshot && cfg.Version != "":
		return fmt.Errorf("--snapshot derives its version from git: drop --version, or use --version with --dry-run")
	case !*snapshot && cfg.Version == "":
		return fmt.Errorf("--version vX.Y.Z is needed with --dry-run and --publish")
	}
	cfg.Snapshot = *snapshot
	cfg.Publish = *publish
	cfg.WriteKrewManifest = cfg.WriteKrewManifest || *publish
	cfg.Platforms = splitList(*platforms)
	cfg.ImagePlatforms = splitList(*imagePlatforms)
	cfg.Log = stderr

	rel, err := Build(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "release %s (commit %s, date %s) in %s:\n", rel.Version, rel.Commit, rel.Date, rel.Dist)
	for _, a := range rel.Assets {
		fmt.Fprintf(stdout, "  %s  %s\n", a.SHA256, a.Name)
	}
	if rel.Image != nil {
		fmt.Fprintf(stdout, "  image %s (index %s) in %s\n", rel.Image.Ref, rel.Image.Digest, rel.Image.File)
	}
	fmt.Fprintf(stdout, "  krew manifest %s\n", rel.KrewManifest)
	steps := PublishSteps(rel)
	if !cfg.Publish {
		fmt.Fprintln(stdout, "dry run: nothing was published. --publish would run:")
		for _, s := range steps {
			fmt.Fprintf(stdout, "  %s\n", strings.Join(s, " "))
		}
		return nil
	}
	return Publish(ctx, rel, steps, stdout, stderr)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
