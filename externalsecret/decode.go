package externalsecret

import (
	"encoding/base64"
	"fmt"
)

// Decode decodes v, a value stored encoded, as s says. None, or no
// strategy, returns v. Base64 and Base64URL accept v with or without
// padding. Auto decodes only padded base64, then padded base64url, and
// otherwise returns v as it is, as the External Secrets Operator does:
// accepting unpadded input there would take most plain values for
// base64, and a 7-letter name would be turned into binary. Errors give
// a byte offset, never the value.
func (s DecodingStrategy) Decode(v []byte) ([]byte, error) {
	switch s {
	case "", DecodeNone:
		return v, nil
	case DecodeBase64:
		return decodeWith(base64.StdEncoding, base64.RawStdEncoding, v, "base64")
	case DecodeBase64URL:
		return decodeWith(base64.URLEncoding, base64.RawURLEncoding, v, "base64url")
	case DecodeAuto:
		// DecodeString skips \r and \n, so base64 wrapped over lines
		// still decodes.
		if out, err := base64.StdEncoding.DecodeString(string(v)); err == nil {
			return out, nil
		}
		if out, err := base64.URLEncoding.DecodeString(string(v)); err == nil {
			return out, nil
		}
		return v, nil
	default:
		return nil, fmt.Errorf("unknown decodingStrategy %q", s)
	}
}

func decodeWith(padded, raw *base64.Encoding, v []byte, name string) ([]byte, error) {
	enc := padded
	if len(v)%4 != 0 {
		enc = raw
	}
	out := make([]byte, enc.DecodedLen(len(v)))
	n, err := enc.Decode(out, v)
	if err != nil {
		// The error gives only a byte offset, never the input.
		return nil, fmt.Errorf("value is not valid %s: %w", name, err)
	}
	return out[:n], nil
}
