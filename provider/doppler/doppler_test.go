package doppler_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

func TestGetSecret(t *testing.T) {
	h := newHarness(t)
	h.emu.SetSecret("auth-api", "prd", "DB_USER", "admin")
	h.emu.SetSecret("auth-api", "prd", "DB_PASSWORD", canary)
	h.emu.SetSecret("auth-api", "prd", "DB_URL", "postgres://${DB_USER}@db:5432")
	h.emu.SetSecret("auth-api", "prd", "SA_JSON", `{"client_id":"cid","nested":{"k":"v"}}`)
	h.emu.AddConfig("auth-api", "dev")
	h.emu.SetSecret("auth-api", "dev", "DB_USER", "dev-admin")
	service := h.client(nil)

	tests := map[string]struct {
		client        provider.Client
		key, property string
		want          string
		notFound      bool // else, with want empty, another error
	}{
		"a value": {key: "DB_PASSWORD", want: canary},
		"the computed value, references expanded": {key: "DB_URL", want: "postgres://admin@db:5432"},
		"a property of a JSON secret":             {key: "SA_JSON", property: "client_id", want: "cid"},
		"a nested property":                       {key: "SA_JSON", property: "nested.k", want: "v"},
		"a personal token names the config":       {client: h.client(personal("auth-api", "dev")), key: "DB_USER", want: "dev-admin"},
		"a missing secret":                        {key: "NOPE", notFound: true},
		"a missing property":                      {key: "SA_JSON", property: "nope", notFound: true},
		"a name as a transformer writes it":       {key: "dbUser"},
		"a name Doppler cannot hold":              {key: "DB-USER"},
		"a config that does not exist":            {client: h.client(personal("auth-api", "stg")), key: "DB_USER"},
		"a service token naming another config":   {client: h.client(func(d *secretstore.DopplerProvider) { d.Project, d.Config = "auth-api", "dev" }), key: "DB_USER"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := tc.client
			if c == nil {
				c = service
			}
			got, err := read(c, tc.key, tc.property)
			switch {
			case tc.notFound:
				if !errors.Is(err, provider.ErrNotFound) {
					t.Fatalf("want ErrNotFound, got %q, %v", got, err)
				}
			case tc.want == "":
				if err == nil || errors.Is(err, provider.ErrNotFound) {
					t.Fatalf("want an error other than not found, got %q, %v", got, err)
				}
			case err != nil || got != tc.want:
				t.Fatalf("want %q, got %q, %v", tc.want, got, err)
			}
		})
	}

	t.Run("extract parses a JSON secret", func(t *testing.T) {
		s, err := service.GetSecret(context.Background(), provider.Ref{Key: "SA_JSON"})
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.Map()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string][]byte{"client_id": []byte("cid"), "nested": []byte(`{"k":"v"}`)}, m); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	for _, ref := range []provider.Ref{{Key: "DB_USER", Version: "1"}, {Key: "DB_USER", Metadata: true}} {
		if _, err := service.GetSecret(context.Background(), ref); err == nil || errors.Is(err, provider.ErrNotFound) {
			t.Errorf("%+v: want a refusal, got %v", ref, err)
		}
	}
}

func TestFind(t *testing.T) {
	h := newHarness(t)
	for k, v := range map[string]string{"API_KEY": "k", "AUTH_API_URL": "https://auth", "AUTH_API_TOKEN": canary, "SMTP__USER_NAME": "mailer"} {
		h.emu.SetSecret("auth-api", "prd", k, v)
	}
	plain := h.client(nil).(provider.Finder)
	env := h.client(func(d *secretstore.DopplerProvider) { d.Format = "env" }).(provider.Finder)

	tests := map[string]struct {
		finder  provider.Finder
		find    provider.Find
		want    map[string][]byte
		wantErr bool
	}{
		"fetch all": {
			finder: plain, find: provider.Find{Name: ".*"},
			want: map[string][]byte{"API_KEY": []byte("k"), "AUTH_API_URL": []byte("https://auth"), "AUTH_API_TOKEN": []byte(canary), "SMTP__USER_NAME": []byte("mailer")},
		},
		"filter by path prefix": {
			finder: plain, find: provider.Find{Path: "AUTH_API_"},
			want: map[string][]byte{"AUTH_API_URL": []byte("https://auth"), "AUTH_API_TOKEN": []byte(canary)},
		},
		"filter by path and name": {
			finder: plain, find: provider.Find{Path: "AUTH_", Name: "TOKEN$"},
			want: map[string][]byte{"AUTH_API_TOKEN": []byte(canary)},
		},
		"a format downloads one document": {
			finder: env, find: provider.Find{Path: "DOPPLER_SECRETS_FILE"},
			want: map[string][]byte{"DOPPLER_SECRETS_FILE": []byte("API_KEY=\"k\"\nAUTH_API_TOKEN=\"" + canary + "\"\nAUTH_API_URL=\"https://auth\"\nSMTP__USER_NAME=\"mailer\"\n")},
		},
		"a format and a name that misses the file key": {
			finder: env, find: provider.Find{Name: "^API_KEY$"},
			want: map[string][]byte{},
		},
		"tags":         {finder: plain, find: provider.Find{Tags: map[string]string{"a": "b"}}, wantErr: true},
		"a bad regexp": {finder: plain, find: provider.Find{Name: "("}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tc.finder.Find(context.Background(), tc.find)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// The name transformer is the download's, applied by Doppler: the store
// passes it on, and finds keys as Doppler wrote them.
func TestNameTransformers(t *testing.T) {
	h := newHarness(t)
	h.emu.SetSecret("auth-api", "prd", "API_KEY", "k")
	h.emu.SetSecret("auth-api", "prd", "SMTP__USER_NAME", "u")
	tests := map[string][]string{
		"upper-camel": {"ApiKey", "SmtpUserName"},
		"camel":       {"apiKey", "smtpUserName"},
		"lower-snake": {"api_key", "smtp__user_name"},
		"tf-var":      {"TF_VAR_api_key", "TF_VAR_smtp__user_name"},
		"dotnet-env":  {"ApiKey", "Smtp__UserName"},
		"lower-kebab": {"api-key", "smtp--user-name"},
	}
	for transformer, keys := range tests {
		t.Run(transformer, func(t *testing.T) {
			c := h.client(func(d *secretstore.DopplerProvider) { d.NameTransformer = transformer })
			got, err := c.(provider.Finder).Find(context.Background(), provider.Find{})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]byte{keys[0]: []byte("k"), keys[1]: []byte("u")}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// An unchanged config costs a 304, not a download: the client keeps the
// last document and its ETag per project, config, format and
// transformer.
func TestConditionalDownloads(t *testing.T) {
	h := newHarness(t)
	h.emu.SetSecret("auth-api", "prd", "API_KEY", "v1")
	c := h.client(nil).(provider.Finder)
	env := h.client(func(d *secretstore.DopplerProvider) { d.Format = "env" }).(provider.Finder)

	const n = 10
	find := func(f provider.Finder) map[string][]byte {
		t.Helper()
		got, err := f.Find(context.Background(), provider.Find{})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for range n {
		if got := find(c); string(got["API_KEY"]) != "v1" {
			t.Fatalf("got %q", got)
		}
	}
	downloads, notModified := h.downloads()
	t.Logf("%d finds of an unchanged config: %d download, %d answered 304", n, downloads, notModified)
	if downloads != 1 || notModified != n-1 {
		t.Errorf("want 1 download and %d 304s, got %d and %d", n-1, downloads, notModified)
	}

	// A change is downloaded at once, then kept again.
	h.emu.SetSecret("auth-api", "prd", "API_KEY", "v2")
	if got := find(c); string(got["API_KEY"]) != "v2" {
		t.Fatalf("after a change: got %q", got)
	}
	find(c)
	if d, nm := h.downloads(); d != 2 || nm != n {
		t.Errorf("after a change: want 2 downloads and %d 304s, got %d and %d", n, d, nm)
	}

	// Another format is another document.
	find(env)
	find(env)
	if d := h.emu.CallsWithStatus("download", http.StatusOK); d != 3 {
		t.Errorf("a second format: want 3 downloads in all, got %d", d)
	}

	// Concurrent finds all succeed and never download more than once per
	// change.
	h.emu.ResetCalls()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Find(context.Background(), provider.Find{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if d := h.emu.CallsWithStatus("download", http.StatusOK); d != 0 {
		t.Errorf("concurrent finds of an unchanged config downloaded %d times", d)
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t)
	h.emu.SetSecret("auth-api", "prd", "API_KEY", "k")

	t.Run("Retry-After is honoured", func(t *testing.T) {
		h.emu.ResetCalls()
		c := h.client(nil)
		h.emu.Throttle(1, "1")
		start := time.Now()
		if got, err := read(c, "API_KEY", ""); err != nil || got != "k" {
			t.Fatalf("got %q, %v", got, err)
		}
		if d := time.Since(start); d < time.Second {
			t.Errorf("retried after %v, before the 1s Retry-After", d)
		}
		throttled, ok := h.emu.CallsWithStatus("download", http.StatusTooManyRequests), h.emu.CallsWithStatus("download", http.StatusOK)
		if throttled != 1 || ok != 1 {
			t.Errorf("want 1 throttled download and 1 retried, got %d and %d", throttled, ok)
		}
	})
	t.Run("an HTTP-date Retry-After", func(t *testing.T) {
		c := h.client(nil)
		h.emu.Throttle(1, time.Now().Add(-time.Second).UTC().Format(http.TimeFormat))
		if _, err := c.(provider.Finder).Find(context.Background(), provider.Find{}); err != nil {
			t.Fatal(err)
		}
	})

	tests := map[string]struct {
		throttle   int
		retryAfter string
		opts       time.Duration // maxWait
		want       string
	}{
		"attempts run out":                  {throttle: 5, retryAfter: "0", want: "gave up after 3 attempts: 429 Too Many Requests"},
		"Retry-After longer than the limit": {throttle: 1, retryAfter: "120", want: "retry in 2m0s, longer than this client waits (5s)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := h.client(nil)
			h.emu.Throttle(tc.throttle, tc.retryAfter)
			defer h.emu.Throttle(0, "")
			start := time.Now()
			_, err := read(c, "API_KEY", "")
			if err == nil || errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("failing took %v", d)
			}
		})
	}
	t.Run("a cancelled context stops the wait", func(t *testing.T) {
		c := h.client(nil)
		h.emu.Throttle(1, "3")
		defer h.emu.Throttle(0, "")
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.GetSecret(ctx, provider.Ref{Key: "API_KEY"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestAuthErrors(t *testing.T) {
	h := newHarness(t)
	h.emu.SetSecret("auth-api", "prd", "API_KEY", canary)
	c := h.client(nil)
	if err := c.(provider.Validator).Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := h.emu.Calls("secret") + h.emu.Calls("download"); n != 0 {
		t.Errorf("Validate read %d secrets", n)
	}
	h.emu.RevokeToken(serviceToken)
	_, err := read(c, "API_KEY", "")
	if err == nil || errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("want an error, got %v", err)
	}
	for _, want := range []string{`secret "API_KEY" in SecretStore/team-a/doppler-auth-api`, "401 Unauthorized: Invalid Auth token", "auth.secretRef.dopplerToken"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	_, err = c.(provider.Finder).Find(context.Background(), provider.Find{})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("find: %v", err)
	}
	if err := c.(provider.Validator).Validate(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("validate: %v", err)
	}
}
