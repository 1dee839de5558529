package charts

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestFollowPin(t *testing.T) {
	for _, tc := range []struct {
		pin, want, err string
	}{
		{pin: "", want: ""},
		{pin: "1.2.3", want: "1.3.0"},
		{pin: " 1.3.0 ", want: ""},
		{pin: "~1.x", want: ""},
		{pin: "~1.2.0", err: `the range "~1.2.0" does not accept the chart's new version 1.3.0 (from 1.2.3)`},
		{pin: "not a pin", err: `version "not a pin" is neither a version nor a range`},
	} {
		got, err := FollowPin(tc.pin, "1.2.3", "1.3.0")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("FollowPin(%q): got %q, %v; expected the error %q", tc.pin, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("FollowPin(%q): got %q, %v; expected %q", tc.pin, got, err, tc.want)
		}
	}
}

func TestDepEntries(t *testing.T) {
	var doc yaml.Node
	src := "dependencies:\n- just a string\n- name: a\n  version: 1.0.0\n  repository: file://../a\n- name: b\n"
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	got := DepEntries(doc.Content[0].Content[1])
	want := []DepEntry{{Index: 1, Name: "a", Version: "1.0.0", Repository: "file://../a", Line: 4}, {Index: 2, Name: "b"}}
	if len(got) != len(want) {
		t.Fatalf("DepEntries: got %+v, expected %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("DepEntries[%d]: got %+v, expected %+v", i, got[i], want[i])
		}
	}
	if d := DepEntries(nil); d != nil {
		t.Errorf("DepEntries(nil): got %+v, expected none", d)
	}
	if d := DepEntries(doc.Content[0]); d != nil {
		t.Errorf("DepEntries(a mapping): got %+v, expected none", d)
	}
}
