package doppler_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// downloads returns how many downloads the emulator answered 200 and
// 304 since its counts were last reset.
func (h *harness) downloads() (ok, notModified int) {
	return h.emu.CallsWithStatus("download", http.StatusOK), h.emu.CallsWithStatus("download", http.StatusNotModified)
}

// Fetch, extract and find read one download of the config: after the
// first, reads of an unchanged config cost a 304 each, and a change is
// downloaded by the next read.
func TestReadsShareOneDownload(t *testing.T) {
	h := newHarness(t)
	const n = 10
	for i := range n {
		h.emu.SetSecret("auth-api", "prd", fmt.Sprintf("KEY_%d", i), fmt.Sprintf("v%d", i))
	}
	h.emu.SetSecret("auth-api", "prd", "SA_JSON", `{"client_id":"cid"}`)
	c := h.client(nil)

	if got, err := read(c, "KEY_0", ""); err != nil || got != "v0" {
		t.Fatalf("first read: got %q, %v", got, err)
	}
	for i := range n {
		key := fmt.Sprintf("KEY_%d", i)
		if got, err := read(c, key, ""); err != nil || got != fmt.Sprintf("v%d", i) {
			t.Fatalf("%s: got %q, %v", key, got, err)
		}
	}
	ok, notModified := h.downloads()
	t.Logf("1 + %d reads of different keys of an unchanged config: %d answered 200, %d answered 304", n, ok, notModified)
	if ok != 1 || notModified != n {
		t.Errorf("want 1 download and %d 304s, got %d and %d", n, ok, notModified)
	}

	// Extract and find are served by the same download.
	s, err := c.GetSecret(context.Background(), provider.Ref{Key: "SA_JSON"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Map()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]byte{"client_id": []byte("cid")}, m); diff != "" {
		t.Errorf("extract (-want +got):\n%s", diff)
	}
	all, err := c.(provider.Finder).Find(context.Background(), provider.Find{Path: "KEY_"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Errorf("find: want %d secrets, got %d", n, len(all))
	}
	if ok, notModified := h.downloads(); ok != 1 || notModified != n+2 {
		t.Errorf("extract and find: want 1 download and %d 304s in all, got %d and %d", n+2, ok, notModified)
	}

	// A change is downloaded by the next read, whatever key it reads.
	h.emu.SetSecret("auth-api", "prd", "KEY_3", "changed")
	if got, err := read(c, "KEY_7", ""); err != nil || got != "v7" {
		t.Fatalf("after a change: got %q, %v", got, err)
	}
	if got, err := read(c, "KEY_3", ""); err != nil || got != "changed" {
		t.Fatalf("the changed key: got %q, %v", got, err)
	}
	if ok, notModified := h.downloads(); ok != 2 || notModified != n+3 {
		t.Errorf("after a change: want 2 downloads and %d 304s in all, got %d and %d", n+3, ok, notModified)
	}

	// A name transformer is find's alone: fetch reads Doppler's names,
	// from a download of its own.
	h.emu.ResetCalls()
	camel := h.client(func(d *secretstore.DopplerProvider) { d.NameTransformer = "camel" })
	if got, err := read(camel, "KEY_1", ""); err != nil || got != "v1" {
		t.Fatalf("a store with a transformer: got %q, %v", got, err)
	}
	found, err := camel.(provider.Finder).Find(context.Background(), provider.Find{Name: "^key1$"})
	if err != nil || string(found["key1"]) != "v1" {
		t.Fatalf("a store with a transformer, find: got %q, %v", found, err)
	}
	if ok, _ := h.downloads(); ok != 2 {
		t.Errorf("a store with a transformer: want 2 downloads, one per name form, got %d", ok)
	}
}

// Concurrent reads of a config share one request, whatever keys they
// read.
func TestConcurrentReadsShareOneRequest(t *testing.T) {
	h := newHarness(t)
	const n = 20
	for i := range n {
		h.emu.SetSecret("auth-api", "prd", fmt.Sprintf("KEY_%d", i), fmt.Sprintf("v%d", i))
	}
	c := h.client(nil)

	release := h.emu.Hold()
	defer release()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := read(c, fmt.Sprintf("KEY_%d", i), "")
			if err == nil && got != fmt.Sprintf("v%d", i) {
				err = fmt.Errorf("KEY_%d: got %q", i, got)
			}
			errs[i] = err
		}()
	}
	// The first request is held at the emulator; the other readers, once
	// scheduled, wait for it in the client.
	waitFor(t, func() bool { return h.emu.Held() > 0 })
	time.Sleep(200 * time.Millisecond)
	held := h.emu.Held()
	release()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	requests := h.emu.Calls("download")
	t.Logf("%d concurrent reads of different keys: %d held at once, %d requests", n, held, requests)
	if held != 1 || requests != 1 {
		t.Errorf("want 1 request, got %d held at once and %d in all", held, requests)
	}
}

// A reader that gives up leaves the request it shares to the others,
// even the reader that started it.
func TestGivingUpLeavesSharedDownload(t *testing.T) {
	h := newHarness(t)
	h.emu.SetSecret("auth-api", "prd", "API_KEY", "k")
	c := h.client(nil)
	h.emu.Throttle(1, "1")

	start := time.Now()
	impatient := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := c.GetSecret(ctx, provider.Ref{Key: "API_KEY"})
		impatient <- err
	}()
	// The impatient reader's request was refused, and the client waits
	// the 1s Retry-After to send it again.
	waitFor(t, func() bool { return h.emu.CallsWithStatus("download", http.StatusTooManyRequests) == 1 })
	got, err := read(c, "API_KEY", "")
	if err != nil || got != "k" {
		t.Fatalf("the patient reader: got %q, %v", got, err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("the patient reader was answered after %v, before the 1s Retry-After", d)
	}
	if err := <-impatient; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the impatient reader: got %v", err)
	}
	if n := h.emu.Calls("download"); n != 2 {
		t.Errorf("want 2 requests, the throttled one and its retry, got %d", n)
	}
}

// A missing secret is not found; a missing config is a mistake in the
// store, which must never let deletionPolicy delete a Secret.
func TestNotFound(t *testing.T) {
	h := newHarness(t)
	h.emu.SetSecret("auth-api", "prd", "API_KEY", canary)

	_, err := read(h.client(nil), "NOPE", "")
	if !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("a missing secret: want ErrNotFound, got %v", err)
	}
	if want := `secret "NOPE" in SecretStore/team-a/doppler-auth-api: not found in the config`; err.Error() != want {
		t.Errorf("a missing secret:\nwant %s\ngot  %s", want, err)
	}

	_, err = read(h.client(personal("auth-api", "stg")), "API_KEY", "")
	if err == nil || errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("a missing config: want an error other than not found, got %v", err)
	}
	want := `secret "API_KEY" in SecretStore/team-a/doppler-auth-api: download the config: 404 Not Found: Could not find requested config 'stg' (check the store's project and config)`
	if err.Error() != want {
		t.Errorf("a missing config:\nwant %s\ngot  %s", want, err)
	}

	_, err = h.client(personal("auth-api", "stg")).(provider.Finder).Find(context.Background(), provider.Find{})
	if err == nil || errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), "404 Not Found") {
		t.Errorf("find in a missing config: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}
