// Package version holds the build stamp of svc-doctor (set with -ldflags at release time) and
// derives from it the default image of the in-cluster helper agent.
package version

import (
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
)

// These are set at build time with -ldflags "-X github.com/svc-doctor/svc-doctor/internal/version.Version=v1.2.3 ...".
var (
	Version = "dev"
	Commit  = "none"
	Date    = "unknown"
)

// AgentRepository is the image repository of the helper agent that releases publish.
const AgentRepository = "ghcr.io/svc-doctor/agent"

// Info is the version information printed by `svc-doctor version`.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
	Agent     string `json:"agentImage"`
}

var releaseVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-(alpha|beta|rc)\.?[0-9]*)?$`)

// Current is the version reports and the helper pod carry: the stamp, or for an unstamped
// `go install module@vX.Y.Z` build the module version Go recorded.
func Current() string { return current() }

// current returns the version: the stamp, or for an unstamped `go install module@vX.Y.Z` build the
// module version Go recorded (so that such a build also defaults to a published helper image).
func current() string {
	if Version != "dev" {
		return Version
	}
	// only a released version: not "(devel)", nor the pseudo-versions of VCS-stamped local builds
	if bi, ok := debug.ReadBuildInfo(); ok && releaseVersion.MatchString(bi.Main.Version) {
		return bi.Main.Version
	}
	return Version
}

// Get returns the build information of this binary.
func Get() Info {
	return Info{
		Version:   current(),
		Commit:    Commit,
		Date:      Date,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
		Agent:     AgentImage(),
	}
}

// AgentImage is the default helper image for this build: the release tag for stamped builds,
// "dev" for local builds (the local test cluster imports an image under that tag).
func AgentImage() string {
	tag := strings.TrimSpace(current())
	if tag == "" || tag == "dev" {
		tag = "dev"
	}
	return AgentRepository + ":" + tag
}
