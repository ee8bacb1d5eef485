package version

import "testing"

func TestReleaseVersionPattern(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{v: "v1.2.3", want: true},
		{v: "v0.1.0-rc.1", want: true},
		{v: "(devel)", want: false},
		{v: "v0.0.0-20261127170000-abcdef123456", want: false},
		{v: "v1.2.3+dirty", want: false},
		{v: "", want: false},
	}
	for _, tt := range tests {
		if got := releaseVersion.MatchString(tt.v); got != tt.want {
			t.Errorf("releaseVersion(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestAgentImageOfLocalBuild(t *testing.T) {
	if Version == "dev" && AgentImage() != AgentRepository+":dev" {
		t.Errorf("a test binary is a local build: want the dev image, got %s", AgentImage())
	}
}
