// Package krew renders svc-doctor's krew plugin manifest (svc-doctor.yaml) from its template
// (svc-doctor.yaml.tmpl, embedded) with the release's archive URIs and sha256s, and checks the
// policies of this project that krew's own validator does not: a short description of at most 50
// characters, a description without flags, caveats about RBAC only, lowercase sha256s, release URIs.
//
// hack/release calls Render; its tests run krew's validate-krew-manifest and `krew install` on the
// result.
package krew

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"sigs.k8s.io/yaml"
)

// Template is the manifest template (krew/svc-doctor.yaml.tmpl).
//
//go:embed svc-doctor.yaml.tmpl
var Template string

const (
	// PluginName is the krew plugin name: `kubectl krew install svc-doctor`, `kubectl svc-doctor`.
	PluginName = "svc-doctor"
	// ManifestFile is the manifest's file name; krew requires <plugin name>.yaml.
	ManifestFile = PluginName + ".yaml"
	// Binary is the plugin executable inside every archive (".exe" added on Windows).
	Binary = "kubectl-svc_doctor"
	// ReleaseURL is where release assets are downloaded from: ReleaseURL/<version>/<archive>.
	ReleaseURL = "https://github.com/svc-doctor/svc-doctor/releases/download"
	// MaxShortDescription is the longest shortDescription this project allows (krew-index asks
	// for a short one; `kubectl krew search` prints it in a column).
	MaxShortDescription = 50
)

// Platform is one archive of a release.
type Platform struct {
	OS, Arch string
	// URI is where krew downloads the archive; SHA256 its lowercase hex digest.
	URI, SHA256 string
}

// Bin is the plugin executable of the platform's archive.
func (p Platform) Bin() string {
	if p.OS == "windows" {
		return Binary + ".exe"
	}
	return Binary
}

// Data fills the template.
type Data struct {
	// Version is the release's semantic version with a "v" (v1.2.3, v0.1.0-rc.1).
	Version   string
	Platforms []Platform
}

var (
	semverRE = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)
	sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ValidVersion reports whether v is a semantic version with a leading "v", as krew requires.
func ValidVersion(v string) bool { return semverRE.MatchString(v) }

// Render writes the manifest for d. Platforms are written in a stable order (os, then arch).
func Render(w io.Writer, d Data) error {
	if !ValidVersion(d.Version) {
		return fmt.Errorf("version %q is not a semantic version with a leading v (v1.2.3)", d.Version)
	}
	if len(d.Platforms) == 0 {
		return fmt.Errorf("no platform to put in the manifest")
	}
	seen := map[string]bool{}
	for _, p := range d.Platforms {
		key := p.OS + "/" + p.Arch
		switch {
		case p.OS == "" || p.Arch == "":
			return fmt.Errorf("platform %q: os and arch are both needed", key)
		case seen[key]:
			return fmt.Errorf("platform %s given twice", key)
		case !sha256RE.MatchString(p.SHA256):
			return fmt.Errorf("platform %s: sha256 %q is not 64 lowercase hex digits", key, p.SHA256)
		case p.URI == "":
			return fmt.Errorf("platform %s: no uri", key)
		}
		seen[key] = true
	}
	ps := append([]Platform(nil), d.Platforms...)
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].OS != ps[j].OS {
			return ps[i].OS < ps[j].OS
		}
		return ps[i].Arch < ps[j].Arch
	})
	d.Platforms = ps
	tmpl, err := template.New(ManifestFile).Option("missingkey=error").Parse(Template)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, d); err != nil {
		return err
	}
	if err := Check(buf.Bytes()); err != nil {
		return fmt.Errorf("the rendered manifest breaks a rule (fix krew/svc-doctor.yaml.tmpl): %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// URI is the download address of a release asset.
func URI(version, asset string) string { return ReleaseURL + "/" + version + "/" + asset }

// Manifest is the part of a krew manifest this package reads back.
type Manifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
		} `json:"platforms"`
	} `json:"spec"`
}

// Parse reads a manifest.
func Parse(data []byte) (*Manifest, error) {
	var m Manifest
	if err := yaml.UnmarshalStrict(data, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// flagRE finds command-line flags (" --all", " -n ") in prose.
var flagRE = regexp.MustCompile(`(^|[\s(])--?[a-zA-Z][a-zA-Z0-9-]*\b`)

// rbacWords are what caveats may talk about: the rights the helper pod needs.
var rbacWords = []string{"pods/exec", "pods/ephemeralcontainers", "helper pod", "clusterrole"}

// Check applies this project's rules to a rendered manifest (krew's validator does the rest).
func Check(data []byte) error {
	m, err := Parse(data)
	if err != nil {
		return err
	}
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	s := m.Spec
	if m.Metadata.Name != PluginName {
		add("metadata.name is %q, want %q", m.Metadata.Name, PluginName)
	}
	if n := len(s.ShortDescription); n == 0 || n > MaxShortDescription {
		add("shortDescription has %d characters, want 1 to %d", n, MaxShortDescription)
	}
	if f := flagRE.FindString(s.Description); f != "" {
		add("description mentions the flag %q: describe what the plugin does, not its flags", strings.TrimSpace(f))
	}
	lower := strings.ToLower(s.Caveats)
	hasRBAC := false
	for _, w := range rbacWords {
		hasRBAC = hasRBAC || strings.Contains(lower, w)
	}
	if !hasRBAC {
		add("caveats should say which RBAC the helper pod needs (pods/exec, pods/ephemeralcontainers)")
	}
	for i, p := range s.Platforms {
		if !sha256RE.MatchString(p.SHA256) {
			add("platforms[%d].sha256 %q is not 64 lowercase hex digits", i, p.SHA256)
		}
		if p.URI == "" {
			add("platforms[%d].uri is empty", i)
		}
		hasLicense := false
		for _, f := range p.Files {
			hasLicense = hasLicense || f.From == "LICENSE"
		}
		if !hasLicense {
			add("platforms[%d] does not install LICENSE", i)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}
