package secretstore_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/secretsync/secretsync/secretstore"
)

// spec.refreshInterval takes ESO's two forms: seconds, as an integer or a
// string of digits, and a Go duration.
func TestRefreshDuration(t *testing.T) {
	tests := map[string]struct {
		json    string
		want    time.Duration
		wantErr string
	}{
		"unset":                    {json: `{}`},
		"seconds":                  {json: `{"refreshInterval": 300}`, want: 5 * time.Minute},
		"zero seconds":             {json: `{"refreshInterval": 0}`},
		"seconds as a string":      {json: `{"refreshInterval": "300"}`, want: 5 * time.Minute},
		"a duration":               {json: `{"refreshInterval": "1h"}`, want: time.Hour},
		"a compound duration":      {json: `{"refreshInterval": "1h30m"}`, want: 90 * time.Minute},
		"an empty string":          {json: `{"refreshInterval": ""}`},
		"negative seconds":         {json: `{"refreshInterval": -5}`, wantErr: "spec.refreshInterval -5 is negative"},
		"a negative duration":      {json: `{"refreshInterval": "-1h"}`, wantErr: `spec.refreshInterval "-1h" is negative`},
		"neither seconds nor time": {json: `{"refreshInterval": "hourly"}`, wantErr: `spec.refreshInterval "hourly" is neither a number of seconds nor a duration`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var spec secretstore.Spec
			if err := json.Unmarshal([]byte(tc.json), &spec); err != nil {
				t.Fatal(err)
			}
			got, err := spec.RefreshDuration()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error with %q, got %v, %v", tc.wantErr, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
