package template

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
)

const (
	pemCertificate = "CERTIFICATE"
	pemPrivateKey  = "PRIVATE KEY"
	pemPublicKey   = "PUBLIC KEY"
)

// Errors of the PEM functions. None quotes its input, which is secret.
var (
	errNoPEM         = errors.New("input holds no PEM block")
	errJunk          = errors.New("input holds data that is not PEM")
	errNoCertificate = errors.New("input holds no certificate")
	errNoKey         = errors.New("input holds no private key")
	errDisjunctChain = errors.New("certificates form more than one chain")
	errNoLeaf        = errors.New("certificates have no leaf")
	errChainCycle    = errors.New("certificates sign each other in a cycle")
)

// pemBlocks decodes every PEM block in input. Text between blocks is
// skipped; junk reports whether any of it was more than white space.
func pemBlocks(input string) (blocks []*pem.Block, junk bool) {
	rest := []byte(input)
	for {
		at := bytes.Index(rest, []byte("-----BEGIN"))
		if at < 0 {
			junk = junk || len(bytes.TrimSpace(rest)) > 0
			return blocks, junk
		}
		junk = junk || len(bytes.TrimSpace(rest[:at])) > 0
		block, after := pem.Decode(rest[at:])
		if block == nil {
			junk = true
			rest = rest[at+len("-----BEGIN"):]
			continue
		}
		blocks = append(blocks, block)
		rest = after
	}
}

func pemEncode(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// certificates parses the CERTIFICATE blocks of input; other blocks are
// skipped.
func certificates(input string) ([]*x509.Certificate, error) {
	blocks, _ := pemBlocks(input)
	var certs []*x509.Certificate
	for _, b := range blocks {
		if b.Type != pemCertificate {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// filterPEM returns the blocks of input of type pemType, compared without
// case, encoded again. Input holding no such block gives "", unless it
// also holds something that is not PEM, which is an error.
func filterPEM(pemType, input string) (string, error) {
	blocks, junk := pemBlocks(input)
	var out strings.Builder
	for _, b := range blocks {
		if strings.EqualFold(b.Type, pemType) {
			out.Write(pem.EncodeToMemory(b))
		}
	}
	if out.Len() == 0 && junk {
		return "", errJunk
	}
	return out.String(), nil
}

// filterCertChain orders the certificates of input from leaf to root and
// returns those of certType: "leaf", "intermediate" or "root". Any other
// certType, or a chain without that part, gives "".
func filterCertChain(certType, input string) (string, error) {
	certs, err := certificates(input)
	if err != nil {
		return "", err
	}
	chain, err := orderChain(certs)
	if err != nil {
		return "", err
	}
	switch certType {
	case "leaf":
		if leaf := chain[0]; !isRoot(leaf) {
			return pemEncode(pemCertificate, leaf.Raw), nil
		}
	case "intermediate":
		var out strings.Builder
		for _, c := range chain[1:] {
			if isRoot(c) {
				break
			}
			out.WriteString(pemEncode(pemCertificate, c.Raw))
		}
		return out.String(), nil
	case "root":
		if root := chain[len(chain)-1]; isRoot(root) {
			return pemEncode(pemCertificate, root.Raw), nil
		}
	}
	return "", nil
}

// isRoot is the operator's test for a root: it names no authority key, or
// names its own.
func isRoot(c *x509.Certificate) bool {
	return c.AuthorityKeyId == nil || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId)
}

// orderChain orders certs from leaf to root by matching each one's
// authority key ID to another's subject key ID, as the operator does. It
// checks no signature: the order is for presentation, not trust.
func orderChain(certs []*x509.Certificate) ([]*x509.Certificate, error) {
	if len(certs) == 0 {
		return nil, errNoCertificate
	}
	parent := make([]int, len(certs))
	isParent := make([]bool, len(certs))
	for i, c := range certs {
		parent[i] = -1
		for j, p := range certs {
			if i != j && bytes.Equal(c.AuthorityKeyId, p.SubjectKeyId) {
				parent[i] = j
				isParent[j] = true
				break
			}
		}
	}
	leaf := -1
	for i := range certs {
		if isParent[i] {
			continue
		}
		if leaf >= 0 {
			return nil, errDisjunctChain
		}
		leaf = i
	}
	if leaf < 0 {
		return nil, errNoLeaf
	}
	var chain []*x509.Certificate
	for i := leaf; i >= 0; i = parent[i] {
		if len(chain) == len(certs) {
			return nil, errChainCycle
		}
		chain = append(chain, certs[i])
	}
	return chain, nil
}

// certSANs returns the subject alternative names of the first certificate
// in input: DNS names, then IP addresses, email addresses and URIs.
func certSANs(input string) ([]string, error) {
	certs, err := certificates(input)
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, errNoCertificate
	}
	c := certs[0]
	sans := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		sans = append(sans, ip.String())
	}
	sans = append(sans, c.EmailAddresses...)
	for _, u := range c.URIs {
		sans = append(sans, u.String())
	}
	return sans, nil
}
