package krew

import (
	"bytes"
	"strings"
	"testing"
)

func releasePlatforms(version string) []Platform {
	var ps []Platform
	for i, pair := range [][2]string{{"windows", "arm64"}, {"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}, {"windows", "amd64"}} {
		ext := ".tar.gz"
		if pair[0] == "windows" {
			ext = ".zip"
		}
		ps = append(ps, Platform{OS: pair[0], Arch: pair[1],
			URI:    URI(version, "svc-doctor_"+strings.TrimPrefix(version, "v")+"_"+pair[0]+"_"+pair[1]+ext),
			SHA256: strings.Repeat(string("0123456789abcdef"[i]), 64)})
	}
	return ps
}

func TestRenderReleaseManifest(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, Data{Version: "v1.2.3", Platforms: releasePlatforms("v1.2.3")}); err != nil {
		t.Fatal(err)
	}
	m, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatalf("rendered manifest does not parse: %v\n%s", err, buf.String())
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "svc-doctor" {
		t.Errorf("type/name = %s %s %s", m.APIVersion, m.Kind, m.Metadata.Name)
	}
	if m.Spec.Version != "v1.2.3" {
		t.Errorf("version = %q", m.Spec.Version)
	}
	if !strings.Contains(m.Spec.Caveats, "ghcr.io/svc-doctor/agent:v1.2.3") {
		t.Errorf("caveats do not name the versioned helper image:\n%s", m.Spec.Caveats)
	}
	if len(m.Spec.Platforms) != 6 {
		t.Fatalf("%d platforms, want 6", len(m.Spec.Platforms))
	}
	// sorted by os then arch, .zip and .exe on windows
	wantOrder := []string{"darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64", "windows/amd64", "windows/arm64"}
	for i, p := range m.Spec.Platforms {
		key := p.Selector.MatchLabels["os"] + "/" + p.Selector.MatchLabels["arch"]
		if key != wantOrder[i] {
			t.Errorf("platforms[%d] = %s, want %s", i, key, wantOrder[i])
		}
		wantURI := "https://github.com/svc-doctor/svc-doctor/releases/download/v1.2.3/svc-doctor_1.2.3_" + strings.ReplaceAll(key, "/", "_")
		wantBin := "kubectl-svc_doctor"
		if p.Selector.MatchLabels["os"] == "windows" {
			wantURI += ".zip"
			wantBin += ".exe"
		} else {
			wantURI += ".tar.gz"
		}
		if p.URI != wantURI {
			t.Errorf("platforms[%d].uri = %s, want %s", i, p.URI, wantURI)
		}
		if p.Bin != wantBin || len(p.Files) != 2 || p.Files[0].From != wantBin || p.Files[1].From != "LICENSE" {
			t.Errorf("platforms[%d]: bin %q files %+v", i, p.Bin, p.Files)
		}
	}
}

func TestRenderRejects(t *testing.T) {
	good := releasePlatforms("v1.0.0")
	tests := []struct {
		name    string
		data    Data
		wantErr string
	}{
		{name: "version without v", data: Data{Version: "1.0.0", Platforms: good}, wantErr: "leading v"},
		{name: "not semver", data: Data{Version: "vnext", Platforms: good}, wantErr: "semantic version"},
		{name: "no platform", data: Data{Version: "v1.0.0"}, wantErr: "no platform"},
		{name: "uppercase sha256", data: Data{Version: "v1.0.0", Platforms: []Platform{{OS: "linux", Arch: "amd64", URI: "u", SHA256: strings.Repeat("A", 64)}}}, wantErr: "lowercase"},
		{name: "short sha256", data: Data{Version: "v1.0.0", Platforms: []Platform{{OS: "linux", Arch: "amd64", URI: "u", SHA256: "abc"}}}, wantErr: "64 lowercase"},
		{name: "duplicate platform", data: Data{Version: "v1.0.0", Platforms: append(good, good[0])}, wantErr: "twice"},
		{name: "no uri", data: Data{Version: "v1.0.0", Platforms: []Platform{{OS: "linux", Arch: "amd64", SHA256: strings.Repeat("a", 64)}}}, wantErr: "no uri"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Render(&bytes.Buffer{}, tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidVersion(t *testing.T) {
	for v, want := range map[string]bool{
		"v1.2.3": true, "v0.0.1-snapshot.abc1234": true, "v1.0.0-rc.1+build.5": true,
		"1.2.3": false, "v1.2": false, "v01.2.3": false, "v1.2.3-": false, "": false,
	} {
		if got := ValidVersion(v); got != want {
			t.Errorf("ValidVersion(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, Data{Version: "v1.2.3", Platforms: releasePlatforms("v1.2.3")}); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	tests := []struct {
		name    string
		edit    func(string) string
		wantErr string
	}{
		{name: "rendered template passes", edit: func(s string) string { return s }},
		{name: "long short description", edit: func(s string) string {
			return strings.Replace(s, "shortDescription: Find out why a Kubernetes Service does not work", "shortDescription: Find out why a Kubernetes Service does not work, and fix it", 1)
		}, wantErr: "shortDescription has 59 characters"},
		{name: "flag in description", edit: func(s string) string {
			return strings.Replace(s, "    how to fix it.\n", "    how to fix it. Use --all-namespaces for every Service.\n", 1)
		}, wantErr: `flag "--all-namespaces"`},
		{name: "short flag in description", edit: func(s string) string {
			return strings.Replace(s, "    how to fix it.\n", "    how to fix it (pass -A).\n", 1)
		}, wantErr: `flag "-A"`},
		{name: "caveats without RBAC", edit: func(s string) string {
			i, j := strings.Index(s, "  caveats: |"), strings.Index(s, "  platforms:")
			return s[:i] + "  caveats: |\n    Have fun.\n" + s[j:]
		}, wantErr: "caveats should say which RBAC"},
		{name: "uppercase sha", edit: func(s string) string {
			return strings.Replace(s, "\""+strings.Repeat("0", 64), "\""+strings.Repeat("A", 64), 1)
		}, wantErr: "sha256"},
		{name: "no LICENSE", edit: func(s string) string {
			return strings.Replace(s, "    - from: LICENSE\n      to: .\n", "", 1)
		}, wantErr: "does not install LICENSE"},
		{name: "unknown field", edit: func(s string) string {
			return strings.Replace(s, "  homepage:", "  homepages:", 1)
		}, wantErr: "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check([]byte(tt.edit(good)))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
