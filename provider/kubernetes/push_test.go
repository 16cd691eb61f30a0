package kubernetes_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/kubernetes"
)

// grantWrite lets subject read and write the Secrets of ns, as ESO's
// documentation asks for PushSecret.
func (s *suite) grantWrite(t *testing.T, ns string, subject rbacv1.Subject) {
	t.Helper()
	ctx := context.Background()
	name := "write-secrets-" + subject.Name
	_, err := s.admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "update", "delete"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{subject},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// writer makes a store namespace with a ServiceAccount "writer" that may
// write the Secrets of a second namespace, and returns a Pusher client of
// a store that names it.
func (s *suite) writer(t *testing.T) (c provider.Client, storeNS, remoteNS string) {
	t.Helper()
	storeNS, remoteNS = s.namespace(t, "app"), s.namespace(t, "dst")
	s.serviceAccount(t, storeNS, "writer")
	s.grantWrite(t, remoteNS, serviceAccountSubject(storeNS, "writer"))
	return s.client(t, s.local(), store(storeNS, remoteNS, "writer")), storeNS, remoteNS
}

func metadata(spec string) json.RawMessage {
	return json.RawMessage(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata","spec":` + spec + `}`)
}

// What a push writes is in the Secret, reads back through GetSecret as the
// value pushed, and keeps what it must keep.
func TestPushSecret(t *testing.T) {
	s := newSuite(t)
	c, storeNS, remoteNS := s.writer(t)
	pusher := c.(provider.Pusher)
	ctx := context.Background()

	type existing struct {
		data        map[string]string
		labels      map[string]string
		annotations map[string]string
	}
	tests := map[string]struct {
		existing *existing
		push     provider.Push
		value    string

		wantData        map[string]string
		wantLabels      map[string]string
		wantAnnotations map[string]string
	}{
		"a new Secret, whole": {
			push:     provider.Push{RemoteKey: "new-whole"},
			value:    `{"user":"admin","password":"` + canary + `"}`,
			wantData: map[string]string{"user": "admin", "password": canary},
		},
		"an updated whole value replaces every key": {
			existing: &existing{data: map[string]string{"user": "old", "stale": "x"}},
			push:     provider.Push{RemoteKey: "update-whole"},
			value:    `{"user":"new","json":"{\"a\":1}"}`,
			wantData: map[string]string{"user": "new", "json": `{"a":1}`},
		},
		"a property of a new Secret": {
			push:     provider.Push{RemoteKey: "new-prop", Property: "password"},
			value:    canary,
			wantData: map[string]string{"password": canary},
		},
		"a property of an existing Secret keeps the other keys": {
			existing: &existing{data: map[string]string{"user": "admin", "password": "old"}},
			push:     provider.Push{RemoteKey: "update-prop", Property: "password"},
			value:    canary + "-2",
			wantData: map[string]string{"user": "admin", "password": canary + "-2"},
		},
		"a property with a dot, holding JSON, is one key": {
			existing: &existing{data: map[string]string{"user": "admin"}},
			push:     provider.Push{RemoteKey: "dot-prop", Property: "config.json"},
			value:    `{"db":{"host":"h"}}`,
			wantData: map[string]string{"user": "admin", "config.json": `{"db":{"host":"h"}}`},
		},
		"metadata merges into the Secret's labels and annotations": {
			existing:        &existing{data: map[string]string{"k": "v"}, labels: map[string]string{"keep": "yes", "color": "blue"}, annotations: map[string]string{"a": "1"}},
			push:            provider.Push{RemoteKey: "meta-merge", Property: "k", Metadata: metadata(`{"labels":{"color":"red"},"annotations":{"note":"pushed"}}`)},
			value:           "v2",
			wantData:        map[string]string{"k": "v2"},
			wantLabels:      map[string]string{"keep": "yes", "color": "red"},
			wantAnnotations: map[string]string{"a": "1", "note": "pushed"},
		},
		"metadata on a new Secret": {
			push:            provider.Push{RemoteKey: "meta-new", Metadata: metadata(`{"sourceMergePolicy":"Replace","labels":{"team":"a"},"annotations":{"note":"pushed"}}`)},
			value:           `{"k":"v"}`,
			wantData:        map[string]string{"k": "v"},
			wantLabels:      map[string]string{"team": "a"},
			wantAnnotations: map[string]string{"note": "pushed"},
		},
		"targetMergePolicy Replace drops the Secret's labels": {
			existing:        &existing{data: map[string]string{"k": "v"}, labels: map[string]string{"keep": "no"}, annotations: map[string]string{"a": "1"}},
			push:            provider.Push{RemoteKey: "meta-replace", Property: "k", Metadata: metadata(`{"targetMergePolicy":"Replace","labels":{"color":"red"}}`)},
			value:           "v2",
			wantData:        map[string]string{"k": "v2"},
			wantLabels:      map[string]string{"color": "red"},
			wantAnnotations: nil,
		},
		"targetMergePolicy Ignore leaves them": {
			existing:        &existing{data: map[string]string{"k": "v"}, labels: map[string]string{"keep": "yes"}, annotations: map[string]string{"a": "1"}},
			push:            provider.Push{RemoteKey: "meta-ignore", Property: "k", Metadata: metadata(`{"targetMergePolicy":"Ignore","labels":{"color":"red"}}`)},
			value:           "v2",
			wantData:        map[string]string{"k": "v2"},
			wantLabels:      map[string]string{"keep": "yes"},
			wantAnnotations: map[string]string{"a": "1"},
		},
		"remoteNamespace may repeat the store's": {
			push:     provider.Push{RemoteKey: "meta-ns", Property: "k", Metadata: metadata(`{"remoteNamespace":"` + remoteNS + `"}`)},
			value:    "v",
			wantData: map[string]string{"k": "v"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if e := tc.existing; e != nil {
				s.secret(t, remoteNS, tc.push.RemoteKey, e.data, e.labels, e.annotations)
			}
			if err := pusher.PushSecret(ctx, []byte(tc.value), tc.push); err != nil {
				t.Fatalf("PushSecret: %v", err)
			}

			got, err := s.admin.CoreV1().Secrets(remoteNS).Get(ctx, tc.push.RemoteKey, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			gotData := map[string]string{}
			for k, v := range got.Data {
				gotData[k] = string(v)
			}
			if diff := cmp.Diff(tc.wantData, gotData); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLabels, got.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantAnnotations, got.Annotations); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
			if tc.existing == nil && got.Type != corev1.SecretTypeOpaque {
				t.Errorf("a new Secret has type %q, want Opaque", got.Type)
			}
			if !managedBy(got, kubernetes.DefaultFieldManager) {
				t.Errorf("no managed fields entry for %q: %v", kubernetes.DefaultFieldManager, got.ManagedFields)
			}

			// The host compares through GetSecret: the value must read back.
			back, err := read(ctx, c, provider.Ref{Key: tc.push.RemoteKey}, tc.push.Property)
			if err != nil {
				t.Fatalf("read back: %v", err)
			}
			if tc.push.Property != "" {
				if diff := cmp.Diff(tc.value, string(back)); diff != "" {
					t.Errorf("read back (-want +got):\n%s", diff)
				}
				return
			}
			var want, gotJSON map[string]string
			if err := json.Unmarshal([]byte(tc.value), &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(back, &gotJSON); err != nil {
				t.Fatalf("read back is not a JSON object of strings: %v", err)
			}
			if diff := cmp.Diff(want, gotJSON); diff != "" {
				t.Errorf("read back (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("every write is made as the store's ServiceAccount", func(t *testing.T) {
		sa := "system:serviceaccount:" + storeNS + ":writer"
		since := time.Now()
		if err := pusher.PushSecret(ctx, []byte("x"), provider.Push{RemoteKey: "who", Property: "k"}); err != nil {
			t.Fatal(err)
		}
		if err := pusher.DeleteSecret(ctx, provider.Push{RemoteKey: "who"}); err != nil {
			t.Fatal(err)
		}
		waitAudit(t, s.env, testenv.Requests{Verbs: []string{"create", "delete"}, Resource: "secrets", Namespace: remoteNS, Name: "who", User: sa}, 2)
		all, err := s.env.CountWrites("secrets", remoteNS, since)
		if err != nil {
			t.Fatal(err)
		}
		if all != 2 {
			t.Errorf("%d writes to %s, want the ServiceAccount's 2 and no other", all, remoteNS)
		}
	})

	t.Run("an unchanged push makes no write", func(t *testing.T) {
		p := provider.Push{RemoteKey: "same", Property: "k", Metadata: metadata(`{"labels":{"a":"b"}}`)}
		since := time.Now()
		for range 2 {
			if err := pusher.PushSecret(ctx, []byte(canary), p); err != nil {
				t.Fatal(err)
			}
		}
		// A marker written after the pushes: once the audit log shows it,
		// it shows every write before it.
		s.secret(t, remoteNS, "marker-same", map[string]string{"k": "v"}, nil, nil)
		waitAudit(t, s.env, testenv.Requests{Verbs: []string{"create"}, Resource: "secrets", Namespace: remoteNS, Name: "marker-same"}, 1)
		n, err := s.env.CountWrites("secrets", remoteNS, since)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("%d writes, want the create and the marker's", n)
		}
	})

	t.Run("concurrent pushes of properties of one new Secret all land", func(t *testing.T) {
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = pusher.PushSecret(ctx, []byte(fmt.Sprint(i)), provider.Push{RemoteKey: "race", Property: fmt.Sprintf("k%d", i)})
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("PushSecret: %v", err)
		}
		got, err := s.admin.CoreV1().Secrets(remoteNS).Get(ctx, "race", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Data) != n {
			t.Errorf("%d keys, want %d: a lost update", len(got.Data), n)
		}
	})
}

func managedBy(s *corev1.Secret, manager string) bool {
	for _, f := range s.ManagedFields {
		if f.Manager == manager {
			return true
		}
	}
	return false
}

// waitAudit waits until the audit log holds want requests that r selects.
func waitAudit(t *testing.T, env *testenv.Env, r testenv.Requests, want int) {
	t.Helper()
	if r.Since.IsZero() {
		r.Since = time.Now().Add(-time.Minute)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := env.CountRequests(r)
		if err != nil {
			t.Fatal(err)
		}
		if n >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit log holds %d of %d requests %+v", n, want, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDeleteSecret(t *testing.T) {
	s := newSuite(t)
	c, _, remoteNS := s.writer(t)
	pusher := c.(provider.Pusher)
	ctx := context.Background()

	tests := map[string]struct {
		existing map[string]string // nil: no Secret
		push     provider.Push
		want     map[string]string // nil: the Secret is gone
	}{
		"a key of a Secret with others": {
			existing: map[string]string{"user": "admin", "password": canary},
			push:     provider.Push{RemoteKey: "some-key", Property: "password"},
			want:     map[string]string{"user": "admin"},
		},
		"the last key deletes the Secret": {
			existing: map[string]string{"password": canary},
			push:     provider.Push{RemoteKey: "last-key", Property: "password"},
		},
		"a whole Secret": {
			existing: map[string]string{"user": "admin", "password": canary},
			push:     provider.Push{RemoteKey: "whole"},
		},
		"a key the Secret does not have": {
			existing: map[string]string{"user": "admin"},
			push:     provider.Push{RemoteKey: "no-key", Property: "password"},
			want:     map[string]string{"user": "admin"},
		},
		"a key of a missing Secret": {push: provider.Push{RemoteKey: "missing", Property: "password"}},
		"a missing Secret":          {push: provider.Push{RemoteKey: "missing"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.existing != nil {
				s.secret(t, remoteNS, tc.push.RemoteKey, tc.existing, nil, nil)
			}
			if err := pusher.DeleteSecret(ctx, tc.push); err != nil {
				t.Fatalf("DeleteSecret: %v", err)
			}
			got, err := s.admin.CoreV1().Secrets(remoteNS).Get(ctx, tc.push.RemoteKey, metav1.GetOptions{})
			if tc.want == nil {
				if !apierrors.IsNotFound(err) {
					t.Fatalf("the Secret is still there: %v", err)
				}
				_, err := c.GetSecret(ctx, provider.Ref{Key: tc.push.RemoteKey})
				if !errors.Is(err, provider.ErrNotFound) {
					t.Errorf("GetSecret after delete: want ErrNotFound, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gotData := map[string]string{}
			for k, v := range got.Data {
				gotData[k] = string(v)
			}
			if diff := cmp.Diff(tc.want, gotData); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
		})
	}
}

// Pushes the provider cannot make fail before any write, with errors that
// say why and carry no value.
func TestPushSecretRefuses(t *testing.T) {
	s := newSuite(t)
	c, storeNS, remoteNS := s.writer(t)
	pusher := c.(provider.Pusher)
	ctx := context.Background()
	s.grantRead(t, storeNS, serviceAccountSubject(storeNS, "writer"))
	s.secret(t, remoteNS, "not-json-object", map[string]string{"k": canary}, nil, nil)

	tests := map[string]struct {
		value string
		push  provider.Push
		want  string // in the error
	}{
		"a whole value that is not JSON":                {value: "not json " + canary, push: provider.Push{RemoteKey: "a"}, want: "JSON object"},
		"a whole value that is a JSON string":           {value: `"` + canary + `"`, push: provider.Push{RemoteKey: "a"}, want: "JSON object"},
		"a whole value with a value that is no string":  {value: `{"n":{"x":"` + canary + `"}}`, push: provider.Push{RemoteKey: "a"}, want: `key "n"`},
		"a whole value with a key no Secret may have":   {value: `{"a b":"` + canary + `"}`, push: provider.Push{RemoteKey: "a"}, want: `key "a b"`},
		"a property no Secret may have":                 {value: canary, push: provider.Push{RemoteKey: "a", Property: "a/b"}, want: `property "a/b"`},
		"a remote key that is no Secret name":           {value: canary, push: provider.Push{RemoteKey: "A_B", Property: "k"}, want: `key "A_B"`},
		"metadata with a field it does not know":        {value: canary, push: provider.Push{RemoteKey: "a", Property: "k", Metadata: metadata(`{"labelz":{"a":"b"}}`)}, want: `"labelz"`},
		"metadata with a field it does not know at top": {value: canary, push: provider.Push{RemoteKey: "a", Property: "k", Metadata: json.RawMessage(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata","extra":1}`)}, want: `"extra"`},
		"metadata of another kind":                      {value: canary, push: provider.Push{RemoteKey: "a", Property: "k", Metadata: json.RawMessage(`{"apiVersion":"v1","kind":"PushSecretMetadata","spec":{}}`)}, want: "apiVersion"},
		"metadata with a bad targetMergePolicy":         {value: canary, push: provider.Push{RemoteKey: "a", Property: "k", Metadata: metadata(`{"targetMergePolicy":"Overwrite"}`)}, want: "targetMergePolicy"},
		"metadata with a bad sourceMergePolicy":         {value: canary, push: provider.Push{RemoteKey: "a", Property: "k", Metadata: metadata(`{"sourceMergePolicy":"Ignore"}`)}, want: "sourceMergePolicy"},
		"metadata naming another namespace":             {value: canary, push: provider.Push{RemoteKey: "a", Property: "k", Metadata: metadata(`{"remoteNamespace":"elsewhere"}`)}, want: "remoteNamespace"},
	}
	since := time.Now()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := pusher.PushSecret(ctx, []byte(tc.value), tc.push)
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("the error does not say %s: %v", tc.want, err)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("the error carries the value: %v", err)
			}
		})
	}
	s.secret(t, remoteNS, "marker-refuses", map[string]string{"k": "v"}, nil, nil)
	waitAudit(t, s.env, testenv.Requests{Verbs: []string{"create"}, Resource: "secrets", Namespace: remoteNS, Name: "marker-refuses"}, 1)
	if n, err := s.env.CountWrites("secrets", remoteNS, since); err != nil || n != 1 {
		t.Errorf("%d writes besides none but the marker's, want 1 (%v)", n, err)
	}

	t.Run("a store that may only read is denied, and says so", func(t *testing.T) {
		ro := s.client(t, s.local(), store(storeNS, storeNS, "writer")).(provider.Pusher)
		s.secret(t, storeNS, "ro", map[string]string{"k": "v"}, nil, nil)
		for what, err := range map[string]error{
			"push":   ro.PushSecret(ctx, []byte(canary), provider.Push{RemoteKey: "ro", Property: "k"}),
			"delete": ro.DeleteSecret(ctx, provider.Push{RemoteKey: "ro"}),
		} {
			if !errors.Is(err, kubernetes.ErrPermissionDenied) {
				t.Errorf("%s: want ErrPermissionDenied, got %v", what, err)
			}
			if err != nil && strings.Contains(err.Error(), canary) {
				t.Errorf("%s: the error carries the value: %v", what, err)
			}
		}
	})
}
