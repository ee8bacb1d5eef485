package main

// Tests of the release with krew's own code, offline:
//
//   - TestKrewManifestValidates runs krew's validate-krew-manifest on the generated manifest, then
//     again on the same manifest pointed at a loopback HTTP server holding the archives, so that the
//     validator also installs every platform with `kubectl krew install` (and checks LICENSE).
//   - TestKrewInstallOffline installs the plugin with `krew install --manifest --archive` into a
//     temporary KREW_ROOT (downloads blocked by a dead proxy) and runs `kubectl svc-doctor version`
//     through kubectl.
//
// krew and validate-krew-manifest (sigs.k8s.io/krew v0.4.3, which cannot share this module's
// client-go) are built with `go install` into a temporary GOBIN: the Go module proxy (or the module
// cache) is the only thing these tests may reach. When they cannot be built the tests skip with one
// line, or fail when CI is set (see skipUnlessCI). kubectl is $SVCDOC_KUBECTL, else the local
// cluster's ($SVCDOC_CACHE/cluster/k8s-v*/bin, which hack/test.sh builds before the unit tests), else
// the one on PATH.
//
// By default the release is built here for this machine's platform only; point SVCDOC_RELEASE_DIST
// at the dist/ of a full `go run ./hack/release --snapshot` to validate and install every platform.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/svc-doctor/svc-doctor/krew"
)

// krewVersion is the krew release whose tools the tests build.
const krewVersion = "v0.4.3"

var (
	toolsOnce                sync.Once
	krewBin, validateBin     string
	toolsSkip                string
	releaseOnce              sync.Once
	testRelease              *Release
	releaseErr               error
	tempDirs                 []string
	tempMu                   sync.Mutex
	errNoPlatformForThisHost = fmt.Errorf("no archive for %s", hostPlatform())
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func sharedTempDir(t *testing.T, pattern string) string {
	d, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatal(err)
	}
	tempMu.Lock()
	tempDirs = append(tempDirs, d)
	tempMu.Unlock()
	return d
}

// krewTools builds krew and validate-krew-manifest once per test run.
func krewTools(t *testing.T) (string, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("krew: skipped in -short mode (builds krew's tools and a release)")
	}
	toolsOnce.Do(func() {
		gobin := sharedTempDir(t, "svc-doctor-krew-tools-")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "install", "sigs.k8s.io/krew/cmd/krew@"+krewVersion,
			"sigs.k8s.io/krew/cmd/validate-krew-manifest@"+krewVersion)
		cmd.Dir = gobin // outside this module: go install pkg@version ignores it anyway
		cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			toolsSkip = fmt.Sprintf("krew: cannot build sigs.k8s.io/krew/cmd/{krew,validate-krew-manifest}@%s (no Go module proxy?): %s", krewVersion, lines[len(lines)-1])
			return
		}
		krewBin, validateBin = filepath.Join(gobin, "krew"), filepath.Join(gobin, "validate-krew-manifest")
	})
	if toolsSkip != "" {
		skipUnlessCI(t, "%s", toolsSkip)
	}
	return krewBin, validateBin
}

// kubectlPath finds a kubectl, preferring the local cluster's version.
func kubectlPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SVCDOC_KUBECTL"); p != "" {
		return p
	}
	cache := os.Getenv("SVCDOC_CACHE")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache", "svc-doctor")
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(cache, "cluster", "k8s-v*", "bin", "kubectl")); len(matches) > 0 {
		sort.Strings(matches)
		return matches[len(matches)-1]
	}
	if p, err := exec.LookPath("kubectl"); err == nil {
		return p
	}
	skipUnlessCI(t, "krew: no kubectl (set SVCDOC_KUBECTL, or run hack/cluster/setup.sh)")
	return ""
}

// skipUnlessCI skips the test, or fails it when the environment variable CI is set: in CI the test
// command provides every tool these tests need (hack/test.sh runs the cluster setup, which builds
// kubectl, before the unit tests; the Go module proxy serves krew), so a skip there would hide that
// the release was never installed with krew.
func skipUnlessCI(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set, so this test must not skip: "+format, args...)
	}
	t.Skipf(format, args...)
}

// release returns the release under test: SVCDOC_RELEASE_DIST's, or one built here for this
// machine's platform (the agent image too, on linux).
func release(t *testing.T) *Release {
	t.Helper()
	releaseOnce.Do(func() {
		if dir := os.Getenv("SVCDOC_RELEASE_DIST"); dir != "" {
			testRelease, releaseErr = loadRelease(dir)
			return
		}
		if !knownPlatforms[hostPlatform()] {
			releaseErr = errNoPlatformForThisHost
			return
		}
		cfg := Config{Snapshot: true, Dist: sharedTempDir(t, "svc-doctor-dist-"), Platforms: []string{hostPlatform()}, Repo: repoRoot(t)}
		if runtime.GOOS == "linux" {
			cfg.ImagePlatforms = []string{hostPlatform()}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		testRelease, releaseErr = Build(ctx, cfg)
	})
	if releaseErr == errNoPlatformForThisHost {
		t.Skipf("krew: %v", releaseErr)
	}
	if releaseErr != nil {
		t.Fatalf("building the release: %v", releaseErr)
	}
	return testRelease
}

func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// loadRelease reads a release from its dist/ directory (the manifest and the archives it names).
func loadRelease(dir string) (*Release, error) {
	data, err := os.ReadFile(filepath.Join(dir, krew.ManifestFile))
	if err != nil {
		return nil, err
	}
	m, err := krew.Parse(data)
	if err != nil {
		return nil, err
	}
	rel := &Release{Version: m.Spec.Version, Dist: dir, KrewManifest: filepath.Join(dir, krew.ManifestFile)}
	for _, p := range m.Spec.Platforms {
		goos, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		a, err := asset(filepath.Join(dir, ArchiveName(m.Spec.Version, goos, arch)))
		if err != nil {
			return nil, err
		}
		a.OS, a.Arch = goos, arch
		rel.Archives = append(rel.Archives, a)
	}
	if img := filepath.Join(dir, ImageFileName(m.Spec.Version)); fileExists(img) {
		// a full release: both image platforms; the digest is read back from the archive
		rel.Image = &Image{Ref: "ghcr.io/svc-doctor/agent:" + m.Spec.Version, File: img, Platforms: DefaultImagePlatforms}
	}
	return rel, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func runCmd(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("$ %s %s\n%s", filepath.Base(name), strings.Join(args, " "), out.String())
	return out.String(), err
}

// binDir makes a directory with the named symlinks (name -> target) for a PATH.
func binDir(t *testing.T, links map[string]string) string {
	dir := t.TempDir()
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestKrewManifestValidates(t *testing.T) {
	krewBin, validate := krewTools(t)
	kubectl := kubectlPath(t)
	rel := release(t)

	t.Run("published manifest, structure", func(t *testing.T) {
		out, err := runCmd(t, os.Environ(), validate, "-manifest", rel.KrewManifest, "-skip-install")
		if err != nil || !strings.Contains(out, "structural validation OK") {
			t.Fatalf("validate-krew-manifest failed: %v\n%s", err, out)
		}
		data, _ := os.ReadFile(rel.KrewManifest)
		if err := krew.Check(data); err != nil {
			t.Error(err)
		}
		m, _ := krew.Parse(data)
		for _, p := range m.Spec.Platforms {
			name := ArchiveName(rel.Version, p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"])
			if want := "https://github.com/svc-doctor/svc-doctor/releases/download/" + rel.Version + "/" + name; p.URI != want {
				t.Errorf("uri %s, want %s", p.URI, want)
			}
		}
	})

	t.Run("every platform installs from a loopback server", func(t *testing.T) {
		srv := httptest.NewServer(http.FileServer(http.Dir(rel.Dist)))
		defer srv.Close()
		var ps []krew.Platform
		for _, a := range rel.Archives {
			ps = append(ps, krew.Platform{OS: a.OS, Arch: a.Arch, URI: srv.URL + "/" + a.Name, SHA256: a.SHA256})
		}
		var buf bytes.Buffer
		if err := krew.Render(&buf, krew.Data{Version: rel.Version, Platforms: ps}); err != nil {
			t.Fatal(err)
		}
		manifest := filepath.Join(t.TempDir(), krew.ManifestFile)
		if err := os.WriteFile(manifest, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		// the validator runs `kubectl krew install --manifest` per platform, with only PATH,
		// KREW_ROOT, KREW_OS and KREW_ARCH in the environment
		path := binDir(t, map[string]string{"kubectl": kubectl, "kubectl-krew": krewBin})
		env := []string{"PATH=" + path, "HOME=" + t.TempDir()}
		out, err := runCmd(t, env, validate, "-manifest", manifest)
		want := fmt.Sprintf("all %d spec.platforms installed fine", len(rel.Archives))
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("validate-krew-manifest failed (want %q): %v\n%s", want, err, out)
		}
	})
}

func TestKrewInstallOffline(t *testing.T) {
	krewBin, _ := krewTools(t)
	kubectl := kubectlPath(t)
	t.Logf("kubectl: %s", kubectl)
	rel := release(t)
	var archive *Asset
	for i, a := range rel.Archives {
		if a.OS+"/"+a.Arch == hostPlatform() {
			archive = &rel.Archives[i]
		}
	}
	if archive == nil {
		t.Skipf("krew: the release has no archive for %s", hostPlatform())
	}
	root, home := t.TempDir(), t.TempDir()
	// a dead proxy: any download attempt fails instead of leaving the machine
	env := []string{"KREW_ROOT=" + root, "HOME=" + home, "KREW_NO_UPGRADE_CHECK=1",
		"HTTP_PROXY=http://127.0.0.1:1", "HTTPS_PROXY=http://127.0.0.1:1", "http_proxy=http://127.0.0.1:1", "https_proxy=http://127.0.0.1:1",
		"PATH=" + filepath.Join(root, "bin")}
	out, err := runCmd(t, env, krewBin, "install", "--manifest="+rel.KrewManifest, "--archive="+archive.Path)
	if err != nil {
		t.Fatalf("krew install: %v\n%s", err, out)
	}
	if !strings.Contains(out, `Installed plugin: svc-doctor`) {
		t.Errorf("krew install did not report the plugin installed:\n%s", out)
	}
	for _, f := range []string{"bin/kubectl-svc_doctor", "receipts/svc-doctor.yaml"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("krew left no %s: %v", f, err)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(root, "store", "svc-doctor", rel.Version, "LICENSE")); len(m) == 0 {
		t.Errorf("LICENSE not installed in the krew store")
	}
	if archive.OS != "windows" {
		if err := archiveHas(archive.Path, "kubectl-svc_doctor", "LICENSE", "kubectl_complete-svc_doctor"); err != nil {
			t.Error(err)
		}
	}

	// through kubectl: plugin discovery needs only PATH
	plugins, err := runCmd(t, env, kubectl, "plugin", "list")
	if err != nil || !strings.Contains(plugins, filepath.Join(root, "bin", "kubectl-svc_doctor")) {
		t.Errorf("kubectl plugin list does not show the plugin: %v\n%s", err, plugins)
	}
	out, err = runCmd(t, env, kubectl, "svc-doctor", "version", "-o", "json")
	if err != nil {
		t.Fatalf("kubectl svc-doctor version -o json: %v\n%s", err, out)
	}
	var v struct {
		APIVersion, Kind, Version, Commit, Date, AgentImage string
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	if v.Version != rel.Version || v.AgentImage != "ghcr.io/svc-doctor/agent:"+rel.Version || v.Kind != "Version" {
		t.Errorf("version %q, agent image %q, kind %q; want %s", v.Version, v.AgentImage, v.Kind, rel.Version)
	}
	if rel.Commit != "" && (v.Commit != rel.Commit || v.Date != rel.Date) {
		t.Errorf("commit %q date %q, want %q %q", v.Commit, v.Date, rel.Commit, rel.Date)
	}
	out, err = runCmd(t, env, kubectl, "svc-doctor", "version")
	if err != nil || !strings.HasPrefix(out, "svc-doctor "+rel.Version+" (commit ") {
		t.Errorf("kubectl svc-doctor version: %v\n%s", err, out)
	}
}

// archiveHas checks that a .tar.gz holds exactly the named files, in that order.
func archiveHas(path string, names ...string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	var got []string
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		got = append(got, h.Name)
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		return fmt.Errorf("%s holds %v, want %v", filepath.Base(path), got, names)
	}
	return nil
}
