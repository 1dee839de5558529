package imagepush

import (
	"context"
	"errors"
	"net/http"

	"github.com/relkit/relkit/checks/imageref"
)

// Retry bounds the retries of failed registry requests (shared with
// chart:publish in imageref).
type Retry = imageref.Retry

// retryUnlessOnce sends a request through the retrying transport, unless
// its context was made by withoutRetry: then it is sent once and its
// caller decides what to do after a failure (a tag PUT re-checks the tag
// before it tries again).
type retryUnlessOnce struct {
	retrying, once http.RoundTripper
}

type onceKey struct{}

func withoutRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, onceKey{}, true)
}

func (t *retryUnlessOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Context().Value(onceKey{}) != nil {
		return t.once.RoundTrip(req)
	}
	return t.retrying.RoundTrip(req)
}

// registryError marks an error of a request to a registry (as opposed to
// reading a local source), for imageref.Unreachable.
type registryError struct{ err error }

func (e *registryError) Error() string { return e.err.Error() }
func (e *registryError) Unwrap() error { return e.err }

// unreachableRegistry says whether err came from a registry request and
// means the registry could not be reached (see imageref.Unreachable).
func unreachableRegistry(err error) bool {
	var re *registryError
	return errors.As(err, &re) && imageref.Unreachable(re.err)
}
