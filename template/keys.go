package template

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// privateKey parses the first private key block of input: PKCS#1, PKCS#8
// or SEC 1. Blocks before it, such as EC PARAMETERS, are skipped.
func privateKey(input string) (crypto.PrivateKey, error) {
	blocks, _ := pemBlocks(input)
	for _, b := range blocks {
		if !strings.HasSuffix(b.Type, pemPrivateKey) {
			continue
		}
		if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
			return k, nil
		}
		if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
			return k, nil
		}
		if k, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
			return k, nil
		}
		return nil, errors.New("private key is not PKCS#1, PKCS#8 or SEC 1")
	}
	return nil, errNoKey
}

func parseJWK(input string) (*jose.JSONWebKey, error) {
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON([]byte(input)); err != nil {
		// go-jose's messages name fields and types, not their values.
		return nil, fmt.Errorf("parse JWK: %w", err)
	}
	return &k, nil
}

// jwkPublicKeyPem returns the public key of a JSON Web Key as a PKIX
// "PUBLIC KEY" PEM block. A private JWK gives its public half.
func jwkPublicKeyPem(input string) (string, error) {
	k, err := parseJWK(input)
	if err != nil {
		return "", err
	}
	pub := k.Public()
	if !pub.Valid() {
		return "", errors.New("JWK has no public key")
	}
	der, err := x509.MarshalPKIXPublicKey(pub.Key)
	if err != nil {
		return "", err
	}
	return pemEncode(pemPublicKey, der), nil
}

// jwkPrivateKeyPem returns the private key of a JSON Web Key as a PKCS#8
// "PRIVATE KEY" PEM block.
func jwkPrivateKeyPem(input string) (string, error) {
	k, err := parseJWK(input)
	if err != nil {
		return "", err
	}
	if k.IsPublic() {
		return "", errors.New("JWK has no private key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Key)
	if err != nil {
		return "", err
	}
	return pemEncode(pemPrivateKey, der), nil
}

// rsaDecrypt decrypts in with the RSA private key in privateKey. scheme
// "None" returns in as it is; "RSA-OAEP" decrypts with hash "SHA1",
// "SHA256" or "SHA512", any other hash meaning SHA256, as in the operator.
func rsaDecrypt(scheme, hashName, in, privateKeyPEM string) (string, error) {
	switch scheme {
	case "None":
		return in, nil
	case "RSA-OAEP":
	default:
		return "", fmt.Errorf("decryption scheme %q is not supported: use None or RSA-OAEP", scheme)
	}
	k, err := privateKey(privateKeyPEM)
	if err != nil {
		return "", err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return "", errors.New("private key is not an RSA key")
	}
	var h hash.Hash
	switch hashName {
	case "SHA1":
		h = sha1.New()
	case "SHA512":
		h = sha512.New()
	default:
		h = sha256.New()
	}
	out, err := rsa.DecryptOAEP(h, nil, rk, []byte(in), nil)
	if err != nil {
		return "", fmt.Errorf("decrypt: %w", err)
	}
	return string(out), nil
}
