package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v2 := file("v2", "209715200\n") // 200Mi
	v2max := file("v2max", "max\n")
	v1unlimited := file("v1", "9223372036854771712\n")
	absent := filepath.Join(dir, "absent")

	tests := []struct {
		name    string
		flag    string
		fromEnv bool
		files   []string
		want    int64
		wantErr string
	}{
		{name: "a quantity", flag: "150Mi", files: []string{v2}, want: 150 << 20},
		{name: "plain bytes", flag: "1000000", want: 1000000},
		{name: "none", flag: "none", files: []string{v2}, want: 0},
		{name: "65% of the cgroup v2 limit", files: []string{v2}, want: 130 << 20},
		{name: "v1 after an absent v2", files: []string{absent, v2}, want: 130 << 20},
		{name: "cgroup v2 without a limit", files: []string{v2max, v2}, want: 0},
		{name: "cgroup v1 without a limit", files: []string{v1unlimited}, want: 0},
		{name: "no cgroup files", files: []string{absent}, want: 0},
		{name: "GOMEMLIMIT wins over the cgroup", fromEnv: true, files: []string{v2}, want: 0},
		{name: "the flag wins over GOMEMLIMIT", flag: "100Mi", fromEnv: true, want: 100 << 20},
		{name: "not a quantity", flag: "lots", wantErr: `--memory-limit "lots": give a quantity`},
		{name: "zero", flag: "0", wantErr: "must be more than 0"},
		{name: "negative", flag: "-5Mi", wantErr: "must be more than 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := memoryLimit(tt.flag, tt.fromEnv, tt.files)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}
