package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/internal/azureemu"
	"github.com/secretsync/secretsync/internal/doppleremu"
	"github.com/secretsync/secretsync/internal/onepassemu"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/aws"
	"github.com/secretsync/secretsync/provider/azure"
	"github.com/secretsync/secretsync/provider/doppler"
	"github.com/secretsync/secretsync/provider/kubernetes"
	"github.com/secretsync/secretsync/provider/onepassword"
	"github.com/secretsync/secretsync/pushsecret"
)

// pushTarget is one provider's store as the push tests drive it: the
// SecretStore "store", already applied, and the emulator behind it seen
// from the test's side.
type pushTarget struct {
	provider provider.Provider
	// remoteRef is the PushSecret entry's remoteRef, as YAML.
	remoteRef string
	// pushed returns the value the entry pushed, as the emulator holds
	// it, and whether it holds one.
	pushed func() (string, bool)
	// gone reports whether the remote secret the entry pushed is
	// deleted, or scheduled for deletion where the store deletes softly.
	gone func() bool
	// keptIntact reports whether the remote secret the test seeded, which
	// the PushSecret does not push, is as seeded.
	keptIntact func() bool
	// writes and reads count the emulator's write and read operations
	// since the target was set up.
	writes, reads func() int
}

// pushOneYAML pushes the key password of the Secret source to one remote
// secret of the store "store", every second, deleting it with the
// PushSecret.
const pushOneYAML = `
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: push, namespace: %s}
spec:
  refreshInterval: 1s
  deletionPolicy: Delete
  secretStoreRefs:
  - {name: store, kind: SecretStore}
  selector:
    secret: {name: source}
  data:
  - match:
      secretKey: password
      remoteRef: %s
`

// keptValue is what the remote secret the PushSecret does not push holds.
const keptValue = `{"password":"someone else's"}`

// Through the controller, for each emulated provider: a PushSecret
// writes a Secret's value to the store; unchanged 1s refreshes read and
// write nothing; a changed Secret is pushed; deleting the PushSecret,
// with deletionPolicy Delete, deletes what it pushed and nothing else.
func TestPushSecretProvidersE2E(t *testing.T) {
	tests := map[string]func(t *testing.T, h *harness, ns string) pushTarget{
		"AWS Secrets Manager": pushToSecretsManager, // a property of a secret
		"AWS Parameter Store": pushToParameterStore, // a parameter
		"GCP Secret Manager":  pushToGCP,            // a property of a secret
		"Azure Key Vault":     pushToAzure,          // a property of a secret
		"1Password Connect":   pushToOnePassword,    // a field of an item
		"Doppler":             pushToDoppler,        // a secret
		"Kubernetes":          pushToKubernetes,     // a data key of a Secret
	}
	for name, setUp := range tests {
		t.Run(name, func(t *testing.T) {
			h := setup(t)
			ns := h.namespace(t, nil)
			target := setUp(t, h, ns)
			h.startPushController(t, controllerOpts{providers: []provider.Provider{target.provider}})
			h.setSecretData(t, ns, "source", map[string]string{"password": canary, "user": "admin"})
			h.apply(t, pushOneYAML, ns, target.remoteRef)

			waitPushed := func(want string) {
				t.Helper()
				eventually(t, 20*time.Second, func() (bool, string) {
					got, ok := target.pushed()
					if !ok {
						return false, "password not pushed"
					}
					return got == want, "the remote password is not what was pushed"
				})
			}
			waitPushed(canary)
			eventually(t, 20*time.Second, func() (bool, string) {
				ps := h.getPushSecret(t, ns, "push")
				c := ps.Status.ReadyCondition()
				if c == nil {
					return false, "no Ready condition"
				}
				return c.Reason == pushsecret.ReasonSynced && len(ps.Status.SyncedPushSecrets["SecretStore/"+ns+"/store"]) == 1,
					fmt.Sprintf("Ready %s %s, %d stores synced", c.Status, c.Reason, len(ps.Status.SyncedPushSecrets))
			})
			if raw, err := json.Marshal(h.getPushSecret(t, ns, "push").Status); err != nil || strings.Contains(string(raw), canary) {
				t.Errorf("the PushSecret's status shows the pushed value (%v)", err)
			}

			// Unchanged refreshes every second: reads, no write.
			time.Sleep(time.Second)
			writes, reads := target.writes(), target.reads()
			time.Sleep(4 * time.Second)
			writes, reads = target.writes()-writes, target.reads()-reads
			t.Logf("over 4s of unchanged 1s refreshes: %d writes, %d reads", writes, reads)
			if writes != 0 {
				t.Errorf("%d provider writes over unchanged refreshes; want 0", writes)
			}
			if reads < 3 {
				t.Errorf("%d reads in 4s of 1s refreshes; want one a second", reads)
			}

			writes = target.writes()
			h.setSecretData(t, ns, "source", map[string]string{"password": "rotated", "user": "admin"})
			changed := time.Now()
			waitPushed("rotated")
			t.Logf("a changed Secret was pushed %v after the change, with %d writes", time.Since(changed).Round(time.Millisecond), target.writes()-writes)

			h.deletePushSecret(t, ns, "push")
			if !target.gone() {
				t.Error("what the PushSecret pushed is still in the store after it went, with deletionPolicy Delete")
			}
			if !target.keptIntact() {
				t.Error("a remote secret the PushSecret did not push was touched")
			}
		})
	}
}

// jsonProperty returns the property of a JSON object.
func jsonProperty(obj []byte, property string) (string, bool) {
	var m map[string]string
	if json.Unmarshal(obj, &m) != nil {
		return "", false
	}
	v, ok := m[property]
	return v, ok
}

// callsTo adds up the calls of several operations.
func callsTo(calls func(string) int, ops ...string) int {
	n := 0
	for _, op := range ops {
		n += calls(op)
	}
	return n
}

func newAWS(t *testing.T, h *harness, ns, service string) (*awsemu.Server, provider.Provider) {
	emu := awsemu.New("us-east-1")
	t.Cleanup(emu.Close)
	h.apply(t, strings.Replace(awsStoreYAML, "service: SecretsManager", "service: "+service, 1), "store", ns, awsemu.AccessKeyID, awsemu.SecretAccessKey)
	return emu, aws.New(aws.WithEndpoint(emu.URL), aws.WithHTTPClient(emu.Client()))
}

func pushToSecretsManager(t *testing.T, h *harness, ns string) pushTarget {
	emu, p := newAWS(t, h, ns, "SecretsManager")
	emu.PutSecret("app/kept", keptValue)
	return pushTarget{
		provider:  p,
		remoteRef: "{remoteKey: app/pushed, property: password}",
		pushed: func() (string, bool) {
			s, ok := emu.Secret("app/pushed")
			if !ok || s.RecoveryWindowInDays > 0 {
				return "", false
			}
			if s.String != nil {
				return jsonProperty([]byte(*s.String), "password")
			}
			return jsonProperty(s.Binary, "password")
		},
		gone: func() bool {
			s, ok := emu.Secret("app/pushed")
			return !ok || s.RecoveryWindowInDays > 0
		},
		keptIntact: func() bool {
			s, ok := emu.Secret("app/kept")
			return ok && s.RecoveryWindowInDays == 0 && s.Versions == 1 && s.String != nil && *s.String == keptValue
		},
		writes: func() int {
			return callsTo(emu.Calls, "secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret",
				"secretsmanager:TagResource", "secretsmanager:UntagResource", "secretsmanager:DeleteSecret", "secretsmanager:RestoreSecret",
				"secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy")
		},
		reads: func() int {
			return callsTo(emu.Calls, "secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue")
		},
	}
}

func pushToParameterStore(t *testing.T, h *harness, ns string) pushTarget {
	emu, p := newAWS(t, h, ns, "ParameterStore")
	keptVersion := emu.PutParameter("/app/kept", "SecureString", keptValue)
	return pushTarget{
		provider:  p,
		remoteRef: "{remoteKey: /app/pushed}",
		pushed: func() (string, bool) {
			s, ok := emu.Parameter("/app/pushed")
			return s.Value, ok
		},
		gone: func() bool {
			_, ok := emu.Parameter("/app/pushed")
			return !ok
		},
		keptIntact: func() bool {
			s, ok := emu.Parameter("/app/kept")
			return ok && s.Version == keptVersion && s.Value == keptValue
		},
		writes: func() int {
			return callsTo(emu.Calls, "ssm:PutParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "ssm:DeleteParameter")
		},
		reads: func() int { return callsTo(emu.Calls, "ssm:GetParameter", "ssm:GetParameters") },
	}
}

func pushToGCP(t *testing.T, h *harness, ns string) pushTarget {
	emu, p := newGCP(t)
	key, err := emu.NewServiceAccountKey("external-secrets@" + gcpProject + ".iam.gserviceaccount.com")
	if err != nil {
		t.Fatal(err)
	}
	emu.PutSecret("app-kept", keptValue)
	h.setSecretData(t, ns, "gcpsm-secret", map[string]string{"secret-access-credentials": string(key)})
	h.apply(t, `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: store, namespace: %s}
spec:
  provider:
    gcpsm:
      projectID: %s
      auth:
        secretRef:
          secretAccessKeySecretRef: {name: gcpsm-secret, key: secret-access-credentials}
`, ns, gcpProject)
	return pushTarget{
		provider:  p,
		remoteRef: "{remoteKey: app-pushed, property: password}",
		pushed: func() (string, bool) {
			_, data, ok := emu.Latest("app-pushed")
			if !ok {
				return "", false
			}
			return jsonProperty(data, "password")
		},
		gone: func() bool { return emu.Secret("app-pushed") == nil },
		keptIntact: func() bool {
			n, data, ok := emu.Latest("app-kept")
			return ok && n == 1 && string(data) == keptValue
		},
		writes: func() int {
			return callsTo(emu.Calls, "CreateSecret", "AddSecretVersion", "UpdateSecret", "DeleteSecret",
				"DisableSecretVersion", "EnableSecretVersion", "DestroySecretVersion")
		},
		reads: func() int { return emu.Calls("AccessSecretVersion") },
	}
}

func pushToAzure(t *testing.T, h *harness, ns string) pushTarget {
	emu := azureemu.New("push-vault")
	t.Cleanup(emu.Close)
	const clientID = "5c4b3a29-1807-4f6e-9d5c-4b3a29180706"
	emu.AddApp(azureemu.App{ClientID: clientID, Secrets: []string{"sp-secret"}})
	emu.SetSecret("app-kept", keptValue)
	h.setSecretData(t, ns, "azure-secret-sp", map[string]string{"ClientID": clientID, "ClientSecret": "sp-secret"})
	h.apply(t, `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: store, namespace: %s}
spec:
  provider:
    azurekv:
      tenantId: %s
      vaultUrl: https://push-vault.vault.azure.net
      authSecretRef:
        clientId: {name: azure-secret-sp, key: ClientID}
        clientSecret: {name: azure-secret-sp, key: ClientSecret}
`, ns, azureemu.TenantID)
	return pushTarget{
		provider:  azure.New(azure.WithHTTPClient(emu.Client())),
		remoteRef: "{remoteKey: app-pushed, property: password}",
		pushed: func() (string, bool) {
			s, ok := emu.Secret("app-pushed")
			if !ok || s.Deleted {
				return "", false
			}
			return jsonProperty([]byte(s.Value), "password")
		},
		gone: func() bool {
			s, ok := emu.Secret("app-pushed")
			return !ok || s.Deleted
		},
		keptIntact: func() bool {
			s, ok := emu.Secret("app-kept")
			return ok && !s.Deleted && s.Versions == 1 && s.Value == keptValue
		},
		writes: func() int {
			return callsTo(emu.Calls, azureemu.Secrets+"/set", azureemu.Secrets+"/update", azureemu.Secrets+"/delete",
				azureemu.DeletedSecrets+"/recover", azureemu.DeletedSecrets+"/purge")
		},
		reads: func() int { return emu.Calls(azureemu.Secrets + "/get") },
	}
}

func pushToOnePassword(t *testing.T, h *harness, ns string) pushTarget {
	emu := onepassemu.New()
	t.Cleanup(emu.Close)
	emu.AddVault("staging")
	kept := onepassemu.Item{Title: "app-kept", Category: "PASSWORD", Fields: []onepassemu.Field{{Label: "password", Value: keptValue, Type: "CONCEALED"}}}
	kept.ID = emu.PutItem("staging", kept)
	keptNow := func() (onepassemu.Item, bool) {
		for _, it := range emu.Items("staging") {
			if it.ID == kept.ID {
				return it, true
			}
		}
		return onepassemu.Item{}, false
	}
	if it, ok := keptNow(); ok {
		kept = it // as stored, with the IDs it gave the fields
	}
	h.setSecretData(t, ns, "onepassword-token", map[string]string{"token": onepassemu.Token})
	h.apply(t, `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: store, namespace: %s}
spec:
  provider:
    onepassword:
      connectHost: %s
      vaults: {staging: 1}
      auth:
        secretRef:
          connectTokenSecretRef: {name: onepassword-token, key: token}
`, ns, emu.URL)
	pushedItem := func() (onepassemu.Item, bool) {
		for _, it := range emu.Items("staging") {
			if it.Title == "app-pushed" {
				return it, true
			}
		}
		return onepassemu.Item{}, false
	}
	return pushTarget{
		provider:  onepassword.New(onepassword.WithHTTPClient(emu.Client())),
		remoteRef: "{remoteKey: app-pushed, property: password}",
		pushed: func() (string, bool) {
			it, ok := pushedItem()
			if !ok {
				return "", false
			}
			for _, f := range it.Fields {
				if f.Label == "password" {
					return f.Value, true
				}
			}
			return "", false
		},
		gone: func() bool {
			_, ok := pushedItem()
			return !ok
		},
		keptIntact: func() bool {
			it, ok := keptNow()
			return ok && cmp.Equal(kept, it)
		},
		writes: func() int { return callsTo(emu.Calls, "CreateItem", "UpdateItem", "DeleteItem") },
		reads:  func() int { return emu.Calls("GetItem") },
	}
}

func pushToDoppler(t *testing.T, h *harness, ns string) pushTarget {
	emu := doppleremu.New()
	t.Cleanup(emu.Close)
	const token = "dp.st.prd.push"
	emu.AddServiceToken(token, "auth-api", "prd")
	emu.SetSecret("auth-api", "prd", "KEPT", keptValue)
	h.setSecretData(t, ns, "doppler-token", map[string]string{"dopplerToken": token})
	h.apply(t, `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: store, namespace: %s}
spec:
  provider:
    doppler:
      auth:
        secretRef:
          dopplerToken: {name: doppler-token, key: dopplerToken}
`, ns)
	return pushTarget{
		provider:  doppler.New(doppler.WithBaseURL(emu.URL), doppler.WithHTTPClient(emu.Client())),
		remoteRef: "{remoteKey: APP_PASSWORD}",
		pushed: func() (string, bool) {
			v, ok := emu.Secrets("auth-api", "prd")["APP_PASSWORD"]
			return v, ok
		},
		gone: func() bool {
			_, ok := emu.Secrets("auth-api", "prd")["APP_PASSWORD"]
			return !ok
		},
		keptIntact: func() bool { return emu.Secrets("auth-api", "prd")["KEPT"] == keptValue },
		writes:     func() int { return callsTo(emu.Calls, "update", "delete") },
		reads:      func() int { return callsTo(emu.Calls, "download", "secret") },
	}
}

// k8sPushTenantYAML is the store of a tenant namespace %[1]s that pushes
// to the namespace %[2]s as a ServiceAccount allowed to write Secrets
// there, and the CA every namespace of a real cluster gets.
const k8sPushTenantYAML = `
apiVersion: v1
kind: ServiceAccount
metadata: {name: eso-writer, namespace: %[1]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: eso-store-writer, namespace: %[2]s}
rules:
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: eso-store-writer, namespace: %[2]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: eso-store-writer}
subjects:
- {kind: ServiceAccount, name: eso-writer, namespace: %[1]s}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-root-ca.crt, namespace: %[1]s}
binaryData:
  ca.crt: %[3]s
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: store, namespace: %[1]s}
spec:
  provider:
    kubernetes:
      remoteNamespace: %[2]s
      server:
        caProvider: {type: ConfigMap, name: kube-root-ca.crt, key: ca.crt}
      auth:
        serviceAccount: {name: eso-writer}
`

// pushToKubernetes pushes into a remote namespace of the test's own
// apiserver, and counts what its audit log records there.
func pushToKubernetes(t *testing.T, h *harness, ns string) pushTarget {
	remote := h.namespace(t, nil)
	h.apply(t, k8sPushTenantYAML, ns, remote, base64.StdEncoding.EncodeToString(h.env.Config.CAData))
	h.setSecretData(t, remote, "kept", map[string]string{"password": keptValue})
	kept, err := h.getSecret(remote, "kept")
	if err != nil {
		t.Fatal(err)
	}
	since := time.Now()
	return pushTarget{
		provider:  kubernetes.New(kubernetes.WithLocalCluster(h.ctrlCfg)),
		remoteRef: "{remoteKey: pushed, property: password}",
		pushed: func() (string, bool) {
			s, err := h.getSecret(remote, "pushed")
			if err != nil {
				return "", false
			}
			v, ok := s.Data["password"]
			return string(v), ok
		},
		gone: func() bool {
			_, err := h.getSecret(remote, "pushed")
			return apierrors.IsNotFound(err)
		},
		keptIntact: func() bool {
			s, err := h.getSecret(remote, "kept")
			return err == nil && s.ResourceVersion == kept.ResourceVersion
		},
		writes: func() int {
			n, err := h.env.CountWrites("secrets", remote, since)
			if err != nil {
				t.Fatal(err)
			}
			return n
		},
		reads: func() int {
			n, err := h.env.CountRequests(testenv.Requests{Verbs: []string{"get"}, Resource: "secrets", Namespace: remote,
				User: "system:serviceaccount:" + ns + ":eso-writer", Since: since})
			if err != nil {
				t.Fatal(err)
			}
			return n
		},
	}
}
