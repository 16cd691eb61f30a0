package aws

import (
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/secretsync/secretsync/provider"
)

// awsError is an AWS error as users read it: the operation, AWS's code and
// message, and a hint. It leaves out the request ID the SDK puts in its
// messages, so that a failing store's status does not change on every
// retry. It unwraps to the SDK's error, and to provider.ErrNotFound when
// the secret does not exist.
type awsError struct {
	msg      string
	err      error
	notFound bool
}

func (e *awsError) Error() string { return e.msg }

func (e *awsError) Unwrap() []error {
	if e.notFound {
		return []error{e.err, provider.ErrNotFound}
	}
	return []error{e.err}
}

// hints explain the codes whose fix is in the store's spec or credentials.
var hints = map[string]string{
	"UnrecognizedClientException": "the access key is not known to AWS",
	"InvalidClientTokenId":        "the access key is not known to AWS",
	"ExpiredTokenException":       "the credentials have expired",
	"ExpiredToken":                "the credentials have expired",
	"InvalidSignatureException":   "check the secret access key and the region",
	"SignatureDoesNotMatch":       "check the secret access key and the region",
	"InvalidIdentityToken":        "STS rejected the ServiceAccount token: check the cluster's OIDC provider in IAM",
}

// describe makes err readable; see awsError. Errors that did not come
// from AWS or the network are returned as they are.
func describe(err error) error {
	var (
		api smithy.APIError
		dns *net.DNSError
		msg string
	)
	notFound := false
	switch {
	case errors.As(err, &api):
		code := api.ErrorCode()
		msg = code
		if m := api.ErrorMessage(); m != "" {
			msg += ": " + m
		}
		if h, ok := hints[code]; ok {
			msg += " (" + h + ")"
		}
		switch code {
		case "ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound":
			notFound = true
		case "InvalidRequestException", "InvalidParameterException":
			// A secret scheduled for deletion reads as missing, so that
			// deletionPolicy applies, as in the External Secrets Operator.
			notFound = strings.Contains(api.ErrorMessage(), "marked for deletion")
		}
	case errors.As(err, &dns):
		msg = "cannot resolve " + dns.Name + ": check the region and the endpoint"
	default:
		return err
	}
	if op := innermostOperation(err); op != nil {
		msg = op.ServiceID + " " + op.OperationName + ": " + msg
	}
	var attempts *retry.MaxAttemptsError
	if errors.As(err, &attempts) {
		msg = "gave up after " + strconv.Itoa(attempts.Attempt) + " attempts: " + msg
	}
	return &awsError{msg: msg, err: err, notFound: notFound}
}

// innermostOperation finds the operation that failed: when credentials
// fail, the STS call inside the read.
func innermostOperation(err error) *smithy.OperationError {
	var last *smithy.OperationError
	for err != nil {
		if op, ok := err.(*smithy.OperationError); ok {
			last = op
		}
		err = errors.Unwrap(err)
	}
	return last
}
