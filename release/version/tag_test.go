package version

import (
	"slices"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

func TestTagForms(t *testing.T) {
	for prefix, want := range map[string][]string{
		"":     {"", "v"},
		"v":    {"v", ""},
		"rel-": {"rel-", "v", ""},
	} {
		got := TagForms(prefix)
		// The prefix form first, then the others; each once.
		if got[0] != prefix || len(got) != len(want) || !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
			t.Errorf("TagForms(%q) = %q, want %q", prefix, got, want)
		}
	}
}

func TestFromTag(t *testing.T) {
	for _, tc := range []struct {
		name, prefix string
		want, form   string
	}{
		{"1.2.3", "", "1.2.3", ""},
		{"v1.2.3", "", "1.2.3", "v"},
		{"1.2.3", "v", "1.2.3", ""},
		{"v1.2.3", "v", "1.2.3", "v"},
		{"rel-1.2.3", "rel-", "1.2.3", "rel-"},
		{"v4.0.0", "rel-", "4.0.0", "v"},
		{"1.2.3+build.1", "", "1.2.3+build.1", ""},
		{"rel-1.2.3", "v", "", ""},
		{"v1.2.3-rc1", "v", "", ""},
		{"1.2.3-dev", "", "", ""},
		{"V1.2.3", "", "", ""},
		{"vv1.2.3", "v", "", ""},
		{"aether-2.1", "", "", ""},
		{"chart-1.2.3", "", "", ""},
		{"01.2.3", "", "", ""},
		{"1.2", "", "", ""},
	} {
		v, form, ok := FromTag(tc.name, tc.prefix)
		if ok != (tc.want != "") || v != tc.want || form != tc.form {
			t.Errorf("FromTag(%q, %q) = %q %q %v; want %q %q", tc.name, tc.prefix, v, form, ok, tc.want, tc.form)
		}
	}
}

func TestDocsLine(t *testing.T) {
	for _, tc := range []struct {
		charts, docs string
		branch       bool
		want         string // "" agrees; else a substring of the expected docs version
	}{
		// Main branch: the same X.Y, patch and pre-release free.
		{"2.2.0-dev", "2.2.0-dev", false, ""},
		{"2.2.0-dev", "2.2.3", false, ""},
		{"2.2.1", "2.2.0", false, ""},
		{"2.2.0-dev", "2.1.5", false, "2.2.z"},
		{"2.2.0-dev", "3.2.0", false, "2.2.z"},
		// Release branch: the same point release, a -dev standing for the
		// release before it or the one it heads for.
		{"2.1.1", "2.1.1", true, ""},
		{"2.1.2-dev", "2.1.1", true, ""}, // released 2.1.1, charts moved on
		{"2.1.2-dev", "2.1.2", true, ""}, // docs bumped first (step 12 before 13)
		{"2.1.2-dev", "2.1.2-dev", true, ""},
		{"2.1.1", "2.1.2-dev", true, ""}, // docs moved on first
		{"2.1.0-dev", "2.1.0", true, ""}, // the branch before its first release
		{"2.1.0-dev", "2.1.0-dev", true, ""},
		{"2.1.3-dev", "2.1.1", true, "2.1.2 or 2.1.3"}, // the docs missed 2.1.2
		{"2.1.1", "2.1.0", true, "2.1.1"},
		{"2.1.1", "2.1.2", true, "2.1.1"},
		{"2.1.0-dev", "2.0.4", true, "2.1.0"},
		{"2.1.4", "2.2.4", true, "2.1.4"},
	} {
		got := DocsLine(semver.MustParse(tc.charts), semver.MustParse(tc.docs), tc.branch)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("DocsLine(charts %s, docs %s, branch %v) = %q, want %q", tc.charts, tc.docs, tc.branch, got, tc.want)
		}
	}
}

// TestIsReleaseMatchesTheGrammar holds the hand-written scanner to the
// SemVer regexp (a release is a match without a pre-release) over every
// string up to 7 characters from an alphabet that reaches each branch,
// plus longer shapes.
func TestIsReleaseMatchesTheGrammar(t *testing.T) {
	ref := func(s string) bool {
		m := semverRE.FindStringSubmatch(s)
		return m != nil && m[4] == "" && Valid(s) // and its numbers fit 64 bits
	}
	alphabet := "01.9+-a"
	n, checked := 0, 0
	var walk func(prefix string)
	walk = func(prefix string) {
		checked++
		if got, want := IsRelease(prefix), ref(prefix); got != want {
			n++
			if n < 10 {
				t.Errorf("IsRelease(%q) = %v, the grammar says %v", prefix, got, want)
			}
		}
		if len(prefix) == 7 {
			return
		}
		for i := range len(alphabet) {
			walk(prefix + alphabet[i:i+1])
		}
	}
	walk("")
	for _, s := range []string{"10.20.30", "1.2.3+build.5", "1.2.3+build..5", "1.2.3+", "1.2.3-rc1", "1.2.3-rc1+b", "01.2.3", "1.2.3.4",
		"18446744073709551616.0.0", "1.2.3+Z-z.0", "1.2.3 ", "v1.2.3", "1.2.3+b_1", "1.2.3\n"} {
		if got, want := IsRelease(s), ref(s); got != want {
			t.Errorf("IsRelease(%q) = %v, the grammar says %v", s, got, want)
		}
	}
	if checked < 900_000 {
		t.Errorf("only %d strings checked", checked)
	}
}
