// Package template renders the spec.target.template of an ExternalSecret
// the way the External Secrets Operator's template engine v2 does, so
// templates written for that operator give the same Secret here.
//
// [Render] takes the values read from the stores, the template and the
// ConfigMaps and Secrets its templateFrom names, and returns the data,
// labels, annotations and type of the Secret to write. It is pure: it does
// no I/O, keeps no state between calls and never changes its input. Reading
// the templateFrom sources and writing the Secret are the caller's job.
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
// Two things differ from the operator on purpose, both to keep a template
// from hurting the process that runs it or leaking what it renders:
//
//   - Size: a template may render at most [MaxSize] bytes for one key and
//     for all keys of a Render together, and every function call may take in
//     and give back at most [MaxSize]; calls that would build more, such as
//     repeat with a large count, fail before they allocate. Errors wrap
//     [ErrTooLarge].
//   - Errors: an error names the template key and the reason. Any value
//     read from a store or a templateFrom Secret, any value a function
//     derived from them, and any fragment of eight bytes or more of those,
//     is replaced by "[redacted]" in the message. Values shorter than three
//     bytes are left alone: they would match most of any message.
//
// This package is not a general template engine: it knows only the data
// shape of an ExternalSecret, and it does not bound the time a template
// runs; a caller that renders untrusted templates should render them in a
// worker it can abandon.
package template
