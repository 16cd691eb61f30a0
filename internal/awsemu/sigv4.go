package awsemu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	sigV4Algorithm = "AWS4-HMAC-SHA256"
	amzDateFormat  = "20060102T150405Z"
	// maxSkew is how far a request's X-Amz-Date may be from the server's
	// clock, as AWS allows.
	maxSkew = 15 * time.Minute
)

// authenticate verifies the request's Signature Version 4 and returns who
// signed it.
func (s *Server) authenticate(hr *http.Request, req *request) (principal, error) {
	fail := func(jsonCode, queryCode string, status int, msg string) (principal, error) {
		if req.proto == awsQuery {
			return principal{}, &apiError{status: status, code: queryCode, msg: msg}
		}
		return principal{}, &apiError{status: http.StatusBadRequest, code: jsonCode, msg: msg}
	}
	auth := hr.Header.Get("Authorization")
	if auth == "" {
		return fail("MissingAuthenticationTokenException", "MissingAuthenticationToken", http.StatusForbidden, "Missing Authentication Token")
	}
	rest, ok := strings.CutPrefix(auth, sigV4Algorithm+" ")
	if !ok {
		return fail("IncompleteSignatureException", "IncompleteSignature", http.StatusBadRequest, "Authorization header requires AWS4-HMAC-SHA256.")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	cred, signed, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || signed == "" || sig == "" || scope[4] != "aws4_request" {
		return fail("IncompleteSignatureException", "IncompleteSignature", http.StatusBadRequest, "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.")
	}
	keyID, date, region, service := scope[0], scope[1], scope[2], scope[3]

	s.mu.Lock()
	key, known := s.keys[keyID]
	s.mu.Unlock()
	const invalidToken = "The security token included in the request is invalid."
	if !known {
		return fail("UnrecognizedClientException", "InvalidClientTokenId", http.StatusForbidden, invalidToken)
	}
	if key.token != "" && hr.Header.Get("X-Amz-Security-Token") != key.token {
		return fail("UnrecognizedClientException", "InvalidClientTokenId", http.StatusForbidden, invalidToken)
	}
	if !key.expires.IsZero() && time.Now().After(key.expires) {
		return fail("ExpiredTokenException", "ExpiredToken", http.StatusForbidden, "The security token included in the request is expired")
	}
	if service != req.service {
		return fail("InvalidSignatureException", "SignatureDoesNotMatch", http.StatusForbidden, "Credential should be scoped to correct service: '"+req.service+"'.")
	}
	if region != s.Region {
		return fail("InvalidSignatureException", "SignatureDoesNotMatch", http.StatusForbidden, "Credential should be scoped to a valid region.")
	}
	amzDate := hr.Header.Get("X-Amz-Date")
	t, err := time.Parse(amzDateFormat, amzDate)
	if err != nil || !strings.HasPrefix(amzDate, date) {
		return fail("IncompleteSignatureException", "IncompleteSignature", http.StatusBadRequest, "Date must be in ISO-8601 'basic format' and match the credential scope.")
	}
	if d := time.Since(t); d > maxSkew || d < -maxSkew {
		return fail("InvalidSignatureException", "SignatureDoesNotMatch", http.StatusForbidden, "Signature expired: "+amzDate+" is now earlier than the allowed skew.")
	}
	headers := strings.Split(signed, ";")
	if !slices.Contains(headers, "host") || !slices.Contains(headers, "x-amz-date") {
		return fail("IncompleteSignatureException", "IncompleteSignature", http.StatusBadRequest, "'Host' and 'X-Amz-Date' must be signed.")
	}

	canonical := strings.Join([]string{
		hr.Method,
		canonicalURI(hr.URL),
		canonicalQuery(hr.URL.Query()),
		canonicalHeaders(hr, headers),
		signed,
		hexSHA256(req.body),
	}, "\n")
	credScope := strings.Join(scope[1:], "/")
	toSign := strings.Join([]string{sigV4Algorithm, amzDate, credScope, hexSHA256([]byte(canonical))}, "\n")
	k := hmacSHA256([]byte("AWS4"+key.secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(k, toSign))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return fail("InvalidSignatureException", "SignatureDoesNotMatch", http.StatusForbidden,
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return key.principal, nil
}

// canonicalURI is the request's path as AWS normalizes it, for every
// service but S3, before it checks a signature: redundant slashes go, so
// a request Vault replays to "ENDPOINT//" is checked as signed for "/".
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	if p == "" {
		return "/"
	}
	return p
}

func canonicalQuery(q url.Values) string {
	var parts []string
	for k, vs := range q {
		for _, v := range vs {
			parts = append(parts, uriEncode(k)+"="+uriEncode(v))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "&")
}

func uriEncode(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"), "%7E", "~")
}

// canonicalHeaders renders the signed headers as the signer saw them: the
// Go server moves Host and Content-Length out of the header map.
func canonicalHeaders(hr *http.Request, names []string) string {
	var b strings.Builder
	for _, name := range names {
		var values []string
		switch name {
		case "host":
			values = []string{hr.Host}
		case "content-length":
			values = hr.Header.Values("Content-Length")
			if len(values) == 0 {
				values = []string{strconv.FormatInt(hr.ContentLength, 10)}
			}
		default:
			values = append([]string(nil), hr.Header.Values(name)...)
		}
		for i, v := range values {
			values[i] = strings.Join(strings.Fields(v), " ")
		}
		b.WriteString(name + ":" + strings.Join(values, ",") + "\n")
	}
	return b.String()
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
