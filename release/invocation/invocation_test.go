package invocation

import (
	"errors"
	"strings"
	"testing"
)

func TestAlone(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		target   string
		required int
		want     string // "" accepted, else a text of the refusal
	}{
		// What `go tool mage` and `go run magefile.go` pass on (mage's own
		// flags already taken off), and what a compiled binary gets.
		{"plain", []string{"release:branch", "2.1"}, "release:branch", 1, ""},
		{"flags", []string{"release:branch", "2.1", "-dryRun", "-push"}, "release:branch", 1, ""},
		{"flag values", []string{"release:tag", "-repo=amf", "-push=true"}, "release:tag", 0, ""},
		{"case", []string{"Release:Branch", "2.1"}, "release:branch", 1, ""},
		{"compiled -v", []string{"-v", "release:branch", "2.1", "-dryRun"}, "release:branch", 1, ""},
		{"compiled -t", []string{"-t", "5m", "-v", "patch:charts", "2.1", "abc,def"}, "patch:charts", 2, ""},
		{"compiled -t=", []string{"-t=30s", "image:push", "amf", "oci/"}, "image:push", 2, ""},
		{"compiled --v", []string{"--v", "release:point", "2.1", "-push"}, "release:point", 1, ""},

		// The words mage would run as another target.
		{"second line", []string{"release:branch", "2.1", "2.2", "-dryRun"}, "release:branch", 1, `"2.2 -dryRun" after them`},
		{"second commit", []string{"patch:charts", "2.1", "C1", "C2", "-dryRun"}, "patch:charts", 2, `"C2 -dryRun"`},
		{"flag after a second target", []string{"release:tag", "check:versions", "-dryRun"}, "release:tag", 0, `"check:versions -dryRun"`},
		{"target after the flags", []string{"release:branch", "2.1", "-dryRun", "check:all"}, "release:branch", 1, `"-dryRun check:all"`},
		{"compiled, second target", []string{"-v", "release:manifest", "2.1", "release:status", "2.1", "-dryRun"}, "release:manifest", 1, "another target"},
		{"after another target", []string{"check:versions", "release:tag", "-dryRun"}, "release:tag", 0, `but "check:versions" came first`},
		{"flag in place of an argument", []string{"release:branch", "-dryRun", "2.1"}, "release:branch", 1, `argument 1 is "-dryRun"`},
		{"flag in place of the commits", []string{"patch:charts", "2.1", "-dryRun"}, "patch:charts", 2, `argument 2 is "-dryRun"`},
		{"too few", []string{"patch:component", "amf", "2.1"}, "patch:component", 3, "takes 3 argument(s), got 2"},
		{"empty", nil, "release:tag", 0, "but nothing came first"},
		{"unknown main flag", []string{"-x", "release:tag"}, "release:tag", 0, "cannot read the command line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Alone(tc.args, tc.target, tc.required)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused %q: %v", tc.args, err)
				}
				return
			}
			var ie *Error
			if !errors.As(err, &ie) {
				t.Fatalf("accepted %q (err %v)", tc.args, err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), tc.target) {
				t.Errorf("error %q lacks %q or the target", err, tc.want)
			}
		})
	}
}
