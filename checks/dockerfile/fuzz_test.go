package dockerfile

import (
	"errors"
	"strings"
	"testing"
	"unicode"
)

// FuzzResolveFrom fuzzes the FROM resolution: a global ARG with a default,
// a build arg for another ARG, and a FROM word using them. Whatever the
// input, Analyze must not panic, and what it returns must be consistent.
func FuzzResolveFrom(f *testing.F) {
	for _, s := range [][3]string{
		{"1.22", "", "golang:${A}"},
		{"1.22", "x", "golang:${B}"},
		{"", "", "golang:${B:-1.22}"},
		{"3.20", "", "alpine:$A-$B"},
		{"golang", "1.22.5", "${A}:${B}-alpine"},
		{"build", "", "${A}"},
		{"", "", "${A:?need A}"},
		{"", "", "scratch"},
		{"x", "y", "registry:5000/team/app:${A}@sha256:" + strings.Repeat("0", 64)},
		{"$B", "1", "a:$A"},
		{"${A}", "", "a:${A:+x}"},
		{"", "", "${"},
		{"\\", "`", "a:\\$A"},
		{"1.2", "", "a:${A%.*}${B#x}${A/1/2}"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, defA, argB, word string) {
		if !simpleWord(word) || strings.ContainsAny(defA, "\r\n") {
			return
		}
		file := "ARG A=" + defA + "\nARG B\nFROM alpine:3.20 AS build\nFROM " + word + "\n"
		opts := Options{BuildArgs: map[string]string{"B": argB}}
		fs, err := Analyze([]byte(file), opts)
		var se SyntaxErrors
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("Analyze returned %T %v; want SyntaxErrors", err, err)
		}
		for _, e := range se {
			if e.Line < 0 || e.Line > 4 {
				t.Errorf("syntax error on line %d of a 4-line file: %v", e.Line, e)
			}
		}
		for _, fr := range fs {
			checkFrom(t, fr)
		}
		if len(fs) == 0 {
			return
		}
		last := fs[len(fs)-1]
		if last.Line != 4 {
			return // the ARG line broke, or the word made the FROM invalid
		}
		if !strings.ContainsAny(word, "$\\`'\"") && (last.Kind == Image || last.Kind == Stage) && last.Expanded != word {
			t.Errorf("FROM %q with nothing to expand came back as %q", word, last.Expanded)
		}
		if last.Kind == Stage && !strings.EqualFold(last.Expanded, "build") {
			t.Errorf("FROM %q resolved to stage %q; the only stage is build", word, last.Expanded)
		}
		if last.Kind == Image {
			v := Classify(last.Expanded, defaultPolicy)
			checkVerdict(t, last.Expanded, v)
		}
	})
}

// simpleWord keeps words the Dockerfile line grammar keeps whole: no blanks,
// no line breaks, no flag or comment start.
func simpleWord(s string) bool {
	return s != "" && !strings.HasPrefix(s, "-") && !strings.HasPrefix(s, "#") &&
		!strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar })
}

func checkFrom(t *testing.T, fr From) {
	t.Helper()
	if fr.Line < 1 || fr.EndLine < fr.Line {
		t.Errorf("FROM at lines %d-%d", fr.Line, fr.EndLine)
	}
	switch fr.Kind {
	case Unresolved:
		if len(fr.Missing) == 0 || fr.Reason == "" {
			t.Errorf("unresolved FROM %q without missing variables or reason: %+v", fr.Written, fr)
		}
	case Image, Stage, Scratch:
		if fr.Expanded == "" || len(fr.Missing) != 0 {
			t.Errorf("resolved FROM %q is empty or has missing variables: %+v", fr.Written, fr)
		}
	default:
		t.Errorf("unknown kind %v", fr.Kind)
	}
}

func checkVerdict(t *testing.T, ref string, v Verdict) {
	t.Helper()
	if v.Class == Invalid {
		if v.Detail == "" {
			t.Errorf("Classify(%q) is invalid without a reason", ref)
		}
		return
	}
	if v.Ref.String() != ref {
		t.Errorf("Classify(%q) split it into %+v, which reassembles as %q", ref, v.Ref, v.Ref.String())
	}
	if strings.Contains(v.Ref.Tag, "/") || strings.Contains(v.Ref.Tag, ":") {
		t.Errorf("Classify(%q): tag %q holds a '/' or ':'", ref, v.Ref.Tag)
	}
	if v.Class.Pinned() == (v.Detail != "") && v.Class != MovingDigested {
		t.Errorf("Classify(%q) = %v with detail %q: pinned classes need no detail, others do", ref, v.Class, v.Detail)
	}
	switch v.Class {
	case Digested, MovingDigested:
		if v.Ref.Digest == "" {
			t.Errorf("Classify(%q) = %v without a digest", ref, v.Class)
		}
	case Untagged:
		if v.Ref.Tag != "" || v.Ref.Digest != "" {
			t.Errorf("Classify(%q) = untagged with tag %q digest %q", ref, v.Ref.Tag, v.Ref.Digest)
		}
	case Release, Versioned, Moving, Unversioned:
		if v.Ref.Tag == "" || v.Ref.Digest != "" {
			t.Errorf("Classify(%q) = %v with tag %q digest %q", ref, v.Class, v.Ref.Tag, v.Ref.Digest)
		}
	}
}

// FuzzClassify fuzzes reference parsing and classification directly.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		"ubuntu", "ubuntu:16.04", "postgres:10.3-alpine", "ubuntu:master-1.2", "golang:${GO}",
		"registry:5000/team/app:1.0.0", "registry:5000/team/app", "alpine:latest@" + dgA, "alpine@" + dgA,
		"gcr.io/distroless/static:nonroot", "app:v1.2.3", "app:rel-1.2.3", "app:1.3.0-dev", "a:b:c", "a@b@c",
		"localhost/x", "[::1]:5000/app:1.0", "UPPER/case:1.0", "x:" + strings.Repeat("9", 200),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		v := Classify(ref, defaultPolicy)
		checkVerdict(t, ref, v)
		if v.Class == Invalid {
			return
		}
		// A reference that parses, parses the same way again.
		again, err := ParseRef(v.Ref.String())
		if err != nil || again != v.Ref {
			t.Errorf("ParseRef(%q) = %+v, %v; first parse gave %+v", v.Ref.String(), again, err, v.Ref)
		}
		if len(v.Ref.Names()) == 0 || v.Ref.Names()[0] != v.Ref.Repository {
			t.Errorf("Names() of %q = %q; want the repository as written first", ref, v.Ref.Names())
		}
	})
}

// FuzzAnalyze feeds whole files: no panic, and every result consistent.
func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{
		"FROM golang:1.22 as build\nFROM build AS test\nFROM scratch\n",
		"ARG GO=1.22\nFROM golang:${GO}\nARG LATE=1\nFROM alpine:${LATE}\n",
		"# escape=`\nFROM `\n  alpine:3.20\n",
		"FROM alpine:3.20\nRUN <<EOF\nFROM x\nEOF\n",
		"from --platform=$BUILDPLATFORM \\\n golang:1.22\n",
		"ARG A\nARG B=$A\nFROM x:${B:?no}\n",
		"FROM",
		"ARG",
		"\xef\xbb\xbfFROM alpine:3.20\n",
		"FROM golang:1.22 AS b\nFROM alpine:3.20\nCOPY --from=b /a /a\nCOPY --from=0 /a /a\nCOPY --from=alpine:latest /a /a\n",
		"FROM alpine:3.20\nRUN --mount=type=cache,from=golang,target=/x --mount=from=$X true\nCOPY --from=$A / /\n",
		"ARG A=xx\nARG B=$A$A\nARG C=$B$B\nARG D=${C//x/$C}\nFROM a:$D\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := Analyze(data, Options{BuildArgs: map[string]string{"A": "1.0"}})
		var se SyntaxErrors
		if err != nil && (!errors.As(err, &se) || len(se) == 0) {
			t.Fatalf("Analyze error %T %v; want non-empty SyntaxErrors", err, err)
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, fr := range fs {
			checkFrom(t, fr)
			if len(fr.Expanded) > MaxExpansion {
				t.Errorf("FROM expanded to %d bytes, above MaxExpansion", len(fr.Expanded))
			}
			if fr.EndLine > lines {
				t.Errorf("FROM ends on line %d of a %d-line file", fr.EndLine, lines)
			}
		}
	})
}
