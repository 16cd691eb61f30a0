package template

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// minRedact is the length below which values are not redacted: a
	// value of one or two bytes would match most of any message, and
	// redacting it would hide little.
	minRedact = 3
	// fragment is the length of the pieces of a secret redacted wherever
	// they appear, for messages that quote part of a value.
	fragment = 8
	// maxReason bounds the length of an error message, so a template
	// cannot make a status condition large.
	maxReason = 1024

	redacted = "[redacted]"
)

// redact replaces by "[redacted]" every occurrence in msg of each secret of
// at least minRedact bytes or of one of its escaped forms, and every piece
// of fragment bytes of those that is not also in public, the text of the
// template. A mark that ends inside a word grows to the whole word: a
// library may have escaped the secret differently, and the rest of the
// word is then the rest of the secret. It marks the bytes to hide first and
// replaces them after, so a secret that matches part of "[redacted]" does
// no harm.
func redact(msg string, secrets []string, public string) string {
	if msg == "" || len(secrets) == 0 {
		return msg
	}
	hide := make([]bool, len(msg))
	var pieces map[string][]int // start offsets in msg of each fragment
	mark := func(s string) {
		for i := 0; i <= len(msg)-len(s); {
			j := strings.Index(msg[i:], s)
			if j < 0 {
				break
			}
			for k := i + j; k < i+j+len(s); k++ {
				hide[k] = true
			}
			i += j + 1
		}
		if len(s) <= fragment || len(msg) < fragment {
			return
		}
		if pieces == nil {
			pieces = make(map[string][]int, len(msg))
			for i := 0; i+fragment <= len(msg); i++ {
				pieces[msg[i:i+fragment]] = append(pieces[msg[i:i+fragment]], i)
			}
		}
		for i := 0; i+fragment <= len(s); i++ {
			piece := s[i : i+fragment]
			at, ok := pieces[piece]
			if !ok || strings.Contains(public, piece) {
				continue
			}
			for _, at := range at {
				for k := at; k < at+fragment; k++ {
					hide[k] = true
				}
			}
		}
	}
	for _, s := range secrets {
		if len(s) < minRedact {
			continue
		}
		for _, form := range escapedForms(s) {
			mark(form)
		}
	}
	for i := range hide {
		if !hide[i] {
			continue
		}
		for j := i; j > 0 && inWord(msg[j-1]) && !hide[j-1]; j-- {
			hide[j-1] = true
		}
		for j := i + 1; j < len(msg) && inWord(msg[j]) && !hide[j]; j++ {
			hide[j] = true
		}
	}

	// Hide whole runes, so no broken UTF-8 is left beside a mark.
	for i := range hide {
		if !hide[i] {
			continue
		}
		for j := i; j > 0 && !utf8.RuneStart(msg[j]) && !hide[j-1]; j-- {
			hide[j-1] = true
		}
		for j := i + 1; j < len(msg) && !utf8.RuneStart(msg[j]); j++ {
			hide[j] = true
		}
	}
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		switch {
		case !hide[i]:
			b.WriteByte(msg[i])
		case i == 0 || !hide[i-1]:
			b.WriteString(redacted)
		}
	}
	return b.String()
}

// escapedForms are s and the forms libraries quote it in: Go's %q, with
// and without non-ASCII escaped, and JSON's.
func escapedForms(s string) []string {
	forms := []string{s}
	add := func(q string) {
		if len(q) >= 2 && q[0] == '"' {
			q = q[1 : len(q)-1]
		}
		if !slices.Contains(forms, q) {
			forms = append(forms, q)
		}
	}
	add(strconv.Quote(s))
	add(strconv.QuoteToASCII(s))
	if j, err := json.Marshal(s); err == nil {
		add(string(j))
	}
	return forms
}

// inWord reports whether c can be part of a token such as a password, a
// base64 string or an escape sequence.
func inWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte(`+/=_-.\~%`, c) >= 0 || c >= utf8.RuneSelf
}

// truncate cuts msg to maxReason bytes, on a rune boundary.
func truncate(msg string) string {
	if len(msg) <= maxReason {
		return msg
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "... (truncated)"
}
