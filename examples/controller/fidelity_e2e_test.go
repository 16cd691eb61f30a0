package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/externalsecret"
)

// fidelityDir holds manifests of ESO's documented behaviours, each with
// the Secrets the External Secrets Operator writes for it (<case>.want.yaml).
// render's tests hold `render` to the same files.
const fidelityDir = "../../internal/render/testdata/fidelity"

// fidelityWant is one Secret of a want file: its data, decoded, and its
// labels and annotations besides secretsync's own.
type fidelityWant struct {
	Name        string            `json:"name"`
	Data        map[string]string `json:"data"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Finalizers  []string          `json:"finalizers"`
	// Error, when set, is part of the error the ExternalSecret fails with;
	// it writes no Secret.
	Error string `json:"error"`
}

// The controller writes, for each case, the Secrets the External Secrets
// Operator writes: decodingStrategy Auto, labels and annotations copied,
// gjson properties, JSON text kept, keys checked after templating.
func TestFidelityE2E(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fidelityDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".golden.yaml") && !strings.HasSuffix(f, ".want.yaml") {
			inputs = append(inputs, f)
		}
	}
	if len(inputs) < 5 {
		t.Fatalf("found only %d cases in %s", len(inputs), fidelityDir)
	}
	h := setup(t)
	h.startController(t, controllerOpts{})
	for _, file := range inputs {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			ns := h.namespace(t, nil)
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var want []fidelityWant
			raw, err := os.ReadFile(strings.TrimSuffix(file, ".yaml") + ".want.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.UnmarshalStrict(raw, &want); err != nil {
				t.Fatal(err)
			}
			manifest := strings.ReplaceAll(string(in), "namespace: fidelity", "namespace: "+ns)
			h.apply(t, "%s", manifest)
			for _, w := range want {
				h.waitFidelity(t, ns, w)
			}
		})
	}
}

// waitFidelity waits until the Secret w names is as w says, and its
// ExternalSecret reports it synced.
func (h *harness) waitFidelity(t *testing.T, ns string, w fidelityWant) {
	t.Helper()
	if w.Error != "" {
		es := h.waitReady(t, ns, w.Name, externalsecret.ReasonSecretSyncedError)
		if msg := es.Status.ReadyCondition().Message; !strings.Contains(msg, w.Error) {
			t.Errorf("ExternalSecret %s: want a status with %q, got %q", w.Name, w.Error, msg)
		}
		if _, err := h.getSecret(ns, w.Name); !apierrors.IsNotFound(err) {
			t.Errorf("ExternalSecret %s failed, yet its Secret exists (%v)", w.Name, err)
		}
		return
	}
	eventually(t, 20*time.Second, func() (bool, string) {
		s, err := h.getSecret(ns, w.Name)
		if err != nil {
			return false, err.Error()
		}
		data := map[string]string{}
		for k, v := range s.Data {
			data[k] = string(v)
		}
		if diff := cmp.Diff(w.Data, data); diff != "" {
			// Key names only: the values of these stores are not all
			// canaries, but a diff of values has no place in a log.
			return false, fmt.Sprintf("Secret %s: data differs in keys %v", w.Name, diffKeys(w.Data, data))
		}
		if diff := cmp.Diff(w.Finalizers, s.Finalizers, cmpopts.EquateEmpty()); diff != "" {
			return false, fmt.Sprintf("Secret %s finalizers (-want +got):\n%s", w.Name, diff)
		}
		for _, c := range []struct {
			what      string
			want, got map[string]string
		}{{"labels", w.Labels, s.Labels}, {"annotations", w.Annotations, s.Annotations}} {
			want := c.want
			if want == nil {
				want = map[string]string{}
			}
			got := map[string]string{}
			for k, v := range c.got {
				if !strings.HasPrefix(k, "secretsync.io/") {
					got[k] = v
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				return false, fmt.Sprintf("Secret %s %s (-want +got):\n%s", w.Name, c.what, diff)
			}
		}
		return true, ""
	})
	h.waitReady(t, ns, w.Name, externalsecret.ReasonSecretSynced)
}

func diffKeys(want, got map[string]string) []string {
	var keys []string
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			keys = append(keys, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// A Secret of creationPolicy CreateOrMerge that is deleted is created
// again, still without an owner.
func TestFidelityCreateOrMergeRecreatesE2E(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	h.startController(t, controllerOpts{})
	h.apply(t, storeYAML, "store", ns, "")
	h.apply(t, esYAML, "app", ns, "1h", "store", "app-secret", "CreateOrMerge", "Retain")
	s := h.waitSecretData(t, ns, "app-secret", "user", "admin")
	if len(s.OwnerReferences) != 0 {
		t.Errorf("want no owner reference, got %v", s.OwnerReferences)
	}
	old := s.UID
	if err := h.admin.CoreV1().Secrets(ns).Delete(context.Background(), "app-secret", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() (bool, string) {
		s, err := h.getSecret(ns, "app-secret")
		if err != nil {
			return false, err.Error()
		}
		return s.UID != old && string(s.Data["user"]) == "admin", "not created again"
	})
}

// spec.syncWindows holds back periodic refreshes outside an allow window;
// the first sync happens at once.
func TestFidelitySyncWindowsE2E(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	ctrl := h.startController(t, controllerOpts{})
	ctrl.mem.Set("db", []byte(`{"user":"v1","password":"CANARY-e2e-4b1d"}`))
	h.apply(t, storeYAML, "store", ns, "")
	const es = `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: %s, namespace: %s}
spec:
  refreshInterval: 1s
  secretStoreRef: {name: store, kind: SecretStore}
  syncWindows:
    kind: allow
    windows: [{schedule: %q, duration: 2m}]
  data:
  - secretKey: user
    remoteRef: {key: db, property: user}
`
	// Every minute for two minutes: always open. February 30th: never.
	h.apply(t, es, "open", ns, "* * * * *")
	h.apply(t, es, "closed", ns, "0 0 30 2 *")
	h.waitSecretData(t, ns, "open", "user", "v1")
	h.waitSecretData(t, ns, "closed", "user", "v1")
	h.waitReady(t, ns, "closed", externalsecret.ReasonSecretSynced)

	ctrl.mem.Set("db", []byte(`{"user":"v2","password":"CANARY-e2e-4b1d"}`))
	h.waitSecretData(t, ns, "open", "user", "v2")
	// The open one read v2 and would share that read with the closed one:
	// give it a few refresh intervals to go wrong.
	time.Sleep(4 * time.Second)
	if s, err := h.getSecret(ns, "closed"); err != nil || string(s.Data["user"]) != "v1" {
		t.Errorf("a refresh outside the sync window rewrote the Secret (%v)", err)
	}
}
