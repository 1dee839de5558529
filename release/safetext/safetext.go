// Package safetext makes untrusted text safe to print: repository content
// (a Dockerfile line, a chart value, a commit subject) must not drive the
// terminal or the CI log, and credentials written into URLs (a mirror, a
// chart repository, a git remote, an error that echoes one) must never be
// printed. Output layers call Clean on what they print; JSON output needs
// only Redact, as encoding/json already escapes control characters.
package safetext

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Clean is Escape(Redact(s)): what every text output writes.
func Clean(s string) string { return Escape(Redact(s)) }

// Escape replaces every control character of s except newline and tab
// with a visible escape (\x1b, \r, \u009b): C0 controls and DEL, C1
// controls, bidirectional-text overrides (which reorder what a reader
// sees), and bytes that are not UTF-8. Plain text comes back unchanged.
func Escape(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case !needsEscape(r, n):
			b.WriteString(s[i : i+n])
		case r == utf8.RuneError:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += n
	}
	return b.String()
}

func needsEscape(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n <= 1:
		return true // not UTF-8
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Masked stands for removed credentials.
const Masked = "***"

var (
	// schemeUserinfo is the userinfo of a URL with a scheme, up to the
	// last @ before the path (passwords with a raw @ included).
	schemeUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)([^/\s'"<>@]*(?:@[^/\s'"<>@]*)*)@`)
	// bareUserinfo is user:password@host without a scheme, as a mirror
	// value may hold it.
	bareUserinfo = regexp.MustCompile(`(^|[\s'"(<=,;\[])([^\s'"/@:()<>=,;\[\]]+:[^\s'"/@()<>]+)@([A-Za-z0-9][A-Za-z0-9.-]*)(:[0-9A-Fa-f]{32,})?`)
)

// Redact removes the credentials of every URL in s: the whole userinfo
// (user:password@, or a token used as the user name) of a URL with a
// scheme, and user:password@ before a host without one. Image references
// with a digest (name:tag@sha256:...) are left alone.
func Redact(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	s = schemeUserinfo.ReplaceAllStringFunc(s, func(m string) string {
		sub := schemeUserinfo.FindStringSubmatch(m)
		if sub[2] == "" {
			return m
		}
		return sub[1] + Masked + "@"
	})
	return bareUserinfo.ReplaceAllStringFunc(s, func(m string) string {
		sub := bareUserinfo.FindStringSubmatch(m)
		if sub[4] != "" {
			return m // name:tag@algorithm:digest
		}
		return sub[1] + Masked + "@" + sub[3]
	})
}

// WriteJSON writes v as one indented JSON document with credentials
// removed from URLs; encoding/json has escaped control characters.
func WriteJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := io.WriteString(w, Redact(b.String()))
	return err
}
