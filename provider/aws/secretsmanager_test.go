package aws_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/aws"
	"github.com/secretsync/secretsync/secretstore"
)

const sm = secretstore.AWSServiceSecretsManager

func TestSecretsManagerGetSecret(t *testing.T) {
	h := newHarness(t)
	db, bin, plain := h.name("app/db"), h.name("app/bin"), h.name("app/plain")
	v1 := h.seed.putSecret(db, `{"user":"admin","password":"old-`+canary+`"}`)
	h.seed.putSecret(db, `{"user":"admin","password":"`+canary+`","nested":{"a.b":"dot","deep":{"k":"v"}},"list":["x","y"]}`)
	h.seed.tagSecret(db, map[string]string{"team": "a", "cost-center": "42"})
	h.seed.putSecretBinary(bin, []byte{0, 1, 0xfe, 0xff})
	h.seed.putSecret(plain, "just text")
	c := h.client(sm, nil)
	if err := c.(provider.Validator).Validate(context.Background()); err != nil {
		t.Fatalf("Validate: %v", err)
	}

	tests := map[string]struct {
		ref      provider.Ref
		property string
		want     string
		notFound bool
	}{
		"a SecretString as it is":                 {ref: provider.Ref{Key: plain}, want: "just text"},
		"a SecretBinary as it is":                 {ref: provider.Ref{Key: bin}, want: "\x00\x01\xfe\xff"},
		"a property of the JSON":                  {ref: provider.Ref{Key: db}, property: "password", want: canary},
		"a nested property":                       {ref: provider.Ref{Key: db}, property: "nested.deep.k", want: "v"},
		"a key with a dot before nesting":         {ref: provider.Ref{Key: db}, property: "nested.a.b", want: "dot"},
		"an array element":                        {ref: provider.Ref{Key: db}, property: "list.1", want: "y"},
		"AWSCURRENT explicitly":                   {ref: provider.Ref{Key: db, Version: "AWSCURRENT"}, property: "password", want: canary},
		"the AWSPREVIOUS stage":                   {ref: provider.Ref{Key: db, Version: "AWSPREVIOUS"}, property: "password", want: "old-" + canary},
		"a VersionId after uuid/":                 {ref: provider.Ref{Key: db, Version: "uuid/" + v1}, property: "password", want: "old-" + canary},
		"tags with metadataPolicy Fetch":          {ref: provider.Ref{Key: db, Metadata: true}, property: "cost-center", want: "42"},
		"a missing secret":                        {ref: provider.Ref{Key: h.name("app/nope")}, notFound: true},
		"a stage no version has":                  {ref: provider.Ref{Key: db, Version: "AWSPENDING"}, notFound: true},
		"a VersionId that does not exist":         {ref: provider.Ref{Key: db, Version: "uuid/00000000-0000-4000-8000-000000000000"}, notFound: true},
		"a missing property":                      {ref: provider.Ref{Key: db}, property: "nope", notFound: true},
		"the tags of a missing secret":            {ref: provider.Ref{Key: h.name("app/nope"), Metadata: true}, notFound: true},
		"a missing secret with a version stage":   {ref: provider.Ref{Key: h.name("app/nope"), Version: "AWSPREVIOUS"}, notFound: true},
		"a missing secret with a VersionId":       {ref: provider.Ref{Key: h.name("app/nope"), Version: "uuid/" + v1}, notFound: true},
		"the AWSPREVIOUS of a never rotated one":  {ref: provider.Ref{Key: plain, Version: "AWSPREVIOUS"}, notFound: true},
		"a property of a value that is not JSON!": {ref: provider.Ref{Key: plain}, property: "x"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := read(c, tc.ref, tc.property)
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

	t.Run("extract maps the JSON object", func(t *testing.T) {
		s, err := c.GetSecret(context.Background(), provider.Ref{Key: db})
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.Map()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]byte{
			"user": []byte("admin"), "password": []byte(canary),
			"nested": []byte(`{"a.b":"dot","deep":{"k":"v"}}`), "list": []byte(`["x","y"]`),
		}
		if diff := cmp.Diff(want, m); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestSecretsManagerByARNAndPrefix(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	name := "team-a/app/db"
	h.emu.PutSecret(name, `{"password":"p"}`)
	arn := h.emu.SecretARN(name)

	c := h.client(sm, nil)
	for _, key := range []string{arn, arn[:len(arn)-7]} {
		if got, err := read(c, provider.Ref{Key: key}, "password"); err != nil || got != "p" {
			t.Errorf("by ARN %s: got %q, %v", key, got, err)
		}
	}
	prefixed := h.client(sm, func(a *secretstore.AWSProvider) { a.Prefix = "team-a/" })
	if got, err := read(prefixed, provider.Ref{Key: "app/db"}, "password"); err != nil || got != "p" {
		t.Errorf("with a prefix: got %q, %v", got, err)
	}
}

func TestSecretsManagerScheduledForDeletionIsNotFound(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	h.emu.PutSecret("gone", "v")
	h.emu.DeleteSecret("gone")
	c := h.client(sm, nil)
	for _, ref := range []provider.Ref{{Key: "gone"}, {Key: "gone", Version: "AWSCURRENT"}} {
		if _, err := read(c, ref, ""); !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("%+v: want ErrNotFound, got %v", ref, err)
		}
	}
}

func TestSecretsManagerFind(t *testing.T) {
	h := newHarness(t)
	put := func(name string, tags map[string]string) {
		h.seed.putSecret(h.name(name), "value of "+name)
		if tags != nil {
			h.seed.tagSecret(h.name(name), tags)
		}
	}
	put("app/one", map[string]string{"env": "prod", "team": "a"})
	put("app/two", map[string]string{"env": "dev"})
	put("app/three", map[string]string{"env": "prod"})
	put("other/four", map[string]string{"env": "prod"})
	// ListSecrets matches tag-key and tag-value filters against any tag,
	// so this one passes the filters for env=prod without having it.
	put("other/trap", map[string]string{"env": "staging", "owner": "prod"})

	same := func(names ...string) map[string]string {
		m := map[string]string{}
		for _, n := range names {
			m[n] = n
		}
		return m
	}
	tests := map[string]struct {
		prefix string
		find   provider.Find
		// want maps result keys to the secret each reads.
		want map[string]string
	}{
		"by name":                       {find: provider.Find{Name: "^app/t"}, want: same("app/three", "app/two")},
		"by tag":                        {find: provider.Find{Tags: map[string]string{"env": "prod"}}, want: same("app/one", "app/three", "other/four")},
		"by two tags":                   {find: provider.Find{Tags: map[string]string{"env": "prod", "team": "a"}}, want: same("app/one")},
		"by path and tag":               {find: provider.Find{Path: "app/", Tags: map[string]string{"env": "prod"}}, want: same("app/one", "app/three")},
		"by path and name":              {find: provider.Find{Path: "other/", Name: "f"}, want: same("other/four")},
		"nothing matches":               {find: provider.Find{Name: "^nothing"}, want: same()},
		"a tag value ListSecrets won't": {find: provider.Find{Tags: map[string]string{"env": "prød"}}, want: same()},
		"names relative to the prefix": {prefix: "app/", find: provider.Find{Name: "^t"},
			want: map[string]string{"three": "app/three", "two": "app/two"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := h.client(sm, func(a *secretstore.AWSProvider) { a.Prefix = h.name(tc.prefix) })
			got, err := c.(provider.Finder).Find(context.Background(), tc.find)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]byte{}
			for k, from := range tc.want {
				want[k] = []byte("value of " + from)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a bad regexp", func(t *testing.T) {
		if _, err := h.client(sm, nil).(provider.Finder).Find(context.Background(), provider.Find{Name: "("}); err == nil {
			t.Fatal("want an error")
		}
	})
}

func TestSecretsManagerFindPaginates(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	const n = 230
	for i := 0; i < n; i++ {
		h.emu.PutSecret(fmt.Sprintf("bulk/%03d", i), fmt.Sprintf("v%d", i))
	}
	h.emu.PutSecret("other", "x")
	c := h.client(sm, nil)
	h.emu.ResetCalls()
	got, err := c.(provider.Finder).Find(context.Background(), provider.Find{Name: "^bulk/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || string(got["bulk/229"]) != "v229" {
		t.Fatalf("got %d secrets, bulk/229=%q", len(got), got["bulk/229"])
	}
	want := map[string]int{
		"secretsmanager:ListSecrets":         3,  // 231 secrets, 100 a page
		"secretsmanager:BatchGetSecretValue": 12, // 230 values, 20 a call
	}
	if diff := cmp.Diff(want, h.emu.CallCounts()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestSecretsManagerFindWithoutBatchPermission(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	h.emu.PutSecret("a", "1")
	h.emu.PutSecret("b", "2")
	h.emu.Deny(awsemu.UserARN, "secretsmanager:BatchGetSecretValue")
	got, err := h.client(sm, nil).(provider.Finder).Find(context.Background(), provider.Find{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]byte{"a": []byte("1"), "b": []byte("2")}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Concurrent reads of one client share BatchGetSecretValue calls.
func TestSecretsManagerBatchesConcurrentReads(t *testing.T) {
	tests := map[string]struct {
		opts     []aws.Option
		deny     bool
		maxCalls int
	}{
		"batched":                      {maxCalls: 20},
		"without batching":             {opts: []aws.Option{aws.WithoutBatching()}, maxCalls: 100},
		"without BatchGetSecretValue":  {deny: true, maxCalls: 101},
		"batched, some secrets absent": {maxCalls: 20},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.needEmulator()
			for i := 0; i < 10; i++ {
				if name == "batched, some secrets absent" && i%3 == 0 {
					continue
				}
				h.emu.PutSecret(fmt.Sprintf("s%d", i), fmt.Sprintf(`{"v":"%d"}`, i))
			}
			if tc.deny {
				h.emu.Deny(awsemu.UserARN, "secretsmanager:BatchGetSecretValue")
			}
			h.emu.SetLatency(5 * time.Millisecond)
			c := h.client(sm, nil, tc.opts...)

			var wg sync.WaitGroup
			errs := make(chan error, 100)
			for i := 0; i < 100; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					k := i % 10
					got, err := read(c, provider.Ref{Key: fmt.Sprintf("s%d", k)}, "v")
					absent := name == "batched, some secrets absent" && k%3 == 0
					switch {
					case absent && !errors.Is(err, provider.ErrNotFound):
						errs <- fmt.Errorf("s%d: want ErrNotFound, got %v", k, err)
					case !absent && (err != nil || got != fmt.Sprint(k)):
						errs <- fmt.Errorf("s%d: got %q, %v", k, got, err)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			calls := h.emu.TotalCalls("secretsmanager:")
			t.Logf("100 concurrent reads of 10 secrets: %v", h.emu.CallCounts())
			if calls > tc.maxCalls {
				t.Errorf("%d calls, want at most %d", calls, tc.maxCalls)
			}
		})
	}
}
