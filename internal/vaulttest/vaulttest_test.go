package vaulttest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/secretsync/secretsync/internal/vaulttest"
)

func TestServer(t *testing.T) {
	for name, opts := range map[string]vaulttest.Options{"http": {}, "https": {TLS: true}} {
		t.Run(name, func(t *testing.T) {
			s := vaulttest.StartForTest(t, opts)
			ctx := context.Background()
			if !strings.HasPrefix(s.Addr, name+"://127.0.0.1:") {
				t.Errorf("Addr = %q", s.Addr)
			}
			if opts.TLS != (s.CACert != nil) {
				t.Errorf("TLS %v, CACert %d bytes", opts.TLS, len(s.CACert))
			}
			// A login through userpass, as a provider would make.
			if err := s.Client.Sys().EnableAuthWithOptionsWithContext(ctx, "userpass", &api.EnableAuthOptions{Type: "userpass"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Client.Logical().WriteWithContext(ctx, "auth/userpass/users/alice", map[string]any{"password": "pw"}); err != nil {
				t.Fatal(err)
			}
			anon, err := s.NewClient("")
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				if _, err := anon.Logical().WriteWithContext(ctx, "auth/userpass/login/alice", map[string]any{"password": "pw"}); err != nil {
					t.Fatalf("login: %v", err)
				}
			}
			if _, err := anon.Logical().WriteWithContext(ctx, "auth/userpass/login/alice", map[string]any{"password": "wrong"}); err == nil {
				t.Fatal("login with a wrong password succeeded")
			}
			if n, err := s.Logins("userpass"); err != nil || n != 2 {
				t.Errorf("Logins = %d, %v; want 2 (the failed one does not count)", n, err)
			}
			raw, err := s.AuditRaw()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(raw, `"pw"`) {
				t.Error("the audit log holds a password in plaintext")
			}
		})
	}
}

func TestStopIsIdempotentAndCleansUp(t *testing.T) {
	s := vaulttest.StartForTest(t, vaulttest.Options{})
	s.Stop()
	s.Stop()
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("after Stop, %s: got err %v, want it gone", s.Dir, err)
	}
	if _, err := s.Client.Sys().Health(); err == nil {
		t.Error("vault still answers after Stop")
	}
}

func TestStartWithoutBinary(t *testing.T) {
	_, err := vaulttest.Start(context.Background(), vaulttest.Options{Bin: filepath.Join(t.TempDir(), "vault")})
	if !errors.Is(err, vaulttest.ErrNoBinary) {
		t.Fatalf("Start without a binary: got %v, want ErrNoBinary", err)
	}
}

func TestStartReportsAnEarlyExit(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "vault")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho 'vault: cannot start' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := vaulttest.Start(context.Background(), vaulttest.Options{Bin: bin})
	if err == nil || !strings.Contains(err.Error(), "vault: cannot start") {
		t.Fatalf("Start with a failing vault: got %v, want an error quoting its output", err)
	}
}
