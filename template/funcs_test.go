package template_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/template"
)

// renderOne renders tpl as the only key of a template over data.
func renderOne(tpl string, data map[string]string) (string, error) {
	in := template.Input{
		Template: &externalsecret.Template{Data: map[string]string{"out": tpl}},
		Data:     map[string][]byte{},
	}
	for k, v := range data {
		in.Data[k] = []byte(v)
	}
	out, err := template.Render(in)
	return string(out.Data["out"]), err
}

type funcTest struct {
	tpl  string
	data map[string]string
	// want is the output, unless check is set, which is then given it.
	want    string
	check   func(t *testing.T, out string)
	wantErr string
}

func runFuncTests(t *testing.T, tests map[string]funcTest) {
	t.Helper()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := renderOne(tc.tpl, tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.check != nil {
				tc.check(t, got)
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSprigFuncs(t *testing.T) {
	runFuncTests(t, map[string]funcTest{
		"upper":           {tpl: `{{ .a | upper }}`, data: map[string]string{"a": "abc"}, want: "ABC"},
		"b64enc":          {tpl: `{{ .a | b64enc }}`, data: map[string]string{"a": "abc"}, want: "YWJj"},
		"b64dec":          {tpl: `{{ .a | b64dec }}`, data: map[string]string{"a": "YWJj"}, want: "abc"},
		"sha256sum":       {tpl: `{{ "abc" | sha256sum }}`, want: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		"default":         {tpl: `{{ "" | default "x" }}`, want: "x"},
		"trim and quote":  {tpl: `{{ .a | trim | quote }}`, data: map[string]string{"a": "  abc \n"}, want: `"abc"`},
		"list and join":   {tpl: `{{ list "a" "b" "c" | join "," }}`, want: "a,b,c"},
		"dict and toJson": {tpl: `{{ dict "user" .u "port" 5432 | toJson }}`, data: map[string]string{"u": "admin"}, want: `{"port":5432,"user":"admin"}`},
		"fromJson":        {tpl: `{{ (.j | fromJson).user }}`, data: map[string]string{"j": `{"user":"admin"}`}, want: "admin"},
		"regexReplaceAll": {tpl: `{{ regexReplaceAll "(a+)" .a "<$1>" }}`, data: map[string]string{"a": "baaac"}, want: "b<aaa>c"},
		"replace":         {tpl: `{{ .a | replace "-" "_" }}`, data: map[string]string{"a": "a-b-c"}, want: "a_b_c"},
		"repeat":          {tpl: `{{ repeat 3 "ab" }}`, want: "ababab"},
		"indent":          {tpl: `{{ indent 2 "a\nb" }}`, want: "  a\n  b"},
		"nindent":         {tpl: `{{ nindent 2 "a" }}`, want: "\n  a"},
		"wrapWith":        {tpl: `{{ wrapWith 3 "|" "abcdef" }}`, want: "abc|def"},
		"until":           {tpl: `{{ until 3 }}`, want: "[0 1 2]"},
		"untilStep":       {tpl: `{{ untilStep 10 0 -4 }}`, want: "[10 6 2]"},
		"seq":             {tpl: `{{ seq 3 -1 }}`, want: "3 2 1 0 -1"},
		"chunk":           {tpl: `{{ chunk 2 (list 1 2 3) }}`, want: "[[1 2] [3]]"},
		"printf":          {tpl: `{{ printf "%s:%05d" .a 42 }}`, data: map[string]string{"a": "x"}, want: "x:00042"},
		"print":           {tpl: `{{ print "a" 1 2 }}`, want: "a1 2"},
		"html":            {tpl: `{{ html "<a>" }}`, want: "&lt;a&gt;"},
		"set and get":     {tpl: `{{ $d := dict }}{{ $_ := set $d "k" "v" }}{{ get $d "k" }}`, want: "v"},
		"sortAlpha":       {tpl: `{{ list "b" "a" | sortAlpha }}`, want: "[a b]"},
		"semverCompare":   {tpl: `{{ semverCompare ">=1.2" "1.3.0" }}`, want: "true"},
		"missing key":     {tpl: `{{ .nope }}`, wantErr: `map has no entry for key "nope"`},
		"fail":            {tpl: `{{ fail "boom" }}`, wantErr: "boom"},
		"env is removed":  {tpl: `{{ env "HOME" }}`, wantErr: `function "env" not defined`},
		"expandenv is removed": {
			tpl: `{{ expandenv "$HOME" }}`, wantErr: `function "expandenv" not defined`,
		},
		"getHostByName is removed": {
			tpl: `{{ getHostByName "localhost" }}`, wantErr: `function "getHostByName" not defined`,
		},
	})
}

func TestYAMLFuncs(t *testing.T) {
	runFuncTests(t, map[string]funcTest{
		"toYaml":          {tpl: `{{ dict "b" "x" "a" (list 1 2) | toYaml }}`, want: "a:\n- 1\n- 2\nb: x"},
		"fromYaml":        {tpl: `{{ (fromYaml .y).b.c }}`, data: map[string]string{"y": "a: 1\nb:\n  c: deep\n"}, want: "deep"},
		"fromYaml number": {tpl: `{{ (fromYaml .y).a }}`, data: map[string]string{"y": "a: 1"}, want: "1"},
		"fromYaml invalid data fills Error": {
			tpl: `{{ if (fromYaml .y).Error }}bad{{ end }}`, data: map[string]string{"y": "a: [1"}, want: "bad",
		},
		"round trip": {tpl: `{{ (.y | fromYaml | toYaml | fromYaml).k }}`, data: map[string]string{"y": "k: v"}, want: "v"},
	})
}

func TestPEMFuncs(t *testing.T) {
	p := newPKI(t)
	chain := p.rootPEM + p.leafPEM + p.interPEM // out of order on purpose
	runFuncTests(t, map[string]funcTest{
		"filterPEM certificate": {
			tpl: `{{ filterPEM "CERTIFICATE" .b }}`, data: map[string]string{"b": "some text\n" + p.leafKeyPKCS8 + p.leafPEM + "trailer\n"},
			want: p.leafPEM,
		},
		"filterPEM key ignores case": {
			tpl: `{{ filterPEM "private key" .b }}`, data: map[string]string{"b": p.leafPEM + p.leafKeyPKCS8}, want: p.leafKeyPKCS8,
		},
		"filterPEM junk before a block on its line": {
			tpl: `{{ filterPEM "CERTIFICATE" .b }}`, data: map[string]string{"b": "junk" + p.leafPEM}, want: p.leafPEM,
		},
		"filterPEM none found": {tpl: `{{ filterPEM "CERTIFICATE" .b }}`, data: map[string]string{"b": p.leafKeyPKCS8}, want: ""},
		"filterPEM only junk":  {tpl: `{{ filterPEM "CERTIFICATE" .b }}`, data: map[string]string{"b": "not pem"}, wantErr: "not PEM"},
		"filterCertChain leaf": {tpl: `{{ filterCertChain "leaf" .b }}`, data: map[string]string{"b": chain}, want: p.leafPEM},
		"filterCertChain intermediate": {
			tpl: `{{ filterCertChain "intermediate" .b }}`, data: map[string]string{"b": chain}, want: p.interPEM,
		},
		"filterCertChain root": {tpl: `{{ filterCertChain "root" .b }}`, data: map[string]string{"b": chain}, want: p.rootPEM},
		"filterCertChain root alone is no leaf": {
			tpl: `{{ filterCertChain "leaf" .b }}`, data: map[string]string{"b": p.rootPEM}, want: "",
		},
		"filterCertChain without a root": {
			tpl: `{{ filterCertChain "root" .b }}`, data: map[string]string{"b": p.leafPEM + p.interPEM}, want: "",
		},
		"filterCertChain two leaves": {
			tpl: `{{ filterCertChain "leaf" .b }}`, data: map[string]string{"b": p.leafPEM + p.rootPEM}, wantErr: "more than one chain",
		},
		"filterCertChain no certificate": {
			tpl: `{{ filterCertChain "leaf" .b }}`, data: map[string]string{"b": p.leafKeyPKCS8}, wantErr: "no certificate",
		},
		"certSANs": {
			tpl: `{{ .c | certSANs | join "," }}`, data: map[string]string{"c": p.leafPEM},
			want: "example.com,www.example.com,10.0.0.1,admin@example.com,spiffe://example.org/web",
		},
		"certSANs of no certificate": {tpl: `{{ certSANs .c }}`, data: map[string]string{"c": "x"}, wantErr: "no certificate"},
	})
}

func TestPKCS12Funcs(t *testing.T) {
	p := newPKI(t)
	b64 := base64.StdEncoding.EncodeToString
	ordered := p.leafPEM + p.interPEM + p.rootPEM
	decodes := func(pass string, wantCAs int) func(t *testing.T, out string) {
		return func(t *testing.T, out string) {
			pfx, err := base64.StdEncoding.DecodeString(out)
			if err != nil {
				t.Fatalf("output is not base64: %v", err)
			}
			key, cert, cas, err := pkcs12.DecodeChain(pfx, pass)
			if err != nil {
				t.Fatalf("output does not decode: %v", err)
			}
			if !cert.Equal(p.leaf) {
				t.Error("bundle holds another certificate")
			}
			if diff := cmp.Diff(privatePEM(t, p.leafKey), privatePEM(t, key)); diff != "" {
				t.Errorf("bundle key (-want +got):\n%s", diff)
			}
			if len(cas) != wantCAs {
				t.Errorf("bundle holds %d CA certificates, want %d", len(cas), wantCAs)
			}
		}
	}
	runFuncTests(t, map[string]funcTest{
		"pkcs12key":      {tpl: `{{ .p | b64dec | pkcs12key }}`, data: map[string]string{"p": b64([]byte(p.p12))}, want: p.leafKeyPKCS8},
		"pkcs12keyPass":  {tpl: `{{ .p | pkcs12keyPass "hunter2" }}`, data: map[string]string{"p": p.p12Pass}, want: p.leafKeyPKCS8},
		"pkcs12cert":     {tpl: `{{ .p | pkcs12cert }}`, data: map[string]string{"p": p.p12}, want: ordered},
		"pkcs12certPass": {tpl: `{{ .p | pkcs12certPass "hunter2" }}`, data: map[string]string{"p": p.p12Pass}, want: ordered},
		"pkcs12key wrong password": {
			tpl: `{{ .p | pkcs12keyPass "nope" }}`, data: map[string]string{"p": p.p12Pass}, wantErr: "decode PKCS#12: wrong password",
		},
		"pkcs12cert of junk": {tpl: `{{ .p | pkcs12cert }}`, data: map[string]string{"p": "junk"}, wantErr: "input is not a PKCS#12 bundle"},
		"pemToPkcs12": {
			tpl: `{{ pemToPkcs12 .c .k }}`, data: map[string]string{"c": p.leafPEM + p.interPEM, "k": p.leafKeyPKCS8},
			check: decodes("", 0),
		},
		"pemToPkcs12 with an SEC 1 key after EC PARAMETERS": {
			tpl:   `{{ pemToPkcs12 .c .k }}`,
			data:  map[string]string{"c": p.leafPEM, "k": "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + p.leafKeySEC1},
			check: decodes("", 0),
		},
		"pemToPkcs12Pass": {
			tpl: `{{ pemToPkcs12Pass .c .k "pw" }}`, data: map[string]string{"c": p.leafPEM, "k": p.leafKeyPKCS8}, check: decodes("pw", 0),
		},
		"fullPemToPkcs12": {
			tpl: `{{ fullPemToPkcs12 .c .k }}`, data: map[string]string{"c": ordered, "k": p.leafKeyPKCS8}, check: decodes("", 2),
		},
		"fullPemToPkcs12Pass": {
			tpl: `{{ fullPemToPkcs12Pass .c .k "pw" }}`, data: map[string]string{"c": ordered, "k": p.leafKeyPKCS8}, check: decodes("pw", 2),
		},
		"pemToPkcs12 without a key": {
			tpl: `{{ pemToPkcs12 .c .c }}`, data: map[string]string{"c": p.leafPEM}, wantErr: "no private key",
		},
		"pemToPkcs12 without a certificate": {
			tpl: `{{ pemToPkcs12 .k .k }}`, data: map[string]string{"k": p.leafKeyPKCS8}, wantErr: "no certificate",
		},
		"pemTruststoreToPKCS12": {
			tpl: `{{ pemTruststoreToPKCS12 .c }}`, data: map[string]string{"c": p.interPEM + p.rootPEM},
			check: func(t *testing.T, out string) {
				pfx, err := base64.StdEncoding.DecodeString(out)
				if err != nil {
					t.Fatal(err)
				}
				certs, err := pkcs12.DecodeTrustStore(pfx, "")
				if err != nil {
					t.Fatal(err)
				}
				if len(certs) != 2 || !certs[0].Equal(p.inter) || !certs[1].Equal(p.root) {
					t.Errorf("trust store holds %d certificates, want the intermediate and the root", len(certs))
				}
			},
		},
	})
}

func TestKeyFuncs(t *testing.T) {
	p := newPKI(t)
	ciphertext, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &p.rsaKey.PublicKey, []byte("plain text"), nil)
	if err != nil {
		t.Fatal(err)
	}
	runFuncTests(t, map[string]funcTest{
		"jwkPublicKeyPem RSA public": {
			tpl: `{{ .j | jwkPublicKeyPem }}`, data: map[string]string{"j": jwk(t, &p.rsaKey.PublicKey)}, want: publicPEM(t, &p.rsaKey.PublicKey),
		},
		"jwkPublicKeyPem RSA private gives the public half": {
			tpl: `{{ .j | jwkPublicKeyPem }}`, data: map[string]string{"j": jwk(t, p.rsaKey)}, want: publicPEM(t, &p.rsaKey.PublicKey),
		},
		"jwkPublicKeyPem EC public": {
			tpl: `{{ .j | jwkPublicKeyPem }}`, data: map[string]string{"j": jwk(t, &p.leafKey.PublicKey)}, want: publicPEM(t, &p.leafKey.PublicKey),
		},
		"jwkPublicKeyPem Ed25519": {
			tpl: `{{ .j | jwkPublicKeyPem }}`, data: map[string]string{"j": jwk(t, p.edKey)}, want: publicPEM(t, p.edKey.Public()),
		},
		"jwkPrivateKeyPem RSA": {
			tpl: `{{ .j | jwkPrivateKeyPem }}`, data: map[string]string{"j": jwk(t, p.rsaKey)}, want: privatePEM(t, p.rsaKey),
		},
		"jwkPrivateKeyPem EC": {
			tpl: `{{ .j | jwkPrivateKeyPem }}`, data: map[string]string{"j": jwk(t, p.leafKey)}, want: privatePEM(t, p.leafKey),
		},
		"jwkPrivateKeyPem of a public key": {
			tpl: `{{ .j | jwkPrivateKeyPem }}`, data: map[string]string{"j": jwk(t, &p.leafKey.PublicKey)}, wantErr: "no private key",
		},
		"jwkPublicKeyPem of a symmetric key": {
			tpl: `{{ .j | jwkPublicKeyPem }}`, data: map[string]string{"j": `{"kty":"oct","k":"c2VjcmV0"}`}, wantErr: "no public key",
		},
		"jwkPublicKeyPem of junk": {tpl: `{{ .j | jwkPublicKeyPem }}`, data: map[string]string{"j": "{"}, wantErr: "parse JWK"},
		"rsaDecrypt": {
			tpl: `{{ rsaDecrypt "RSA-OAEP" "SHA256" .c .k }}`, data: map[string]string{"c": string(ciphertext), "k": p.rsaKeyPKCS1}, want: "plain text",
		},
		"rsaDecrypt None": {tpl: `{{ rsaDecrypt "None" "" "as is" "" }}`, want: "as is"},
		"rsaDecrypt wrong key type": {
			tpl: `{{ rsaDecrypt "RSA-OAEP" "SHA256" .c .k }}`, data: map[string]string{"c": "x", "k": p.leafKeyPKCS8}, wantErr: "not an RSA key",
		},
		"rsaDecrypt unknown scheme": {tpl: `{{ rsaDecrypt "ROT13" "" "x" "" }}`, wantErr: "not supported"},
	})
}

func TestFuncsNames(t *testing.T) {
	funcs := template.Funcs()
	for _, name := range []string{
		"pkcs12key", "pkcs12keyPass", "pkcs12cert", "pkcs12certPass", "pemToPkcs12", "pemToPkcs12Pass",
		"fullPemToPkcs12", "fullPemToPkcs12Pass", "pemTruststoreToPKCS12", "pemTruststoreToPKCS12Pass",
		"filterPEM", "filterCertChain", "certSANs", "jwkPublicKeyPem", "jwkPrivateKeyPem", "rsaDecrypt",
		"toYaml", "fromYaml", "upper", "b64dec", "printf",
	} {
		if funcs[name] == nil {
			t.Errorf("Funcs() has no %s", name)
		}
	}
	for _, name := range []string{"env", "expandenv", "getHostByName"} {
		if funcs[name] != nil {
			t.Errorf("Funcs() has %s", name)
		}
	}
}
