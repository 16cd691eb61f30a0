package vault

import (
	"testing"

	"github.com/secretsync/secretsync/secretstore"
)

// stsEndpointPolicy picks where a login is signed for: Legacy the global
// endpoint (scope us-east-1) except in opt-in regions, Regional the
// region's; AWS_STS_ENDPOINT overrides both.
func TestSTSEndpoint(t *testing.T) {
	tests := map[string]struct {
		spec                 secretstore.VaultIamAuth
		override             string
		wantHost, wantRegion string
	}{
		"the default":                {wantHost: "https://sts.amazonaws.com", wantRegion: "us-east-1"},
		"Legacy in eu-west-1":        {spec: secretstore.VaultIamAuth{Region: "eu-west-1", STSEndpointPolicy: "Legacy"}, wantHost: "https://sts.amazonaws.com", wantRegion: "us-east-1"},
		"Regional in eu-west-1":      {spec: secretstore.VaultIamAuth{Region: "eu-west-1", STSEndpointPolicy: "Regional"}, wantHost: "https://sts.eu-west-1.amazonaws.com", wantRegion: "eu-west-1"},
		"Legacy in an opt-in region": {spec: secretstore.VaultIamAuth{Region: "ap-east-1"}, wantHost: "https://sts.ap-east-1.amazonaws.com", wantRegion: "ap-east-1"},
		"an override":                {spec: secretstore.VaultIamAuth{Region: "eu-west-1"}, override: "http://127.0.0.1:1", wantHost: "http://127.0.0.1:1", wantRegion: "eu-west-1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			host, region := stsEndpoint(&tc.spec, tc.override)
			if host != tc.wantHost || region != tc.wantRegion {
				t.Errorf("got %s %s, want %s %s", host, region, tc.wantHost, tc.wantRegion)
			}
		})
	}
}
