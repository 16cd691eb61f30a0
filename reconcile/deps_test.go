package reconcile

import (
	"os/exec"
	"strings"
	"testing"
)

// An operator that embeds reconcile and one provider links that provider's
// SDK and nothing else: reconcile itself pulls in no cloud SDK and no
// client-go.
func TestImportsStayLight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/secretsync/secretsync/reconcile", "github.com/secretsync/secretsync/provider/fake").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, heavy := range []string{
		"github.com/aws/", "github.com/hashicorp/vault", "cloud.google.com/", "github.com/Azure/",
		"google.golang.org/grpc", "k8s.io/client-go", "github.com/prometheus/",
	} {
		for _, d := range deps {
			if strings.HasPrefix(d, heavy) {
				t.Errorf("reconcile depends on %s", d)
				break
			}
		}
	}
	t.Logf("reconcile and provider/fake link %d packages", len(deps))
}
