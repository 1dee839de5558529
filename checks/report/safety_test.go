package report

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestOutputIsEscapedAndRedacted: repository content with control
// characters and URLs with credentials (a mirror, a chart repository, a
// git error) reach no output format raw.
func TestOutputIsEscapedAndRedacted(t *testing.T) {
	t.Parallel()
	r := New("images")
	r.Add(Finding{Check: "images", Rule: "image-moving-tag", Severity: Error, Repo: "charts",
		File: "apps/x/values.yaml\x1b[2K", Line: 3, Subject: "org/x:\x1b[31mlatest",
		Message: "tag of org/x\x07 from mirror https://robot:hunter2@mirror.example.org/v2 \x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\ set\r by values"})
	r.Undecided(errors.New("git ls-remote https://x-token:ghp_abc123@github.com/o/r.git: fatal: could not read\x1b[0m"))
	for _, o := range []Options{{Format: Text}, {Format: Text, GitHub: true}, {Format: JSON}, {Format: JUnit}} {
		var b bytes.Buffer
		if err := r.Write(&b, o); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, secret := range []string{"hunter2", "ghp_abc123", "robot:", "x-token"} {
			if strings.Contains(out, secret) {
				t.Errorf("%+v output holds %q:\n%s", o, secret, out)
			}
		}
		if strings.ContainsAny(out, "\x1b\x07\r") {
			t.Errorf("%+v output holds raw control characters: %q", o, out)
		}
		if !strings.Contains(out, "mirror.example.org") || !strings.Contains(out, "github.com/o/r.git") {
			t.Errorf("%+v output lost the hosts: %s", o, out)
		}
	}
	// The report itself keeps the findings as they were.
	if f := r.Findings()[0]; !strings.Contains(f.Message, "hunter2") {
		t.Error("Write changed the report's findings")
	}
}
