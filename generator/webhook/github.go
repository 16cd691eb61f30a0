package webhook

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/provider"
)

const (
	// DefaultGitHubURL is the GitHub API a GithubAccessToken calls when
	// its spec.url is unset.
	DefaultGitHubURL = "https://api.github.com"
	// gitHubTokenLifetime is how long GitHub's installation tokens live,
	// for a response without expires_at.
	gitHubTokenLifetime = time.Hour
	// GitHub refuses App JWTs that expire more than ten minutes ahead; a
	// minute back and nine ahead leave room for clock drift both ways.
	jwtBackdate = time.Minute
	jwtLifetime = 9 * time.Minute
	// maxGitHubMessage bounds how much of GitHub's error message is quoted.
	maxGitHubMessage = 200
)

// GitHub returns the generator of the GithubAccessToken kind; see the
// package documentation for what it sends. Its Result has the token's TTL
// and no State.
func GitHub(opts ...Option) generator.Generator {
	return &gitHubGenerator{opts: newOptions(opts)}
}

type gitHubGenerator struct{ opts options }

func (*gitHubGenerator) Kind() string { return generators.KindGithubAccessToken }

func (g *gitHubGenerator) Generate(ctx context.Context, obj runtime.Object, creds provider.Credentials, namespace string) (generator.Result, error) {
	gt, ok := obj.(*generators.GithubAccessToken)
	if !ok || gt == nil {
		return generator.Result{}, fmt.Errorf("the %s generator takes a *generators.GithubAccessToken, not %T", generators.KindGithubAccessToken, obj)
	}
	res, err := g.generate(ctx, &gt.Spec, creds, namespace, gt.Name)
	if err != nil {
		return generator.Result{}, fmt.Errorf("%s: %w", describe(generators.KindGithubAccessToken, gt.Namespace, gt.Name), err)
	}
	return res, nil
}

func (g *gitHubGenerator) generate(ctx context.Context, spec *generators.GithubAccessTokenSpec, creds provider.Credentials, namespace, name string) (generator.Result, error) {
	switch {
	case spec.AppID == "":
		return generator.Result{}, errors.New("spec.appID is required")
	case spec.InstallID == "":
		return generator.Result{}, errors.New("spec.installID is required")
	case namespace == "":
		return generator.Result{}, errors.New("no namespace to read spec.auth.privateKey.secretRef in")
	}
	base := DefaultGitHubURL
	if spec.URL != "" {
		base = strings.TrimSuffix(spec.URL, "/")
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return generator.Result{}, fmt.Errorf("spec.url %q is not an http or https URL with a host", spec.URL)
	}
	endpoint := base + "/app/installations/" + url.PathEscape(spec.InstallID) + "/access_tokens"

	sel := spec.Auth.PrivateKey.SecretRef
	pemKey, err := provider.SecretKey(ctx, creds, scope(namespace, name), sel)
	if err != nil {
		return generator.Result{}, fmt.Errorf("spec.auth.privateKey.secretRef: %w", err)
	}
	key, err := parseRSAPrivateKey(pemKey)
	if err != nil {
		return generator.Result{}, fmt.Errorf("spec.auth.privateKey.secretRef: key %q of Secret %s: %w", sel.Key, sel.Name, err)
	}
	jwt, err := appJWT(key, spec.AppID, g.opts.now())
	if err != nil {
		return generator.Result{}, err
	}

	payload := map[string]any{}
	if len(spec.Repositories) > 0 {
		payload["repositories"] = spec.Repositories
	}
	if len(spec.Permissions) > 0 {
		payload["permissions"] = spec.Permissions
	}
	var body io.Reader = http.NoBody
	if len(payload) > 0 {
		b, err := json.Marshal(payload)
		if err != nil {
			return generator.Result{}, fmt.Errorf("encode the request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, body)
	if err != nil {
		return generator.Result{}, fmt.Errorf("spec.url %q and spec.installID %q do not make a valid URL", spec.URL, spec.InstallID)
	}
	req.Header.Set("Authorization", "Bearer "+jwt)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "secretsync")
	if len(payload) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	client, done, err := newClient(g.opts.client, nil)
	if err != nil {
		return generator.Result{}, err
	}
	defer done()
	resp, err := call(client, req)
	if err != nil {
		return generator.Result{}, withGitHubMessage(err)
	}

	var out struct {
		Token     string `json:"token"`
		ExpiresAt string `json:"expires_at"`
	}
	if json.Unmarshal(resp, &out) != nil {
		return generator.Result{}, errors.New("the response is not a JSON object")
	}
	if out.Token == "" {
		return generator.Result{}, errors.New("the response has no token")
	}
	values := map[string][]byte{"token": []byte(out.Token)}
	now := g.opts.now()
	ttl := gitHubTokenLifetime
	if out.ExpiresAt != "" {
		exp, err := time.Parse(time.RFC3339, out.ExpiresAt)
		if err != nil {
			return generator.Result{}, fmt.Errorf("the response's expires_at %q is not an RFC 3339 time", out.ExpiresAt)
		}
		if ttl = exp.Sub(now); ttl <= 0 {
			return generator.Result{}, fmt.Errorf("the token expired at %s, before it arrived; is the clock right?", out.ExpiresAt)
		}
		values["expires_at"] = []byte(out.ExpiresAt)
	}
	return generator.Result{Values: values, TTL: ttl}, nil
}

// withGitHubMessage adds the message of GitHub's JSON error body to a
// *statusError, such as "A JSON web token could not be decoded": it
// says what is wrong and holds no secret. Other errors are returned as
// they are.
func withGitHubMessage(err error) error {
	var se *statusError
	if !errors.As(err, &se) {
		return err
	}
	var body struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(se.body, &body) != nil || body.Message == "" {
		return err
	}
	msg := body.Message
	if utf8.RuneCountInString(msg) > maxGitHubMessage {
		msg = string([]rune(msg)[:maxGitHubMessage]) + "..."
	}
	return fmt.Errorf("%w: %q", err, msg)
}

// parseRSAPrivateKey reads a PEM RSA private key, PKCS #1 as GitHub
// issues them or PKCS #8. Its errors never quote the key.
func parseRSAPrivateKey(pemKey []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemKey)
	if block == nil {
		return nil, errors.New("holds no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("holds no PKCS #1 or PKCS #8 private key")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("holds a %T private key; GitHub Apps use RSA", k)
	}
	return rk, nil
}

// appJWT returns the JWT that authenticates as the GitHub App appID, signed
// RS256 by key.
func appJWT(key *rsa.PrivateKey, appID string, now time.Time) (string, error) {
	claims, err := json.Marshal(struct {
		IssuedAt  int64  `json:"iat"`
		ExpiresAt int64  `json:"exp"`
		Issuer    string `json:"iss"`
	}{now.Add(-jwtBackdate).Unix(), now.Add(jwtLifetime).Unix(), appID})
	if err != nil {
		return "", fmt.Errorf("encode the JWT claims: %w", err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	signed := enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(claims)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("sign the JWT: %w", err)
	}
	return signed + "." + enc(sig), nil
}
