package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// auditPolicy records, at level Metadata, every request for Secrets and for
// the external-secrets.io resources, and nothing else. An empty resources
// list means every resource in the group.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  resources:
  - group: ""
    resources: ["secrets"]
  - group: "external-secrets.io"
- level: None
`

// auditEvent holds the fields of an audit.k8s.io/v1 Event that CountWrites
// reads.
type auditEvent struct {
	Stage                    string    `json:"stage"`
	Verb                     string    `json:"verb"`
	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
	ObjectRef                *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
	} `json:"objectRef"`
}

var writeVerbs = map[string]bool{
	"create":           true,
	"update":           true,
	"patch":            true,
	"delete":           true,
	"deletecollection": true,
}

// CountWrites returns how many write requests (create, update, patch, delete,
// deletecollection) for resource in namespace the apiserver received at or
// after since, whatever their outcome: a rejected update is still a write the
// caller tried. resource is a plural name such as "secrets", or
// "externalsecrets/status" for a subresource; a plain name does not match its
// subresources. An empty namespace matches every namespace.
//
// Only Secrets and external-secrets.io resources are audited. The apiserver
// writes an event after it has answered, so a caller that has just seen its
// own request succeed may need to poll briefly.
func (e *Env) CountWrites(resource, namespace string, since time.Time) (int, error) {
	res, sub, _ := strings.Cut(resource, "/")
	// The log has microsecond timestamps; truncating keeps a request made in
	// the same microsecond as since.
	since = since.Truncate(time.Microsecond)
	data, err := os.ReadFile(e.AuditLogPath)
	if err != nil {
		return 0, fmt.Errorf("read audit log: %w", err)
	}
	// Drop a last line the apiserver may be writing now.
	data = data[:bytes.LastIndexByte(data, '\n')+1]

	n := 0
	for i, line := range bytes.SplitAfter(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var ev auditEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return 0, fmt.Errorf("parse audit log %s line %d: %w", e.AuditLogPath, i+1, err)
		}
		ref := ev.ObjectRef
		if ev.Stage != "ResponseComplete" || !writeVerbs[ev.Verb] || ref == nil ||
			ref.Resource != res || ref.Subresource != sub ||
			(namespace != "" && ref.Namespace != namespace) ||
			ev.RequestReceivedTimestamp.Before(since) {
			continue
		}
		n++
	}
	return n, nil
}
