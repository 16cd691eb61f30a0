package testenv_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/secretsync/secretsync/internal/testenv"
)

func TestControlPlane(t *testing.T) {
	env := testenv.StartForTest(t)
	ctx := context.Background()
	since := time.Now()

	admin, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "testenv"}}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: "testenv-test"}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns.Name},
		StringData: map[string]string{"password": "not-a-real-password"},
	}
	if _, err := admin.CoreV1().Secrets(ns.Name).Create(ctx, secret, metav1.CreateOptions{FieldManager: "testenv-test"}); err != nil {
		t.Fatalf("create secret: %v", err)
	}

	t.Run("RBAC applies to other users", func(t *testing.T) {
		cfg, err := env.UserConfig("alice", "developers")
		if err != nil {
			t.Fatal(err)
		}
		alice, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = alice.CoreV1().Secrets(ns.Name).List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("alice listing secrets: got error %v, want Forbidden", err)
		}
	})

	t.Run("kubeconfig is the admin", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", env.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		c, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().Secrets(ns.Name).Get(ctx, secret.Name, metav1.GetOptions{}); err != nil {
			t.Fatalf("get secret through kubeconfig: %v", err)
		}
	})

	t.Run("CountWrites counts the secret create", func(t *testing.T) {
		tests := map[string]struct {
			resource, namespace string
			since               time.Time
			want                int
		}{
			"secrets in the namespace":   {resource: "secrets", namespace: ns.Name, since: since, want: 1},
			"secrets in all namespaces":  {resource: "secrets", since: since, want: 1},
			"another namespace":          {resource: "secrets", namespace: "default", since: since, want: 0},
			"namespaces are not audited": {resource: "namespaces", since: since, want: 0},
			"a subresource is separate":  {resource: "secrets/status", since: since, want: 0},
			"since excludes earlier":     {resource: "secrets", since: time.Now().Add(time.Hour), want: 0},
		}
		// The event is written after the response, so wait for it to appear.
		waitForWrites(t, env, "secrets", ns.Name, since, 1)
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				got, err := env.CountWrites(tc.resource, tc.namespace, tc.since)
				if err != nil {
					t.Fatal(err)
				}
				if got != tc.want {
					t.Errorf("CountWrites(%q, %q) = %d, want %d", tc.resource, tc.namespace, got, tc.want)
				}
			})
		}
	})

	t.Run("CountRequests selects by verb, name, user and code", func(t *testing.T) {
		// alice's list above was refused; the admin's create was not.
		tests := map[string]struct {
			r    testenv.Requests
			want int
		}{
			"the admin's create":      {r: testenv.Requests{Verbs: []string{"create"}, Resource: "secrets", Name: secret.Name, User: "secretsync-testenv-admin", Code: 201}, want: 1},
			"alice's refused list":    {r: testenv.Requests{Verbs: []string{"list"}, Resource: "secrets", Namespace: ns.Name, User: "alice", Code: 403}, want: 1},
			"alice created nothing":   {r: testenv.Requests{Verbs: []string{"create"}, User: "alice"}, want: 0},
			"another name":            {r: testenv.Requests{Resource: "secrets", Name: "other"}, want: 0},
			"since excludes earlier":  {r: testenv.Requests{Resource: "secrets", Since: time.Now().Add(time.Hour)}, want: 0},
			"any verb on that Secret": {r: testenv.Requests{Resource: "secrets", Namespace: ns.Name, Name: secret.Name}, want: 2},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				if tc.r.Since.IsZero() {
					tc.r.Since = since
				}
				// An event is written after the response: poll briefly.
				var got int
				for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
					var err error
					if got, err = env.CountRequests(tc.r); err != nil {
						t.Fatal(err)
					}
					if got >= tc.want || time.Now().After(deadline) {
						break
					}
				}
				if got != tc.want {
					t.Errorf("CountRequests(%+v) = %d, want %d", tc.r, got, tc.want)
				}
			})
		}
	})

	t.Run("the apiserver restarts with its data, port and certificates", func(t *testing.T) {
		env.KillAPIServer()
		if _, err := admin.CoreV1().Secrets(ns.Name).Get(ctx, secret.Name, metav1.GetOptions{}); err == nil {
			t.Fatal("the apiserver answers after KillAPIServer")
		}
		if err := env.StartAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		if err := env.StartAPIServer(ctx); err == nil {
			t.Error("StartAPIServer while it runs: want an error")
		}
		// The same client, unchanged, reads what was written before.
		got, err := admin.CoreV1().Secrets(ns.Name).Get(ctx, secret.Name, metav1.GetOptions{})
		if err != nil || string(got.Data["password"]) != "not-a-real-password" {
			t.Fatalf("after the restart: %v", err)
		}
		if err := env.RestartAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.CoreV1().Secrets(ns.Name).Get(ctx, secret.Name, metav1.GetOptions{}); err != nil {
			t.Fatalf("after a graceful restart: %v", err)
		}
	})
}

func waitForWrites(t *testing.T, env *testenv.Env, resource, namespace string, since time.Time, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := env.CountWrites(resource, namespace, since)
		if err != nil {
			t.Fatal(err)
		}
		if got >= want || time.Now().After(deadline) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestStopIsIdempotentAndCleansUp(t *testing.T) {
	env := testenv.StartForTest(t)
	env.Stop()
	env.Stop()
	if _, err := os.Stat(env.Dir); !os.IsNotExist(err) {
		t.Errorf("after Stop, %s: got err %v, want it gone", env.Dir, err)
	}
	c, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Discovery().ServerVersion(); err == nil {
		t.Error("apiserver still answers after Stop")
	}
}

func TestStartWithoutBinaries(t *testing.T) {
	_, err := testenv.Start(context.Background(), testenv.Options{BinDir: t.TempDir()})
	if !errors.Is(err, testenv.ErrNoBinaries) {
		t.Fatalf("Start with an empty BinDir: got %v, want ErrNoBinaries", err)
	}
}

func TestStartReportsAnEarlyExit(t *testing.T) {
	bin := t.TempDir()
	for _, name := range []string{"etcd", "kube-apiserver"} {
		script := "#!/bin/sh\necho \"" + name + ": cannot start\" >&2\nexit 1\n"
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, err := testenv.Start(context.Background(), testenv.Options{BinDir: bin})
	if err == nil || !strings.Contains(err.Error(), "etcd: cannot start") {
		t.Fatalf("Start with a failing etcd: got %v, want an error quoting its stderr", err)
	}
}
