package aws

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/smithy-go"

	"github.com/secretsync/secretsync/provider"
)

const (
	// maxInFlight bounds the calls of one coalescer in flight. Reads that
	// arrive while they are busy wait, and leave together.
	maxInFlight = 2
	// batchTimeout bounds one call made on behalf of several readers,
	// which no single reader's context may cancel.
	batchTimeout = time.Minute
)

type result struct {
	secret provider.Secret
	err    error
}

type pendingRead struct {
	done chan struct{}
	result
}

// coalescer merges concurrent reads of one client into batch calls
// (BatchGetSecretValue, GetParameters). An idle client reads at once, one
// key per call, so batching adds no latency; a busy one sends the keys
// that queued while its calls were in flight together, up to max per call,
// and reads a key asked for by several readers once. If AWS denies the
// batch operation, it falls back to single reads for good.
type coalescer struct {
	max  int
	one  func(ctx context.Context, key string) (provider.Secret, error)
	many func(ctx context.Context, keys []string) (map[string]result, error)

	mu      sync.Mutex
	queue   []string
	waiting map[string]*pendingRead
	running int
	denied  bool
}

func newCoalescer(max int, one func(context.Context, string) (provider.Secret, error), many func(context.Context, []string) (map[string]result, error)) *coalescer {
	return &coalescer{max: max, one: one, many: many, waiting: map[string]*pendingRead{}}
}

func (c *coalescer) get(ctx context.Context, key string) (provider.Secret, error) {
	c.mu.Lock()
	r, ok := c.waiting[key]
	if !ok {
		r = &pendingRead{done: make(chan struct{})}
		c.waiting[key] = r
		c.queue = append(c.queue, key)
	}
	if c.running < maxInFlight {
		c.running++
		go c.drain(context.WithoutCancel(ctx))
	}
	c.mu.Unlock()
	select {
	case <-r.done:
		return r.secret, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// drain sends queued keys until the queue is empty.
func (c *coalescer) drain(ctx context.Context) {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.running--
			c.mu.Unlock()
			return
		}
		n := min(len(c.queue), c.max)
		keys := append([]string(nil), c.queue[:n]...)
		c.queue = c.queue[n:]
		reads := make([]*pendingRead, n)
		for i, k := range keys {
			reads[i] = c.waiting[k]
			delete(c.waiting, k)
		}
		batch := n > 1 && !c.denied
		c.mu.Unlock()

		c.read(ctx, keys, reads, batch)
		for _, r := range reads {
			close(r.done)
		}
	}
}

func (c *coalescer) read(ctx context.Context, keys []string, reads []*pendingRead, batch bool) {
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	if batch {
		results, err := c.many(ctx, keys)
		if !isAccessDenied(err) {
			for i, k := range keys {
				if err != nil {
					reads[i].err = err
				} else {
					reads[i].result = results[k]
				}
			}
			return
		}
		c.mu.Lock()
		c.denied = true
		c.mu.Unlock()
	}
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reads[i].secret, reads[i].err = c.one(ctx, k)
		}()
	}
	wg.Wait()
}

func isAccessDenied(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && (api.ErrorCode() == "AccessDeniedException" || api.ErrorCode() == "AccessDenied")
}

// itemError is the error of one entry of a batch response.
func itemError(op, code, message string) error {
	err := describe(&smithy.GenericAPIError{Code: code, Message: message})
	if e, ok := err.(*awsError); ok {
		e.msg = op + ": " + e.msg
	}
	return err
}
