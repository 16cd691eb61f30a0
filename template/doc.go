// Package template renders the spec.target.template of an ExternalSecret
// the way the External Secrets Operator's template engine v2 does, so
// templates written for that operator give the same Secret here.
//
// [Render] takes the values read from the stores, the template and the
// ConfigMaps and Secrets its templateFrom names, and returns the data,
// labels, annotations and type of the Secret to write. It keeps no state
// between calls, never changes its input and is safe to call concurrently.
// It does no I/O, but for the time zone database that dateInZone reads:
// reading the templateFrom sources and writing the Secret are the caller's
// job.
//
// Templates are Go [text/template] templates with option missingkey=error,
// run against a map from each key read to its value as a string. They may
// call the functions of github.com/Masterminds/sprig/v3 except env,
// expandenv and getHostByName, which would reach outside the template, plus
// the operator's own: pkcs12key, pkcs12keyPass, pkcs12cert, pkcs12certPass,
// pemToPkcs12, pemToPkcs12Pass, fullPemToPkcs12, fullPemToPkcs12Pass,
// pemTruststoreToPKCS12, pemTruststoreToPKCS12Pass, filterPEM,
// filterCertChain, certSANs, jwkPublicKeyPem, jwkPrivateKeyPem, rsaDecrypt,
// toYaml and fromYaml. [Funcs] lists them all.
//
// Three things differ from the operator on purpose, so that a template
// can neither hurt the process that runs it nor leak what it renders:
//
//   - Size: a template may render at most [MaxSize] bytes for one key and
//     for all keys of a Render together, and every function call may take in
//     and give back at most [MaxSize]; calls that would build more, such as
//     repeat with a large count, fail before they allocate. Errors wrap
//     [ErrTooLarge].
//   - Work: function calls and range iterations draw on a budget of about
//     a second of work per Render, so {{ range 1000000000 }} fails instead
//     of running for hours. Errors wrap [ErrTooCostly]. The budget is
//     charged before a call and does not reach inside one: a PKCS#12
//     bundle that asks for a billion key derivation rounds is decoded as
//     slowly as it asks.
//   - Errors: an error names the template key and the reason. Any value
//     read from a store or a templateFrom Secret, any string a function
//     derived from them, and any piece of eight bytes or more of those, is
//     replaced by "[redacted]" in the message. Values shorter than three
//     bytes are left alone: they would match most of any message.
//
// A few functions also accept more than the operator's: the PEM and
// PKCS#12 functions skip blocks of other types instead of failing on them,
// and jwkPublicKeyPem takes a private JWK too.
//
// This package is not a general template engine: it knows only the data
// shape of an ExternalSecret. The functions that make keys, random
// strings, UUIDs or dates (genPrivateKey, randAlphaNum, uuidv4, now, ...)
// are kept for compatibility; a template that calls them renders
// differently each time.
package template
