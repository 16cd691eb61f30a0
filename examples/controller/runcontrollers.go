package main

import "context"

// runControllers runs each function until ctx is done or one of them
// returns, then stops the others and waits for them. It returns the first
// error any of them returned.
func runControllers(ctx context.Context, runs ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(runs))
	for _, run := range runs {
		go func() { errs <- run(ctx) }()
	}
	var first error
	for range runs {
		err := <-errs
		cancel()
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}
