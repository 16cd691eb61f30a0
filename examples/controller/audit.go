package main

import (
	"encoding/json"
	"io"
	"os"
	"sync"

	"github.com/secretsync/secretsync/engine"
)

// auditLog writes the audit trail, one JSON object a line, and counts the
// calls per store and namespace.
type auditLog struct {
	mu  sync.Mutex
	enc *json.Encoder
	m   *metrics
	c   io.Closer
}

// openAudit opens the audit trail at path: "-" for standard output, a file
// otherwise, appended to. With an empty path, only the metric counts.
func openAudit(path string, m *metrics) (*auditLog, error) {
	a := &auditLog{m: m}
	switch path {
	case "":
	case "-":
		a.enc = json.NewEncoder(os.Stdout)
	default:
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		a.enc, a.c = json.NewEncoder(f), f
	}
	return a, nil
}

func (a *auditLog) record(r engine.Access) {
	a.m.storeAccess.WithLabelValues(r.StoreRef, r.Namespace, r.Operation, r.Result).Inc()
	if a.enc == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_ = a.enc.Encode(r)
}

func (a *auditLog) Close() error {
	if a.c == nil {
		return nil
	}
	return a.c.Close()
}
