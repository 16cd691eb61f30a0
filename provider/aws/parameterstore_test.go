package aws_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

const ps = secretstore.AWSServiceParameterStore

func TestParameterStoreGetSecret(t *testing.T) {
	h := newHarness(t)
	db, list, plain := h.name("/app/db"), h.name("/app/hosts"), h.name("/app/region")
	h.seed.putParameter(db, awsemu.SecureString, `{"password":"old-`+canary+`"}`)
	v2 := h.seed.putParameter(db, awsemu.SecureString, `{"password":"`+canary+`","conn":{"port":5432}}`)
	h.seed.tagParameter(db, map[string]string{"team": "a"})
	h.seed.putParameter(list, awsemu.StringList, "a,b,c")
	h.seed.putParameter(plain, awsemu.String, "eu-west-1")
	c := h.client(ps, nil)
	if err := c.(provider.Validator).Validate(context.Background()); err != nil {
		t.Fatalf("Validate: %v", err)
	}

	tests := map[string]struct {
		ref      provider.Ref
		property string
		want     string
		notFound bool
	}{
		"a String":                        {ref: provider.Ref{Key: plain}, want: "eu-west-1"},
		"a StringList as it is":           {ref: provider.Ref{Key: list}, want: "a,b,c"},
		"a SecureString, decrypted":       {ref: provider.Ref{Key: db}, property: "password", want: canary},
		"a nested property":               {ref: provider.Ref{Key: db}, property: "conn.port", want: "5432"},
		"version 1":                       {ref: provider.Ref{Key: db, Version: "1"}, property: "password", want: "old-" + canary},
		"the latest version by number":    {ref: provider.Ref{Key: db, Version: strconv.FormatInt(v2, 10)}, property: "password", want: canary},
		"tags with metadataPolicy Fetch":  {ref: provider.Ref{Key: db, Metadata: true}, property: "team", want: "a"},
		"a missing parameter":             {ref: provider.Ref{Key: h.name("/app/nope")}, notFound: true},
		"a missing version":               {ref: provider.Ref{Key: db, Version: "9"}, notFound: true},
		"a missing property":              {ref: provider.Ref{Key: db}, property: "nope", notFound: true},
		"the tags of a missing parameter": {ref: provider.Ref{Key: h.name("/app/nope"), Metadata: true}, notFound: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := read(c, tc.ref, tc.property)
			if tc.notFound {
				if !errors.Is(err, provider.ErrNotFound) {
					t.Fatalf("want ErrNotFound, got %q, %v", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("want %q, got %q, %v", tc.want, got, err)
			}
		})
	}
}

func TestParameterStoreLabelAndPrefix(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	h.emu.PutParameter("/team-a/db", awsemu.String, "one")
	h.emu.PutParameter("/team-a/db", awsemu.String, "two")
	h.emu.LabelParameterVersion("/team-a/db", 1, "stable")
	c := h.client(ps, func(a *secretstore.AWSProvider) { a.Prefix = "/team-a/" })
	for version, want := range map[string]string{"": "two", "stable": "one", "2": "two"} {
		if got, err := read(c, provider.Ref{Key: "db", Version: version}, ""); err != nil || got != want {
			t.Errorf("version %q: want %q, got %q, %v", version, want, got, err)
		}
	}
}

func TestParameterStoreFind(t *testing.T) {
	h := newHarness(t)
	put := func(name string, tags map[string]string) {
		h.seed.putParameter(h.name(name), awsemu.SecureString, "value of "+name)
		if tags != nil {
			h.seed.tagParameter(h.name(name), tags)
		}
	}
	put("/app/db/password", map[string]string{"env": "prod"})
	put("/app/db/user", map[string]string{"env": "dev"})
	put("/app/api/key", map[string]string{"env": "prod"})
	put("/other/key", map[string]string{"env": "prod"})

	root := h.name("/")
	tests := map[string]struct {
		prefix string
		find   provider.Find
		want   map[string]string
	}{
		"everything under a path": {find: provider.Find{Path: root + "app"},
			want: map[string]string{root + "app/db/password": "/app/db/password", root + "app/db/user": "/app/db/user", root + "app/api/key": "/app/api/key"}},
		"by name under a path": {find: provider.Find{Path: root + "app/", Name: "key$"},
			want: map[string]string{root + "app/api/key": "/app/api/key"}},
		"by tag": {find: provider.Find{Path: root + "app", Tags: map[string]string{"env": "prod"}},
			want: map[string]string{root + "app/db/password": "/app/db/password", root + "app/api/key": "/app/api/key"}},
		"names relative to the prefix": {prefix: root + "app/", find: provider.Find{Name: "^db/"},
			want: map[string]string{"db/password": "/app/db/password", "db/user": "/app/db/user"}},
		"by tag, relative to the prefix": {prefix: root + "app/", find: provider.Find{Tags: map[string]string{"env": "dev"}},
			want: map[string]string{"db/user": "/app/db/user"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := h.client(ps, func(a *secretstore.AWSProvider) { a.Prefix = tc.prefix })
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
}

func TestParameterStoreFindPaginates(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	const n = 35
	for i := 0; i < n; i++ {
		h.emu.PutParameter(fmt.Sprintf("/bulk/%d/p", i), awsemu.String, strconv.Itoa(i))
	}
	c := h.client(ps, nil)
	h.emu.ResetCalls()
	got, err := c.(provider.Finder).Find(context.Background(), provider.Find{Path: "/bulk"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || string(got["/bulk/34/p"]) != "34" {
		t.Fatalf("got %d parameters, /bulk/34/p=%q", len(got), got["/bulk/34/p"])
	}
	if diff := cmp.Diff(map[string]int{"ssm:GetParametersByPath": 4}, h.emu.CallCounts()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestParameterStoreBatchesConcurrentReads(t *testing.T) {
	h := newHarness(t)
	h.needEmulator()
	for i := 0; i < 25; i++ {
		h.emu.PutParameter(fmt.Sprintf("/p/%d", i), awsemu.SecureString, strconv.Itoa(i))
	}
	h.emu.SetLatency(5 * time.Millisecond)
	c := h.client(ps, nil)
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := i % 26 // /p/25 does not exist
			got, err := read(c, provider.Ref{Key: fmt.Sprintf("/p/%d", k)}, "")
			if k == 25 {
				if !errors.Is(err, provider.ErrNotFound) {
					t.Errorf("/p/25: want ErrNotFound, got %v", err)
				}
				return
			}
			if err != nil || got != strconv.Itoa(k) {
				t.Errorf("/p/%d: got %q, %v", k, got, err)
			}
		}()
	}
	wg.Wait()
	t.Logf("100 concurrent reads of 26 parameters: %v", h.emu.CallCounts())
	if calls := h.emu.TotalCalls("ssm:"); calls > 20 {
		t.Errorf("%d calls, want at most 20", calls)
	}
}
