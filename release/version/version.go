// Package version reads VERSION files strictly: the first line must be a
// SemVer 2.0 version and nothing else, and every way a file can get that
// wrong has its own precise reason.
package version

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Problem is why a VERSION file is not valid, with the 1-based line.
type Problem struct {
	Line   int
	Reason string
}

func (p Problem) Error() string { return fmt.Sprintf("line %d: %s", p.Line, p.Reason) }

// File is a parsed VERSION file.
type File struct {
	// Raw is the first line as written, without its line ending.
	Raw string
	// Version is set when the file is valid.
	Version *semver.Version
	// Newline is the line ending found after the version ("" for none).
	Newline string
}

// IsRelease reports whether the version has no pre-release part.
func (f File) IsRelease() bool { return f.Version != nil && f.Version.Prerelease() == "" }

var (
	semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
		`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
		`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
	looseCoreRE = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)(.*)$`)
)

// Parse reads VERSION file content. It returns the parsed file, or a
// Problem that says exactly what is wrong.
func Parse(data []byte) (File, *Problem) {
	if len(bytes.TrimSpace(data)) == 0 {
		if len(data) == 0 {
			return File{}, &Problem{1, "the file is empty; expected a SemVer version such as 1.2.3"}
		}
		return File{}, &Problem{1, "the file holds only white space; expected a SemVer version such as 1.2.3"}
	}
	first, rest, hasNL := bytes.Cut(data, []byte("\n"))
	f := File{Raw: strings.TrimSuffix(string(first), "\r")}
	if hasNL {
		f.Newline = "\n"
		if bytes.HasSuffix(first, []byte("\r")) {
			f.Newline = "\r\n"
		}
	}
	if p := Check(string(first)); p != nil {
		return f, p
	}
	for i, line := range bytes.Split(rest, []byte("\n")) {
		if len(bytes.TrimSpace(line)) > 0 {
			return f, &Problem{i + 2, fmt.Sprintf("more than one line: line %d holds %q; expected the version alone on the first line", i+2, strings.TrimRight(string(line), "\r"))}
		}
		if len(bytes.TrimRight(line, "\r")) > 0 {
			return f, &Problem{i + 2, fmt.Sprintf("white space on line %d after the version; expected nothing after the version but a newline", i+2)}
		}
	}
	v, err := semver.StrictNewVersion(f.Raw)
	if err != nil {
		return f, &Problem{1, fmt.Sprintf("%q is not usable: %v; expected numbers below 2^64", f.Raw, err)}
	}
	f.Version = v
	return f, nil
}

// Check validates one version string (a VERSION file's first line, without
// its \n) and says precisely what is wrong, or nil.
func Check(s string) *Problem {
	bad := func(reason string, args ...any) *Problem {
		return &Problem{1, fmt.Sprintf(reason, args...)}
	}
	switch {
	case s == "":
		return bad("the first line is empty; expected a SemVer version such as 1.2.3")
	case strings.HasSuffix(s, "\r"):
		return bad("carriage return (Windows line ending) after %q; expected a Unix newline", strings.TrimRight(s, "\r"))
	case strings.TrimRight(s, " \t") != s:
		return bad("trailing white space after %q; expected the version alone", strings.TrimRight(s, " \t"))
	case strings.TrimLeft(s, " \t") != s:
		return bad("leading white space before %q; expected the version alone", strings.TrimLeft(s, " \t"))
	case strings.HasPrefix(s, "v") || strings.HasPrefix(s, "V"):
		if semverRE.MatchString(s[1:]) {
			return bad("leading %q: %q is a git tag form; the VERSION file holds the bare version %s", s[:1], s, s[1:])
		}
	}
	if strings.ContainsAny(s, "\x00\t\r") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0xfeff }) {
		return bad("control or invisible character in %q; expected a plain SemVer version", s)
	}
	if semverRE.MatchString(s) {
		if !Valid(s) {
			return bad("%q has a number too large for a version (at most 18446744073709551615); expected a SemVer version such as 1.2.3", s)
		}
		return nil
	}
	if m := looseCoreRE.FindStringSubmatch(s); m != nil {
		for i, name := range []string{"major", "minor", "patch"} {
			if len(m[i+1]) > 1 && m[i+1][0] == '0' {
				return bad("leading zero in the %s number of %q; SemVer forbids it", name, s)
			}
		}
		pre, _, _ := strings.Cut(m[4], "+")
		if strings.HasPrefix(pre, "-") {
			for _, id := range strings.Split(pre[1:], ".") {
				if id == "" {
					return bad("empty pre-release identifier in %q", s)
				}
				if _, err := strconv.Atoi(id); err == nil && len(id) > 1 && id[0] == '0' {
					return bad("leading zero in the numeric pre-release identifier %q of %q; SemVer forbids it", id, s)
				}
			}
		}
		return bad("%q is not SemVer 2.0: after MAJOR.MINOR.PATCH expected -prerelease and/or +build of [0-9A-Za-z-] identifiers", s)
	}
	parts := strings.Split(strings.SplitN(strings.SplitN(s, "-", 2)[0], "+", 2)[0], ".")
	if len(parts) < 3 {
		return bad("%q has %d of the 3 numbers MAJOR.MINOR.PATCH; expected a SemVer version such as 1.2.3", s, len(parts))
	}
	return bad("%q is not a SemVer 2.0 version; expected MAJOR.MINOR.PATCH such as 1.2.3 or 1.3.0-dev", s)
}

// IsRelease reports whether s is a valid SemVer release (no pre-release):
// MAJOR.MINOR.PATCH without leading zeros, optionally +build. It is the
// semverRE grammar without a pre-release, scanned by hand: it runs on
// every tag name of every repo, and the regexp was a fifth of
// check:versions' CPU time on repos with a thousand tags.
func IsRelease(s string) bool {
	i := 0
	for part := range 3 {
		if part > 0 {
			if i >= len(s) || s[i] != '.' {
				return false
			}
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start || (s[start] == '0' && i-start > 1) {
			return false
		}
		if i-start > 19 {
			if _, err := strconv.ParseUint(s[start:i], 10, 64); err != nil {
				return false // does not fit 64 bits: semver cannot hold it
			}
		}
	}
	if i == len(s) {
		return true
	}
	if s[i] != '+' {
		return false
	}
	n := 0 // length of the current build identifier
	for i++; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if n == 0 {
				return false
			}
			n = 0
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
			n++
		default:
			return false
		}
	}
	return n > 0
}

// Valid reports whether s is valid strict SemVer 2.0 whose numbers fit
// 64 bits (what semver.Version holds), so semver.MustParse of a valid
// version never panics, whatever a hostile tag or Chart.yaml says.
func Valid(s string) bool {
	if !semverRE.MatchString(s) {
		return false
	}
	if longDigits(s) {
		_, err := semver.StrictNewVersion(s)
		return err == nil
	}
	return true
}

// longDigits reports whether s has a run of more than 19 digits, the
// most a uint64 surely holds.
func longDigits(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			if n++; n > 19 {
				return true
			}
		} else {
			n = 0
		}
	}
	return false
}
