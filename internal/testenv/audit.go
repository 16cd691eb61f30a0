package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// auditPolicy records, at level Metadata, every request for Secrets and
// ConfigMaps, for the external-secrets.io resources, and for the
// config.example.com group the tests of manifest targets use, and nothing
// else. An empty resources list means every resource in the group.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  resources:
  - group: ""
    resources: ["secrets", "configmaps"]
  - group: "external-secrets.io"
  - group: "config.example.com"
- level: None
`

// auditEvent holds the fields of an audit.k8s.io/v1 Event that CountWrites
// reads.
type auditEvent struct {
	Stage                    string    `json:"stage"`
	Verb                     string    `json:"verb"`
	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
	User                     struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

var writeVerbs = []string{"create", "update", "patch", "delete", "deletecollection"}

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
	return e.CountRequests(Requests{Verbs: writeVerbs, Resource: resource, Namespace: namespace, Since: since})
}

// Requests selects the requests [Env.CountRequests] counts. A zero field
// matches every request.
type Requests struct {
	// Verbs are API verbs such as "get", "list", "watch", "create".
	Verbs []string
	// Resource is a plural name such as "secrets", or
	// "externalsecrets/status" for a subresource; a plain name does not
	// match its subresources.
	Resource  string
	Namespace string
	Name      string
	// User is the authenticated user name, such as
	// "system:serviceaccount:ns:name".
	User string
	// Code is the HTTP status code of the response, such as 201 or 403.
	Code int
	// Since drops the requests received before it.
	Since time.Time
}

// CountRequests returns how many requests the apiserver answered that r
// selects. Like [Env.CountWrites] it sees only the resources the audit
// policy records (Secrets, ConfigMaps, external-secrets.io and
// config.example.com), and a caller that has just had its own
// answer may need to poll briefly.
func (e *Env) CountRequests(r Requests) (int, error) {
	byCode, err := e.CountRequestsByCode(r)
	n := 0
	for _, c := range byCode {
		n += c
	}
	return n, err
}

// CountRequestsByCode is [Env.CountRequests] by the HTTP status code of
// the answer, in one read of the audit log.
func (e *Env) CountRequestsByCode(r Requests) (map[int]int, error) {
	byCode := map[int]int{}
	err := e.eachRequest(r, func(ev *auditEvent, code int) { byCode[code]++ })
	return byCode, err
}

// CountRequestsByName is [Env.CountRequests] by the name of the object
// asked for, in one read of the audit log.
func (e *Env) CountRequestsByName(r Requests) (map[string]int, error) {
	byName := map[string]int{}
	err := e.eachRequest(r, func(ev *auditEvent, _ int) { byName[ev.ObjectRef.Name]++ })
	return byName, err
}

// eachRequest calls f with each request r selects and its status code.
func (e *Env) eachRequest(r Requests, f func(ev *auditEvent, code int)) error {
	res, sub, _ := strings.Cut(r.Resource, "/")
	verbs := map[string]bool{}
	for _, v := range r.Verbs {
		verbs[v] = true
	}
	_, err := e.countEvents(r.Since, func(ev *auditEvent) bool {
		ref := ev.ObjectRef
		if ref == nil {
			return false
		}
		code := 0
		if ev.ResponseStatus != nil {
			code = ev.ResponseStatus.Code
		}
		match := (len(verbs) == 0 || verbs[ev.Verb]) &&
			(r.Resource == "" || ref.Resource == res && ref.Subresource == sub) &&
			(r.Namespace == "" || ref.Namespace == r.Namespace) &&
			(r.Name == "" || ref.Name == r.Name) &&
			(r.User == "" || ev.User.Username == r.User) &&
			(r.Code == 0 || code == r.Code)
		if match {
			f(ev, code)
		}
		return match
	})
	return err
}

// countEvents counts the completed requests received at or after since
// that match.
func (e *Env) countEvents(since time.Time, match func(*auditEvent) bool) (int, error) {
	// The log has microsecond timestamps; truncating keeps a request made in
	// the same microsecond as since.
	since = since.Truncate(time.Microsecond)
	// The apiserver rotates its audit log at 100 MB, keeping every earlier
	// file beside it as audit-<time>.log.
	ext := filepath.Ext(e.AuditLogPath)
	rotated, err := filepath.Glob(strings.TrimSuffix(e.AuditLogPath, ext) + "-*" + ext)
	if err != nil {
		return 0, fmt.Errorf("find rotated audit logs: %w", err)
	}
	n := 0
	for _, path := range append(rotated, e.AuditLogPath) {
		data, err := os.ReadFile(path)
		if err != nil {
			return 0, fmt.Errorf("read audit log: %w", err)
		}
		// Drop a last line the apiserver may be writing now.
		data = data[:bytes.LastIndexByte(data, '\n')+1]
		for i, line := range bytes.SplitAfter(data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var ev auditEvent
			if err := json.Unmarshal(line, &ev); err != nil {
				return 0, fmt.Errorf("parse audit log %s line %d: %w", path, i+1, err)
			}
			if ev.Stage != "ResponseComplete" || ev.RequestReceivedTimestamp.Before(since) || !match(&ev) {
				continue
			}
			n++
		}
	}
	return n, nil
}
