package agent

import "errors"

// StopServers is not available on Windows: the agent only runs in Linux containers.
func StopServers(string) (int, error) {
	return 0, errors.New("stopping agent servers is only supported where the agent runs (Linux)")
}
