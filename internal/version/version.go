// Package version holds the build stamp of svc-doctor (set with -ldflags at release time) and
// derives from it the default image of the in-cluster helper agent.
package version

import (
	"runtime"
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

// Get returns the build information of this binary.
func Get() Info {
	return Info{
		Version:   Version,
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
	tag := strings.TrimSpace(Version)
	if tag == "" || tag == "dev" {
		tag = "dev"
	}
	return AgentRepository + ":" + tag
}
