package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRunControllers(t *testing.T) {
	boom := errors.New("boom")
	stopped := make(chan struct{})
	err := runControllers(context.Background(),
		func(ctx context.Context) error {
			<-ctx.Done()
			close(stopped)
			return nil
		},
		func(context.Context) error {
			time.Sleep(10 * time.Millisecond)
			return boom
		},
	)
	if !errors.Is(err, boom) {
		t.Errorf("want boom, got %v", err)
	}
	select {
	case <-stopped:
	default:
		t.Error("the other controller was not stopped and waited for")
	}
}
