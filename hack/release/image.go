package main

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/svc-doctor/svc-doctor/hack/internal/ociimage"
	"github.com/svc-doctor/svc-doctor/internal/version"
)

// Annotations naming the image in the OCI layout: the OCI one, and containerd's (ctr images import).
const (
	annotationRefName    = "org.opencontainers.image.ref.name"
	annotationContainerd = "io.containerd.image.name"
)

// writeAgentImage builds the agent image for every architecture in bins (arch -> agent binary) and
// writes them as one OCI image index, tagged version.AgentRepository:<version>, in an OCI archive
// (a tar of an OCI image layout) in dist. Push it with
// `skopeo copy --all oci-archive:FILE docker://REF`; `ctr images import` reads it too.
func writeAgentImage(dist string, st buildStamp, bins map[string]string) (*Image, error) {
	ref := version.AgentRepository + ":" + st.Version
	arches := make([]string, 0, len(bins))
	for a := range bins {
		arches = append(arches, a)
	}
	sort.Strings(arches)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var platforms []string
	for _, arch := range arches {
		file, err := ociimage.FileFromDisk("/"+agentBinary, bins[arch])
		if err != nil {
			return nil, err
		}
		img, err := ociimage.Build(ociimage.Spec{
			Files:      []ociimage.File{file},
			Entrypoint: []string{"/" + agentBinary},
			Arch:       arch,
			Created:    st.Date,
			Labels: map[string]string{
				"org.opencontainers.image.source":   "https://" + module,
				"org.opencontainers.image.version":  st.Version,
				"org.opencontainers.image.revision": st.Commit,
				"org.opencontainers.image.created":  st.Date.Format(time.RFC3339),
				"org.opencontainers.image.licenses": "Apache-2.0",
				"org.opencontainers.image.title":    "svc-doctor agent",
			},
		})
		if err != nil {
			return nil, err
		}
		oci, err := toOCI(img)
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: oci, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: arch},
		}})
		platforms = append(platforms, "linux/"+arch)
	}
	digest, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "svc-doctor-image-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return nil, err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{annotationRefName: ref, annotationContainerd: ref})); err != nil {
		return nil, err
	}
	file := filepath.Join(dist, ImageFileName(st.Version))
	if err := writeAtomic(file, func(w io.Writer) error { return tarTree(w, tmp) }); err != nil {
		return nil, err
	}
	return &Image{Ref: ref, Digest: digest.String(), File: file, Platforms: platforms}, nil
}

// toOCI returns img with OCI media types (ociimage builds docker-typed images, which an OCI index
// should not list).
func toOCI(img v1.Image) (v1.Image, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	out := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	out = mutate.ConfigMediaType(out, types.OCIConfigJSON)
	for _, l := range layers {
		if out, err = mutate.Append(out, mutate.Addendum{Layer: l, MediaType: types.OCILayer}); err != nil {
			return nil, err
		}
	}
	return mutate.ConfigFile(out, cf)
}

// tarTree writes the directory tree at dir as a tar with sorted entries and fixed times.
func tarTree(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	epoch := time.Unix(0, 0).UTC()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error { // WalkDir is lexical
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatUSTAR})
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Format: tar.FormatUSTAR}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
