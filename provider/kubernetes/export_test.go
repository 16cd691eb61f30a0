package kubernetes

import "time"

// WithClock replaces the clock that decides when a ServiceAccount token is
// due for refresh.
func WithClock(now func() time.Time) Option {
	return func(p *Provider) { p.now = now }
}
