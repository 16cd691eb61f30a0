package aws

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync"

	"github.com/aws/smithy-go"
)

// The apiVersion and kind of a PushSecret entry's metadata, as in the
// External Secrets Operator.
const (
	metadataAPIVersion = "kubernetes.external-secrets.io/v1alpha1"
	metadataKind       = "PushSecretMetadata"
)

// The tag that marks what PushSecret created, as the External Secrets
// Operator names it: a push overwrites, and a delete deletes, only what
// carries it.
const (
	managedByKey   = "managed-by"
	managedByValue = "external-secrets"
	// defaultDescription is ESO's description of what it creates.
	defaultDescription = "secret '" + managedByKey + ":" + managedByValue + "'"
)

// pushedTagsKey names the tag in which a push records which of the
// secret's tags came from its metadata, so that a later push removes
// those it no longer sets, and never a tag someone else added. Tag values
// cannot hold a list of arbitrary keys unambiguously (keys and values
// share one character set), so the record holds a short hash of each key.
const pushedTagsKey = "secretsync.io/pushed-tags"

// tagHashLen is the length of a key's hash in the record: 30 bits, and
// maxPushTags of them fit in AWS's 256 characters of a tag value.
const tagHashLen = 5

// maxPushTags is the most tags metadata may set: AWS allows 50 per secret
// or parameter, and a push adds managed-by and the record.
const maxPushTags = 48

// ErrNotManaged is returned, wrapped, by PushSecret and DeleteSecret for a
// remote secret that exists without the tag managed-by: external-secrets:
// PushSecret did not create it, so it neither overwrites nor deletes it,
// as in the External Secrets Operator.
var ErrNotManaged = errors.New("it exists without the tag " + managedByKey + ": " + managedByValue + ", so PushSecret did not create it and leaves it alone")

// parseMetadata reads a PushSecret entry's metadata into spec. Fields
// neither ESO's nor secretsync's are errors that name the field.
func parseMetadata(raw json.RawMessage, spec any) error {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	var m struct {
		APIVersion string          `json:"apiVersion"`
		Kind       string          `json:"kind"`
		Spec       json.RawMessage `json:"spec"`
	}
	if err := strictJSON(raw, &m); err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	if m.APIVersion != metadataAPIVersion || m.Kind != metadataKind {
		return fmt.Errorf("metadata: want apiVersion %s and kind %s, not %q and %q", metadataAPIVersion, metadataKind, m.APIVersion, m.Kind)
	}
	if len(m.Spec) == 0 {
		return nil
	}
	if err := strictJSON(m.Spec, spec); err != nil {
		return fmt.Errorf("metadata.spec: %w", err)
	}
	return nil
}

func strictJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// checkTags refuses tags a push may not set.
func checkTags(tags map[string]string) error {
	if len(tags) > maxPushTags {
		return fmt.Errorf("metadata.spec.tags: at most %d tags, not %d", maxPushTags, len(tags))
	}
	for k := range tags {
		switch {
		case k == managedByKey || k == pushedTagsKey:
			return fmt.Errorf("metadata.spec.tags: %s is set by PushSecret itself", k)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return fmt.Errorf("metadata.spec.tags: %s: the aws: prefix is reserved by AWS", k)
		case k == "":
			return errors.New("metadata.spec.tags: a tag key is empty")
		}
	}
	return nil
}

func isManaged(tags map[string]string) bool { return tags[managedByKey] == managedByValue }

// tagChanges are the tag writes that bring a remote secret's tags to
// what a push wants.
type tagChanges struct {
	set    map[string]string
	remove []string
}

// planTags compares the current tags with those metadata sets. The push
// wants its tags, managed-by, and the record of its keys; it removes the
// tags that an earlier push recorded and this one no longer sets. Tags it
// did not set stay.
func planTags(current, tags map[string]string) tagChanges {
	want := wantTags(tags)
	ch := tagChanges{set: map[string]string{}}
	for k, v := range want {
		if cur, ok := current[k]; !ok || cur != v {
			ch.set[k] = v
		}
	}
	pushed := recordedTags(current[pushedTagsKey])
	for k := range current {
		if _, ok := want[k]; ok {
			continue
		}
		if k == pushedTagsKey || pushed[tagHash(k)] {
			ch.remove = append(ch.remove, k)
		}
	}
	sort.Strings(ch.remove)
	return ch
}

// wantTags returns the tags a push sets: the metadata's, managed-by and,
// when there are any, the record of their keys.
func wantTags(tags map[string]string) map[string]string {
	want := make(map[string]string, len(tags)+2)
	for k, v := range tags {
		want[k] = v
	}
	want[managedByKey] = managedByValue
	if len(tags) > 0 {
		hashes := make([]string, 0, len(tags))
		for k := range tags {
			hashes = append(hashes, tagHash(k))
		}
		sort.Strings(hashes)
		want[pushedTagsKey] = strings.Join(hashes, "")
	}
	return want
}

// tagHash is a key's entry in the record: a few base64url characters, all
// of which tag values allow.
func tagHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:tagHashLen]
}

func recordedTags(record string) map[string]bool {
	out := map[string]bool{}
	for len(record) >= tagHashLen {
		out[record[:tagHashLen]] = true
		record = record[tagHashLen:]
	}
	return out
}

// hasProperty reports whether the JSON object value has the top-level key
// property, the one provider.DeleteProperty removes.
func hasProperty(value []byte, property string) bool {
	var obj map[string]json.RawMessage
	if json.Unmarshal(value, &obj) != nil {
		return false
	}
	_, ok := obj[property]
	return ok
}

// keyLocks serializes the read-modify-write of one remote secret's
// properties within a client, so that concurrent pushes of two properties
// of one secret do not lose either. AWS offers no conditional write to
// guard against other writers.
type keyLocks struct {
	stripes [64]sync.Mutex
}

func (l *keyLocks) lock(name string) func() {
	h := fnv.New32a()
	h.Write([]byte(name))
	m := &l.stripes[h.Sum32()%uint32(len(l.stripes))]
	m.Lock()
	return m.Unlock
}

// writeError is describe for the calls of a push or a delete: it never
// unwraps to provider.ErrNotFound, which to a host means the remote secret
// is gone, not that a write failed.
func writeError(err error) error {
	err = describe(err)
	if e, ok := err.(*awsError); ok {
		e.notFound = false
	}
	return err
}

// apiCode returns the AWS error code of err, or "".
func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}
