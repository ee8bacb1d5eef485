// Package ociimage builds small single-layer container images from files, without a registry or a
// container engine, and writes them as a docker-format tarball (what `ctr images import` and
// `docker load` read) or as an OCI image layout / OCI archive (for releases).
//
// The images are distroless-style: besides the given files they hold only /etc/passwd, /etc/group,
// /etc/nsswitch.conf and a world-writable /tmp, and they run as the numeric non-root user 65532
// unless told otherwise. Builds are reproducible: the same inputs give the same digest.
package ociimage

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// NonRootUser is the numeric user (and group) images run as by default ("nonroot" in distroless).
const NonRootUser = "65532"

// File is one regular file of the image.
type File struct {
	Path string      // absolute path inside the image, e.g. /testserver
	Mode os.FileMode // permission bits; 0 means 0o755 (most files here are executables)
	Data []byte
}

// FileFromDisk reads src into a File at path dst, keeping src's permission bits.
func FileFromDisk(dst, src string) (File, error) {
	st, err := os.Stat(src)
	if err != nil {
		return File{}, err
	}
	if !st.Mode().IsRegular() {
		return File{}, fmt.Errorf("%s is not a regular file", src)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return File{}, err
	}
	return File{Path: dst, Mode: st.Mode().Perm(), Data: b}, nil
}

// Spec describes an image.
type Spec struct {
	Files      []File
	Entrypoint []string
	Cmd        []string
	Env        []string          // KEY=VALUE; PATH defaults to /:/bin:/usr/bin when unset
	User       string            // numeric uid[:gid]; empty means NonRootUser
	WorkingDir string            // empty means /
	Labels     map[string]string // image config labels (e.g. org.opencontainers.image.source)
	OS         string            // empty means linux
	Arch       string            // empty means the architecture of this program
	Created    time.Time         // zero means the Unix epoch (reproducible builds)
}

// base files every image gets.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group    = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"
	nsswitch = "hosts: files dns\n"
)

// Build returns the image described by s.
func Build(s Spec) (v1.Image, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	data, err := LayerTar(s.Files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.DockerLayer))
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = orDefault(s.OS, "linux"), orDefault(s.Arch, runtime.GOARCH)
	created := s.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	cf.Created = v1.Time{Time: created.UTC()}
	cf.Config.Entrypoint = s.Entrypoint
	cf.Config.Cmd = s.Cmd
	cf.Config.User = orDefault(s.User, NonRootUser)
	cf.Config.WorkingDir = orDefault(s.WorkingDir, "/")
	cf.Config.Env = withDefaultPath(s.Env)
	cf.Config.Labels = s.Labels
	return mutate.ConfigFile(img, cf)
}

func (s Spec) validate() error {
	seen := map[string]bool{}
	for _, f := range s.Files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
			return fmt.Errorf("file path %q must be absolute and clean", f.Path)
		}
		if seen[f.Path] {
			return fmt.Errorf("file %s given twice", f.Path)
		}
		seen[f.Path] = true
	}
	if len(s.Entrypoint) == 0 && len(s.Cmd) == 0 {
		return errors.New("an image needs an entrypoint or a command")
	}
	if s.User != "" {
		uid, gid, _ := strings.Cut(s.User, ":")
		if !numeric(uid) || (gid != "" && !numeric(gid)) {
			return fmt.Errorf("user %q must be numeric (uid or uid:gid)", s.User)
		}
	}
	return nil
}

// LayerTar returns the uncompressed tar of the image's only layer: the base directories and files
// plus files (which may override /etc/passwd and the like). Entries are sorted and time-stamped at
// the epoch, so equal inputs give equal bytes.
func LayerTar(files []File) ([]byte, error) {
	type entry struct {
		hdr  tar.Header
		data []byte
	}
	epoch := time.Unix(0, 0)
	entries := map[string]entry{}
	dir := func(p string, mode int64) {
		entries[p] = entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: mode, ModTime: epoch}}
	}
	file := func(p string, mode int64, data []byte) {
		entries[p] = entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: mode, Size: int64(len(data)), ModTime: epoch}, data: data}
	}
	for _, d := range []string{"bin", "dev", "etc", "home", "proc", "root", "sys", "usr", "usr/bin", "var", "var/run"} {
		dir(d, 0o755)
	}
	dir("root", 0o700)
	dir("tmp", 0o1777)
	dir("home/nonroot", 0o755)
	file("etc/passwd", 0o644, []byte(passwd))
	file("etc/group", 0o644, []byte(group))
	file("etc/nsswitch.conf", 0o644, []byte(nsswitch))
	for _, f := range files {
		p := strings.TrimPrefix(path.Clean(f.Path), "/")
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := entries[d]; !ok {
				dir(d, 0o755)
			}
		}
		mode := int64(f.Mode.Perm())
		if mode == 0 {
			mode = 0o755
		}
		file(p, mode, f.Data)
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := entries[n]
		e.hdr.Format = tar.FormatPAX
		e.hdr.Uname, e.hdr.Gname = "root", "root"
		if err := tw.WriteHeader(&e.hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteDockerTarball writes img under the tag ref (e.g. localhost/svc-doctor/testserver:dev) as a
// docker-format tarball, importable with `ctr -n k8s.io images import` or `docker load`.
func WriteDockerTarball(w io.Writer, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", ref, err)
	}
	return tarball.Write(tag, img, w)
}

// WriteDockerTarballFile is WriteDockerTarball into a file, written atomically.
func WriteDockerTarballFile(file, ref string, img v1.Image) error {
	return writeAtomic(file, func(w io.Writer) error { return WriteDockerTarball(w, ref, img) })
}

// WriteOCILayout adds img to the OCI image layout in dir (created if needed), annotated with ref
// (org.opencontainers.image.ref.name), e.g. for `crane push` or `skopeo copy oci:DIR:REF` at release.
func WriteOCILayout(dir, ref string, img v1.Image) error {
	if _, err := name.NewTag(ref, name.StrictValidation); err != nil {
		return fmt.Errorf("image reference %q: %w", ref, err)
	}
	// OCI media types for the layout: convert the docker-typed image.
	ociImg, err := toOCI(img)
	if err != nil {
		return err
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return err
		}
	}
	return p.AppendImage(ociImg, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref,
		"io.containerd.image.name":          ref,
	}))
}

// WriteOCIArchive writes img as an OCI archive (a tar of an OCI image layout) to w; containerd's
// `ctr images import` reads it too.
func WriteOCIArchive(w io.Writer, ref string, img v1.Image) error {
	tmp, err := os.MkdirTemp("", "ociimage-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if err := WriteOCILayout(tmp, ref, img); err != nil {
		return err
	}
	return tarDir(w, tmp)
}

// WriteOCIArchiveFile is WriteOCIArchive into a file, written atomically.
func WriteOCIArchiveFile(file, ref string, img v1.Image) error {
	return writeAtomic(file, func(w io.Writer) error { return WriteOCIArchive(w, ref, img) })
}

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
		out, err = mutate.Append(out, mutate.Addendum{Layer: l, MediaType: types.OCILayer})
		if err != nil {
			return nil, err
		}
	}
	return mutate.ConfigFile(out, cf)
}

func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	var walk func(rel string) error
	walk = func(rel string) error {
		ents, err := os.ReadDir(path.Join(dir, rel))
		if err != nil {
			return err
		}
		for _, e := range ents { // ReadDir sorts by name
			r := path.Join(rel, e.Name())
			if e.IsDir() {
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: r + "/", Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
					return err
				}
				if err := walk(r); err != nil {
					return err
				}
				continue
			}
			b, err := os.ReadFile(path.Join(dir, r))
			if err != nil {
				return err
			}
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: r, Mode: 0o644, Size: int64(len(b)), ModTime: time.Unix(0, 0)}); err != nil {
				return err
			}
			if _, err := tw.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(""); err != nil {
		return err
	}
	return tw.Close()
}

func writeAtomic(file string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(path.Dir(file), ".ociimage-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if err := write(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), file)
}

func withDefaultPath(env []string) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			return env
		}
	}
	return append([]string{"PATH=/:/bin:/usr/bin"}, env...)
}

func numeric(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
