package patch

import (
	"strconv"
	"strings"
	"testing"
)

func set(vs ...string) map[string]bool {
	m := map[string]bool{}
	for _, v := range vs {
		m[v] = true
	}
	return m
}

// NextFreeVersion: the next patch unless some branch, tag or the chart
// repository already had it; then the next free one, with what was
// skipped.
func TestNextFreeVersion(t *testing.T) {
	for _, tc := range []struct {
		name, cur string
		used      map[string]bool
		want      string
		skipped   string
		err       bool
	}{
		{"nothing used", "4.1.0", nil, "4.1.1", "", false},
		{"older and current versions do not matter", "4.1.0", set("4.0.9", "4.1.0", "3.9.9"), "4.1.1", "", false},
		{"SD-Core: main used 4.1.1..4.1.3", "4.1.0", set("4.1.0", "4.1.1", "4.1.2", "4.1.3"), "4.1.4", "4.1.1 4.1.2 4.1.3", false},
		{"and the chart repository 4.1.4", "4.1.0", set("4.1.1", "4.1.2", "4.1.3", "4.1.4"), "4.1.5", "4.1.1 4.1.2 4.1.3 4.1.4", false},
		{"a hole is free", "4.1.0", set("4.1.1", "4.1.3"), "4.1.2", "4.1.1", false},
		{"another line does not block", "4.1.0", set("4.2.1", "5.1.1", "4.11.1"), "4.1.1", "", false},
		{"build metadata blocks its version", "4.1.0", set("4.1.1+build.7"), "4.1.2", "4.1.1", false},
		{"a v prefix blocks its version", "4.1.0", set("v4.1.1"), "4.1.2", "4.1.1", false},
		{"a pre-release blocks nothing but itself", "4.1.0", set("4.1.1-rc1", "4.1.1-dev"), "4.1.1", "", false},
		{"garbage blocks nothing; spaces around a version are not garbage", "4.1.0", set("", "4.1", "latest", "4.1.1 ", " "), "4.1.2", "4.1.1", false},
		{"a pre-release current version releases itself", "4.1.1-dev", nil, "4.1.1", "", false},
		{"unless it is taken", "4.1.1-dev", set("4.1.1"), "4.1.2", "4.1.1", false},
		{"current version not SemVer", "4.1", nil, "", "", true},
		{"current version with v", "v4.1.0", nil, "", "", true},
		{"large patch numbers", "0.0.99", set("0.0.100"), "0.0.101", "0.0.100", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, skipped, err := NextFreeVersion(tc.cur, tc.used)
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error %v", err, tc.err)
			}
			if got != tc.want || strings.Join(skipped, " ") != tc.skipped {
				t.Errorf("NextFreeVersion(%s) = %s skipping %q; want %s skipping %q", tc.cur, got, skipped, tc.want, tc.skipped)
			}
		})
	}
	// Bounded: a line whose every patch is used ends in an error.
	all := map[string]bool{}
	for i := range maxFreeSteps + 5 {
		all["1.0."+strconv.Itoa(i+1)] = true
	}
	if _, _, err := NextFreeVersion("1.0.0", all); err == nil {
		t.Error("an exhausted line must be an error")
	}
}

func TestSkippedReason(t *testing.T) {
	master, repo := "used on master", "in the chart repository http://127.0.0.1:1/charts"
	for _, tc := range []struct {
		skipped []string
		where   map[string]string
		want    string
	}{
		{nil, nil, ""},
		{[]string{"4.1.1"}, map[string]string{"4.1.1": master}, "4.1.1 used on master"},
		{[]string{"4.1.1", "4.1.2", "4.1.3", "4.1.4"}, map[string]string{"4.1.1": master, "4.1.2": master, "4.1.3": master, "4.1.4": repo},
			"4.1.1..4.1.3 used on master; 4.1.4 " + repo},
		{[]string{"4.1.1", "4.1.2", "4.1.3"}, map[string]string{"4.1.1": master, "4.1.2": "used on tag 4.1.2", "4.1.3": master},
			"4.1.1 used on master; 4.1.2 used on tag 4.1.2; 4.1.3 used on master"},
		{[]string{"4.1.1"}, nil, "4.1.1 used"},
	} {
		if got := SkippedReason(tc.skipped, tc.where); got != tc.want {
			t.Errorf("SkippedReason(%q) = %q, want %q", tc.skipped, got, tc.want)
		}
	}
}
