// Command imgbuild writes a single-layer container image built from local files (see
// hack/internal/ociimage): a docker-format tarball for `ctr -n k8s.io images import`, and/or an OCI image
// layout or OCI archive for releases. It needs no registry and no container engine.
//
//	imgbuild -tag localhost/svc-doctor/testserver:dev -file /testserver=./bin/testserver \
//	    -entrypoint /testserver -docker testserver.tar [-oci-layout DIR] [-oci-archive FILE]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/svc-doctor/svc-doctor/hack/internal/ociimage"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "imgbuild:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("imgbuild", flag.ContinueOnError)
	var files, env, labels listFlag
	tag := fs.String("tag", "", "image reference, e.g. localhost/svc-doctor/testserver:dev (required)")
	entry := fs.String("entrypoint", "", "entrypoint, comma separated")
	cmd := fs.String("cmd", "", "command (arguments to the entrypoint), comma separated")
	user := fs.String("user", ociimage.NonRootUser, "numeric uid[:gid] the image runs as")
	arch := fs.String("arch", "", "architecture (default: this program's)")
	docker := fs.String("docker", "", "write a docker-format tarball (ctr images import) to this file")
	ociLayout := fs.String("oci-layout", "", "add the image to the OCI image layout in this directory")
	ociArchive := fs.String("oci-archive", "", "write an OCI archive (tar of an OCI layout) to this file")
	fs.Var(&files, "file", "DEST=SRC: add local file SRC at absolute path DEST (repeatable)")
	fs.Var(&env, "env", "KEY=VALUE environment variable (repeatable)")
	fs.Var(&labels, "label", "KEY=VALUE image label (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tag == "" {
		return fmt.Errorf("-tag is required")
	}
	if *docker == "" && *ociLayout == "" && *ociArchive == "" {
		return fmt.Errorf("give at least one of -docker, -oci-layout, -oci-archive")
	}
	spec := ociimage.Spec{Entrypoint: split(*entry), Cmd: split(*cmd), Env: env, User: *user, Arch: *arch}
	for _, f := range files {
		dst, src, ok := strings.Cut(f, "=")
		if !ok {
			return fmt.Errorf("-file %q: want DEST=SRC", f)
		}
		file, err := ociimage.FileFromDisk(dst, src)
		if err != nil {
			return err
		}
		spec.Files = append(spec.Files, file)
	}
	if len(labels) > 0 {
		spec.Labels = map[string]string{}
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			spec.Labels[k] = v
		}
	}
	img, err := ociimage.Build(spec)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if *docker != "" {
		if err := ociimage.WriteDockerTarballFile(*docker, *tag, img); err != nil {
			return err
		}
	}
	if *ociLayout != "" {
		if err := ociimage.WriteOCILayout(*ociLayout, *tag, img); err != nil {
			return err
		}
	}
	if *ociArchive != "" {
		if err := ociimage.WriteOCIArchiveFile(*ociArchive, *tag, img); err != nil {
			return err
		}
	}
	fmt.Printf("%s %s\n", *tag, digest)
	return nil
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
