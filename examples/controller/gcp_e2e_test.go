package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/gcpemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/gcp"
)

const gcpProject = "acme-prod"

// newGCP starts an emulator that checks every bearer token, and a
// provider pointed at it.
func newGCP(t *testing.T) (*gcpemu.Server, provider.Provider) {
	emu := gcpemu.New(gcpProject)
	t.Cleanup(emu.Close)
	emu.RequireAuthentication()
	return emu, gcp.New(
		gcp.WithEndpoint(emu.Addr),
		gcp.WithGRPCDialOptions(emu.DialOptions()...),
		gcp.WithTokenURL(emu.TokenURL()),
		gcp.WithSTSEndpoint(emu.STSURL()),
		gcp.WithIAMCredentialsEndpoint(emu.URL),
	)
}

// The External Secrets Operator's gcpsm example: a SecretStore with a
// service-account key in a Secret, and an ExternalSecret reading a
// property, a label, a whole JSON secret and the secrets a find selects.
func TestE2EGCPServiceAccountKey(t *testing.T) {
	h := setup(t)
	emu, gcpProvider := newGCP(t)
	key, err := emu.NewServiceAccountKey("external-secrets@acme-prod.iam.gserviceaccount.com")
	if err != nil {
		t.Fatal(err)
	}
	emu.PutSecret("payments-db", `{"username":"payments","password":"pw-1","note":"`+canary+`"}`)
	emu.SetLabels("payments-db", map[string]string{"team": "payments"})
	emu.PutSecret("payments-config", `{"LOG_LEVEL":"info","REGION":"europe-west4"}`)
	emu.PutSecret("payments-api-stripe", "sk-stripe-1")
	emu.SetLabels("payments-api-stripe", map[string]string{"team": "payments"})
	emu.PutSecret("payments-api-legacy", canary) // not labelled: the find leaves it out
	emu.PutSecret("search-api-key", canary)

	ns := h.namespace(t, nil)
	if _, err := h.admin.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "gcpsm-secret"},
		Data:       map[string][]byte{"secret-access-credentials": key},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.startController(t, controllerOpts{providers: []provider.Provider{gcpProvider}})

	h.apply(t, `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: gcp-store
  namespace: %s
spec:
  provider:
    gcpsm:
      projectID: acme-prod
      auth:
        secretRef:
          secretAccessKeySecretRef:
            name: gcpsm-secret
            key: secret-access-credentials
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: payments
  namespace: %s
spec:
  refreshInterval: 1s
  secretStoreRef:
    kind: SecretStore
    name: gcp-store
  target:
    name: payments
    creationPolicy: Owner
  data:
  - secretKey: DB_PASSWORD
    remoteRef:
      key: payments-db
      property: password
  - secretKey: DB_TEAM
    remoteRef:
      key: payments-db
      metadataPolicy: Fetch
      property: labels.team
  dataFrom:
  - extract:
      key: payments-config
  - find:
      name:
        regexp: "^payments-api-"
      tags:
        team: payments
`, ns, ns)
	h.waitReady(t, ns, "payments", externalsecret.ReasonSecretSynced)
	s := h.waitSecretData(t, ns, "payments", "DB_PASSWORD", "pw-1")
	got := map[string]string{}
	for k, v := range s.Data {
		got[k] = string(v)
	}
	want := map[string]string{
		"DB_PASSWORD": "pw-1", "DB_TEAM": "payments",
		"LOG_LEVEL": "info", "REGION": "europe-west4",
		"payments-api-stripe": "sk-stripe-1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Secret data (-want +got):\n%s", diff)
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		row := h.tableRow(t, ns, resSecretStores, "gcp-store")
		return row["Status"] == "Valid" && row["Ready"] == "True", strings.TrimSpace(row["Status"] + " " + row["Ready"])
	})

	// Rotation: a new version becomes latest and the Secret follows.
	v2 := emu.PutSecret("payments-db", `{"username":"payments","password":"pw-2","note":"`+canary+`"}`)
	h.waitSecretData(t, ns, "payments", "DB_PASSWORD", "pw-2")

	// A disabled latest version fails the sync, naming the key, and the
	// Secret keeps its last data.
	emu.SetVersionState("payments-db", v2, gcpemu.Disabled)
	es := h.waitReady(t, ns, "payments", externalsecret.ReasonSecretSyncedError)
	if msg := es.Status.ReadyCondition().Message; !strings.Contains(msg, `secret "payments-db"`) || !strings.Contains(msg, "is in DISABLED state.") {
		t.Errorf("Ready message: %s", msg)
	}
	if s, err := h.getSecret(ns, "payments"); err != nil || string(s.Data["DB_PASSWORD"]) != "pw-2" {
		t.Errorf("the Secret changed while the sync failed: %v", err)
	}

	// LatestOrFetch reads the newest enabled version instead.
	h.apply(t, `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: gcp-store
  namespace: %s
spec:
  provider:
    gcpsm:
      projectID: acme-prod
      secretVersionSelectionPolicy: LatestOrFetch
      auth:
        secretRef:
          secretAccessKeySecretRef:
            name: gcpsm-secret
            key: secret-access-credentials
`, ns)
	h.waitSecretData(t, ns, "payments", "DB_PASSWORD", "pw-1")
	h.waitReady(t, ns, "payments", externalsecret.ReasonSecretSynced)

	t.Logf("emulator calls: %v", emu.CallCounts())
	// One client per store spec: a token for the first, one for the
	// changed spec, however many refreshes.
	if n := emu.Calls("oauth2.token"); n > 2 {
		t.Errorf("%d token requests: clients and tokens must be reused across refreshes", n)
	}
	if n := emu.Calls("AccessSecretVersion"); n < 10 {
		t.Errorf("only %d reads: the refreshes did not happen", n)
	}
	if diff := cmp.Diff([]string{"serviceAccount:external-secrets@acme-prod.iam.gserviceaccount.com"}, emu.Callers("AccessSecretVersion")); diff != "" {
		t.Errorf("callers (-want +got):\n%s", diff)
	}
}

// The External Secrets Operator's GKE workload identity example: the
// controller requests a token for the ServiceAccount from the real
// apiserver, the emulator's STS verifies it against the apiserver's
// signing key, and the federated token impersonates the Google service
// account the ServiceAccount is annotated with.
func TestE2EGCPWorkloadIdentity(t *testing.T) {
	h := setup(t)
	emu, gcpProvider := newGCP(t)
	pub, err := os.ReadFile(filepath.Join(h.env.Dir, "sa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	issuer := h.env.Config.Host + "/"
	if err := emu.TrustIssuerPEM(issuer, pub); err != nil {
		t.Fatal(err)
	}
	const (
		gsa  = "payments@acme-prod.iam.gserviceaccount.com"
		pool = "acme-prod.svc.id.goog"
	)
	emu.AddWorkloadPool(gcpemu.WorkloadPool{
		Pool:     pool,
		Provider: "https://container.googleapis.com/v1/projects/acme-prod/locations/europe-west4/clusters/prod-1",
		Issuer:   issuer,
	})
	ns := h.namespace(t, nil)
	emu.AllowImpersonation(gsa, "serviceAccount:"+pool+"["+ns+"/payments-sa]")
	emu.PutSecret("payments-db", `{"password":"wi-1","note":"`+canary+`"}`)

	for _, sa := range []string{"payments-sa", "stranger"} {
		if _, err := h.admin.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{
			ObjectMeta: metav1.ObjectMeta{Name: sa, Annotations: map[string]string{gcp.ServiceAccountAnnotation: gsa}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	h.startController(t, controllerOpts{providers: []provider.Provider{gcpProvider}})

	const manifest = `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: %s
  namespace: %s
spec:
  provider:
    gcpsm:
      projectID: acme-prod
      auth:
        workloadIdentity:
          clusterLocation: europe-west4
          clusterName: prod-1
          clusterProjectID: acme-prod
          serviceAccountRef:
            name: %s
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: %s
  namespace: %s
spec:
  refreshInterval: 1s
  secretStoreRef:
    kind: SecretStore
    name: %s
  target:
    name: %s
  data:
  - secretKey: DB_PASSWORD
    remoteRef:
      key: payments-db
      property: password
`
	h.apply(t, manifest, "gcp-wi", ns, "payments-sa", "payments", ns, "gcp-wi", "payments")
	h.waitSecretData(t, ns, "payments", "DB_PASSWORD", "wi-1")
	h.waitReady(t, ns, "payments", externalsecret.ReasonSecretSynced)
	emu.PutSecret("payments-db", `{"password":"wi-2","note":"`+canary+`"}`)
	h.waitSecretData(t, ns, "payments", "DB_PASSWORD", "wi-2")
	if diff := cmp.Diff([]string{"serviceAccount:" + gsa}, emu.Callers("AccessSecretVersion")); diff != "" {
		t.Errorf("callers (-want +got):\n%s", diff)
	}
	exchanges := emu.Calls("sts.token")

	// A ServiceAccount IAM does not let impersonate the Google service
	// account gets no token, and its ExternalSecret says why.
	h.apply(t, manifest, "gcp-stranger", ns, "stranger", "stranger", ns, "gcp-stranger", "stranger")
	es := h.waitReady(t, ns, "stranger", externalsecret.ReasonSecretSyncedError)
	if msg := es.Status.ReadyCondition().Message; !strings.Contains(msg, "iam.serviceAccounts.getAccessToken") {
		t.Errorf("Ready message: %s", msg)
	}
	if _, err := h.getSecret(ns, "stranger"); err == nil {
		t.Errorf("a Secret was written without a token")
	}

	t.Logf("emulator calls: %v", emu.CallCounts())
	if exchanges != 1 {
		t.Errorf("%d token exchanges for the first store across refreshes, want 1", exchanges)
	}
	if n := emu.Calls("iamcredentials.generateAccessToken"); n < 2 {
		t.Errorf("%d impersonations, want the first store's and the stranger's attempts", n)
	}
}
