package awsemu_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecrpublic"
	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/awsemu"
)

func TestECRGetAuthorizationToken(t *testing.T) {
	tests := map[string]struct {
		registries []string
		lifetime   time.Duration
		deny       string
		wantCode   string
		wantProxy  []string
	}{
		"the caller's registry": {wantProxy: []string{"https://" + awsemu.Account + ".dkr.ecr." + region + ".amazonaws.com"}},
		"two registries": {
			registries: []string{"111111111111", "222222222222"},
			wantProxy:  []string{"https://111111111111.dkr.ecr." + region + ".amazonaws.com", "https://222222222222.dkr.ecr." + region + ".amazonaws.com"},
		},
		"a short lifetime":   {lifetime: 90 * time.Second, wantProxy: []string{"https://" + awsemu.Account + ".dkr.ecr." + region + ".amazonaws.com"}},
		"a malformed ID":     {registries: []string{"registry"}, wantCode: "InvalidParameterException"},
		"eleven registries":  {registries: strings.Split(strings.Repeat("111111111111,", 11)[:11*13-1], ","), wantCode: "InvalidParameterException"},
		"denied to the user": {deny: awsemu.UserARN, wantCode: "AccessDeniedException"},
		"denied to everyone": {deny: "*", wantCode: "AccessDeniedException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			emu := awsemu.New(region)
			defer emu.Close()
			emu.SetECRTokenLifetime(tc.lifetime)
			if tc.deny != "" {
				emu.Deny(tc.deny, "ecr:GetAuthorizationToken")
			}
			c := ecr.NewFromConfig(defaultConfig(emu))
			start := time.Now()
			out, err := c.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{RegistryIds: tc.registries})
			if code(err) != tc.wantCode {
				t.Fatalf("want %q, got %v", tc.wantCode, err)
			}
			if n := emu.Calls("ecr:GetAuthorizationToken"); n != 1 {
				t.Errorf("counted %d calls, want 1", n)
			}
			if err != nil {
				if len(emu.ECRTokens()) != 0 {
					t.Errorf("issued tokens on a failed call")
				}
				return
			}
			lifetime := tc.lifetime
			if lifetime == 0 {
				lifetime = awsemu.DefaultECRTokenLifetime
			}
			issued := emu.ECRTokens()
			var proxies []string
			for i, d := range out.AuthorizationData {
				proxies = append(proxies, sdkaws.ToString(d.ProxyEndpoint))
				raw, err := base64.StdEncoding.DecodeString(sdkaws.ToString(d.AuthorizationToken))
				if err != nil {
					t.Fatalf("token %d is not base64: %v", i, err)
				}
				if want := issued[i].Username + ":" + issued[i].Password; string(raw) != want || issued[i].Username != "AWS" {
					t.Errorf("token %d does not decode to the issued user:password", i)
				}
				if exp := sdkaws.ToTime(d.ExpiresAt); !exp.Equal(issued[i].Expires) || exp.Before(start.Add(lifetime-time.Second)) || exp.After(time.Now().Add(lifetime)) {
					t.Errorf("token %d expires at %v, issued %v, want about %v from now", i, exp, issued[i].Expires, lifetime)
				}
				if issued[i].Caller != awsemu.UserARN || issued[i].Public {
					t.Errorf("token %d: %+v", i, issued[i])
				}
			}
			if diff := cmp.Diff(tc.wantProxy, proxies); diff != "" {
				t.Errorf("proxy endpoints (-want +got):\n%s", diff)
			}
		})
	}
}

func TestECRPublicGetAuthorizationToken(t *testing.T) {
	tests := map[string]struct {
		deny     string
		wantCode string
	}{
		"allowed":                           {},
		"without ecr-public permission":     {deny: "ecr-public:GetAuthorizationToken", wantCode: "AccessDeniedException"},
		"without sts:GetServiceBearerToken": {deny: "sts:GetServiceBearerToken", wantCode: "AccessDeniedException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			emu := awsemu.New(region)
			defer emu.Close()
			emu.SetECRTokenLifetime(time.Hour)
			if tc.deny != "" {
				emu.Deny(awsemu.UserARN, tc.deny)
			}
			out, err := ecrpublic.NewFromConfig(defaultConfig(emu)).GetAuthorizationToken(context.Background(), &ecrpublic.GetAuthorizationTokenInput{})
			if code(err) != tc.wantCode {
				t.Fatalf("want %q, got %v", tc.wantCode, err)
			}
			if n := emu.Calls("ecr-public:GetAuthorizationToken"); n != 1 {
				t.Errorf("counted %d calls, want 1", n)
			}
			if err != nil {
				return
			}
			issued := emu.ECRTokens()
			raw, _ := base64.StdEncoding.DecodeString(sdkaws.ToString(out.AuthorizationData.AuthorizationToken))
			if len(issued) != 1 || !issued[0].Public || string(raw) != issued[0].Username+":"+issued[0].Password {
				t.Errorf("issued %+v", issued)
			}
			if !sdkaws.ToTime(out.AuthorizationData.ExpiresAt).Equal(issued[0].Expires) {
				t.Errorf("expires at %v, issued %v", out.AuthorizationData.ExpiresAt, issued[0].Expires)
			}
		})
	}
}
