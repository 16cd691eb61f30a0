package reconcile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/provider"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// newES returns an ExternalSecret with two data entries reading "db".
func newES(mods ...func(*externalsecret.ExternalSecret)) *externalsecret.ExternalSecret {
	es := &externalsecret.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "team-a", UID: types.UID("uid-1"), Generation: 1},
		Spec: externalsecret.ExternalSecretSpec{
			SecretStoreRef:  externalsecret.SecretStoreRef{Name: "store", Kind: "SecretStore"},
			RefreshInterval: &metav1.Duration{Duration: time.Hour},
			Target:          externalsecret.Target{Name: "app-secret"},
			Data: []externalsecret.Data{
				{SecretKey: "user", RemoteRef: externalsecret.RemoteRef{Key: "db", Property: "user"}},
				{SecretKey: "password", RemoteRef: externalsecret.RemoteRef{Key: "db", Property: "password"}},
			},
		},
	}
	for _, m := range mods {
		m(es)
	}
	return es
}

func fetched(values ...string) *Fetched {
	f := &Fetched{}
	for _, v := range values {
		f.Data = append(f.Data, Value{Value: []byte(v)})
	}
	return f
}

func notFound(key string) Value {
	return Value{Err: fmt.Errorf("key %q: %w", key, provider.ErrNotFound)}
}

func withPolicy(c externalsecret.CreationPolicy, d externalsecret.DeletionPolicy) func(*externalsecret.ExternalSecret) {
	return func(es *externalsecret.ExternalSecret) {
		es.Spec.Target.CreationPolicy = c
		es.Spec.Target.DeletionPolicy = d
	}
}

// synced returns the Secret Reconcile would create for es with data, as it
// would come back from the apiserver.
func syncedSecret(t *testing.T, es *externalsecret.ExternalSecret, data ...string) *corev1.Secret {
	t.Helper()
	out := Reconcile(Input{ExternalSecret: es, Fetched: fetched(data...), Now: now})
	if out.Action != ActionCreate {
		t.Fatalf("setup: want Create, got %s (%v)", out.Action, out.Err)
	}
	s := out.Secret.DeepCopy()
	s.ResourceVersion = "7"
	return s
}

func syncedES(t *testing.T, es *externalsecret.ExternalSecret, data ...string) *externalsecret.ExternalSecret {
	t.Helper()
	out := Reconcile(Input{ExternalSecret: es, Fetched: fetched(data...), Now: now})
	es = es.DeepCopy()
	es.Status = out.Status
	return es
}

func TestReconcileCreationPolicies(t *testing.T) {
	foreign := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "app-secret", Namespace: "team-a", ResourceVersion: "3", Labels: map[string]string{"team": "a"}},
		Data:       map[string][]byte{"other": []byte("keep-me"), "user": []byte("old")},
	}
	tests := map[string]struct {
		es         *externalsecret.ExternalSecret
		existing   *corev1.Secret
		wantAction Action
		wantData   map[string][]byte
		wantOwner  bool
		wantReason string
	}{
		"Owner creates the Secret with an owner reference": {
			es:         newES(),
			wantAction: ActionCreate,
			wantData:   map[string][]byte{"user": []byte("admin"), "password": []byte("s3cret")},
			wantOwner:  true,
			wantReason: externalsecret.ReasonSecretSynced,
		},
		"Orphan creates the Secret without an owner reference": {
			es:         newES(withPolicy(externalsecret.CreatePolicyOrphan, "")),
			wantAction: ActionCreate,
			wantData:   map[string][]byte{"user": []byte("admin"), "password": []byte("s3cret")},
			wantReason: externalsecret.ReasonSecretSynced,
		},
		"Merge adds keys to an existing Secret and keeps foreign keys": {
			es:         newES(withPolicy(externalsecret.CreatePolicyMerge, "")),
			existing:   foreign,
			wantAction: ActionUpdate,
			wantData:   map[string][]byte{"other": []byte("keep-me"), "user": []byte("admin"), "password": []byte("s3cret")},
			wantReason: externalsecret.ReasonSecretSynced,
		},
		"Merge without an existing Secret fails and creates nothing": {
			es:         newES(withPolicy(externalsecret.CreatePolicyMerge, "")),
			wantAction: ActionNone,
			wantReason: externalsecret.ReasonSecretSyncedError,
		},
		"None writes no Secret but reports synced": {
			es:         newES(withPolicy(externalsecret.CreatePolicyNone, "")),
			wantAction: ActionNone,
			wantReason: externalsecret.ReasonSecretSynced,
		},
		"Owner adopts an unowned existing Secret and replaces its data": {
			es:         newES(),
			existing:   foreign,
			wantAction: ActionUpdate,
			wantData:   map[string][]byte{"user": []byte("admin"), "password": []byte("s3cret")},
			wantOwner:  true,
			wantReason: externalsecret.ReasonSecretSynced,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := tc.es.DeepCopy()
			var existingBefore *corev1.Secret
			if tc.existing != nil {
				existingBefore = tc.existing.DeepCopy()
			}
			out := Reconcile(Input{ExternalSecret: tc.es, Existing: tc.existing, Fetched: fetched("admin", "s3cret"), Now: now})
			if out.Action != tc.wantAction {
				t.Fatalf("action: want %s, got %s (err %v)", tc.wantAction, out.Action, out.Err)
			}
			if got := out.Status.ReadyCondition().Reason; got != tc.wantReason {
				t.Errorf("reason: want %s, got %s (%s)", tc.wantReason, got, out.Status.ReadyCondition().Message)
			}
			if diff := cmp.Diff(before, tc.es); diff != "" {
				t.Errorf("Reconcile modified its ExternalSecret input (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(existingBefore, tc.existing); diff != "" {
				t.Errorf("Reconcile modified its Secret input (-before +after):\n%s", diff)
			}
			if tc.wantData == nil {
				if out.Secret != nil {
					t.Errorf("want no Secret, got %v", out.Secret.Name)
				}
				return
			}
			if diff := cmp.Diff(tc.wantData, out.Secret.Data); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
			if out.Secret.Labels[LabelManaged] != "true" {
				t.Errorf("managed label missing: %v", out.Secret.Labels)
			}
			if out.Secret.Annotations[AnnotationDataHash] == "" {
				t.Errorf("data-hash annotation missing")
			}
			owner := metav1.GetControllerOf(out.Secret)
			if tc.wantOwner != (owner != nil) {
				t.Fatalf("owner reference: want %v, got %v", tc.wantOwner, owner)
			}
			if owner != nil && (owner.UID != tc.es.UID || owner.Kind != "ExternalSecret" || owner.APIVersion != "external-secrets.io/v1") {
				t.Errorf("owner reference points elsewhere: %+v", owner)
			}
			if tc.existing != nil && out.Secret.ResourceVersion != tc.existing.ResourceVersion {
				t.Errorf("update must carry the existing resourceVersion")
			}
		})
	}
}

func TestReconcileWritesNothingWhenNothingChanged(t *testing.T) {
	tests := map[string]*externalsecret.ExternalSecret{
		"Owner":  newES(),
		"Orphan": newES(withPolicy(externalsecret.CreatePolicyOrphan, "")),
		"templated": newES(func(es *externalsecret.ExternalSecret) {
			es.Spec.Target.Template = &externalsecret.Template{
				Type:     corev1.SecretTypeBasicAuth,
				Metadata: externalsecret.TemplateMetadata{Labels: map[string]string{"app": "web"}},
				Data:     map[string]string{"username": "{{ .user }}", "password": "{{ .password }}"},
			}
		}),
	}
	for name, es := range tests {
		t.Run(name, func(t *testing.T) {
			secret := syncedSecret(t, es, "admin", "s3cret")
			es := syncedES(t, es, "admin", "s3cret")
			out := Reconcile(Input{ExternalSecret: es, Existing: secret, Fetched: fetched("admin", "s3cret"), Now: now.Add(time.Hour)})
			if out.Action != ActionNone || out.StatusChanged {
				t.Fatalf("want no write, got action %s, status changed %v:\n%s", out.Action, out.StatusChanged, cmp.Diff(es.Status, out.Status))
			}
			if out.RequeueAfter <= 0 || out.RequeueAfter > time.Hour {
				t.Errorf("requeue after %v, want within (0, 1h]", out.RequeueAfter)
			}
		})
	}
}

func TestReconcileUpdatesChangedValue(t *testing.T) {
	es := newES()
	secret := syncedSecret(t, es, "admin", "s3cret")
	es = syncedES(t, es, "admin", "s3cret")
	later := now.Add(time.Hour)
	out := Reconcile(Input{ExternalSecret: es, Existing: secret, Fetched: fetched("admin", "rotated"), Now: later})
	if out.Action != ActionUpdate {
		t.Fatalf("want Update, got %s (%v)", out.Action, out.Err)
	}
	if got := string(out.Secret.Data["password"]); got != "rotated" {
		t.Errorf("password not rotated")
	}
	if out.Secret.Annotations[AnnotationDataHash] == secret.Annotations[AnnotationDataHash] {
		t.Errorf("data hash did not change")
	}
	if !out.Status.RefreshTime.Time.Equal(later) {
		t.Errorf("refreshTime: want %v, got %v", later, out.Status.RefreshTime)
	}
	if len(out.Events) != 1 || !strings.Contains(out.Events[0].Message, "keys changed: password") {
		t.Errorf("want one Updated event naming the key, got %+v", out.Events)
	}
}

func TestReconcileDeletionPolicies(t *testing.T) {
	tests := map[string]struct {
		policy     func(*externalsecret.ExternalSecret)
		results    []Value
		wantAction Action
		wantData   map[string][]byte
		wantReason string
		wantErr    bool
	}{
		"Retain keeps the Secret when a value is gone and reports the key": {
			policy:     withPolicy(externalsecret.CreatePolicyOwner, externalsecret.DeletionPolicyRetain),
			results:    []Value{{Value: []byte("admin")}, notFound("db")},
			wantAction: ActionNone,
			wantReason: externalsecret.ReasonSecretSyncedError,
			wantErr:    true,
		},
		"Delete deletes the owned Secret when every value is gone": {
			policy:     withPolicy(externalsecret.CreatePolicyOwner, externalsecret.DeletionPolicyDelete),
			results:    []Value{notFound("db"), notFound("db")},
			wantAction: ActionDelete,
			wantReason: externalsecret.ReasonSecretDeleted,
		},
		"Delete writes what is left when some values remain": {
			policy:     withPolicy(externalsecret.CreatePolicyOwner, externalsecret.DeletionPolicyDelete),
			results:    []Value{{Value: []byte("admin")}, notFound("db")},
			wantAction: ActionUpdate,
			wantData:   map[string][]byte{"user": []byte("admin")},
			wantReason: externalsecret.ReasonSecretSynced,
		},
		"Merge removes the keys whose values are gone and keeps the Secret": {
			policy:     withPolicy(externalsecret.CreatePolicyOwner, externalsecret.DeletionPolicyMerge),
			results:    []Value{notFound("db"), notFound("db")},
			wantAction: ActionUpdate,
			wantData:   map[string][]byte{},
			wantReason: externalsecret.ReasonSecretSynced,
		},
		"a provider error is never a deletion": {
			policy:     withPolicy(externalsecret.CreatePolicyOwner, externalsecret.DeletionPolicyDelete),
			results:    []Value{{Err: errors.New("connection refused")}, notFound("db")},
			wantAction: ActionNone,
			wantReason: externalsecret.ReasonSecretSyncedError,
			wantErr:    true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			es := newES(tc.policy)
			existing := syncedSecret(t, es, "admin", "s3cret")
			es = syncedES(t, es, "admin", "s3cret")
			out := Reconcile(Input{ExternalSecret: es, Existing: existing, Fetched: &Fetched{Data: tc.results}, Now: now.Add(time.Hour)})
			if out.Action != tc.wantAction {
				t.Fatalf("action: want %s, got %s (err %v)", tc.wantAction, out.Action, out.Err)
			}
			if (out.Err != nil) != tc.wantErr {
				t.Errorf("err: want %v, got %v", tc.wantErr, out.Err)
			}
			if got := out.Status.ReadyCondition().Reason; got != tc.wantReason {
				t.Errorf("reason: want %s, got %s", tc.wantReason, got)
			}
			if tc.wantErr && !strings.Contains(out.Status.ReadyCondition().Message, `remote key "db"`) {
				t.Errorf("message should name the remote key: %s", out.Status.ReadyCondition().Message)
			}
			if tc.wantData != nil {
				if diff := cmp.Diff(tc.wantData, out.Secret.Data, cmp.Comparer(func(a, b []byte) bool { return string(a) == string(b) })); diff != "" {
					t.Errorf("data (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestReconcileRefusesUnsafeWrites(t *testing.T) {
	other := metav1.OwnerReference{APIVersion: "external-secrets.io/v1", Kind: "ExternalSecret", Name: "other", UID: "uid-2", Controller: ptrTo(true)}
	tests := map[string]struct {
		es       *externalsecret.ExternalSecret
		existing func(*corev1.Secret)
		values   []string
		wantMsg  string
	}{
		"a Secret controlled by another object": {
			es:       newES(),
			existing: func(s *corev1.Secret) { s.OwnerReferences = []metav1.OwnerReference{other} },
			values:   []string{"admin", "new"},
			wantMsg:  "is controlled by ExternalSecret other",
		},
		"an immutable Secret whose data changed": {
			es:       newES(func(es *externalsecret.ExternalSecret) { es.Spec.Target.Immutable = true }),
			existing: func(s *corev1.Secret) {},
			values:   []string{"admin", "new"},
			wantMsg:  "is immutable",
		},
		"a value over 1 MiB": {
			es:       newES(),
			existing: func(s *corev1.Secret) {},
			values:   []string{"admin", strings.Repeat("x", MaxSecretSize)},
			wantMsg:  "over the limit",
		},
		"a service-account-token type from a template": {
			es: newES(func(es *externalsecret.ExternalSecret) {
				es.Spec.Target.Template = &externalsecret.Template{Type: corev1.SecretTypeServiceAccountToken}
			}),
			existing: func(s *corev1.Secret) {},
			values:   []string{"admin", "new"},
			wantMsg:  "may not be written",
		},
		"a bootstrap token type from a template": {
			es: newES(func(es *externalsecret.ExternalSecret) {
				es.Spec.Target.Template = &externalsecret.Template{Type: corev1.SecretTypeBootstrapToken}
			}),
			existing: func(s *corev1.Secret) {},
			values:   []string{"admin", "new"},
			wantMsg:  "may not be written",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			existing := syncedSecret(t, newES(func(es *externalsecret.ExternalSecret) { es.Spec.Target.Immutable = tc.es.Spec.Target.Immutable }), "admin", "s3cret")
			tc.existing(existing)
			out := Reconcile(Input{ExternalSecret: tc.es, Existing: existing, Fetched: fetched(tc.values...), Now: now})
			if out.Action != ActionNone || out.Err == nil {
				t.Fatalf("want no write and an error, got %s, %v", out.Action, out.Err)
			}
			if c := out.Status.ReadyCondition(); c.Reason != externalsecret.ReasonSecretSyncedError || !strings.Contains(c.Message, tc.wantMsg) {
				t.Errorf("want SecretSyncedError containing %q, got %s: %s", tc.wantMsg, c.Reason, c.Message)
			}
		})
	}
}

func TestReconcileStoreError(t *testing.T) {
	es := newES()
	out := Reconcile(Input{ExternalSecret: es, StoreErr: errors.New(`SecretStore "store" not found`), Now: now})
	if out.Action != ActionNone || out.Err == nil || !out.StatusChanged {
		t.Fatalf("want an error status and no write, got %+v", out)
	}
	if len(out.Events) != 1 || out.Events[0].Type != corev1.EventTypeWarning {
		t.Errorf("want one warning event, got %+v", out.Events)
	}
}

func TestReconcileDataFrom(t *testing.T) {
	tests := map[string]struct {
		dataFrom externalsecret.DataFrom
		values   map[string][]byte
		want     map[string][]byte
		wantErr  string
	}{
		"extract copies every key": {
			dataFrom: externalsecret.DataFrom{Extract: &externalsecret.RemoteRef{Key: "cfg"}},
			values:   map[string][]byte{"a": []byte("1"), "b": []byte("2")},
			want:     map[string][]byte{"a": []byte("1"), "b": []byte("2")},
		},
		"Default conversion replaces invalid characters": {
			dataFrom: externalsecret.DataFrom{Find: &externalsecret.Find{}},
			values:   map[string][]byte{"path/to:key": []byte("v")},
			want:     map[string][]byte{"path_to_key": []byte("v")},
		},
		"Unicode conversion spells the code point": {
			dataFrom: externalsecret.DataFrom{Find: &externalsecret.Find{ConversionStrategy: externalsecret.ConversionUnicode}},
			values:   map[string][]byte{"a/b": []byte("v")},
			want:     map[string][]byte{"a_U002f_b": []byte("v")},
		},
		"regexp rewrite renames keys": {
			dataFrom: externalsecret.DataFrom{
				Extract: &externalsecret.RemoteRef{Key: "cfg"},
				Rewrite: []externalsecret.Rewrite{{Regexp: &externalsecret.RewriteRegexp{Source: "^db_(.*)$", Target: "DB_$1"}}},
			},
			values: map[string][]byte{"db_user": []byte("u"), "other": []byte("o")},
			want:   map[string][]byte{"DB_user": []byte("u"), "other": []byte("o")},
		},
		"rewrites apply in order, transform last": {
			dataFrom: externalsecret.DataFrom{
				Extract: &externalsecret.RemoteRef{Key: "cfg"},
				Rewrite: []externalsecret.Rewrite{
					{Regexp: &externalsecret.RewriteRegexp{Source: "-", Target: "_"}},
					{Transform: &externalsecret.RewriteTransform{Template: "{{ .value | upper }}"}},
				},
			},
			values: map[string][]byte{"api-key": []byte("k")},
			want:   map[string][]byte{"API_KEY": []byte("k")},
		},
		"a rewrite that merges two keys is an error": {
			dataFrom: externalsecret.DataFrom{
				Extract: &externalsecret.RemoteRef{Key: "cfg"},
				Rewrite: []externalsecret.Rewrite{{Regexp: &externalsecret.RewriteRegexp{Source: ".*", Target: "same"}}},
			},
			values:  map[string][]byte{"a": []byte("1"), "b": []byte("2")},
			wantErr: `keys "a" and "b" both become "same"`,
		},
		"a rewrite to an invalid key is an error": {
			dataFrom: externalsecret.DataFrom{
				Extract: &externalsecret.RemoteRef{Key: "cfg"},
				Rewrite: []externalsecret.Rewrite{{Regexp: &externalsecret.RewriteRegexp{Source: "a", Target: "a b"}}},
			},
			values:  map[string][]byte{"a": []byte("1")},
			wantErr: `key "a b" is not a valid Secret key`,
		},
		"a bad rewrite regexp is an error": {
			dataFrom: externalsecret.DataFrom{
				Extract: &externalsecret.RemoteRef{Key: "cfg"},
				Rewrite: []externalsecret.Rewrite{{Regexp: &externalsecret.RewriteRegexp{Source: "(", Target: "x"}}},
			},
			values:  map[string][]byte{"a": []byte("1")},
			wantErr: "rewrite[0]: regexp",
		},
		"Base64 decoding of found values": {
			dataFrom: externalsecret.DataFrom{Find: &externalsecret.Find{DecodingStrategy: externalsecret.DecodeBase64}},
			values:   map[string][]byte{"k": []byte("aGVsbG8=")},
			want:     map[string][]byte{"k": []byte("hello")},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			es := newES(func(es *externalsecret.ExternalSecret) {
				es.Spec.Data = nil
				es.Spec.DataFrom = []externalsecret.DataFrom{tc.dataFrom}
			})
			out := Reconcile(Input{ExternalSecret: es, Fetched: &Fetched{DataFrom: []Values{{Values: tc.values}}}, Now: now})
			if tc.wantErr != "" {
				if out.Err == nil || !strings.Contains(out.Err.Error(), tc.wantErr) {
					t.Fatalf("want error containing %q, got %v", tc.wantErr, out.Err)
				}
				return
			}
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			if diff := cmp.Diff(tc.want, out.Secret.Data); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReconcileDataOverridesDataFrom(t *testing.T) {
	es := newES(func(es *externalsecret.ExternalSecret) {
		es.Spec.Data = es.Spec.Data[:1]
		es.Spec.DataFrom = []externalsecret.DataFrom{{Extract: &externalsecret.RemoteRef{Key: "cfg"}}}
	})
	f := &Fetched{
		Data:     []Value{{Value: []byte("from-data")}},
		DataFrom: []Values{{Values: map[string][]byte{"user": []byte("from-dataFrom"), "x": []byte("1")}}},
	}
	out := Reconcile(Input{ExternalSecret: es, Fetched: f, Now: now})
	want := map[string][]byte{"user": []byte("from-data"), "x": []byte("1")}
	if diff := cmp.Diff(want, out.Secret.Data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
}

func TestDecode(t *testing.T) {
	tests := map[string]struct {
		strategy externalsecret.DecodingStrategy
		in       string
		want     string
		wantErr  bool
	}{
		"None keeps the value":               {strategy: externalsecret.DecodeNone, in: "aGk=", want: "aGk="},
		"empty means None":                   {strategy: "", in: "aGk=", want: "aGk="},
		"Base64 padded":                      {strategy: externalsecret.DecodeBase64, in: "aGk=", want: "hi"},
		"Base64 unpadded":                    {strategy: externalsecret.DecodeBase64, in: "aGk", want: "hi"},
		"Base64 invalid":                     {strategy: externalsecret.DecodeBase64, in: "!!!!", wantErr: true},
		"Base64URL":                          {strategy: externalsecret.DecodeBase64URL, in: "Pz8_", want: "???"},
		"Base64URL rejects standard symbols": {strategy: externalsecret.DecodeBase64URL, in: "Pz8/", wantErr: true},
		"Auto decodes standard base64":       {strategy: externalsecret.DecodeAuto, in: "Pz8/", want: "???"},
		"Auto decodes base64url":             {strategy: externalsecret.DecodeAuto, in: "Pz8_", want: "???"},
		"Auto keeps what is not base64":      {strategy: externalsecret.DecodeAuto, in: "not base64!", want: "not base64!"},
		// Auto decodes only padded input, as the External Secrets Operator
		// does: unpadded, most plain values would pass for base64.
		"Auto keeps a 7-letter name":              {strategy: externalsecret.DecodeAuto, in: "charlie", want: "charlie"},
		"Auto keeps unpadded base64":              {strategy: externalsecret.DecodeAuto, in: "aGk", want: "aGk"},
		"Auto decodes base64 wrapped over lines":  {strategy: externalsecret.DecodeAuto, in: "aGVs\nbG8=", want: "hello"},
		"Auto decodes a plain word of 4n letters": {strategy: externalsecret.DecodeAuto, in: "user", want: "\xba\xc7\xab"},
		"Auto decodes the empty value to nothing": {strategy: externalsecret.DecodeAuto, in: "", want: ""},
		"unknown strategy":                        {strategy: "Rot13", in: "x", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Decode(tc.strategy, []byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err: want %v, got %v", tc.wantErr, err)
			}
			if err == nil && string(got) != tc.want {
				t.Errorf("want %q, got %q", tc.want, got)
			}
			if err != nil && strings.Contains(err.Error(), tc.in) {
				t.Errorf("error quotes the value: %v", err)
			}
		})
	}
}

func TestDataDecodingStrategy(t *testing.T) {
	es := newES(func(es *externalsecret.ExternalSecret) {
		es.Spec.Data[0].RemoteRef.DecodingStrategy = externalsecret.DecodeBase64
	})
	out := Reconcile(Input{ExternalSecret: es, Fetched: fetched("YWRtaW4=", "plain"), Now: now})
	if got := string(out.Secret.Data["user"]); got != "admin" {
		t.Errorf("want decoded user, got %q", got)
	}
	if got := string(out.Secret.Data["password"]); got != "plain" {
		t.Errorf("want password untouched, got %q", got)
	}
}
