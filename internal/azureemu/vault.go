package azureemu

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The collections of a vault, the first segment of their REST paths.
const (
	Secrets      = "secrets"
	Certificates = "certificates"
	Keys         = "keys"
	// DeletedSecrets holds soft-deleted secrets until they are recovered
	// or purged.
	DeletedSecrets = "deletedsecrets"
)

// apiVersion is the newest Key Vault REST API version the server speaks;
// it accepts any 7.x.
const apiVersion = "7.5"

var namePattern = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

// object is a secret, certificate or key with its versions, oldest first.
type object struct {
	versions []*version
}

func (o *object) latest() *version { return o.versions[len(o.versions)-1] }

type version struct {
	id          string
	value       string         // a secret's value
	cer         []byte         // a certificate's DER
	jwk         map[string]any // a key's public JSON Web Key
	tags        map[string]string
	contentType string
	enabled     bool
	managed     bool
	created     time.Time
	updated     time.Time
	notBefore   *time.Time
	expires     *time.Time
}

func (s *Server) add(coll, name string, v *version) string {
	if !namePattern.MatchString(name) {
		panic(fmt.Sprintf("azureemu: %q is not a Key Vault name: 1-127 letters, digits and dashes", name))
	}
	if v.id == "" {
		v.id = randomHex(32)
	}
	now := time.Now().Truncate(time.Second)
	v.created, v.updated, v.enabled = now, now, true
	o := s.objects[coll][name]
	if o == nil {
		o = &object{}
		s.objects[coll][name] = o
	}
	o.versions = append(o.versions, v)
	return v.id
}

// SetSecret stores a new version of the secret name, which becomes its
// current version, and returns the version's ID.
func (s *Server) SetSecret(name, value string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.add(Secrets, name, &version{value: value})
}

// SetSecretContentType sets the content type of the current version of
// the secret name, such as "application/json".
func (s *Server) SetSecretContentType(name, contentType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustGet(Secrets, name).latest().contentType = contentType
}

// SetSecretExpires sets the expiry of the current version of the secret
// name.
func (s *Server) SetSecretExpires(name string, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := expires.Truncate(time.Second)
	s.mustGet(Secrets, name).latest().expires = &t
}

// ImportCertificate imports a certificate as Key Vault does: bundle is PEM
// holding the certificate first, optionally its chain, and its private
// key. Like Key Vault it creates, under the same name and version, the
// certificate, a managed secret holding bundle (content type
// application/x-pem-file) and a managed key holding the public key. It
// returns the version's ID.
func (s *Server) ImportCertificate(name string, bundle []byte) (string, error) {
	var leaf *x509.Certificate
	for rest := bundle; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" && leaf == nil {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return "", fmt.Errorf("azureemu: parse certificate: %w", err)
			}
			leaf = c
		}
	}
	if leaf == nil {
		return "", errors.New("azureemu: no CERTIFICATE block in bundle")
	}
	jwk, err := publicJWK(leaf.PublicKey)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := randomHex(32)
	nb, exp := leaf.NotBefore, leaf.NotAfter
	s.add(Certificates, name, &version{id: id, cer: leaf.Raw, notBefore: &nb, expires: &exp})
	s.add(Secrets, name, &version{id: id, value: string(bundle), contentType: "application/x-pem-file", managed: true, notBefore: &nb, expires: &exp})
	s.add(Keys, name, &version{id: id, jwk: jwk, managed: true, notBefore: &nb, expires: &exp})
	return id, nil
}

// ImportKey stores a new version of the key name holding pub, an
// *rsa.PublicKey or *ecdsa.PublicKey, and returns the version's ID. Like
// Key Vault, the server gives out only the public half of a key.
func (s *Server) ImportKey(name string, pub crypto.PublicKey) (string, error) {
	jwk, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.add(Keys, name, &version{jwk: jwk}), nil
}

func publicJWK(pub crypto.PublicKey) (map[string]any, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return map[string]any{
			"kty":     "RSA",
			"key_ops": []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"},
			"n":       b64(k.N.Bytes()),
			"e":       b64(big.NewInt(int64(k.E)).Bytes()),
		}, nil
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		crv := map[int]string{256: "P-256", 384: "P-384", 521: "P-521"}[k.Curve.Params().BitSize]
		return map[string]any{
			"kty":     "EC",
			"key_ops": []string{"sign", "verify"},
			"crv":     crv,
			"x":       b64(k.X.FillBytes(make([]byte, size))),
			"y":       b64(k.Y.FillBytes(make([]byte, size))),
		}, nil
	}
	return nil, fmt.Errorf("azureemu: unsupported key type %T", pub)
}

// SetTags replaces the tags of the current version of name in coll, one of
// [Secrets], [Certificates] and [Keys].
func (s *Server) SetTags(coll, name string, tags map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.mustGet(coll, name).latest()
	v.tags = make(map[string]string, len(tags))
	for k, val := range tags {
		v.tags[k] = val
	}
	v.updated = time.Now().Truncate(time.Second)
}

// SetEnabled enables or disables the current version of name in coll.
// Key Vault refuses to read a disabled version, and lists it as disabled.
func (s *Server) SetEnabled(coll, name string, enabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustGet(coll, name).latest().enabled = enabled
}

// Delete removes name and its versions from coll. Soft delete and
// recovery are not modelled: the name reads as never created.
func (s *Server) Delete(coll, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects[coll], name)
}

func (s *Server) mustGet(coll, name string) *object {
	o := s.objects[coll][name]
	if o == nil {
		panic(fmt.Sprintf("azureemu: no %s %q", strings.TrimSuffix(coll, "s"), name))
	}
	return o
}

// vaultError is Key Vault's error body.
type vaultError struct {
	status int
	code   string
	msg    string
	inner  string
}

func (e *vaultError) body() any {
	type inner struct {
		Code string `json:"code"`
	}
	type detail struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError *inner `json:"innererror,omitempty"`
	}
	d := detail{Code: e.code, Message: e.msg}
	if e.inner != "" {
		d.InnerError = &inner{Code: e.inner}
	}
	return struct {
		Error detail `json:"error"`
	}{d}
}

var singular = map[string]string{Secrets: "secret", Certificates: "certificate", Keys: "key"}

func notFound(coll, nameID string) *vaultError {
	kind := singular[coll]
	return &vaultError{
		status: http.StatusNotFound,
		code:   strings.ToUpper(kind[:1]) + kind[1:] + "NotFound",
		msg: fmt.Sprintf("A %s with (name/id) %s was not found in this key vault. If you recently deleted this %s you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
			kind, nameID, kind),
	}
}

// challenge answers a request Key Vault will not serve without a valid
// token, naming the authority and resource to get one from.
func (s *Server) challenge(w http.ResponseWriter, c cloud, msg string) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="https://%s/%s", resource="%s"`, c.login, TenantID, c.resource))
	e := &vaultError{status: http.StatusUnauthorized, code: "Unauthorized", msg: msg}
	writeJSON(w, e.status, e.body())
}

// vaultRequest is one decoded Key Vault call.
type vaultRequest struct {
	op      string // such as "secrets/get"
	coll    string
	name    string
	version string
}

func routeVault(r *http.Request) (*vaultRequest, *vaultError) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	req := &vaultRequest{coll: parts[0]}
	if len(parts) > 1 {
		req.name = parts[1]
	}
	if len(parts) > 2 {
		req.version = parts[2]
	}
	bad := &vaultError{status: http.StatusBadRequest, code: "BadParameter", msg: "The request URI is not valid: " + r.Method + " " + r.URL.Path}
	switch {
	case len(parts) > 3:
		return nil, bad
	case r.Method == http.MethodGet && req.name == "" && len(parts) <= 2:
		req.op = req.coll + "/list"
	case r.Method == http.MethodGet && req.name != "" && (req.coll != DeletedSecrets || len(parts) == 2):
		req.op = req.coll + "/get"
	case r.Method == http.MethodPut && req.coll == Secrets && req.name != "" && len(parts) == 2:
		req.op = Secrets + "/set"
	case r.Method == http.MethodDelete && req.coll == Secrets && req.name != "" && len(parts) == 2:
		req.op = Secrets + "/delete"
	case r.Method == http.MethodPatch && req.coll == Secrets && req.name != "" && len(parts) == 3:
		// The SDK sends an empty version, ".../name/", for the current one.
		req.op = Secrets + "/update"
	case r.Method == http.MethodDelete && req.coll == DeletedSecrets && req.name != "" && len(parts) == 2:
		req.op = DeletedSecrets + "/purge"
	case r.Method == http.MethodPost && req.coll == DeletedSecrets && len(parts) == 3 && req.version == "recover":
		req.op, req.version = DeletedSecrets+"/recover", ""
	default:
		return nil, &vaultError{status: http.StatusMethodNotAllowed, code: "BadParameter", msg: "The requested operation is not supported: " + r.Method + " " + r.URL.Path}
	}
	if req.name != "" && !namePattern.MatchString(req.name) {
		return nil, &vaultError{status: http.StatusBadRequest, code: "BadParameter", msg: "The request URI contains an invalid name: " + req.name}
	}
	if v := r.URL.Query().Get("api-version"); !strings.HasPrefix(v, "7.") {
		return nil, &vaultError{status: http.StatusBadRequest, code: "BadParameter", msg: "The specified version (" + v + ") is not recognized. Consider using the latest supported version (" + apiVersion + ")."}
	}
	return req, nil
}

func (s *Server) serveVault(w http.ResponseWriter, r *http.Request, c cloud) {
	req, verr := routeVault(r)
	if verr != nil {
		writeJSON(w, verr.status, verr.body())
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		s.count("challenge")
		s.challenge(w, c, "AKV10000: Request is missing a Bearer or PoP token.")
		return
	}
	s.count(req.op)
	at, msg := s.checkToken(token, c)
	if msg != "" {
		s.challenge(w, c, msg)
		return
	}
	if retryAfter, ok := s.takeThrottle(req.op); ok {
		e := &vaultError{code: "Throttled", msg: "Request was not processed because too many requests were received. Reason: A1"}
		writeTooManyRequests(w, retryAfter, e.body())
		return
	}
	if s.isDenied(at.principal, req.op) {
		perm := strings.Replace(req.op, "/", " ", 1)
		e := &vaultError{
			status: http.StatusForbidden, code: "Forbidden", inner: "AccessDenied",
			msg: fmt.Sprintf("The user, group or application 'appid=%s;oid=%s;iss=https://sts.windows.net/%s/' does not have %s permission on key vault '%s;location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
				at.principal, at.objectID, TenantID, perm, s.VaultName),
		}
		writeJSON(w, e.status, e.body())
		return
	}
	base := "https://" + r.Host
	var (
		out any
		err *vaultError
	)
	switch req.op {
	case Secrets + "/list":
		out, err = s.list(r, base)
	case Secrets + "/set":
		out, err = s.setSecretOp(r, base, req.name)
	case Secrets + "/get", Certificates + "/get", Keys + "/get":
		out, err = s.get(base, req)
	case Secrets + "/delete":
		out, err = s.deleteSecretOp(base, req.name)
	case Secrets + "/update":
		out, err = s.updateSecretOp(r, base, req)
	case DeletedSecrets + "/get":
		out, err = s.getDeletedOp(base, req.name)
	case DeletedSecrets + "/recover":
		out, err = s.recoverOp(base, req.name)
	case DeletedSecrets + "/purge":
		err = s.purgeOp(req.name)
		if err == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	default:
		err = &vaultError{status: http.StatusMethodNotAllowed, code: "BadParameter", msg: "The requested operation is not supported."}
	}
	if err != nil {
		writeJSON(w, err.status, err.body())
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) isDenied(principal, op string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.denied[[2]string{principal, op}] || s.denied[[2]string{"*", op}]
}

func attributes(v *version) map[string]any {
	a := map[string]any{
		"enabled":         v.enabled,
		"created":         v.created.Unix(),
		"updated":         v.updated.Unix(),
		"recoveryLevel":   "Recoverable+Purgeable",
		"recoverableDays": 90,
	}
	if v.notBefore != nil {
		a["nbf"] = v.notBefore.Unix()
	}
	if v.expires != nil {
		a["exp"] = v.expires.Unix()
	}
	return a
}

func (s *Server) get(base string, req *vaultRequest) (any, *vaultError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	nameID := req.name
	if req.version != "" {
		nameID += "/" + req.version
	}
	o := s.objects[req.coll][req.name]
	if o == nil || req.coll == Secrets && s.stillRecovering(req.name) {
		return nil, notFound(req.coll, nameID)
	}
	v := o.latest()
	if req.version != "" {
		v = nil
		for _, cand := range o.versions {
			if strings.EqualFold(cand.id, req.version) {
				v = cand
			}
		}
		if v == nil {
			return nil, notFound(req.coll, nameID)
		}
	}
	if !v.enabled {
		kind := singular[req.coll]
		return nil, &vaultError{status: http.StatusForbidden, code: "Forbidden", inner: strings.ToUpper(kind[:1]) + kind[1:] + "Disabled",
			msg: "Operation get is not allowed on a disabled " + kind + "."}
	}
	id := base + "/" + req.coll + "/" + req.name + "/" + v.id
	out := map[string]any{"attributes": attributes(v)}
	if len(v.tags) > 0 {
		out["tags"] = v.tags
	}
	switch req.coll {
	case Secrets:
		return s.bundle(base, req.name, v, true), nil
	case Certificates:
		sum := sha1.Sum(v.cer)
		out["id"] = id
		out["kid"] = base + "/" + Keys + "/" + req.name + "/" + v.id
		out["sid"] = base + "/" + Secrets + "/" + req.name + "/" + v.id
		out["x5t"] = base64.RawURLEncoding.EncodeToString(sum[:])
		out["cer"] = base64.StdEncoding.EncodeToString(v.cer)
	case Keys:
		jwk := map[string]any{"kid": id}
		for k, val := range v.jwk {
			jwk[k] = val
		}
		out["key"] = jwk
		if v.managed {
			out["managed"] = true
		}
	}
	return out, nil
}

// list serves a page of Get Secrets: the current version of each secret,
// without values, sorted by name, with a nextLink while more remain.
func (s *Server) list(r *http.Request, base string) (any, *vaultError) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	max := s.pageSize
	if m := q.Get("maxresults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > 25 {
			return nil, &vaultError{status: http.StatusBadRequest, code: "BadParameter", msg: "maxresults must be between 1 and 25"}
		}
		max = min(max, n)
	}
	start := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		n, convErr := strconv.Atoi(strings.TrimPrefix(string(b), Secrets+":"))
		if err != nil || convErr != nil || !strings.HasPrefix(string(b), Secrets+":") || n < 0 {
			return nil, &vaultError{status: http.StatusBadRequest, code: "BadParameter", msg: "The skip token is not valid."}
		}
		start = n
	}
	names := make([]string, 0, len(s.objects[Secrets]))
	for n := range s.objects[Secrets] {
		names = append(names, n)
	}
	sort.Strings(names)
	start = min(start, len(names))
	end := min(start+max, len(names))
	items := make([]map[string]any, 0, end-start)
	for _, n := range names[start:end] {
		v := s.objects[Secrets][n].latest()
		it := map[string]any{"id": base + "/" + Secrets + "/" + n, "attributes": attributes(v)}
		if len(v.tags) > 0 {
			it["tags"] = v.tags
		}
		if v.contentType != "" {
			it["contentType"] = v.contentType
		}
		if v.managed {
			it["managed"] = true
		}
		items = append(items, it)
	}
	var next *string
	if end < len(names) {
		tok := base64.RawURLEncoding.EncodeToString([]byte(Secrets + ":" + strconv.Itoa(end)))
		link := base + "/" + Secrets + "?api-version=" + apiVersion + "&$skiptoken=" + tok + "&maxresults=" + strconv.Itoa(max)
		next = &link
	}
	return map[string]any{"value": items, "nextLink": next}, nil
}

// secretAttributes are the attributes a client may set: enabled, and
// the activation and expiry dates as Unix times.
type secretAttributes struct {
	Enabled   *bool  `json:"enabled"`
	NotBefore *int64 `json:"nbf"`
	Expires   *int64 `json:"exp"`
}

func (a *secretAttributes) apply(v *version) {
	if a == nil {
		return
	}
	if a.Enabled != nil {
		v.enabled = *a.Enabled
	}
	if a.NotBefore != nil {
		t := time.Unix(*a.NotBefore, 0)
		v.notBefore = &t
	}
	if a.Expires != nil {
		t := time.Unix(*a.Expires, 0)
		v.expires = &t
	}
}

func badBody() *vaultError {
	return &vaultError{status: http.StatusBadRequest, code: "BadParameter", msg: "The request body is not valid JSON for this operation."}
}

// setSecretOp serves Set Secret: a new version, current from now on,
// with the value, tags, content type and attributes of the body. A name
// whose secret is soft-deleted cannot be reused until the secret is
// recovered or purged.
func (s *Server) setSecretOp(r *http.Request, base, name string) (any, *vaultError) {
	var in struct {
		Value       *string           `json:"value"`
		Tags        map[string]string `json:"tags"`
		ContentType string            `json:"contentType"`
		Attributes  *secretAttributes `json:"attributes"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &in) != nil || in.Value == nil {
		return nil, &vaultError{status: http.StatusBadRequest, code: "BadParameter", msg: "The parameter value is required."}
	}
	s.mu.Lock()
	if s.deleted[name] != nil {
		s.mu.Unlock()
		return nil, &vaultError{status: http.StatusConflict, code: "Conflict", inner: "ObjectIsDeletedButRecoverable",
			msg: "Secret " + name + " is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged."}
	}
	if s.stillRecovering(name) {
		s.mu.Unlock()
		return nil, &vaultError{status: http.StatusConflict, code: "Conflict", inner: "ObjectIsBeingRecovered",
			msg: "Secret " + name + " is currently being recovered and cannot be re-created; retry later."}
	}
	v := &version{value: *in.Value, tags: in.Tags, contentType: in.ContentType}
	id := s.add(Secrets, name, v)
	in.Attributes.apply(v)
	s.mu.Unlock()
	return s.get(base, &vaultRequest{coll: Secrets, name: name, version: id})
}

// updateSecretOp serves Update Secret: it changes the tags (when the body
// has them), content type and attributes of a version, the current one
// when the path names none, and returns the version without its value.
func (s *Server) updateSecretOp(r *http.Request, base string, req *vaultRequest) (any, *vaultError) {
	var in struct {
		Tags        *map[string]string `json:"tags"`
		ContentType *string            `json:"contentType"`
		Attributes  *secretAttributes  `json:"attributes"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &in) != nil {
		return nil, badBody()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	nameID := req.name
	if req.version != "" {
		nameID += "/" + req.version
	}
	v := s.findVersion(req.name, req.version)
	if v == nil {
		return nil, notFound(Secrets, nameID)
	}
	if in.Tags != nil {
		v.tags = make(map[string]string, len(*in.Tags))
		for k, val := range *in.Tags {
			v.tags[k] = val
		}
	}
	if in.ContentType != nil {
		v.contentType = *in.ContentType
	}
	in.Attributes.apply(v)
	v.updated = time.Now().Truncate(time.Second)
	return s.bundle(base, req.name, v, false), nil
}

// findVersion returns the version of the live secret name, its current
// one when version is empty, or nil. The caller holds s.mu.
func (s *Server) findVersion(name, version string) *version {
	o := s.objects[Secrets][name]
	if o == nil || s.stillRecovering(name) {
		return nil
	}
	if version == "" {
		return o.latest()
	}
	for _, v := range o.versions {
		if strings.EqualFold(v.id, version) {
			return v
		}
	}
	return nil
}

// bundle is a SecretBundle of version v of the secret name, with its
// value or, as Key Vault answers updates and recoveries, without.
func (s *Server) bundle(base, name string, v *version, withValue bool) map[string]any {
	out := map[string]any{"id": base + "/" + Secrets + "/" + name + "/" + v.id, "attributes": attributes(v)}
	if withValue {
		out["value"] = v.value
	}
	if len(v.tags) > 0 {
		out["tags"] = v.tags
	}
	if v.contentType != "" {
		out["contentType"] = v.contentType
	}
	if v.managed {
		out["managed"] = true
		out["kid"] = base + "/" + Keys + "/" + name + "/" + v.id
	}
	return out
}

// deletedSecret is a soft-deleted secret, kept until it is recovered or
// purged.
type deletedSecret struct {
	obj     *object
	deleted time.Time
}

// retention is how long Key Vault keeps a soft-deleted secret: the
// vault's softDeleteRetentionInDays, 90 by default.
const retention = 90 * 24 * time.Hour

func (s *Server) deletedBundle(base, name string, d *deletedSecret) map[string]any {
	out := s.bundle(base, name, d.obj.latest(), false)
	out["recoveryId"] = base + "/" + DeletedSecrets + "/" + name
	out["deletedDate"] = d.deleted.Unix()
	out["scheduledPurgeDate"] = d.deleted.Add(retention).Unix()
	return out
}

// deleteSecretOp serves Delete Secret: the secret and all its versions
// are soft-deleted, as in every vault since soft delete became
// mandatory, and the name cannot be reused until they are recovered or
// purged. Secrets that back a certificate are deleted with it, not alone.
func (s *Server) deleteSecretOp(base, name string) (any, *vaultError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[Secrets][name]
	if o == nil || s.stillRecovering(name) {
		return nil, notFound(Secrets, name)
	}
	if o.latest().managed {
		return nil, &vaultError{status: http.StatusForbidden, code: "Forbidden", msg: "Operation delete is not allowed on a managed secret; delete the certificate " + name + " instead."}
	}
	d := &deletedSecret{obj: o, deleted: time.Now().Truncate(time.Second)}
	delete(s.objects[Secrets], name)
	s.deleted[name] = d
	return s.deletedBundle(base, name, d), nil
}

func deletedNotFound(name string) *vaultError {
	return &vaultError{status: http.StatusNotFound, code: "SecretNotFound", msg: "Deleted Secret not found: " + name}
}

// getDeletedOp serves Get Deleted Secret.
func (s *Server) getDeletedOp(base, name string) (any, *vaultError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deleted[name]
	if d == nil {
		return nil, deletedNotFound(name)
	}
	return s.deletedBundle(base, name, d), nil
}

// recoverOp serves Recover Deleted Secret. Like Key Vault, recovery
// completes after the response: for the next [Server.SetRecoveryPolls]
// requests naming the secret, it reads as missing and cannot be set.
func (s *Server) recoverOp(base, name string) (any, *vaultError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deleted[name]
	if d == nil {
		return nil, deletedNotFound(name)
	}
	delete(s.deleted, name)
	s.objects[Secrets][name] = d.obj
	if s.recoveryPolls > 0 {
		s.recovering[name] = s.recoveryPolls
	}
	return s.bundle(base, name, d.obj.latest(), false), nil
}

// purgeOp serves Purge Deleted Secret: the secret is gone for good, and
// its name free.
func (s *Server) purgeOp(name string) *vaultError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deleted[name] == nil {
		return deletedNotFound(name)
	}
	delete(s.deleted, name)
	return nil
}

// stillRecovering reports whether the secret name is being recovered,
// and counts one request against the time recovery takes. The caller
// holds s.mu.
func (s *Server) stillRecovering(name string) bool {
	n, ok := s.recovering[name]
	if !ok {
		return false
	}
	if n <= 1 {
		delete(s.recovering, name)
	} else {
		s.recovering[name] = n - 1
	}
	return true
}

// SetRecoveryPolls makes a recovered secret read as missing, and refuse
// to be set with ObjectIsBeingRecovered, for the next n requests that
// name it, as Key Vault's asynchronous recovery does for a while. The
// default, 0, recovers at once.
func (s *Server) SetRecoveryPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recoveryPolls = n
}

// SecretState is what the vault holds for a secret: its current
// version's value and properties, how many versions it has, and whether
// it is soft-deleted.
type SecretState struct {
	Value       string
	Tags        map[string]string
	ContentType string
	Enabled     bool
	Expires     *time.Time
	Versions    int
	Deleted     bool
}

// Secret returns the state of the secret name, live or soft-deleted, and
// false when there is neither.
func (s *Server) Secret(name string) (SecretState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, deleted := s.objects[Secrets][name], false
	if o == nil {
		if d := s.deleted[name]; d != nil {
			o, deleted = d.obj, true
		}
	}
	if o == nil {
		return SecretState{}, false
	}
	v := o.latest()
	st := SecretState{Value: v.value, Tags: maps.Clone(v.tags), ContentType: v.contentType, Enabled: v.enabled, Versions: len(o.versions), Deleted: deleted}
	if v.expires != nil {
		t := *v.expires
		st.Expires = &t
	}
	return st, true
}

// DeleteSecret soft-deletes the secret name, as Delete Secret does: it
// reads as missing and its name cannot be reused until it is recovered
// or purged.
func (s *Server) DeleteSecret(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustGet(Secrets, name)
	delete(s.objects[Secrets], name)
	s.deleted[name] = &deletedSecret{obj: o, deleted: time.Now().Truncate(time.Second)}
}
