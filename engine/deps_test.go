package engine

import (
	"os/exec"
	"strings"
	"testing"
)

// An operator that embeds the engine and one provider links client-go and
// that provider's SDK, and nothing else of weight: no other cloud SDK, no
// controller-runtime, no Prometheus.
func TestImportsStayLight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/secretsync/secretsync/engine", "github.com/secretsync/secretsync/provider/vault").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, heavy := range []string{
		"github.com/aws/", "cloud.google.com/", "github.com/Azure/", "google.golang.org/grpc",
		"sigs.k8s.io/controller-runtime", "github.com/prometheus/",
	} {
		for _, d := range deps {
			if strings.HasPrefix(d, heavy) {
				t.Errorf("engine with provider/vault depends on %s", d)
				break
			}
		}
	}
	t.Logf("engine and provider/vault link %d packages", len(deps))
}
