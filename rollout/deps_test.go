package rollout

import (
	"os/exec"
	"strings"
	"testing"
)

// An operator embeds rollout in its own reconcile, whatever client it
// uses: rollout itself links no client-go and nothing of secretsync's.
func TestImportsStayLight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/secretsync/secretsync/rollout").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, d := range strings.Fields(string(out)) {
		for _, heavy := range []string{"k8s.io/client-go", "sigs.k8s.io/controller-runtime", "github.com/prometheus/", "github.com/secretsync/secretsync/"} {
			if strings.HasPrefix(d, heavy) && d != "github.com/secretsync/secretsync/rollout" {
				t.Errorf("rollout depends on %s", d)
			}
		}
	}
}
