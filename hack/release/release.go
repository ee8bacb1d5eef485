package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/svc-doctor/svc-doctor/krew"
)

// Module paths and names of the release.
const (
	module         = "github.com/svc-doctor/svc-doctor"
	versionPackage = module + "/internal/version"
	pluginPackage  = "./cmd/kubectl-svc_doctor"
	agentPackage   = "./cmd/svc-doctor-agent"
	agentBinary    = "svc-doctor-agent"
	// completionScript is kubectl's plugin completion hook (hack/completion), in the unix archives.
	completionScript = "kubectl_complete-svc_doctor"
	project          = "svc-doctor"
	// distMarker marks a directory as a release output that may be emptied.
	distMarker = ".svc-doctor-release"
)

// DefaultPlatforms are the plugin archives of a release; DefaultImagePlatforms the agent image's.
var (
	DefaultPlatforms      = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}
	DefaultImagePlatforms = []string{"linux/amd64", "linux/arm64"}
)

// Config is one release run.
type Config struct {
	// Version is the tag (v1.2.3); empty with Snapshot, which derives one from git.
	Version  string
	Snapshot bool
	Publish  bool
	// Dist is the output directory; it is emptied first.
	Dist string
	// Platforms ("linux/amd64", ...) of the plugin archives; ImagePlatforms of the agent image
	// (none: no image).
	Platforms, ImagePlatforms []string
	// WriteKrewManifest also writes krew/svc-doctor.yaml in the checkout.
	WriteKrewManifest bool
	// Repo is the checkout to build (default: the git top level of the working directory).
	Repo string
	// Log receives progress (default: discarded).
	Log io.Writer
}

// Asset is a file of the release.
type Asset struct {
	Name, Path, SHA256 string
	// OS and Arch are set for plugin archives.
	OS, Arch string
}

// Image is the agent image of the release.
type Image struct {
	Ref, Digest, File string
	Platforms         []string
}

// Release is what Build produced.
type Release struct {
	Version, Commit, Date string
	Dist                  string
	// Archives are the plugin archives; Assets everything uploaded (archives, image, checksums,
	// krew manifest), in upload order.
	Archives     []Asset
	Assets       []Asset
	Checksums    string
	Image        *Image
	KrewManifest string
}

// Build builds the whole release into cfg.Dist.
//
//nolint:funlen // the release steps in the order they must run (stamp, binaries per platform, images, checksums, krew manifest), each a call already
func Build(ctx context.Context, cfg Config) (*Release, error) {
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	logf := func(format string, a ...any) { fmt.Fprintf(logw, format+"\n", a...) }
	repo := cfg.Repo
	if repo == "" {
		top, err := git(ctx, ".", "rev-parse", "--show-toplevel")
		if err != nil {
			return nil, fmt.Errorf("not in a git checkout: %w", err)
		}
		repo = top
	}
	st, err := stamp(ctx, repo, cfg)
	if err != nil {
		return nil, err
	}
	dist, err := prepareDist(repo, cfg.Dist)
	if err != nil {
		return nil, err
	}
	license, err := os.ReadFile(filepath.Join(repo, "LICENSE"))
	if err != nil {
		return nil, fmt.Errorf("every archive needs the LICENSE file: %w", err)
	}
	completion, err := os.ReadFile(filepath.Join(repo, "hack", "completion", completionScript))
	if err != nil {
		return nil, fmt.Errorf("the archives carry the kubectl completion script: %w", err)
	}
	rel := &Release{Version: st.Version, Commit: st.Commit, Date: st.Date.Format(time.RFC3339), Dist: dist}
	logf("release %s: commit %s, date %s, into %s", st.Version, st.Commit, rel.Date, dist)

	platforms, err := parsePlatforms(cfg.Platforms, nil)
	if err != nil {
		return nil, err
	}
	for _, p := range platforms {
		bin := krew.Platform{OS: p.os}.Bin()
		out := filepath.Join(dist, "build", p.os+"_"+p.arch, bin)
		logf("building %s for %s/%s", pluginPackage, p.os, p.arch)
		if err := goBuild(ctx, repo, pluginPackage, out, p, st); err != nil {
			return nil, err
		}
		exe, err := os.ReadFile(out)
		if err != nil {
			return nil, err
		}
		files := []archiveFile{{Name: bin, Mode: 0o755, Data: exe}, {Name: "LICENSE", Mode: 0o644, Data: license}}
		if p.os != "windows" { // kubectl runs it for `kubectl svc-doctor <TAB>`; a sh script
			files = append(files, archiveFile{Name: completionScript, Mode: 0o755, Data: completion})
		}
		name := ArchiveName(st.Version, p.os, p.arch)
		path := filepath.Join(dist, name)
		if p.os == "windows" {
			err = writeZip(path, files, st.Date)
		} else {
			err = writeTarGz(path, files, st.Date)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		a, err := asset(path)
		if err != nil {
			return nil, err
		}
		a.OS, a.Arch = p.os, p.arch
		rel.Archives = append(rel.Archives, a)
		rel.Assets = append(rel.Assets, a)
	}

	if len(cfg.ImagePlatforms) > 0 {
		imgPlatforms, err := parsePlatforms(cfg.ImagePlatforms, []string{"linux"})
		if err != nil {
			return nil, fmt.Errorf("--image-platforms: %w", err)
		}
		bins := map[string]string{}
		for _, p := range imgPlatforms {
			out := filepath.Join(dist, "build", "agent_"+p.os+"_"+p.arch, agentBinary)
			logf("building %s for %s/%s", agentPackage, p.os, p.arch)
			if err := goBuild(ctx, repo, agentPackage, out, p, st); err != nil {
				return nil, err
			}
			bins[p.arch] = out
		}
		img, err := writeAgentImage(dist, st, bins)
		if err != nil {
			return nil, fmt.Errorf("agent image: %w", err)
		}
		logf("agent image %s: index %s", img.Ref, img.Digest)
		rel.Image = img
		a, err := asset(img.File)
		if err != nil {
			return nil, err
		}
		rel.Assets = append(rel.Assets, a)
	}

	// checksums of everything so far, then the krew manifest made from them
	rel.Checksums = filepath.Join(dist, project+"_"+strings.TrimPrefix(st.Version, "v")+"_checksums.txt")
	if err := writeChecksums(rel.Checksums, rel.Assets); err != nil {
		return nil, err
	}
	var kp []krew.Platform
	for _, a := range rel.Archives {
		kp = append(kp, krew.Platform{OS: a.OS, Arch: a.Arch, URI: krew.URI(st.Version, a.Name), SHA256: a.SHA256})
	}
	var manifest bytes.Buffer
	if err := krew.Render(&manifest, krew.Data{Version: st.Version, Platforms: kp}); err != nil {
		return nil, err
	}
	rel.KrewManifest = filepath.Join(dist, krew.ManifestFile)
	if err := os.WriteFile(rel.KrewManifest, manifest.Bytes(), 0o644); err != nil {
		return nil, err
	}
	if cfg.WriteKrewManifest {
		if err := os.WriteFile(filepath.Join(repo, "krew", krew.ManifestFile), manifest.Bytes(), 0o644); err != nil {
			return nil, err
		}
		logf("wrote krew/%s", krew.ManifestFile)
	}
	for _, f := range []string{rel.Checksums, rel.KrewManifest} {
		a, err := asset(f)
		if err != nil {
			return nil, err
		}
		rel.Assets = append(rel.Assets, a)
	}
	if err := os.RemoveAll(filepath.Join(dist, "build")); err != nil {
		return nil, err
	}
	return rel, nil
}

// ArchiveName is the file name of a plugin archive: svc-doctor_1.2.3_linux_amd64.tar.gz.
func ArchiveName(version, goos, goarch string) string {
	ext := ".tar.gz"
	if goos == "windows" {
		ext = ".zip"
	}
	return project + "_" + strings.TrimPrefix(version, "v") + "_" + goos + "_" + goarch + ext
}

// ImageFileName is the file name of the agent image's OCI archive.
func ImageFileName(version string) string {
	return project + "-agent_" + strings.TrimPrefix(version, "v") + "_oci.tar"
}

type platform struct{ os, arch string }

var knownPlatforms = map[string]bool{
	"linux/amd64": true, "linux/arm64": true, "darwin/amd64": true, "darwin/arm64": true,
	"windows/amd64": true, "windows/arm64": true,
}

func parsePlatforms(list []string, onlyOS []string) ([]platform, error) {
	if len(list) == 0 {
		return nil, errors.New("no platform given")
	}
	seen := map[string]bool{}
	var out []platform
	for _, s := range list {
		if !knownPlatforms[s] {
			return nil, fmt.Errorf("platform %q: want one of %s", s, strings.Join(DefaultPlatforms, ", "))
		}
		if seen[s] {
			return nil, fmt.Errorf("platform %s given twice", s)
		}
		seen[s] = true
		os, arch, _ := strings.Cut(s, "/")
		if len(onlyOS) > 0 && os != onlyOS[0] {
			return nil, fmt.Errorf("platform %s: only %s is supported here", s, onlyOS[0])
		}
		out = append(out, platform{os, arch})
	}
	return out, nil
}

// buildStamp is what -ldflags writes into internal/version.
type buildStamp struct {
	Version, Commit string
	Date            time.Time
}

func (s buildStamp) ldflags() string {
	return strings.Join([]string{
		"-s", "-w",
		"-X", versionPackage + ".Version=" + s.Version,
		"-X", versionPackage + ".Commit=" + s.Commit,
		"-X", versionPackage + ".Date=" + s.Date.Format(time.RFC3339),
	}, " ")
}

// stamp resolves version, commit and date. The date is the commit's (or SOURCE_DATE_EPOCH), so
// that two builds of one commit are identical.
func stamp(ctx context.Context, repo string, cfg Config) (buildStamp, error) {
	commit, err := git(ctx, repo, "rev-parse", "HEAD")
	if err != nil {
		return buildStamp{}, fmt.Errorf("reading the commit: %w", err)
	}
	status, err := git(ctx, repo, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return buildStamp{}, err
	}
	dirty := status != ""
	var date time.Time
	if e := os.Getenv("SOURCE_DATE_EPOCH"); e != "" {
		sec, err := strconv.ParseInt(e, 10, 64)
		if err != nil {
			return buildStamp{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", e)
		}
		date = time.Unix(sec, 0).UTC()
	} else {
		ct, err := git(ctx, repo, "log", "-1", "--format=%ct", "HEAD")
		if err != nil {
			return buildStamp{}, err
		}
		sec, err := strconv.ParseInt(ct, 10, 64)
		if err != nil {
			return buildStamp{}, fmt.Errorf("commit time %q: %w", ct, err)
		}
		date = time.Unix(sec, 0).UTC()
	}
	st := buildStamp{Version: cfg.Version, Commit: commit, Date: date}
	if cfg.Snapshot {
		tags, _ := git(ctx, repo, "tag", "--list", "v*", "--merged", "HEAD")
		st.Version = SnapshotVersion(strings.Fields(tags), commit[:min(7, len(commit))])
		if dirty {
			st.Commit += "-dirty"
		}
	}
	if !krew.ValidVersion(st.Version) {
		return buildStamp{}, fmt.Errorf("version %q is not a semantic version with a leading v (v1.2.3)", st.Version)
	}
	if cfg.Publish {
		if dirty {
			return buildStamp{}, fmt.Errorf("the checkout has uncommitted changes: a published release is built from a clean tag")
		}
		at, err := git(ctx, repo, "tag", "--points-at", "HEAD")
		if err != nil {
			return buildStamp{}, err
		}
		if !contains(strings.Fields(at), st.Version) {
			return buildStamp{}, fmt.Errorf("HEAD is not tagged %s: tag it (git tag %s) or check the tag out", st.Version, st.Version)
		}
	}
	return st, nil
}

// SnapshotVersion is the version of a snapshot: the patch after the highest vX.Y.Z tag (v0.0.0
// when there is none) with the pre-release "snapshot.<commit>": v0.3.2-snapshot.abc1234.
func SnapshotVersion(tags []string, shortCommit string) string {
	best := [3]int{}
	for _, t := range tags {
		if !krew.ValidVersion(t) {
			continue
		}
		core, _, _ := strings.Cut(strings.TrimPrefix(t, "v"), "-")
		core, _, _ = strings.Cut(core, "+")
		var v [3]int
		for i, p := range strings.SplitN(core, ".", 3) {
			v[i], _ = strconv.Atoi(p)
		}
		if v[0] > best[0] || v[0] == best[0] && (v[1] > best[1] || v[1] == best[1] && v[2] > best[2]) {
			best = v
		}
	}
	return fmt.Sprintf("v%d.%d.%d-snapshot.%s", best[0], best[1], best[2]+1, shortCommit)
}

// goBuild builds pkg for p with the release flags: static, path-free, stamped.
func goBuild(ctx context.Context, repo, pkg, out string, p platform, st buildStamp) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", st.ldflags(), "-o", out, pkg)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.os, "GOARCH="+p.arch, "GOFLAGS=-mod=readonly", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s/%s: %v\n%s", pkg, p.os, p.arch, err, stderr.String())
	}
	return nil
}

// prepareDist empties dir (relative to repo) after checking it is a release output, and marks it.
func prepareDist(repo, dir string) (string, error) {
	if dir == "" {
		dir = "dist"
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(repo, dir)
	}
	dir = filepath.Clean(dir)
	if dir == repo || dir == filepath.Dir(dir) {
		return "", fmt.Errorf("refusing to use %s as the output directory", dir)
	}
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return "", err
	case len(ents) > 0:
		if _, err := os.Stat(filepath.Join(dir, distMarker)); err != nil {
			return "", fmt.Errorf("%s is not empty and not an earlier release output (no %s): empty it or pick another --dist", dir, distMarker)
		}
		if err := os.RemoveAll(dir); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, distMarker), []byte("output of go run ./hack/release; emptied by the next run\n"), 0o644)
}

func asset(path string) (Asset, error) {
	sum, err := sha256File(path)
	if err != nil {
		return Asset{}, err
	}
	return Asset{Name: filepath.Base(path), Path: path, SHA256: sum}, nil
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeChecksums writes "<sha256>  <name>" lines sorted by name, as sha256sum -c reads them.
func writeChecksums(path string, assets []Asset) error {
	sorted := append([]Asset(nil), assets...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var b strings.Builder
	for _, a := range sorted {
		fmt.Fprintf(&b, "%s  %s\n", a.SHA256, a.Name)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// hostPlatform is the platform of this program, as a release platform string.
func hostPlatform() string { return runtime.GOOS + "/" + runtime.GOARCH }
