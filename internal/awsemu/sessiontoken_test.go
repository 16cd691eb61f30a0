package awsemu_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/secretsync/secretsync/internal/awsemu"
)

func TestGetSessionToken(t *testing.T) {
	const (
		serial      = "arn:aws:iam::" + awsemu.Account + ":mfa/emulator"
		otherSerial = "arn:aws:iam::" + awsemu.Account + ":mfa/other"
		otherUser   = "arn:aws:iam::" + awsemu.Account + ":user/other"
	)
	tests := map[string]struct {
		in       func(emu *awsemu.Server) *sts.GetSessionTokenInput
		session  bool // sign with session credentials
		wantCode string
		wantMsg  string
		want     time.Duration // the credentials' lifetime
		wantMFA  string
	}{
		"twelve hours by default": {
			in:   func(*awsemu.Server) *sts.GetSessionTokenInput { return &sts.GetSessionTokenInput{} },
			want: 12 * time.Hour,
		},
		"fifteen minutes": {
			in: func(*awsemu.Server) *sts.GetSessionTokenInput {
				return &sts.GetSessionTokenInput{DurationSeconds: sdkaws.Int32(900)}
			},
			want: 15 * time.Minute,
		},
		"shorter than fifteen minutes": {
			in: func(*awsemu.Server) *sts.GetSessionTokenInput {
				return &sts.GetSessionTokenInput{DurationSeconds: sdkaws.Int32(899)}
			},
			wantCode: "ValidationError",
		},
		"longer than 36 hours": {
			in: func(*awsemu.Server) *sts.GetSessionTokenInput {
				return &sts.GetSessionTokenInput{DurationSeconds: sdkaws.Int32(129601)}
			},
			wantCode: "ValidationError",
		},
		"with MFA": {
			in: func(emu *awsemu.Server) *sts.GetSessionTokenInput {
				return &sts.GetSessionTokenInput{SerialNumber: sdkaws.String(serial), TokenCode: sdkaws.String(emu.MFACode(serial))}
			},
			want: 12 * time.Hour, wantMFA: serial,
		},
		"an MFA code used twice": {
			in: func(emu *awsemu.Server) *sts.GetSessionTokenInput {
				in := &sts.GetSessionTokenInput{SerialNumber: sdkaws.String(serial), TokenCode: sdkaws.String(emu.MFACode(serial))}
				if _, err := sts.NewFromConfig(defaultConfig(emu)).GetSessionToken(context.Background(), in); err != nil {
					panic(err)
				}
				return in
			},
			wantCode: "AccessDenied", wantMsg: "invalid MFA one time pass code",
		},
		"a wrong MFA code": {
			in: func(emu *awsemu.Server) *sts.GetSessionTokenInput {
				wrong := "000000"
				if emu.MFACode(serial) == wrong {
					wrong = "111111"
				}
				return &sts.GetSessionTokenInput{SerialNumber: sdkaws.String(serial), TokenCode: &wrong}
			},
			wantCode: "AccessDenied", wantMsg: "invalid MFA one time pass code",
		},
		"a code without a serial number": {
			in: func(*awsemu.Server) *sts.GetSessionTokenInput {
				return &sts.GetSessionTokenInput{TokenCode: sdkaws.String("123456")}
			},
			wantCode: "AccessDenied", wantMsg: "must provide both",
		},
		"another user's device": {
			in: func(emu *awsemu.Server) *sts.GetSessionTokenInput {
				return &sts.GetSessionTokenInput{SerialNumber: sdkaws.String(otherSerial), TokenCode: sdkaws.String(emu.MFACode(otherSerial))}
			},
			wantCode: "AccessDenied", wantMsg: "associated with this user",
		},
		"a malformed code": {
			in: func(*awsemu.Server) *sts.GetSessionTokenInput {
				return &sts.GetSessionTokenInput{SerialNumber: sdkaws.String(serial), TokenCode: sdkaws.String("12ab")}
			},
			wantCode: "ValidationError",
		},
		"session credentials": {
			in:       func(*awsemu.Server) *sts.GetSessionTokenInput { return &sts.GetSessionTokenInput{} },
			session:  true,
			wantCode: "AccessDenied", wantMsg: "Cannot call GetSessionToken with session credentials",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			emu := awsemu.New(region)
			defer emu.Close()
			emu.AddMFADevice(serial, awsemu.UserARN)
			emu.AddMFADevice(otherSerial, otherUser)
			// IAM policies do not govern GetSessionToken.
			emu.Deny("*", "sts:GetSessionToken")
			cfg := defaultConfig(emu)
			if tc.session {
				emu.AddSessionKey("ASIASESSION", "s", "token", awsemu.UserARN, time.Now().Add(time.Hour))
				cfg = config(emu, "ASIASESSION", "s", "token")
			}
			in := tc.in(emu)
			emu.ResetCalls()
			start := time.Now().Truncate(time.Second)
			out, err := sts.NewFromConfig(cfg).GetSessionToken(context.Background(), in)
			if code(err) != tc.wantCode || !strings.Contains(errString(err), tc.wantMsg) {
				t.Fatalf("want %q with %q, got %v", tc.wantCode, tc.wantMsg, err)
			}
			if n := emu.Calls("sts:GetSessionToken"); n != 1 {
				t.Errorf("counted %d calls, want 1", n)
			}
			if err != nil {
				if status := httpStatus(err); status != http.StatusForbidden && tc.wantCode == "AccessDenied" {
					t.Errorf("HTTP status %d, want 403", status)
				}
				return
			}
			c := out.Credentials
			exp := sdkaws.ToTime(c.Expiration)
			if exp.Before(start.Add(tc.want)) || exp.After(time.Now().Add(tc.want)) {
				t.Errorf("expires at %v, want %v from now", exp, tc.want)
			}
			sessions := emu.Sessions()
			if len(sessions) == 0 || sessions[len(sessions)-1].MFASerialNumber != tc.wantMFA || sessions[len(sessions)-1].Caller != awsemu.UserARN {
				t.Errorf("sessions %+v, want the user's with MFA %q", sessions, tc.wantMFA)
			}
			// The credentials sign as the user, and cannot make another
			// session token.
			s := sts.NewFromConfig(config(emu, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken))
			who, err := s.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
			if err != nil || sdkaws.ToString(who.Arn) != awsemu.UserARN {
				t.Errorf("GetCallerIdentity with the session: %v, %v", who, err)
			}
			if _, err := s.GetSessionToken(context.Background(), &sts.GetSessionTokenInput{}); code(err) != "AccessDenied" {
				t.Errorf("GetSessionToken with the session: want AccessDenied, got %v", err)
			}
		})
	}
}

func TestGetSessionTokenLifetimeAndThrottle(t *testing.T) {
	emu := awsemu.New(region)
	defer emu.Close()
	emu.SetSessionDuration(2 * time.Second)
	c := sts.NewFromConfig(defaultConfig(emu))
	out, err := c.GetSessionToken(context.Background(), &sts.GetSessionTokenInput{DurationSeconds: sdkaws.Int32(3600)})
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(*out.Credentials.Expiration); left > 2*time.Second {
		t.Errorf("expires in %v, want at most 2s", left)
	}
	emu.Throttle("sts:GetSessionToken", 1)
	if _, err := c.GetSessionToken(context.Background(), &sts.GetSessionTokenInput{}); code(err) != "Throttling" {
		t.Errorf("want Throttling, got %v", err)
	}
	if n := emu.Throttled("sts:GetSessionToken"); n != 1 {
		t.Errorf("throttled %d, want 1", n)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// httpStatus returns the HTTP status of an SDK error's response.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
