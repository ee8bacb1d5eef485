package main

import (
	"archive/tar"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestAgentImage opens the release's OCI archive: one index tagged with the release version, one
// image per platform with the stamped agent as its entrypoint; the agent of this machine's
// architecture runs and prints the release version.
func TestAgentImage(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode (builds a release)")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the agent image is built for linux only")
	}
	rel := release(t)
	if rel.Image == nil {
		t.Skip("the release under test has no image (SVCDOC_RELEASE_DIST)")
	}
	dir := t.TempDir()
	untar(t, rel.Image.File, dir)
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := root.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(rm.Manifests) != 1 {
		t.Fatalf("index.json lists %d entries, want 1 (the image index)", len(rm.Manifests))
	}
	top := rm.Manifests[0]
	want := "ghcr.io/svc-doctor/agent:" + rel.Version
	if top.MediaType != types.OCIImageIndex || top.Annotations[annotationRefName] != want || top.Annotations[annotationContainerd] != want {
		t.Errorf("index entry %s %v, want an OCI index named %s", top.MediaType, top.Annotations, want)
	}
	if rel.Image.Digest != "" && top.Digest.String() != rel.Image.Digest {
		t.Errorf("index digest %s, release says %s", top.Digest, rel.Image.Digest)
	}
	idx, err := root.ImageIndex(top.Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != len(rel.Image.Platforms) {
		t.Fatalf("%d images, want %d (%v)", len(im.Manifests), len(rel.Image.Platforms), rel.Image.Platforms)
	}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture != cf.Architecture {
			t.Errorf("descriptor platform %v, config architecture %s", d.Platform, cf.Architecture)
		}
		if d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("image media type %s", d.MediaType)
		}
		c := cf.Config
		if strings.Join(c.Entrypoint, " ") != "/svc-doctor-agent" || c.User != "65532" || c.Labels["org.opencontainers.image.version"] != rel.Version {
			t.Errorf("config: entrypoint %v user %q labels %v", c.Entrypoint, c.User, c.Labels)
		}
		if cf.Architecture != runtime.GOARCH {
			continue
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("layers: %d %v", len(layers), err)
		}
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		agent := extract(t, rc, "svc-doctor-agent", t.TempDir())
		rc.Close()
		out, err := exec.Command(agent, "version").CombinedOutput()
		if err != nil || !strings.Contains(string(out), rel.Version) {
			t.Errorf("svc-doctor-agent version: %v\n%s\nwant %s in it", err, out, rel.Version)
		}
	}
}

func untar(t *testing.T, file, dir string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// extract writes the file name of the tar stream r into dir and returns its path.
func extract(t *testing.T, r io.Reader, name, dir string) string {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s not in the layer", name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimPrefix(h.Name, "/") != name {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
}
