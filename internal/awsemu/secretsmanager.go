package awsemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Version stages Secrets Manager maintains.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
)

type secret struct {
	name, arn   string
	description string
	kmsKeyID    string
	policy      string // the resource policy; "" for none
	tags        []Tag
	versions    map[string]*secretVersion
	stages      map[string]string // stage to version ID
	created     time.Time
	changed     time.Time
	// deleted is when DeleteSecret scheduled the deletion, and
	// recoveryDays the recovery window it was given; zero when the
	// secret is not scheduled for deletion.
	deleted      time.Time
	recoveryDays int
}

// defaultSecretsManagerKey is the AWS managed key Secrets Manager uses when
// a secret names none; DescribeSecret omits it.
const defaultSecretsManagerKey = "alias/aws/secretsmanager"

type secretVersion struct {
	id      string
	str     *string
	bin     []byte
	created time.Time
}

// Tag is a tag of a secret or parameter.
type Tag struct {
	Key   string
	Value string
}

// PutSecret stores a new SecretString version of the secret name, creating
// the secret if needed, and returns its version ID. Like PutSecretValue, the
// new version becomes AWSCURRENT and the previous current one AWSPREVIOUS.
func (s *Server) PutSecret(name, value string) string {
	return s.putSecret(name, &value, nil)
}

// PutSecretBinary is [Server.PutSecret] for a SecretBinary value.
func (s *Server) PutSecretBinary(name string, value []byte) string {
	return s.putSecret(name, nil, append([]byte(nil), value...))
}

func (s *Server) putSecret(name string, str *string, bin []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putSecretVersion(name, newUUID(), str, bin)
}

// putSecretVersion stores version id of the secret name, creating the
// secret if needed. The caller holds s.mu.
func (s *Server) putSecretVersion(name, id string, str *string, bin []byte) string {
	now := time.Now()
	sec, ok := s.secrets[name]
	if !ok {
		sec = &secret{
			name:     name,
			arn:      fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", s.Region, Account, name, randomString(6)),
			versions: map[string]*secretVersion{},
			stages:   map[string]string{},
			created:  now,
		}
		s.secrets[name] = sec
	}
	sec.versions[id] = &secretVersion{id: id, str: str, bin: bin, created: now}
	if cur, ok := sec.stages[StageCurrent]; ok {
		sec.stages[StagePrevious] = cur
	}
	sec.stages[StageCurrent] = id
	sec.changed = now
	return id
}

// TagSecret sets tags on the secret name.
func (s *Server) TagSecret(name string, tags map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, ok := s.secrets[name]
	if !ok {
		panic("awsemu: TagSecret of a secret never put: " + name)
	}
	sec.tags = mergeTags(sec.tags, tags)
}

// SetSecretDescription sets the description of the secret name.
func (s *Server) SetSecretDescription(name, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[name].description = description
}

// DeleteSecret schedules the secret name for deletion, as DeleteSecret with
// the default recovery window of 30 days does: reads fail, DescribeSecret
// still works.
func (s *Server) DeleteSecret(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec, ok := s.secrets[name]; ok {
		sec.deleted, sec.recoveryDays = time.Now(), defaultRecoveryDays
	}
}

// SecretState is what the server holds for a secret, for tests to check
// what a client wrote.
type SecretState struct {
	Description string
	// KMSKeyID is the key the secret was created or updated with, "" when
	// none was named.
	KMSKeyID       string
	ResourcePolicy string
	Tags           map[string]string
	// String and Binary are the AWSCURRENT version's value.
	String *string
	Binary []byte
	// Versions counts the versions the secret has had.
	Versions int
	// RecoveryWindowInDays is the recovery window of a secret scheduled
	// for deletion, and 0 for one that is not.
	RecoveryWindowInDays int
}

// Secret returns the state of the secret name, and whether it exists,
// scheduled for deletion or not. A secret deleted without recovery does
// not.
func (s *Server) Secret(name string) (SecretState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, ok := s.secrets[name]
	if !ok {
		return SecretState{}, false
	}
	st := SecretState{
		Description: sec.description, KMSKeyID: sec.kmsKeyID, ResourcePolicy: sec.policy,
		Tags: tagMap(sec.tags), Versions: len(sec.versions), RecoveryWindowInDays: sec.recoveryDays,
	}
	if v, ok := sec.versions[sec.stages[StageCurrent]]; ok {
		st.String, st.Binary = v.str, bytes.Clone(v.bin)
	}
	return st, true
}

// SetResourcePolicy attaches a resource policy to the secret name, as
// someone other than the client under test would.
func (s *Server) SetResourcePolicy(name, policy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[name].policy = policy
}

// SecretARN returns the ARN of the secret name, with AWS's random suffix.
func (s *Server) SecretARN(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec, ok := s.secrets[name]; ok {
		return sec.arn
	}
	return ""
}

// lookupSecret finds a secret by name, ARN or partial ARN (an ARN
// without the random suffix). The caller holds s.mu.
func (s *Server) lookupSecret(id string) *secret {
	if sec, ok := s.secrets[id]; ok {
		return sec
	}
	if !strings.HasPrefix(id, "arn:") {
		return nil
	}
	for _, sec := range s.secrets {
		if sec.arn == id || sec.arn[:len(sec.arn)-len("-abcdef")] == id {
			return sec
		}
	}
	return nil
}

func errSecretNotFound() error {
	return errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
}

func errMarkedForDeletion() error {
	return errorf("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
}

// version selects a version by ID, stage or both, as GetSecretValue does.
func (sec *secret) version(id, stage string) (*secretVersion, error) {
	if id != "" {
		if len(id) < 32 || len(id) > 64 {
			return nil, errorf("ValidationException", "1 validation error detected: Value '%s' at 'versionId' failed to satisfy constraint: Member must have length between 32 and 64", id)
		}
		v, ok := sec.versions[id]
		if !ok {
			return nil, errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: %s", id)
		}
		if stage != "" && sec.stages[stage] != id {
			return nil, errorf("InvalidParameterException", "You provided a VersionStage that is not associated to the provided VersionId.")
		}
		return v, nil
	}
	if stage == "" {
		stage = StageCurrent
	}
	vid, ok := sec.stages[stage]
	if !ok {
		return nil, errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: %s", stage)
	}
	return sec.versions[vid], nil
}

func (sec *secret) stagesOf(id string) []string {
	var out []string
	for stage, v := range sec.stages {
		if v == id {
			out = append(out, stage)
		}
	}
	sort.Strings(out)
	return out
}

type secretValue struct {
	ARN           string
	Name          string
	VersionId     string
	SecretString  *string `json:",omitempty"`
	SecretBinary  []byte  `json:",omitempty"`
	VersionStages []string
	CreatedDate   epoch
}

func (sec *secret) value(v *secretVersion) secretValue {
	return secretValue{
		ARN: sec.arn, Name: sec.name, VersionId: v.id,
		SecretString: v.str, SecretBinary: v.bin,
		VersionStages: sec.stagesOf(v.id), CreatedDate: epoch(v.created),
	}
}

func (s *Server) getSecretValue(req *request) (any, error) {
	var in struct{ SecretId, VersionId, VersionStage string }
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.lookupSecret(in.SecretId)
	if sec == nil {
		return nil, errSecretNotFound()
	}
	if !sec.deleted.IsZero() {
		return nil, errMarkedForDeletion()
	}
	v, err := sec.version(in.VersionId, in.VersionStage)
	if err != nil {
		return nil, err
	}
	return sec.value(v), nil
}

type secretFilter struct {
	Key    string
	Values []string
}

type batchError struct {
	SecretId  string
	ErrorCode string
	Message   string
}

func (s *Server) batchGetSecretValue(req *request) (any, error) {
	var in struct {
		SecretIdList []string
		Filters      []secretFilter
		MaxResults   *int
		NextToken    *string
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	switch {
	case len(in.SecretIdList) > 0 && len(in.Filters) > 0, len(in.SecretIdList) == 0 && len(in.Filters) == 0:
		return nil, errorf("InvalidParameterException", "Either secretIdList or filters must be provided, but not both.")
	case len(in.SecretIdList) > 20:
		return nil, errorf("ValidationException", "1 validation error detected: Value at 'secretIdList' failed to satisfy constraint: Member must have length less than or equal to 20")
	case in.MaxResults != nil && len(in.Filters) == 0:
		return nil, errorf("InvalidParameterException", "You can't use MaxResults without Filters.")
	case in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 20):
		return nil, errorf("ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 20", *in.MaxResults)
	}
	var out struct {
		SecretValues []secretValue
		Errors       []batchError
		NextToken    *string `json:",omitempty"`
	}
	out.SecretValues, out.Errors = []secretValue{}, []batchError{}
	read := func(id string, sec *secret) {
		if err := s.authorize(req.caller, "secretsmanager:GetSecretValue", sec.arn); err != nil {
			e := err.(*apiError)
			out.Errors = append(out.Errors, batchError{id, e.code, e.msg})
			return
		}
		s.mu.Lock()
		v, _ := sec.version("", StageCurrent)
		val := sec.value(v)
		s.mu.Unlock()
		out.SecretValues = append(out.SecretValues, val)
	}

	if len(in.Filters) > 0 {
		if err := s.authorize(req.caller, "secretsmanager:ListSecrets", ""); err != nil {
			return nil, err
		}
		matched, err := s.filterSecrets(in.Filters, false)
		if err != nil {
			return nil, err
		}
		max := 20
		if in.MaxResults != nil {
			max = *in.MaxResults
		}
		matched, out.NextToken, err = page("secretsmanager:BatchGetSecretValue", matched, in.NextToken, max)
		if err != nil {
			return nil, err
		}
		for _, sec := range matched {
			read(sec.name, sec)
		}
		return out, nil
	}

	for _, id := range in.SecretIdList {
		s.mu.Lock()
		sec := s.lookupSecret(id)
		deleted := sec != nil && !sec.deleted.IsZero()
		s.mu.Unlock()
		switch {
		case sec == nil:
			out.Errors = append(out.Errors, batchError{id, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."})
		case deleted:
			out.Errors = append(out.Errors, batchError{id, "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion."})
		default:
			read(id, sec)
		}
	}
	return out, nil
}

var filterValue = regexp.MustCompile(`^!?[a-zA-Z0-9 :_@/+=.\-!]*$`)

// filterSecrets returns the secrets that match every filter, sorted by
// name. A filter matches when any of its values does; a value starting
// with "!" negates.
func (s *Server) filterSecrets(filters []secretFilter, includeDeleted bool) ([]*secret, error) {
	for _, f := range filters {
		switch f.Key {
		case "name", "tag-key", "tag-value", "description":
		case "primary-region", "owning-service", "all":
			return nil, errorf("InvalidParameterException", "awsemu does not emulate the %s filter", f.Key)
		default:
			return nil, errorf("ValidationException", "1 validation error detected: Value '%s' at 'filters.key' failed to satisfy constraint: Member must satisfy enum value set: [all, name, tag-key, description, tag-value, primary-region, owning-service]", f.Key)
		}
		if len(f.Values) < 1 || len(f.Values) > 10 {
			return nil, errorf("ValidationException", "1 validation error detected: Value at 'filters.values' failed to satisfy constraint: Member must have length between 1 and 10")
		}
		for _, v := range f.Values {
			if !filterValue.MatchString(v) || len(v) > 512 {
				return nil, errorf("ValidationException", "1 validation error detected: Value at 'filters.values' failed to satisfy constraint: Member must satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$")
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*secret
	for _, name := range sortedKeys(s.secrets) {
		sec := s.secrets[name]
		if !sec.deleted.IsZero() && !includeDeleted {
			continue
		}
		if matchAll(sec, filters) {
			out = append(out, sec)
		}
	}
	return out, nil
}

func matchAll(sec *secret, filters []secretFilter) bool {
	for _, f := range filters {
		any := false
		for _, v := range f.Values {
			neg := strings.HasPrefix(v, "!")
			if matchFilter(sec, f.Key, strings.TrimPrefix(v, "!")) != neg {
				any = true
				break
			}
		}
		if !any {
			return false
		}
	}
	return true
}

func matchFilter(sec *secret, key, v string) bool {
	switch key {
	case "name":
		return strings.HasPrefix(sec.name, v)
	case "tag-key":
		for _, t := range sec.tags {
			if strings.HasPrefix(t.Key, v) {
				return true
			}
		}
	case "tag-value":
		for _, t := range sec.tags {
			if strings.HasPrefix(t.Value, v) {
				return true
			}
		}
	case "description":
		for _, w := range strings.Fields(strings.ToLower(sec.description)) {
			if strings.HasPrefix(w, strings.ToLower(v)) {
				return true
			}
		}
	}
	return false
}

type secretListEntry struct {
	ARN                    string
	Name                   string
	Description            string `json:",omitempty"`
	KmsKeyId               string `json:",omitempty"`
	Tags                   []Tag  `json:",omitempty"`
	SecretVersionsToStages map[string][]string
	CreatedDate            epoch
	LastChangedDate        epoch
	DeletedDate            *epoch `json:",omitempty"`
}

func (sec *secret) listEntry() secretListEntry {
	e := secretListEntry{
		ARN: sec.arn, Name: sec.name, Description: sec.description,
		Tags:                   append([]Tag(nil), sec.tags...),
		SecretVersionsToStages: map[string][]string{},
		CreatedDate:            epoch(sec.created), LastChangedDate: epoch(sec.changed),
	}
	for id := range sec.versions {
		if st := sec.stagesOf(id); len(st) > 0 {
			e.SecretVersionsToStages[id] = st
		}
	}
	if sec.kmsKeyID != defaultSecretsManagerKey {
		e.KmsKeyId = sec.kmsKeyID
	}
	if !sec.deleted.IsZero() {
		d := epoch(sec.deleted)
		e.DeletedDate = &d
	}
	return e
}

func (s *Server) listSecrets(req *request) (any, error) {
	var in struct {
		Filters                []secretFilter
		MaxResults             *int
		NextToken              *string
		IncludePlannedDeletion bool
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	max := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, errorf("ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100", *in.MaxResults)
		}
		max = *in.MaxResults
	}
	matched, err := s.filterSecrets(in.Filters, in.IncludePlannedDeletion)
	if err != nil {
		return nil, err
	}
	var out struct {
		SecretList []secretListEntry
		NextToken  *string `json:",omitempty"`
	}
	matched, out.NextToken, err = page("secretsmanager:ListSecrets", matched, in.NextToken, max)
	if err != nil {
		return nil, err
	}
	out.SecretList = []secretListEntry{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sec := range matched {
		out.SecretList = append(out.SecretList, sec.listEntry())
	}
	return out, nil
}

func (s *Server) describeSecret(req *request) (any, error) {
	var in struct{ SecretId string }
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.lookupSecret(in.SecretId)
	if sec == nil {
		return nil, errSecretNotFound()
	}
	e := sec.listEntry()
	return struct {
		secretListEntry
		VersionIdsToStages map[string][]string
	}{e, e.SecretVersionsToStages}, nil
}

// The write operations below serve clients that push secrets, and let a
// test suite written for a real endpoint seed its own data here too.

type secretWrite struct {
	Name, SecretId     string
	SecretString       *string
	SecretBinary       []byte
	Description        *string
	KmsKeyId           *string
	ClientRequestToken string
	Tags               []Tag
}

func (w secretWrite) check() error {
	if (w.SecretString == nil) == (w.SecretBinary == nil) {
		return errorf("InvalidParameterException", "You must provide either SecretString or SecretBinary.")
	}
	return nil
}

func tagMap(tags []Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// writeVersion stores a new version as PutSecretValue does. The SDK sends
// a ClientRequestToken with every write, and a retry sends the same one:
// AWS makes it the VersionId, and a second request with it succeeds
// without a new version if the value is the same. The caller holds s.mu.
func (s *Server) writeVersion(sec *secret, w secretWrite) (string, error) {
	id := w.ClientRequestToken
	if id == "" {
		id = newUUID()
	}
	if v, ok := sec.versions[id]; ok {
		if sameValue(v, w.SecretString, w.SecretBinary) {
			return id, nil
		}
		return "", errorf("ResourceExistsException", "You can't modify an existing version, you can only create a new version.")
	}
	return s.putSecretVersion(sec.name, id, w.SecretString, w.SecretBinary), nil
}

func sameValue(v *secretVersion, str *string, bin []byte) bool {
	if (v.str == nil) != (str == nil) || (v.bin == nil) != (bin == nil) {
		return false
	}
	return (str == nil || *v.str == *str) && string(v.bin) == string(bin)
}

func (s *Server) createSecret(req *request) (any, error) {
	var in secretWrite
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec, exists := s.secrets[in.Name]; exists {
		if !sec.deleted.IsZero() {
			return nil, errorf("InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.")
		}
		return nil, errorf("ResourceExistsException", "The operation failed because the secret %s already exists.", in.Name)
	}
	id := in.ClientRequestToken
	if id == "" {
		id = newUUID()
	}
	s.putSecretVersion(in.Name, id, in.SecretString, in.SecretBinary)
	sec := s.secrets[in.Name]
	if in.Description != nil {
		sec.description = *in.Description
	}
	if in.KmsKeyId != nil {
		sec.kmsKeyID = *in.KmsKeyId
	}
	sec.tags = mergeTags(sec.tags, tagMap(in.Tags))
	return map[string]string{"ARN": sec.arn, "Name": sec.name, "VersionId": id}, nil
}

// liveSecret finds a secret that may be changed: one that exists and is
// not scheduled for deletion. The caller holds s.mu.
func (s *Server) liveSecret(id string) (*secret, error) {
	sec := s.lookupSecret(id)
	if sec == nil {
		return nil, errSecretNotFound()
	}
	if !sec.deleted.IsZero() {
		return nil, errMarkedForDeletion()
	}
	return sec, nil
}

func (s *Server) putSecretValue(req *request) (any, error) {
	var in secretWrite
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.liveSecret(in.SecretId)
	if err != nil {
		return nil, err
	}
	id, err := s.writeVersion(sec, in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": id, "VersionStages": sec.stagesOf(id)}, nil
}

// updateSecret changes the description or key, and stores a new version
// when the request carries a value.
func (s *Server) updateSecret(req *request) (any, error) {
	var in secretWrite
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if in.SecretString != nil && in.SecretBinary != nil {
		return nil, errorf("InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.liveSecret(in.SecretId)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"ARN": sec.arn, "Name": sec.name}
	if in.SecretString != nil || in.SecretBinary != nil {
		id, err := s.writeVersion(sec, in)
		if err != nil {
			return nil, err
		}
		out["VersionId"] = id
	}
	if in.Description != nil {
		sec.description = *in.Description
	}
	if in.KmsKeyId != nil {
		sec.kmsKeyID = *in.KmsKeyId
	}
	sec.changed = time.Now()
	return out, nil
}

func (s *Server) tagResource(req *request) (any, error) {
	var in secretWrite
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.lookupSecret(in.SecretId)
	if sec == nil {
		return nil, errSecretNotFound()
	}
	sec.tags = mergeTags(sec.tags, tagMap(in.Tags))
	return struct{}{}, nil
}

func (s *Server) untagResource(req *request) (any, error) {
	var in struct {
		SecretId string
		TagKeys  []string
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.lookupSecret(in.SecretId)
	if sec == nil {
		return nil, errSecretNotFound()
	}
	sec.tags = removeTags(sec.tags, in.TagKeys)
	return struct{}{}, nil
}

func removeTags(tags []Tag, keys []string) []Tag {
	drop := make(map[string]bool, len(keys))
	for _, k := range keys {
		drop[k] = true
	}
	out := tags[:0]
	for _, t := range tags {
		if !drop[t.Key] {
			out = append(out, t)
		}
	}
	return out
}

// defaultRecoveryDays is the recovery window of a DeleteSecret that names
// none.
const defaultRecoveryDays = 30

func (s *Server) deleteSecret(req *request) (any, error) {
	var in struct {
		SecretId                   string
		RecoveryWindowInDays       *int
		ForceDeleteWithoutRecovery *bool
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	force := in.ForceDeleteWithoutRecovery != nil && *in.ForceDeleteWithoutRecovery
	days := defaultRecoveryDays
	switch {
	case force && in.RecoveryWindowInDays != nil:
		return nil, errorf("InvalidParameterException", "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	case in.RecoveryWindowInDays != nil && (*in.RecoveryWindowInDays < 7 || *in.RecoveryWindowInDays > 30):
		return nil, errorf("InvalidParameterException", "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
	case in.RecoveryWindowInDays != nil:
		days = *in.RecoveryWindowInDays
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	sec := s.lookupSecret(in.SecretId)
	switch {
	case sec == nil && force:
		// AWS does not report a missing secret to a forced delete.
		return map[string]any{"Name": in.SecretId, "DeletionDate": epoch(now)}, nil
	case sec == nil:
		return nil, errSecretNotFound()
	case force:
		delete(s.secrets, sec.name)
		return map[string]any{"ARN": sec.arn, "Name": sec.name, "DeletionDate": epoch(now)}, nil
	case !sec.deleted.IsZero():
		return nil, errMarkedForDeletion()
	}
	sec.deleted, sec.recoveryDays = now, days
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "DeletionDate": epoch(now.AddDate(0, 0, days))}, nil
}

// restoreSecret cancels a scheduled deletion.
func (s *Server) restoreSecret(req *request) (any, error) {
	var in struct{ SecretId string }
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.lookupSecret(in.SecretId)
	if sec == nil {
		return nil, errSecretNotFound()
	}
	sec.deleted, sec.recoveryDays = time.Time{}, 0
	return map[string]string{"ARN": sec.arn, "Name": sec.name}, nil
}

func (s *Server) getResourcePolicy(req *request) (any, error) {
	var in struct{ SecretId string }
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.lookupSecret(in.SecretId)
	if sec == nil {
		return nil, errSecretNotFound()
	}
	out := map[string]string{"ARN": sec.arn, "Name": sec.name}
	if sec.policy != "" {
		out["ResourcePolicy"] = sec.policy
	}
	return out, nil
}

// putResourcePolicy checks only that the policy is a JSON object; see
// the package documentation.
func (s *Server) putResourcePolicy(req *request) (any, error) {
	var in struct {
		SecretId, ResourcePolicy string
		BlockPublicPolicy        *bool
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	var doc map[string]any
	if json.Unmarshal([]byte(in.ResourcePolicy), &doc) != nil {
		return nil, errorf("MalformedPolicyDocumentException", "This resource policy contains a syntax error.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.liveSecret(in.SecretId)
	if err != nil {
		return nil, err
	}
	sec.policy = in.ResourcePolicy
	return map[string]string{"ARN": sec.arn, "Name": sec.name}, nil
}

func (s *Server) deleteResourcePolicy(req *request) (any, error) {
	var in struct{ SecretId string }
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.liveSecret(in.SecretId)
	if err != nil {
		return nil, err
	}
	sec.policy = ""
	return map[string]string{"ARN": sec.arn, "Name": sec.name}, nil
}
