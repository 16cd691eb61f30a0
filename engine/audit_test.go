package engine

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// AuditLog writes one JSON line per record, whole, from many goroutines.
func TestAuditLog(t *testing.T) {
	var buf bytes.Buffer
	write := AuditLog(&buf)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			write(Access{Time: time.Unix(0, 0).UTC(), Resource: "ExternalSecret", Namespace: "ns", Name: "db", StoreRef: "SecretStore/ns/vault", Key: "app/db", Operation: "GetSecret", Result: "ok"})
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines, want 50", len(lines))
	}
	for _, l := range lines {
		var r Access
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.Key != "app/db" || r.StoreRef != "SecretStore/ns/vault" {
			t.Fatalf("line %q: %+v, %v", l, r, err)
		}
	}
}
