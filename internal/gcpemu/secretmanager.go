package gcpemu

import (
	"context"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"regexp"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// maxPageSize is the largest page Secret Manager's list methods return.
const maxPageSize = 25000

// Version states, for [Server.SetVersionState].
const (
	Enabled   = secretmanagerpb.SecretVersion_ENABLED
	Disabled  = secretmanagerpb.SecretVersion_DISABLED
	Destroyed = secretmanagerpb.SecretVersion_DESTROYED
)

var (
	secretIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	locationPattern = regexp.MustCompile(`^[a-z]+(-[a-z]+)*[0-9]*$`)
	topicPattern    = regexp.MustCompile(`^projects/[^/]+/topics/[^/]+$`)
	crc32c          = crc32.MakeTable(crc32.Castagnoli)
)

type secret struct {
	name        string // projects/NUMBER[/locations/L]/secrets/ID
	id          string
	labels      map[string]string
	annotations map[string]string
	aliases     map[string]int64
	topics      []string
	// replication is what CreateSecret was given; nil for regional
	// secrets, and read as automatic for global ones seeded by helpers.
	replication *secretmanagerpb.Replication
	cmek        string // a regional secret's customer_managed_encryption
	created     time.Time
	etag        int
	versions    []*version // versions[i] is version i+1
}

type version struct {
	n         int64
	state     secretmanagerpb.SecretVersion_State
	data      []byte
	created   time.Time
	destroyed time.Time
}

// parent is "projects/P" or "projects/P/locations/L", parsed.
type parent struct{ project, location string }

func parseParent(name string) (parent, bool) {
	parts := strings.Split(name, "/")
	switch {
	case len(parts) == 2 && parts[0] == "projects" && parts[1] != "":
		return parent{project: parts[1]}, true
	case len(parts) == 4 && parts[0] == "projects" && parts[1] != "" && parts[2] == "locations" && locationPattern.MatchString(parts[3]):
		return parent{project: parts[1], location: parts[3]}, true
	}
	return parent{}, false
}

// parseSecret splits "PARENT/secrets/ID".
func parseSecret(name string) (parent, string, bool) {
	i := strings.LastIndex(name, "/secrets/")
	if i < 0 {
		return parent{}, "", false
	}
	p, ok := parseParent(name[:i])
	id := name[i+len("/secrets/"):]
	return p, id, ok && secretIDPattern.MatchString(id)
}

// parseVersion splits "PARENT/secrets/ID/versions/V".
func parseVersion(name string) (parent, string, string, bool) {
	i := strings.LastIndex(name, "/versions/")
	if i < 0 {
		return parent{}, "", "", false
	}
	p, id, ok := parseSecret(name[:i])
	v := name[i+len("/versions/"):]
	return p, id, v, ok && v != "" && !strings.Contains(v, "/")
}

// key is the canonical name of a secret: the project as a number. The
// caller holds s.mu.
func (s *Server) key(p parent, id string) string {
	k := "projects/" + s.projectNumber(p.project)
	if p.location != "" {
		k += "/locations/" + p.location
	}
	return k + "/secrets/" + id
}

// resolve turns a helper's name, a bare secret ID in the default project
// or a full resource name, into a canonical one. The caller holds s.mu.
func (s *Server) resolve(name string) string {
	if secretIDPattern.MatchString(name) {
		return s.key(parent{project: s.project}, name)
	}
	p, id, ok := parseSecret(name)
	if !ok {
		panic(fmt.Sprintf("gcpemu: %q is neither a secret ID nor a secret's resource name", name))
	}
	return s.key(p, id)
}

// lookup finds the secret of a helper's name, or panics: tests name
// secrets they created.
func (s *Server) lookup(name string) *secret {
	sec := s.secrets[s.resolve(name)]
	if sec == nil {
		panic(fmt.Sprintf("gcpemu: no secret %q", name))
	}
	return sec
}

// PutSecret adds an ENABLED version holding value to the secret name,
// creating the secret first if need be, and returns the version's
// number. name is a secret ID in the server's default project, or a
// resource name such as projects/P/locations/L/secrets/ID.
func (s *Server) PutSecret(name, value string) int64 {
	return s.PutSecretBytes(name, []byte(value))
}

// PutSecretBytes is [Server.PutSecret] for binary values.
func (s *Server) PutSecretBytes(name string, value []byte) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.resolve(name)
	sec := s.secrets[k]
	if sec == nil {
		sec = s.create(k)
	}
	return s.addVersion(sec, value).n
}

// CreateSecret creates the secret name without versions.
func (s *Server) CreateSecret(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.resolve(name); s.secrets[k] == nil {
		s.create(k)
	}
}

// create adds an empty secret. The caller holds s.mu.
func (s *Server) create(k string) *secret {
	sec := &secret{
		name:        k,
		id:          k[strings.LastIndex(k, "/")+1:],
		labels:      map[string]string{},
		annotations: map[string]string{},
		aliases:     map[string]int64{},
		created:     s.now(),
		etag:        1,
	}
	s.secrets[k] = sec
	return sec
}

func (s *Server) addVersion(sec *secret, data []byte) *version {
	v := &version{n: int64(len(sec.versions) + 1), state: Enabled, data: append([]byte(nil), data...), created: s.now()}
	sec.versions = append(sec.versions, v)
	return v
}

// SetLabels replaces the labels of the secret name.
func (s *Server) SetLabels(name string, labels map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.lookup(name)
	sec.labels = copyMap(labels)
	sec.etag++
}

// SetAnnotations replaces the annotations of the secret name.
func (s *Server) SetAnnotations(name string, annotations map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.lookup(name)
	sec.annotations = copyMap(annotations)
	sec.etag++
}

// SetAlias points the version alias of the secret name at version n.
func (s *Server) SetAlias(name, alias string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.lookup(name)
	sec.aliases[alias] = n
	sec.etag++
}

// SetVersionState moves version n of the secret name to state. A
// destroyed version loses its data for good.
func (s *Server) SetVersionState(name string, n int64, state secretmanagerpb.SecretVersion_State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.lookup(name)
	if n < 1 || n > int64(len(sec.versions)) {
		panic(fmt.Sprintf("gcpemu: secret %q has no version %d", name, n))
	}
	s.setState(sec.versions[n-1], state)
}

func (s *Server) setState(v *version, state secretmanagerpb.SecretVersion_State) {
	v.state = state
	if state == Destroyed {
		v.data = nil
		v.destroyed = s.now()
	}
}

// Secret returns the secret name as GetSecret would, labels, annotations,
// topics and replication included, or nil when it does not exist.
func (s *Server) Secret(name string) *secretmanagerpb.Secret {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[s.resolve(name)]
	if sec == nil {
		return nil
	}
	return s.secretProto(sec)
}

// Latest returns the number and data of the newest version of the secret
// name, whatever its state, as AccessSecretVersion resolves "latest"; ok
// is false when the secret does not exist or has no version. Tests check
// what a client wrote with it, without a call that [Server.Calls] counts.
func (s *Server) Latest(name string) (n int64, data []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[s.resolve(name)]
	if sec == nil || len(sec.versions) == 0 {
		return 0, nil, false
	}
	v := sec.versions[len(sec.versions)-1]
	return v.n, append([]byte(nil), v.data...), true
}

// DeleteSecret deletes the secret name and its versions.
func (s *Server) DeleteSecret(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.secrets, s.resolve(name))
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// findSecret returns the secret a request names. The caller holds s.mu.
func (s *Server) findSecret(name string) (*secret, error) {
	p, id, ok := parseSecret(name)
	if !ok {
		return nil, invalid("Invalid resource field value in the request.")
	}
	sec := s.secrets[s.key(p, id)]
	if sec == nil {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found.", s.key(p, id))
	}
	return sec, nil
}

// findVersion returns the version a request names, resolving "latest" to
// the newest version whatever its state, and aliases to their versions.
// The caller holds s.mu.
func (s *Server) findVersion(name string) (*secret, *version, error) {
	p, id, v, ok := parseVersion(name)
	if !ok {
		return nil, nil, invalid("Invalid resource field value in the request.")
	}
	k := s.key(p, id)
	sec := s.secrets[k]
	if v == "latest" {
		if sec == nil || len(sec.versions) == 0 {
			return nil, nil, status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", k)
		}
		return sec, sec.versions[len(sec.versions)-1], nil
	}
	if sec == nil {
		return nil, nil, status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", k)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		alias, ok := sec.aliases[v]
		if !ok {
			return nil, nil, status.Errorf(codes.NotFound, "Secret Version alias [%s] not found.", v)
		}
		n = alias
	}
	if n < 1 || n > int64(len(sec.versions)) {
		return nil, nil, status.Errorf(codes.NotFound, "Secret Version [%s/versions/%s] not found.", k, v)
	}
	return sec, sec.versions[n-1], nil
}

func versionName(sec *secret, v *version) string {
	return fmt.Sprintf("%s/versions/%d", sec.name, v.n)
}

func (s *Server) secretProto(sec *secret) *secretmanagerpb.Secret {
	out := &secretmanagerpb.Secret{
		Name:           sec.name,
		CreateTime:     timestamppb.New(sec.created),
		Labels:         copyMap(sec.labels),
		Annotations:    copyMap(sec.annotations),
		VersionAliases: map[string]int64{},
		Etag:           fmt.Sprintf("%q", strconv.Itoa(sec.etag)),
	}
	for k, v := range sec.aliases {
		out.VersionAliases[k] = v
	}
	for _, t := range sec.topics {
		out.Topics = append(out.Topics, &secretmanagerpb.Topic{Name: t})
	}
	switch {
	case strings.Contains(sec.name, "/locations/"):
		// Regional secrets have no replication policy.
		if sec.cmek != "" {
			out.CustomerManagedEncryption = &secretmanagerpb.CustomerManagedEncryption{KmsKeyName: sec.cmek}
		}
	case sec.replication != nil:
		out.Replication = proto.Clone(sec.replication).(*secretmanagerpb.Replication)
	default:
		out.Replication = &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_Automatic_{Automatic: &secretmanagerpb.Replication_Automatic{}}}
	}
	return out
}

func versionProto(sec *secret, v *version) *secretmanagerpb.SecretVersion {
	out := &secretmanagerpb.SecretVersion{
		Name:       versionName(sec, v),
		CreateTime: timestamppb.New(v.created),
		State:      v.state,
		Etag:       fmt.Sprintf("%q", strconv.Itoa(int(v.n))),
	}
	if !v.destroyed.IsZero() {
		out.DestroyTime = timestamppb.New(v.destroyed)
	}
	return out
}

// service implements the gRPC API over a Server's state.
type service struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer
	*Server
}

// AccessSecretVersion returns the data of an ENABLED version.
func (s *service) AccessSecretVersion(_ context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, v, err := s.findVersion(req.GetName())
	if err != nil {
		return nil, err
	}
	if v.state != Enabled {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in %s state.", versionName(sec, v), v.state)
	}
	sum := int64(crc32.Checksum(v.data, crc32c))
	if s.corrupt {
		sum++
	}
	return &secretmanagerpb.AccessSecretVersionResponse{
		Name:    versionName(sec, v),
		Payload: &secretmanagerpb.SecretPayload{Data: append([]byte(nil), v.data...), DataCrc32C: &sum},
	}, nil
}

// GetSecret returns a secret's metadata.
func (s *service) GetSecret(_ context.Context, req *secretmanagerpb.GetSecretRequest) (*secretmanagerpb.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findSecret(req.GetName())
	if err != nil {
		return nil, err
	}
	return s.secretProto(sec), nil
}

// GetSecretVersion returns a version's metadata.
func (s *service) GetSecretVersion(_ context.Context, req *secretmanagerpb.GetSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, v, err := s.findVersion(req.GetName())
	if err != nil {
		return nil, err
	}
	return versionProto(sec, v), nil
}

// ListSecrets lists the secrets of a project or location that match the
// filter, sorted by ID.
func (s *service) ListSecrets(_ context.Context, req *secretmanagerpb.ListSecretsRequest) (*secretmanagerpb.ListSecretsResponse, error) {
	p, ok := parseParent(req.GetParent())
	if !ok {
		return nil, invalid("Invalid resource field value in the request.")
	}
	terms, err := parseFilter(req.GetFilter(), "name", "labels.")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prefix := s.key(p, "")
	var matched []*secret
	for _, k := range sortedKeys(s.secrets) {
		sec := s.secrets[k]
		if strings.HasPrefix(k, prefix) && !strings.Contains(strings.TrimPrefix(k, prefix), "/") && matchSecret(sec, terms) {
			matched = append(matched, sec)
		}
	}
	page, next, err := s.page(len(matched), req.GetPageSize(), req.GetPageToken(), req.GetParent()+"\x00"+req.GetFilter())
	if err != nil {
		return nil, err
	}
	out := &secretmanagerpb.ListSecretsResponse{NextPageToken: next, TotalSize: int32(len(matched))}
	for _, sec := range matched[page[0]:page[1]] {
		out.Secrets = append(out.Secrets, s.secretProto(sec))
	}
	return out, nil
}

// ListSecretVersions lists a secret's versions, newest first.
func (s *service) ListSecretVersions(_ context.Context, req *secretmanagerpb.ListSecretVersionsRequest) (*secretmanagerpb.ListSecretVersionsResponse, error) {
	terms, err := parseFilter(req.GetFilter(), "state")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findSecret(req.GetParent())
	if err != nil {
		return nil, err
	}
	var matched []*version
	for i := len(sec.versions) - 1; i >= 0; i-- {
		if v := sec.versions[i]; matchVersion(v, terms) {
			matched = append(matched, v)
		}
	}
	page, next, err := s.page(len(matched), req.GetPageSize(), req.GetPageToken(), req.GetParent()+"\x00"+req.GetFilter())
	if err != nil {
		return nil, err
	}
	out := &secretmanagerpb.ListSecretVersionsResponse{NextPageToken: next, TotalSize: int32(len(matched))}
	for _, v := range matched[page[0]:page[1]] {
		out.Versions = append(out.Versions, versionProto(sec, v))
	}
	return out, nil
}

// page returns the bounds of one page of n items and the token of the
// next. Tokens are bound to the request they continue. The caller holds
// s.mu.
func (s *Server) page(n int, size int32, token, request string) ([2]int, string, error) {
	limit := int(size)
	if limit <= 0 || limit > s.maxPage {
		limit = s.maxPage
	}
	start := 0
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		off, req, ok := strings.Cut(string(raw), "|")
		if start, _ = strconv.Atoi(off); err != nil || !ok || req != request || start < 0 || start > n {
			return [2]int{}, "", invalid("Invalid page token.")
		}
	}
	end := min(start+limit, n)
	next := ""
	if end < n {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end) + "|" + request))
	}
	return [2]int{start, end}, next, nil
}

// CreateSecret creates a secret without versions, with the labels,
// annotations, topics and replication (or, for a regional secret, the
// customer-managed encryption) of the request.
func (s *service) CreateSecret(_ context.Context, req *secretmanagerpb.CreateSecretRequest) (*secretmanagerpb.Secret, error) {
	p, ok := parseParent(req.GetParent())
	if !ok || !secretIDPattern.MatchString(req.GetSecretId()) {
		return nil, invalid("Invalid resource field value in the request.")
	}
	in := req.GetSecret()
	if err := checkTopics(in.GetTopics()); err != nil {
		return nil, err
	}
	if p.location != "" && in.GetReplication() != nil {
		return nil, invalid("Secret.replication cannot be set for a regional secret.")
	}
	if p.location == "" && in.GetCustomerManagedEncryption() != nil {
		return nil, invalid("Secret.customer_managed_encryption can only be set for a regional secret; set it in the replication policy instead.")
	}
	if um := in.GetReplication().GetUserManaged(); um != nil {
		if len(um.GetReplicas()) == 0 {
			return nil, invalid("Secret.replication.user_managed.replicas must not be empty.")
		}
		for _, r := range um.GetReplicas() {
			if !locationPattern.MatchString(r.GetLocation()) {
				return nil, invalid("Invalid replica location %q.", r.GetLocation())
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.key(p, req.GetSecretId())
	if s.secrets[k] != nil {
		return nil, status.Errorf(codes.AlreadyExists, "Secret [%s] already exists.", k)
	}
	sec := s.create(k)
	sec.labels = copyMap(in.GetLabels())
	sec.annotations = copyMap(in.GetAnnotations())
	sec.topics = topicNames(in.GetTopics())
	if r := in.GetReplication(); r != nil {
		sec.replication = proto.Clone(r).(*secretmanagerpb.Replication)
	}
	sec.cmek = in.GetCustomerManagedEncryption().GetKmsKeyName()
	return s.secretProto(sec), nil
}

func checkTopics(topics []*secretmanagerpb.Topic) error {
	if len(topics) > 10 {
		return invalid("A secret can have at most 10 topics.")
	}
	for _, t := range topics {
		if !topicPattern.MatchString(t.GetName()) {
			return invalid("Invalid topic name %q: expected projects/*/topics/*.", t.GetName())
		}
	}
	return nil
}

func topicNames(topics []*secretmanagerpb.Topic) []string {
	var out []string
	for _, t := range topics {
		out = append(out, t.GetName())
	}
	return out
}

// checkEtag fails with FAILED_PRECONDITION when a request's etag is set
// and is not the secret's: Secret Manager's optimistic concurrency.
func checkEtag(sec *secret, etag string) error {
	if etag != "" && etag != fmt.Sprintf("%q", strconv.Itoa(sec.etag)) {
		return status.Errorf(codes.FailedPrecondition, "The etag provided in the request does not match the etag of Secret [%s].", sec.name)
	}
	return nil
}

// UpdateSecret changes the fields of update_mask: labels, annotations,
// topics and version_aliases, and customer_managed_encryption of
// regional secrets. Replication is immutable; the other mutable fields
// (rotation, expiration, version_destroy_ttl) are not emulated.
func (s *service) UpdateSecret(_ context.Context, req *secretmanagerpb.UpdateSecretRequest) (*secretmanagerpb.Secret, error) {
	in := req.GetSecret()
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, invalid("update_mask is required.")
	}
	for _, path := range paths {
		switch path {
		case "labels", "annotations", "version_aliases":
		case "topics":
			if err := checkTopics(in.GetTopics()); err != nil {
				return nil, err
			}
		case "customer_managed_encryption":
			if !strings.Contains(in.GetName(), "/locations/") {
				return nil, invalid("Secret.customer_managed_encryption can only be set for a regional secret.")
			}
		case "replication":
			return nil, invalid("Secret.replication is immutable.")
		case "rotation", "expire_time", "ttl", "version_destroy_ttl":
			return nil, invalid("Updating %s is not supported by this emulator.", path)
		default:
			return nil, invalid("Invalid update_mask path %q.", path)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findSecret(in.GetName())
	if err != nil {
		return nil, err
	}
	if err := checkEtag(sec, in.GetEtag()); err != nil {
		return nil, err
	}
	for _, path := range paths {
		switch path {
		case "labels":
			sec.labels = copyMap(in.GetLabels())
		case "annotations":
			sec.annotations = copyMap(in.GetAnnotations())
		case "version_aliases":
			sec.aliases = map[string]int64{}
			for k, v := range in.GetVersionAliases() {
				sec.aliases[k] = v
			}
		case "topics":
			sec.topics = topicNames(in.GetTopics())
		case "customer_managed_encryption":
			sec.cmek = in.GetCustomerManagedEncryption().GetKmsKeyName()
		}
	}
	sec.etag++
	return s.secretProto(sec), nil
}

// AddSecretVersion adds an ENABLED version.
func (s *service) AddSecretVersion(_ context.Context, req *secretmanagerpb.AddSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findSecret(req.GetParent())
	if err != nil {
		return nil, err
	}
	data := req.GetPayload().GetData()
	if sum := req.GetPayload().DataCrc32C; sum != nil && *sum != int64(crc32.Checksum(data, crc32c)) {
		return nil, invalid("Checksum mismatch.")
	}
	return versionProto(sec, s.addVersion(sec, data)), nil
}

func (s *service) transition(name string, state secretmanagerpb.SecretVersion_State) (*secretmanagerpb.SecretVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, v, err := s.findVersion(name)
	if err != nil {
		return nil, err
	}
	if v.state == Destroyed {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in DESTROYED state.", versionName(sec, v))
	}
	s.setState(v, state)
	return versionProto(sec, v), nil
}

// DisableSecretVersion disables a version.
func (s *service) DisableSecretVersion(_ context.Context, req *secretmanagerpb.DisableSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	return s.transition(req.GetName(), Disabled)
}

// EnableSecretVersion enables a version.
func (s *service) EnableSecretVersion(_ context.Context, req *secretmanagerpb.EnableSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	return s.transition(req.GetName(), Enabled)
}

// DestroySecretVersion destroys a version's data.
func (s *service) DestroySecretVersion(_ context.Context, req *secretmanagerpb.DestroySecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	return s.transition(req.GetName(), Destroyed)
}

// DeleteSecret deletes a secret and its versions, if the request's etag,
// when set, is the secret's.
func (s *service) DeleteSecret(_ context.Context, req *secretmanagerpb.DeleteSecretRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findSecret(req.GetName())
	if err != nil {
		return nil, err
	}
	if err := checkEtag(sec, req.GetEtag()); err != nil {
		return nil, err
	}
	delete(s.secrets, sec.name)
	return &emptypb.Empty{}, nil
}

// term is one restriction of a list filter: FIELD:VALUE or FIELD=VALUE.
type term struct {
	field, op, value string
}

// parseFilter parses the subset of the list filter syntax the emulator
// knows: restrictions joined by spaces or AND, values bare or quoted,
// and ":*" for presence. fields lists the accepted fields; one ending in
// "." accepts any key under it.
func parseFilter(filter string, fields ...string) ([]term, error) {
	var terms []term
	for _, word := range splitFilter(filter) {
		if word == "AND" {
			continue
		}
		if word == "OR" || word == "NOT" || strings.HasPrefix(word, "-") || strings.ContainsAny(word, "()<>") {
			return nil, invalid("Invalid filter: %q is not supported by this emulator.", word)
		}
		i := strings.IndexAny(word, ":=")
		if i <= 0 {
			return nil, invalid("Invalid filter: expected FIELD:VALUE or FIELD=VALUE, got %q.", word)
		}
		t := term{field: word[:i], op: word[i : i+1], value: word[i+1:]}
		if uq, err := strconv.Unquote(t.value); err == nil {
			t.value = uq
		}
		known := false
		for _, f := range fields {
			if t.field == f || strings.HasSuffix(f, ".") && strings.HasPrefix(t.field, f) && len(t.field) > len(f) {
				known = true
			}
		}
		if !known {
			return nil, invalid("Invalid filter: unknown field %q.", t.field)
		}
		terms = append(terms, t)
	}
	return terms, nil
}

// splitFilter splits on spaces outside double quotes.
func splitFilter(f string) []string {
	var (
		out    []string
		cur    strings.Builder
		quoted bool
	)
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '\\' && quoted && i+1 < len(f):
			cur.WriteByte(c)
			i++
			cur.WriteByte(f[i])
			continue
		case c == '"':
			quoted = !quoted
		case c == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteByte(c)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// matchSecret applies terms: name:V matches IDs containing V, name=V the
// ID V; labels.K=V and labels.K:V the label K with value V, and
// labels.K:* any value of K.
func matchSecret(sec *secret, terms []term) bool {
	for _, t := range terms {
		if t.field == "name" {
			if t.op == ":" && !strings.Contains(sec.id, t.value) || t.op == "=" && sec.id != t.value && sec.name != t.value {
				return false
			}
			continue
		}
		v, ok := sec.labels[strings.TrimPrefix(t.field, "labels.")]
		if !ok || !(t.op == ":" && t.value == "*") && v != t.value {
			return false
		}
	}
	return true
}

func matchVersion(v *version, terms []term) bool {
	for _, t := range terms {
		if !strings.EqualFold(v.state.String(), t.value) {
			return false
		}
	}
	return true
}
