package pgtest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/pgtest"
)

func TestServer(t *testing.T) {
	s := pgtest.Start(t)
	ctx := context.Background()
	if s.Host != "127.0.0.1" || s.Port == 0 {
		t.Fatalf("listens on %s", s.Addr())
	}

	tests := map[string]struct {
		user, password, sql string
		want                string
		wantErr             string
	}{
		"the superuser logs in with its password": {
			user: pgtest.Superuser, password: s.Password, sql: "select 1", want: "1",
		},
		"rows come one a line, columns split by |": {
			user: pgtest.Superuser, password: s.Password,
			sql: "select n, n * 2 from generate_series(1, 2) n", want: "1|2\n2|4",
		},
		"a wrong password is refused": {
			user: pgtest.Superuser, password: "wrong", sql: "select 1",
			wantErr: "password authentication failed",
		},
		"a failing statement fails": {
			user: pgtest.Superuser, password: s.Password, sql: "select * from nowhere",
			wantErr: `relation "nowhere" does not exist`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := s.Psql(ctx, tc.user, tc.password, tc.sql)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Psql: got %q, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Psql: %v", err)
			}
			if got != tc.want {
				t.Errorf("Psql = %q, want %q", got, tc.want)
			}
		})
	}

	// A role made by SQL logs in, as one made by Vault's database engine
	// would.
	if _, err := s.Psql(ctx, pgtest.Superuser, s.Password, "create role app with login password 'app-pw'"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Psql(ctx, "app", "app-pw", "select current_user"); err != nil || got != "app" {
		t.Errorf("login as app: %q, %v", got, err)
	}
}

func TestStopIsIdempotentAndCleansUp(t *testing.T) {
	dir, ok := pgtest.BinDir()
	if !ok {
		t.Skipf("no postgresql binaries in %s", dir)
	}
	ctx := context.Background()
	s, err := pgtest.New(ctx, pgtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Stop()
	s.Stop()
	if _, err := os.Stat(s.DataDir); !os.IsNotExist(err) {
		t.Errorf("after Stop, %s: got err %v, want it gone", s.DataDir, err)
	}
	if _, err := s.Psql(ctx, pgtest.Superuser, s.Password, "select 1"); err == nil {
		t.Error("postgresql still answers after Stop")
	}
}

func TestNewWithoutBinaries(t *testing.T) {
	_, err := pgtest.New(context.Background(), pgtest.Options{BinDir: filepath.Join(t.TempDir(), "bin")})
	if !errors.Is(err, pgtest.ErrNoBinary) {
		t.Fatalf("New without binaries: got %v, want ErrNoBinary", err)
	}
}
