package main

import (
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

// client-go logs request and response bodies, Secret data among them, at
// klog verbosity 8 and above: however verbose the controller's own log,
// client-go's stays below that.
func TestVerbosityNeverReachesClientGoBodies(t *testing.T) {
	defer func() {
		if _, err := parseRunFlags([]string{"-v=0"}); err != nil {
			t.Fatal(err)
		}
	}()
	for _, v := range []string{"-v=10", "-v=8", "-v=7"} {
		o, err := parseRunFlags([]string{v})
		if err != nil {
			t.Fatal(err)
		}
		if klog.V(8).Enabled() {
			t.Errorf("%s: klog verbosity 8 is on, so client-go would log bodies", v)
		}
		if !klog.V(7).Enabled() {
			t.Errorf("%s: klog verbosity 7 is off; client-go's request lines should still show", v)
		}
		if o.verbosity < 7 {
			t.Errorf("%s: the controller's own verbosity is %d", v, o.verbosity)
		}
	}
	o, err := parseRunFlags([]string{"-v=10"})
	if err != nil || o.verbosity != 10 {
		t.Errorf("-v=10: the controller's own log runs at %d (err %v); want 10", o.verbosity, err)
	}
}

func TestWorkerFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{args: nil},
		{args: []string{"--workers=4", "--first-sync-workers=0", "--status-workers=2"}},
		{args: []string{"--workers=0"}, wantErr: "--workers is 0"},
		{args: []string{"--first-sync-workers=-1"}, wantErr: "--first-sync-workers is -1"},
		{args: []string{"--status-workers=-3"}, wantErr: "--status-workers is -3"},
	} {
		o, err := parseRunFlags(tc.args)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.wantErr)
		case tc.wantErr == "" && len(tc.args) == 3 && (o.workers != 4 || o.statusWorkers != 2):
			t.Errorf("%v: workers %d, status workers %d", tc.args, o.workers, o.statusWorkers)
		}
	}
}
