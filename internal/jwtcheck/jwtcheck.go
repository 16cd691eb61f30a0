// Package jwtcheck parses compact JWTs and checks their signatures, for
// the emulators that trust ServiceAccount tokens (and client assertions) by
// their issuer's public key, as AWS STS, Google STS and Entra ID do. Each
// emulator words its own errors; this package only parses and verifies.
package jwtcheck

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Audience is a JWT "aud" claim, which may be one string or a list.
type Audience []string

func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// Claims are the registered claims the emulators check.
type Claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  Audience `json:"aud"`
	Scope     string   `json:"scope"`
	Expiry    *int64   `json:"exp"`
	NotBefore *int64   `json:"nbf"`
}

// Token is a parsed, not yet verified, compact JWT.
type Token struct {
	Alg    string
	KeyID  string
	Claims Claims
	signed []byte
	sig    []byte
}

// ErrMalformed is returned by Parse for anything that is not a compact JWT
// with JSON header and claims.
var ErrMalformed = errors.New("not a JWT")

// Parse decodes token without verifying it.
func Parse(token string) (*Token, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrMalformed
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	t := &Token{}
	if decodeSegment(parts[0], &header) != nil || decodeSegment(parts[1], &t.Claims) != nil {
		return nil, ErrMalformed
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, ErrMalformed
	}
	t.Alg, t.KeyID, t.signed, t.sig = header.Alg, header.Kid, []byte(parts[0]+"."+parts[1]), sig
	return t, nil
}

// Verify reports whether t is signed by key, with RS256 or PS256.
func (t *Token) Verify(key crypto.PublicKey) bool {
	rsaKey, ok := key.(*rsa.PublicKey)
	if !ok {
		return false
	}
	digest := sha256.Sum256(t.signed)
	switch t.Alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(rsaKey, crypto.SHA256, digest[:], t.sig) == nil
	case "PS256":
		return rsa.VerifyPSS(rsaKey, crypto.SHA256, digest[:], t.sig, nil) == nil
	}
	return false
}

// ParsePublicKeyPEM reads a PKIX public key, such as the apiserver's
// ServiceAccount signing key.
func ParsePublicKeyPEM(pemKey []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(pemKey)
	if block == nil {
		return nil, errors.New("no PEM block in key")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	return key, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
