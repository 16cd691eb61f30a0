package template_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// testPKI is a root CA, an intermediate CA and a leaf certificate with
// their keys, and the same material in the encodings templates see.
type testPKI struct {
	rootKey, interKey, leafKey *ecdsa.PrivateKey
	root, inter, leaf          *x509.Certificate
	rsaKey                     *rsa.PrivateKey
	edKey                      ed25519.PrivateKey

	rootPEM, interPEM, leafPEM string
	leafKeyPKCS8               string // "PRIVATE KEY"
	leafKeySEC1                string // "EC PRIVATE KEY"
	rsaKeyPKCS1                string // "RSA PRIVATE KEY"

	p12     string // leaf, its key and both CAs, no password
	p12Pass string // the same with password p12Password
}

const p12Password = "hunter2"

var (
	pkiOnce sync.Once
	pki     *testPKI
)

// newPKI makes the test PKI once per test binary: key generation is slow.
func newPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() { pki = makePKI(t) })
	if pki == nil {
		t.Fatal("test PKI could not be made")
	}
	return pki
}

func makePKI(t testing.TB) *testPKI {
	p := &testPKI{}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	ecKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		return k
	}
	p.rootKey, p.interKey, p.leafKey = ecKey(), ecKey(), ecKey()
	var err error
	p.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	_, p.edKey, err = ed25519.GenerateKey(rand.Reader)
	must(err)

	now := time.Now()
	sign := func(tpl, parent *x509.Certificate, pub, priv any) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tpl, parent, pub, priv)
		must(err)
		c, err := x509.ParseCertificate(der)
		must(err)
		return c
	}
	rootTpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	p.root = sign(rootTpl, rootTpl, &p.rootKey.PublicKey, p.rootKey)
	interTpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "intermediate"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	p.inter = sign(interTpl, p.root, &p.interKey.PublicKey, p.rootKey)
	spiffe, _ := url.Parse("spiffe://example.org/web")
	leafTpl := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		SubjectKeyId:   []byte{1, 2, 3, 4},
		DNSNames:       []string{"example.com", "www.example.com"},
		IPAddresses:    []net.IP{net.ParseIP("10.0.0.1")},
		EmailAddresses: []string{"admin@example.com"},
		URIs:           []*url.URL{spiffe},
	}
	p.leaf = sign(leafTpl, p.inter, &p.leafKey.PublicKey, p.interKey)

	p.rootPEM, p.interPEM, p.leafPEM = certPEM(p.root), certPEM(p.inter), certPEM(p.leaf)
	der, err := x509.MarshalPKCS8PrivateKey(p.leafKey)
	must(err)
	p.leafKeyPKCS8 = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	der, err = x509.MarshalECPrivateKey(p.leafKey)
	must(err)
	p.leafKeySEC1 = string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	p.rsaKeyPKCS1 = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(p.rsaKey)}))

	// The CAs go in root first, so that pkcs12cert has to order them.
	pfx, err := pkcs12.Modern.Encode(p.leafKey, p.leaf, []*x509.Certificate{p.root, p.inter}, "")
	must(err)
	p.p12 = string(pfx)
	pfx, err = pkcs12.Modern.Encode(p.leafKey, p.leaf, []*x509.Certificate{p.root, p.inter}, p12Password)
	must(err)
	p.p12Pass = string(pfx)
	return p
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func publicPEM(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func privatePEM(t testing.TB, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func jwk(t testing.TB, key any) string {
	t.Helper()
	b, err := (&jose.JSONWebKey{Key: key}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
