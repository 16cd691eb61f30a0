package awsemu

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// totpStep is the period of an MFA device's codes, as authenticator apps
// use (RFC 6238).
const totpStep = 30 * time.Second

// mfaDevice is a virtual MFA device of one IAM user.
type mfaDevice struct {
	user string
	seed []byte
	// lastStep is the time step of the last code accepted: AWS refuses a
	// code used before.
	lastStep int64
}

// AddMFADevice makes a virtual MFA device, serial such as
// arn:aws:iam::123456789012:mfa/name, belong to the IAM user userARN.
// GetSessionToken accepts its current code, which [Server.MFACode]
// returns, once.
func (s *Server) AddMFADevice(serial, userARN string) {
	seed := make([]byte, 20)
	rand.Read(seed)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mfaDevices[serial] = &mfaDevice{user: userARN, seed: seed, lastStep: -1}
}

// MFACode returns the code the device serial shows now, as an
// authenticator app would; empty for an unknown device.
func (s *Server) MFACode(serial string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.mfaDevices[serial]
	if !ok {
		return ""
	}
	return totp(d.seed, time.Now().Unix()/int64(totpStep/time.Second))
}

// totp is the RFC 6238 code of step: HOTP (RFC 4226) with HMAC-SHA1 and
// six digits.
func totp(seed []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	h := hmac.New(sha1.New, seed)
	h.Write(msg[:])
	sum := h.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	n := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return fmt.Sprintf("%06d", n%1_000_000)
}

var (
	mfaSerialPattern = regexp.MustCompile(`^[\w+=/:,.@-]{9,256}$`)
	tokenCodePattern = regexp.MustCompile(`^[0-9]{6}$`)
)

// checkMFA authenticates a GetSessionToken call with the caller's MFA
// device, and returns its serial number, or empty without MFA. The caller
// holds s.mu.
func (s *Server) checkMFA(caller principal, serial, code string) (string, error) {
	if serial == "" && code == "" {
		return "", nil
	}
	if serial == "" || code == "" {
		return "", accessDenied("MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.")
	}
	d, ok := s.mfaDevices[serial]
	if !ok || d.user != caller.arn {
		return "", accessDenied("MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.")
	}
	// Authenticator clocks drift: the previous code is still accepted.
	now := time.Now().Unix() / int64(totpStep/time.Second)
	for _, step := range []int64{now, now - 1} {
		if hmac.Equal([]byte(totp(d.seed, step)), []byte(code)) && step > d.lastStep {
			d.lastStep = step
			return serial, nil
		}
	}
	return "", accessDenied("MultiFactorAuthentication failed with invalid MFA one time pass code. ")
}

// getSessionToken serves GetSessionToken: temporary credentials of the
// calling IAM user, which must sign with its long-term keys.
func (s *Server) getSessionToken(req *request) (any, error) {
	duration := 12 * time.Hour
	if d := req.form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil {
			return nil, validationError("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be a number", d)
		}
		if n < 900 {
			return nil, validationError("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900", n)
		}
		if n > 129600 {
			return nil, validationError("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600", n)
		}
		duration = time.Duration(n) * time.Second
	}
	serial, code := req.form.Get("SerialNumber"), req.form.Get("TokenCode")
	if req.form.Has("SerialNumber") && !mfaSerialPattern.MatchString(serial) {
		return nil, validationError("1 validation error detected: Value at 'serialNumber' failed to satisfy constraint: Member must have length greater than or equal to 9 and satisfy regular expression pattern: [\\w+=/:,.@-]*")
	}
	// The code is a credential: AWS does not echo it, nor does this.
	if req.form.Has("TokenCode") && !tokenCodePattern.MatchString(code) {
		return nil, validationError("1 validation error detected: Value at 'tokenCode' failed to satisfy constraint: Member must have length of 6 and satisfy regular expression pattern: [\\d]*")
	}
	if req.caller.temporary {
		return nil, accessDenied("Cannot call GetSessionToken with session credentials")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	mfa, err := s.checkMFA(req.caller, serial, code)
	if err != nil {
		return nil, err
	}
	if s.sessionDuration > 0 {
		duration = s.sessionDuration
	}
	p := req.caller
	p.temporary = true
	key := &accessKey{
		id:        "ASIA" + strings.ToUpper(randomString(16)),
		secret:    randomString(40),
		token:     base64.StdEncoding.EncodeToString([]byte(randomString(64))),
		expires:   time.Now().Add(duration).Truncate(time.Second),
		principal: p,
	}
	s.keys[key.id] = key
	s.sessions = append(s.sessions, Session{Caller: p.arn, MFASerialNumber: mfa, AccessKeyID: key.id, Expires: key.expires})
	return struct {
		XMLName     xml.Name `xml:"GetSessionTokenResult"`
		Credentials stsCredentials
	}{Credentials: stsCredentials{key.id, key.secret, key.token, key.expires.UTC().Format(time.RFC3339)}}, nil
}
