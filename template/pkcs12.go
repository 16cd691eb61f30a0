package template

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// The PKCS#12 functions read a bundle as raw bytes, so a template decodes
// a base64 one first: {{ .keystore | b64dec | pkcs12key }}. Those that
// write one return it base64-encoded.

func pkcs12key(input string) (string, error) { return pkcs12keyPass("", input) }

// pkcs12keyPass returns the private key of a PKCS#12 bundle as a PKCS#8
// "PRIVATE KEY" PEM block.
func pkcs12keyPass(pass, input string) (string, error) {
	key, _, _, err := pkcs12.DecodeChain([]byte(input), pass)
	if err != nil {
		return "", decodeError(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	return pemEncode(pemPrivateKey, der), nil
}

func pkcs12cert(input string) (string, error) { return pkcs12certPass("", input) }

// pkcs12certPass returns the certificate of a PKCS#12 bundle and its CA
// certificates as PEM, ordered from leaf to root when they form one
// chain, else leaf first and the CAs in bundle order.
func pkcs12certPass(pass, input string) (string, error) {
	_, cert, cas, err := pkcs12.DecodeChain([]byte(input), pass)
	if err != nil {
		return "", decodeError(err)
	}
	certs := append([]*x509.Certificate{cert}, cas...)
	if chain, err := orderChain(certs); err == nil {
		certs = chain
	}
	var out strings.Builder
	for _, c := range certs {
		out.WriteString(pemEncode(pemCertificate, c.Raw))
	}
	return out.String(), nil
}

// decodeError says why a bundle did not decode, without go-pkcs12's
// dump of ASN.1 parser state.
func decodeError(err error) error {
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return errors.New("decode PKCS#12: wrong password")
	case strings.HasPrefix(err.Error(), "pkcs12: error reading P12 data"):
		return errors.New("decode PKCS#12: input is not a PKCS#12 bundle; decode base64 first with b64dec")
	}
	return fmt.Errorf("decode PKCS#12: %w", err)
}

func pemToPkcs12(cert, key string) (string, error) { return pemToPkcs12Pass(cert, key, "") }

// pemToPkcs12Pass bundles the first certificate of cert and the first
// private key of key.
func pemToPkcs12Pass(cert, key, pass string) (string, error) {
	certs, err := certificates(cert)
	if err != nil {
		return "", err
	}
	if len(certs) == 0 {
		return "", errNoCertificate
	}
	return encodePkcs12(certs[0], nil, key, pass)
}

func fullPemToPkcs12(cert, key string) (string, error) { return fullPemToPkcs12Pass(cert, key, "") }

// fullPemToPkcs12Pass bundles the first certificate of cert, the others
// as its CA certificates, and the first private key of key.
func fullPemToPkcs12Pass(cert, key, pass string) (string, error) {
	certs, err := certificates(cert)
	if err != nil {
		return "", err
	}
	if len(certs) == 0 {
		return "", errNoCertificate
	}
	return encodePkcs12(certs[0], certs[1:], key, pass)
}

func encodePkcs12(cert *x509.Certificate, cas []*x509.Certificate, key, pass string) (string, error) {
	k, err := privateKey(key)
	if err != nil {
		return "", err
	}
	pfx, err := pkcs12.Modern.Encode(k, cert, cas, pass)
	if err != nil {
		return "", fmt.Errorf("encode PKCS#12: %w", err)
	}
	return base64.StdEncoding.EncodeToString(pfx), nil
}

func pemTruststoreToPKCS12(cert string) (string, error) { return pemTruststoreToPKCS12Pass(cert, "") }

// pemTruststoreToPKCS12Pass bundles every certificate of cert as a trust
// store, with no key.
func pemTruststoreToPKCS12Pass(cert, pass string) (string, error) {
	certs, err := certificates(cert)
	if err != nil {
		return "", err
	}
	if len(certs) == 0 {
		return "", errNoCertificate
	}
	pfx, err := pkcs12.Modern.EncodeTrustStore(certs, pass)
	if err != nil {
		return "", fmt.Errorf("encode PKCS#12: %w", err)
	}
	return base64.StdEncoding.EncodeToString(pfx), nil
}
