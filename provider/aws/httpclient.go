package aws

import (
	"io"
	"net/http"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
)

// bodyWithoutWriterTo hides the io.WriterTo of request bodies from
// net/http. smithy-go (v1.23) wraps bodies so that, once the SDK has closed
// one, its WriteTo returns io.EOF; net/http, which drains the body after
// writing it and may do so after the response has arrived, takes that for
// a write error and closes the connection under the response being read.
// The SDK then retries a request that had succeeded. Plain Reads of a
// closed body return io.EOF too, which io.Copy takes for the end.
type bodyWithoutWriterTo struct{ next sdkaws.HTTPClient }

func (c bodyWithoutWriterTo) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body = struct{ io.ReadCloser }{req.Body}
	}
	return c.next.Do(req)
}
