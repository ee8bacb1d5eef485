package ociimage

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tarEntries lists a tar stream's entries: name -> header, plus the contents of regular files.
func tarEntries(t *testing.T, r io.Reader) (map[string]*tar.Header, map[string]string) {
	t.Helper()
	hdrs, data := map[string]*tar.Header{}, map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hdrs, data
		}
		if err != nil {
			t.Fatal(err)
		}
		hdrs[h.Name] = h
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			data[h.Name] = string(b)
		}
	}
}

func TestLayerTar(t *testing.T) {
	tests := []struct {
		name     string
		files    []File
		wantMode map[string]int64  // entry -> permission bits (with sticky bit for /tmp)
		wantData map[string]string // entry -> contents
	}{
		{
			name:     "base only",
			wantMode: map[string]int64{"tmp/": 0o1777, "etc/": 0o755, "etc/passwd": 0o644, "etc/group": 0o644, "root/": 0o700},
			wantData: map[string]string{"etc/passwd": passwd, "etc/group": group, "etc/nsswitch.conf": nsswitch},
		},
		{
			name:     "binary at the root gets 0755",
			files:    []File{{Path: "/testserver", Data: []byte("ELF")}},
			wantMode: map[string]int64{"testserver": 0o755},
			wantData: map[string]string{"testserver": "ELF"},
		},
		{
			name:     "nested file creates parent directories and keeps its mode",
			files:    []File{{Path: "/opt/app/config.yaml", Mode: 0o640, Data: []byte("a: 1")}},
			wantMode: map[string]int64{"opt/": 0o755, "opt/app/": 0o755, "opt/app/config.yaml": 0o640},
			wantData: map[string]string{"opt/app/config.yaml": "a: 1"},
		},
		{
			name:     "a given /etc/passwd replaces the base one",
			files:    []File{{Path: "/etc/passwd", Mode: 0o644, Data: []byte("x:x:1:1::/:/x\n")}},
			wantData: map[string]string{"etc/passwd": "x:x:1:1::/:/x\n"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := LayerTar(tc.files)
			if err != nil {
				t.Fatal(err)
			}
			hdrs, data := tarEntries(t, bytes.NewReader(b))
			for n, mode := range tc.wantMode {
				h, ok := hdrs[n]
				if !ok {
					t.Fatalf("entry %s missing; have %v", n, keys(hdrs))
				}
				if got := h.Mode & 0o7777; got != mode {
					t.Errorf("%s: mode %o, want %o", n, got, mode)
				}
				if h.Uid != 0 || h.Gid != 0 || h.ModTime.Unix() != 0 {
					t.Errorf("%s: uid %d gid %d mtime %v, want root and epoch", n, h.Uid, h.Gid, h.ModTime)
				}
			}
			for n, want := range tc.wantData {
				if data[n] != want {
					t.Errorf("%s = %q, want %q", n, data[n], want)
				}
			}
			again, _ := LayerTar(tc.files)
			if !bytes.Equal(b, again) {
				t.Error("layer is not reproducible")
			}
		})
	}
}

func TestBuildConfig(t *testing.T) {
	tests := []struct {
		name     string
		spec     Spec
		wantUser string
		wantEnv  string
		wantErr  string
	}{
		{name: "defaults to non-root", spec: Spec{Entrypoint: []string{"/a"}}, wantUser: "65532", wantEnv: "PATH=/:/bin:/usr/bin"},
		{name: "explicit root", spec: Spec{Entrypoint: []string{"/a"}, User: "0"}, wantUser: "0", wantEnv: "PATH=/:/bin:/usr/bin"},
		{name: "uid:gid", spec: Spec{Cmd: []string{"/a"}, User: "1000:1000"}, wantUser: "1000:1000", wantEnv: "PATH=/:/bin:/usr/bin"},
		{name: "PATH given", spec: Spec{Entrypoint: []string{"/a"}, Env: []string{"PATH=/x"}}, wantUser: "65532", wantEnv: "PATH=/x"},
		{name: "named user rejected", spec: Spec{Entrypoint: []string{"/a"}, User: "nonroot"}, wantErr: "numeric"},
		{name: "relative path rejected", spec: Spec{Entrypoint: []string{"/a"}, Files: []File{{Path: "a"}}}, wantErr: "absolute"},
		{name: "unclean path rejected", spec: Spec{Entrypoint: []string{"/a"}, Files: []File{{Path: "/a/../b"}}}, wantErr: "clean"},
		{name: "duplicate rejected", spec: Spec{Entrypoint: []string{"/a"}, Files: []File{{Path: "/a"}, {Path: "/a"}}}, wantErr: "twice"},
		{name: "nothing to run", spec: Spec{}, wantErr: "entrypoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Build(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.Config.User != tc.wantUser {
				t.Errorf("user %q, want %q", cf.Config.User, tc.wantUser)
			}
			if len(cf.Config.Env) == 0 || cf.Config.Env[0] != tc.wantEnv {
				t.Errorf("env %v, want first %q", cf.Config.Env, tc.wantEnv)
			}
			if cf.OS != "linux" || cf.Created.Unix() != 0 {
				t.Errorf("os %q created %v", cf.OS, cf.Created)
			}
			layers, _ := img.Layers()
			if len(layers) != 1 {
				t.Errorf("%d layers, want 1", len(layers))
			}
		})
	}
}

func TestBuildIsReproducible(t *testing.T) {
	spec := Spec{Files: []File{{Path: "/bin/app", Data: []byte("x")}}, Entrypoint: []string{"/bin/app"}}
	a, _ := Build(spec)
	b, _ := Build(spec)
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("digests differ: %s %s", da, db)
	}
	spec.Files[0].Data = []byte("y")
	c, _ := Build(spec)
	if dc, _ := c.Digest(); dc == da {
		t.Fatal("different content, same digest")
	}
}

func testImage(t *testing.T) Spec {
	t.Helper()
	return Spec{Files: []File{{Path: "/testserver", Data: []byte("binary")}}, Entrypoint: []string{"/testserver"}}
}

func TestWriteDockerTarball(t *testing.T) {
	tests := []struct {
		ref, wantTag, wantErr string
	}{
		{ref: "localhost/svc-doctor/testserver:dev", wantTag: "localhost/svc-doctor/testserver:dev"},
		{ref: "ghcr.io/svc-doctor/agent:dev", wantTag: "ghcr.io/svc-doctor/agent:dev"},
		{ref: "Not A Ref", wantErr: "reference"},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			img, err := Build(testImage(t))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			err = WriteDockerTarball(&buf, tc.ref, img)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, data := tarEntries(t, bytes.NewReader(buf.Bytes()))
			var manifest []struct {
				Config   string
				RepoTags []string
				Layers   []string
			}
			if err := json.Unmarshal([]byte(data["manifest.json"]), &manifest); err != nil {
				t.Fatalf("manifest.json: %v", err)
			}
			if len(manifest) != 1 || len(manifest[0].RepoTags) != 1 || manifest[0].RepoTags[0] != tc.wantTag || len(manifest[0].Layers) != 1 {
				t.Fatalf("manifest %+v", manifest)
			}
			// Read it back as docker load / ctr import would.
			tag, _ := name.NewTag(tc.ref)
			back, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }, &tag)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := back.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.Config.User != NonRootUser || cf.Config.Entrypoint[0] != "/testserver" {
				t.Fatalf("config %+v", cf.Config)
			}
		})
	}
}

func TestWriteOCILayoutAndArchive(t *testing.T) {
	img, err := Build(testImage(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	refs := []string{"ghcr.io/svc-doctor/agent:v1.0.0", "ghcr.io/svc-doctor/agent:latest"}
	for _, ref := range refs {
		if err := WriteOCILayout(dir, ref, img); err != nil {
			t.Fatal(err)
		}
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != len(refs) {
		t.Fatalf("%d manifests, want %d", len(im.Manifests), len(refs))
	}
	for i, m := range im.Manifests {
		if got := m.Annotations["org.opencontainers.image.ref.name"]; got != refs[i] {
			t.Errorf("manifest %d ref %q, want %q", i, got, refs[i])
		}
		if m.MediaType != "application/vnd.oci.image.manifest.v1+json" {
			t.Errorf("media type %s", m.MediaType)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		t.Fatal(err)
	}

	archive := filepath.Join(t.TempDir(), "agent.oci.tar")
	if err := WriteOCIArchiveFile(archive, refs[0], img); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hdrs, data := tarEntries(t, f)
	if _, ok := hdrs["oci-layout"]; !ok {
		t.Fatalf("archive lacks oci-layout: %v", keys(hdrs))
	}
	if !strings.Contains(data["index.json"], refs[0]) {
		t.Fatalf("index.json %s", data["index.json"])
	}
	if err := WriteOCILayout(t.TempDir(), "bad ref!", img); err == nil {
		t.Fatal("bad reference accepted")
	}
}

func TestFileFromDisk(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bin")
	if err := os.WriteFile(p, []byte("x"), 0o750); err != nil {
		t.Fatal(err)
	}
	f, err := FileFromDisk("/bin/x", p)
	if err != nil {
		t.Fatal(err)
	}
	if f.Mode != 0o750 || string(f.Data) != "x" || f.Path != "/bin/x" {
		t.Fatalf("%+v", f)
	}
	if _, err := FileFromDisk("/d", dir); err == nil {
		t.Fatal("directory accepted")
	}
	if _, err := FileFromDisk("/d", filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file accepted")
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
