// Package conformance holds the External Secrets Operator's documentation
// examples for the stores secretsync supports, as test data, and a test
// that applies each one to a real kube-apiserver with the project's CRDs
// and strict field validation, as `kubectl apply` does by default.
//
// It proves that the schema accepts what ESO's documentation tells a user
// to write: every field, enum value and shape. It does not prove what a
// store does with the fields; the provider packages and the end-to-end
// tests of examples/controller do that.
//
// The examples are under testdata/eso-docs/<provider>/, one file per
// example, each starting with a comment that names the page it came from
// and what, if anything, had to be filled in (placeholders such as
// [PROJECT_ID], which YAML reads as a list, or a "# ..." the page leaves
// to the reader).
package conformance
