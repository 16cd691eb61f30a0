package engine

import (
	"encoding/json"
	"fmt"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/externalsecret"
)

// The compact transforms change no value, and two objects decoded apart
// share their repeated strings and label maps afterwards.
func TestCompactTransformsShareWithoutChanging(t *testing.T) {
	esJSON := `{"apiVersion":"external-secrets.io/v1","kind":"ExternalSecret",
		"metadata":{"name":"%s","namespace":"team-a","managedFields":[{"manager":"kubectl"}]},
		"spec":{"secretStoreRef":{"name":"vault","kind":"ClusterSecretStore"},"target":{"creationPolicy":"Owner"},
			"data":[{"secretKey":"k","remoteRef":{"key":"app/db","conversionStrategy":"Default"}}]},
		"status":{"binding":{"name":"%[1]s"},"conditions":[{"type":"Ready","status":"True","reason":"SecretSynced","message":"secret synced"}]}}`
	secretJSON := `{"metadata":{"name":"%s","namespace":"team-a","labels":{"secretsync.io/managed":"true"},
		"annotations":{"secretsync.io/data-hash":"abc"},
		"ownerReferences":[{"apiVersion":"external-secrets.io/v1","kind":"ExternalSecret","name":"%[1]s","uid":"u-%[1]s","controller":true}]},
		"type":"Opaque","data":{"k":"dg=="}}`
	sprintf := fmt.Sprintf
	decode := func(format, name string, into any) {
		t.Helper()
		if err := json.Unmarshal([]byte(sprintf(format, name)), into); err != nil {
			t.Fatal(err)
		}
	}
	var es [2]*externalsecret.ExternalSecret
	var secrets [2]*corev1.Secret
	for i, name := range []string{"one", "two"} {
		es[i], secrets[i] = &externalsecret.ExternalSecret{}, &corev1.Secret{}
		decode(esJSON, name, es[i])
		decode(secretJSON, name, secrets[i])
		want := es[i].DeepCopy()
		want.ManagedFields = nil
		if _, err := CompactExternalSecrets(es[i]); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, es[i]); diff != "" {
			t.Errorf("CompactExternalSecrets changed %s (-want +got):\n%s", name, diff)
		}
		wantSecret := secrets[i].DeepCopy()
		if _, err := CompactSecrets(secrets[i]); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantSecret, secrets[i]); diff != "" {
			t.Errorf("CompactSecrets changed %s (-want +got):\n%s", name, diff)
		}
	}
	same := func(what, a, b string) {
		if unsafe.StringData(a) != unsafe.StringData(b) {
			t.Errorf("%s is not shared", what)
		}
	}
	same("the namespace", es[0].Namespace, es[1].Namespace)
	same("the store name", es[0].Spec.SecretStoreRef.Name, es[1].Spec.SecretStoreRef.Name)
	same("the condition message", es[0].Status.Conditions[0].Message, es[1].Status.Conditions[0].Message)
	same("the API version", es[0].APIVersion, secrets[1].OwnerReferences[0].APIVersion)
	same("the Secret type", string(secrets[0].Type), string(secrets[1].Type))
	secrets[0].Labels["x"] = "y" // the shared map: the second Secret sees it
	if secrets[1].Labels["x"] != "y" {
		t.Error("the managed label map is not shared")
	}
	delete(managedLabels, "x")
}
