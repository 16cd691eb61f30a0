package reconcile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/externalsecret"
)

func TestRewriteMerge(t *testing.T) {
	in := map[string][]byte{
		"app/base":     []byte(`{"host":"db","port":5432,"tls":true,"ratio":1.50}`),
		"app/override": []byte(`{"host":"db-2","opts":{"b":1,"a":"<x>"}}`),
		"app/extra":    []byte(`{"user":"CANARY-merge","none":null}`),
	}
	tests := map[string]struct {
		op      externalsecret.RewriteMerge
		in      map[string][]byte
		want    map[string][]byte
		wantErr string
	}{
		"a conflict fails by default": {
			wantErr: `keys host are in more than one value`,
		},
		"Extract, conflicts ignored: the later key wins": {
			op: externalsecret.RewriteMerge{ConflictPolicy: externalsecret.MergeConflictIgnore},
			want: map[string][]byte{
				"host": []byte("db-2"), "port": []byte("5432"), "tls": []byte("true"), "ratio": []byte("1.5"),
				"opts": []byte(`{"a":"\u003cx\u003e","b":1}`), "user": []byte("CANARY-merge"), "none": nil,
			},
		},
		"priority keys are merged last": {
			op:   externalsecret.RewriteMerge{ConflictPolicy: externalsecret.MergeConflictIgnore, Priority: []string{"app/base"}},
			in:   map[string][]byte{"app/base": in["app/base"], "app/override": in["app/override"]},
			want: map[string][]byte{"host": []byte("db"), "port": []byte("5432"), "tls": []byte("true"), "ratio": []byte("1.5"), "opts": []byte(`{"a":"\u003cx\u003e","b":1}`)},
		},
		"a missing priority key fails when Strict": {
			op:      externalsecret.RewriteMerge{Priority: []string{"app/nope"}},
			in:      map[string][]byte{"app/extra": in["app/extra"]},
			wantErr: `priority key "app/nope" is not among the values`,
		},
		"a missing priority key is skipped with IgnoreNotFound": {
			op:   externalsecret.RewriteMerge{Priority: []string{"app/nope"}, PriorityPolicy: externalsecret.MergePriorityIgnoreNotFound},
			in:   map[string][]byte{"app/extra": in["app/extra"]},
			want: map[string][]byte{"user": []byte("CANARY-merge"), "none": nil},
		},
		"JSON keeps the values and adds the merged object": {
			op: externalsecret.RewriteMerge{Strategy: externalsecret.MergeStrategyJSON, Into: "merged"},
			in: map[string][]byte{"app/extra": in["app/extra"], "app/override": in["app/override"]},
			want: map[string][]byte{
				"app/extra": in["app/extra"], "app/override": in["app/override"],
				"merged": []byte(`{"host":"db-2","none":null,"opts":{"a":"<x>","b":1},"user":"CANARY-merge"}`),
			},
		},
		"JSON needs into": {
			op:      externalsecret.RewriteMerge{Strategy: externalsecret.MergeStrategyJSON},
			in:      map[string][]byte{"app/extra": in["app/extra"]},
			wantErr: "strategy JSON needs into",
		},
		"a value that is not a JSON object": {
			in:      map[string][]byte{"plain": []byte("CANARY-not-json")},
			wantErr: `the value of key "plain" is not a JSON object`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			values := tc.in
			if values == nil {
				values = in
			}
			got, err := Rewrite([]externalsecret.Rewrite{{Merge: &tc.op}}, values)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error with %q, got %v", tc.wantErr, err)
				}
				if strings.Contains(err.Error(), "CANARY") {
					t.Errorf("the error shows a value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
