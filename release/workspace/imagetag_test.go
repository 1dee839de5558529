package workspace

import "testing"

func TestImageTagRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		form, version, tag string
	}{
		{"", "1.2.3", "1.2.3"},
		{"{version}", "1.2.3", "1.2.3"},
		{"v{version}", "1.2.3", "v1.2.3"},
		{"rel-{version}", "1.2.3", "rel-1.2.3"},
		{"{version}-aether", "10.0.1", "10.0.1-aether"},
		{"rel-{version}", "1.2.3+build.7", "rel-1.2.3_build.7"},
		{"{version}", "0.0.0", "0.0.0"},
	} {
		r := &Repo{ImageTagForm: tc.form}
		if got := r.ImageTag(tc.version); got != tc.tag {
			t.Errorf("form %q: ImageTag(%q) = %q, want %q", tc.form, tc.version, got, tc.tag)
		}
		v, ok := r.ImageTagVersion(tc.tag)
		if !ok || v != tc.version {
			t.Errorf("form %q: ImageTagVersion(%q) = %q, %v; want %q", tc.form, tc.tag, v, ok, tc.version)
		}
	}
}

func TestImageTagVersionRefusesOtherForms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ form, tag string }{
		{"{version}", "v1.2.3"},         // another release form
		{"{version}", "rel-1.2.3"},      // another release form
		{"rel-{version}", "1.2.3"},      // the bare version is not the form
		{"rel-{version}", "rel-"},       // no version
		{"rel-{version}", "rel-1.2"},    // not SemVer
		{"v{version}", "v1.2.3-rc1"},    // a pre-release is no release
		{"{version}", "1.2.3_b_1"},      // two '+' are not SemVer
		{"{version}", "latest"},         // a moving tag
		{"{version}-x", "1.2.3-x-x"},    // suffix once, not twice
		{"{version}", "01.2.3"},         // leading zero
		{"{version}", "1.2.3+b1+b2"},    // not SemVer
		{"v{version}", "V1.2.3"},        // case matters in tags
		{"{version}", " 1.2.3"},         // no trimming
		{"rel-{version}", "rel-1.2.3 "}, // no trimming
	} {
		r := &Repo{ImageTagForm: tc.form}
		if v, ok := r.ImageTagVersion(tc.tag); ok {
			t.Errorf("form %q: ImageTagVersion(%q) = %q, true; want not a release in the form", tc.form, tc.tag, v)
		}
	}
}
