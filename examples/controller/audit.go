package main

import (
	"io"
	"os"

	"github.com/secretsync/secretsync/engine"
)

// auditLog writes the audit trail with engine.AuditLog and counts the
// calls per store and namespace.
type auditLog struct {
	write func(engine.Access)
	m     *metrics
	c     io.Closer
}

// openAudit opens the audit trail at path: "-" for standard output, a file
// otherwise, appended to. With an empty path, only the metric counts.
func openAudit(path string, m *metrics) (*auditLog, error) {
	a := &auditLog{m: m}
	switch path {
	case "":
	case "-":
		a.write = engine.AuditLog(os.Stdout)
	default:
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		a.write, a.c = engine.AuditLog(f), f
	}
	return a, nil
}

func (a *auditLog) record(r engine.Access) {
	a.m.storeAccess.WithLabelValues(r.StoreRef, r.Namespace, r.Operation, r.Result).Inc()
	if a.write != nil {
		a.write(r)
	}
}

func (a *auditLog) Close() error {
	if a.c == nil {
		return nil
	}
	return a.c.Close()
}
