package gcp

import (
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/secretsync/secretsync/provider"
)

// gcpError is a Secret Manager error as users read it: the method, the
// gRPC code and Google's message, and a hint. It leaves out the error
// details the client library appends, so that a failing store's status
// does not change on every retry. It unwraps to the library's error, and
// to provider.ErrNotFound when the secret or version does not exist.
type gcpError struct {
	msg      string
	err      error
	notFound bool
}

func (e *gcpError) Error() string { return e.msg }

func (e *gcpError) Unwrap() []error {
	if e.notFound {
		return []error{e.err, provider.ErrNotFound}
	}
	return []error{e.err}
}

// hints explain the codes whose fix is in the store's spec, its
// credentials or IAM.
var hints = map[codes.Code]string{
	codes.PermissionDenied: "grant the store's identity the permission named, such as roles/secretmanager.secretAccessor for reads",
	codes.Unauthenticated:  "check the store's credentials",
}

// writes are the methods PushSecret and DeleteSecret write with.
var writes = map[string]bool{"CreateSecret": true, "UpdateSecret": true, "AddSecretVersion": true, "DeleteSecret": true}

// describe makes err, returned by the Secret Manager method op, readable;
// see gcpError. Errors without a gRPC status are returned as they are.
func describe(op string, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	msg := "Secret Manager " + op + ": " + st.Code().String() + ": " + st.Message()
	switch {
	case unusableVersion(err):
		msg += " (enable the version or add a new one; with secretVersionSelectionPolicy LatestOrFetch, the newest enabled version is read instead of a disabled or destroyed latest)"
	case st.Code() == codes.PermissionDenied && writes[op]:
		msg += " (grant the store's identity the permission named, such as roles/secretmanager.admin for PushSecret)"
	case st.Code() == codes.FailedPrecondition && (op == "UpdateSecret" || op == "DeleteSecret"):
		// They carry the etag of the secret as read.
		msg += " (the secret changed since it was read; the next push reads it again)"
	case hints[st.Code()] != "":
		msg += " (" + hints[st.Code()] + ")"
	}
	return &gcpError{msg: msg, err: err, notFound: st.Code() == codes.NotFound}
}

// unusableVersion reports whether err says a version is disabled or
// destroyed. Secret Manager says so only in its message.
func unusableVersion(err error) bool {
	var e *gcpError
	if errors.As(err, &e) {
		err = e.err
	}
	st, _ := status.FromError(err)
	return st.Code() == codes.FailedPrecondition &&
		(strings.Contains(st.Message(), "DISABLED state") || strings.Contains(st.Message(), "DESTROYED state"))
}
