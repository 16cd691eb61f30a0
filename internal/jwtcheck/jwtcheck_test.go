package jwtcheck

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"testing"
)

func sign(t *testing.T, key *rsa.PrivateKey, alg, claims string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	signed := enc([]byte(`{"alg":"`+alg+`","kid":"k1"}`)) + "." + enc([]byte(claims))
	digest := sha256.Sum256([]byte(signed))
	var sig []byte
	var err error
	if alg == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], nil)
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + enc(sig)
}

func TestParseAndVerify(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		token      string
		wantAud    []string
		verifyWith crypto.PublicKey
		verified   bool
	}{
		"RS256 with one audience":   {sign(t, key, "RS256", `{"iss":"i","sub":"s","aud":"a","exp":1}`), []string{"a"}, &key.PublicKey, true},
		"PS256 with audiences":      {sign(t, key, "PS256", `{"iss":"i","aud":["a","b"]}`), []string{"a", "b"}, &key.PublicKey, true},
		"signed by another key":     {sign(t, other, "RS256", `{"aud":"a"}`), []string{"a"}, &key.PublicKey, false},
		"an algorithm not accepted": {sign(t, key, "RS512", `{"aud":"a"}`), []string{"a"}, &key.PublicKey, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tok, err := Parse(tc.token)
			if err != nil {
				t.Fatal(err)
			}
			if len(tok.Claims.Audience) != len(tc.wantAud) || tok.Claims.Audience[0] != tc.wantAud[0] || tok.KeyID != "k1" {
				t.Errorf("claims %+v, kid %q", tok.Claims, tok.KeyID)
			}
			if got := tok.Verify(tc.verifyWith); got != tc.verified {
				t.Errorf("Verify = %v; want %v", got, tc.verified)
			}
		})
	}
	for _, bad := range []string{"", "a.b", "a.b.c", "e30.e30.***"} {
		if _, err := Parse(bad); err != ErrMalformed {
			t.Errorf("Parse(%q): %v; want ErrMalformed", bad, err)
		}
	}
}

func TestParsePublicKeyPEM(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePublicKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil || !key.PublicKey.Equal(got) {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := ParsePublicKeyPEM([]byte("not pem")); err == nil {
		t.Error("no PEM block: want an error")
	}
}
