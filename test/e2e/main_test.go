package e2e

import (
	"testing"

	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
)

// TestMain runs the end-to-end tests only with SVCDOC_E2E=1 and a KUBECONFIG (see framework.Main).
func TestMain(m *testing.M) { framework.Main(m) }
