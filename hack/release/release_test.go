package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSnapshotVersion(t *testing.T) {
	tests := []struct {
		name string
		tags []string
		want string
	}{
		{name: "no tag", want: "v0.0.1-snapshot.abc1234"},
		{name: "next patch of the highest tag", tags: []string{"v0.1.0", "v0.10.2", "v0.9.9"}, want: "v0.10.3-snapshot.abc1234"},
		{name: "pre-release tags count by their core", tags: []string{"v1.0.0-rc.1"}, want: "v1.0.1-snapshot.abc1234"},
		{name: "tags that are not versions are ignored", tags: []string{"vnext", "v2", "release-3"}, want: "v0.0.1-snapshot.abc1234"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SnapshotVersion(tt.tags, "abc1234"); got != tt.want {
				t.Errorf("SnapshotVersion(%v) = %s, want %s", tt.tags, got, tt.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{ArchiveName("v1.2.3", "linux", "arm64"), "svc-doctor_1.2.3_linux_arm64.tar.gz"},
		{ArchiveName("v1.2.3", "windows", "amd64"), "svc-doctor_1.2.3_windows_amd64.zip"},
		{ImageFileName("v1.2.3-rc.1"), "svc-doctor-agent_1.2.3-rc.1_oci.tar"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}

func TestLdflags(t *testing.T) {
	st := buildStamp{Version: "v1.2.3", Commit: "0123abc", Date: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	want := "-s -w -X github.com/svc-doctor/svc-doctor/internal/version.Version=v1.2.3 " +
		"-X github.com/svc-doctor/svc-doctor/internal/version.Commit=0123abc " +
		"-X github.com/svc-doctor/svc-doctor/internal/version.Date=2026-01-02T03:04:05Z"
	if got := st.ldflags(); got != want {
		t.Errorf("ldflags:\n got %s\nwant %s", got, want)
	}
}

func TestArchivesAreReproducibleAndComplete(t *testing.T) {
	dir := t.TempDir()
	mtime := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	files := []archiveFile{{Name: "kubectl-svc_doctor", Mode: 0o755, Data: []byte("binary")}, {Name: "LICENSE", Mode: 0o644, Data: []byte("Apache")}}
	type entry struct {
		Name  string
		Mode  os.FileMode
		MTime time.Time
		Data  string
	}
	want := []entry{{"kubectl-svc_doctor", 0o755, mtime, "binary"}, {"LICENSE", 0o644, mtime, "Apache"}}
	tests := []struct {
		name  string
		write func(string, []archiveFile, time.Time) error
		read  func(*testing.T, []byte) []entry
	}{
		{name: "tar.gz", write: writeTarGz, read: func(t *testing.T, b []byte) []entry {
			gz, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if gz.Name != "" || !gz.ModTime.IsZero() {
				t.Errorf("gzip header carries name %q, time %v", gz.Name, gz.ModTime)
			}
			var out []entry
			tr := tar.NewReader(gz)
			for {
				h, err := tr.Next()
				if err == io.EOF {
					return out
				}
				if err != nil {
					t.Fatal(err)
				}
				data, _ := io.ReadAll(tr)
				if h.Uid != 0 || h.Gid != 0 {
					t.Errorf("%s owned by %d:%d", h.Name, h.Uid, h.Gid)
				}
				out = append(out, entry{h.Name, os.FileMode(h.Mode), h.ModTime.UTC(), string(data)})
			}
		}},
		{name: "zip", write: writeZip, read: func(t *testing.T, b []byte) []entry {
			zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			var out []entry
			for _, f := range zr.File {
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				data, _ := io.ReadAll(rc)
				rc.Close()
				out = append(out, entry{f.Name, f.Mode().Perm(), f.Modified.UTC(), string(data)})
			}
			return out
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := filepath.Join(dir, "a."+tt.name), filepath.Join(dir, "b."+tt.name)
			if err := tt.write(a, files, mtime); err != nil {
				t.Fatal(err)
			}
			if err := tt.write(b, files, mtime); err != nil {
				t.Fatal(err)
			}
			da, _ := os.ReadFile(a)
			db, _ := os.ReadFile(b)
			if !bytes.Equal(da, db) {
				t.Error("two writes of the same files differ")
			}
			if diff := cmp.Diff(want, tt.read(t, da)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChecksumsFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sums.txt")
	err := writeChecksums(path, []Asset{{Name: "b.zip", SHA256: strings.Repeat("b", 64)}, {Name: "a.tar.gz", SHA256: strings.Repeat("a", 64)}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := strings.Repeat("a", 64) + "  a.tar.gz\n" + strings.Repeat("b", 64) + "  b.zip\n"
	if string(got) != want {
		t.Errorf("checksums:\n%s\nwant:\n%s", got, want)
	}
}

func TestPrepareDist(t *testing.T) {
	repo := t.TempDir()
	foreign := filepath.Join(repo, "foreign")
	if err := os.MkdirAll(foreign, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(foreign, "precious"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := prepareDist(repo, "foreign"); err == nil || !strings.Contains(err.Error(), "not an earlier release output") {
		t.Errorf("a non-empty foreign directory was accepted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(foreign, "precious")); err != nil {
		t.Errorf("the foreign directory was touched: %v", err)
	}
	if _, err := prepareDist(repo, "."); err == nil {
		t.Error("the repository itself was accepted as output directory")
	}
	dist, err := prepareDist(repo, "dist")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, "old.tar.gz"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := prepareDist(repo, "dist"); err != nil {
		t.Fatalf("an earlier release output was refused: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dist, "old.tar.gz")); !os.IsNotExist(err) {
		t.Errorf("an earlier release output was not emptied: %v", err)
	}
}

func TestParsePlatforms(t *testing.T) {
	if _, err := parsePlatforms([]string{"linux/amd64", "linux/amd64"}, nil); err == nil {
		t.Error("duplicate platform accepted")
	}
	if _, err := parsePlatforms([]string{"plan9/amd64"}, nil); err == nil {
		t.Error("unknown platform accepted")
	}
	if _, err := parsePlatforms([]string{"darwin/arm64"}, []string{"linux"}); err == nil {
		t.Error("a darwin image platform accepted")
	}
	got, err := parsePlatforms(DefaultPlatforms, nil)
	if err != nil || len(got) != 6 {
		t.Errorf("default platforms: %v %v", got, err)
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{args: nil, wantErr: "say what to do"},
		{args: []string{"--snapshot", "--publish"}, wantErr: "cannot be combined"},
		{args: []string{"--dry-run"}, wantErr: "--version vX.Y.Z is needed"},
		{args: []string{"--snapshot", "--version", "v1.0.0"}, wantErr: "--snapshot derives its version"},
		{args: []string{"--snapshot", "extra"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			err := run(context.Background(), tt.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestPublishSteps(t *testing.T) {
	rel := &Release{Version: "v1.2.3", Assets: []Asset{{Path: "/d/a.tar.gz"}, {Path: "/d/sums.txt"}},
		Image: &Image{Ref: "ghcr.io/svc-doctor/agent:v1.2.3", File: "/d/agent_oci.tar"}}
	want := [][]string{
		{"gh", "release", "create", "v1.2.3", "--verify-tag", "--title", "v1.2.3", "--notes", "svc-doctor v1.2.3", "/d/a.tar.gz", "/d/sums.txt"},
		{"skopeo", "copy", "--all", "--preserve-digests", "oci-archive:/d/agent_oci.tar", "docker://ghcr.io/svc-doctor/agent:v1.2.3"},
	}
	if diff := cmp.Diff(want, PublishSteps(rel)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
