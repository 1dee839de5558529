package branch

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/plan"
)

// TestChecksGateTheCut: release:branch runs the release checks before it
// writes. Failing checks stop a real run with their exit code (1 findings,
// 3 could not decide) before anything is written or planned; a dry run
// still prints its plan, writes nothing and fails the same way; passing
// checks let the cut happen. The checks' report goes to CheckReport, not
// to the plan's output.
func TestChecksGateTheCut(t *testing.T) {
	dir := t.TempDir()
	fx := buildFixture(t, dir, fixtureOpts{components: 2})
	gate := func(code int, summary string) plan.Gate {
		return func(_ context.Context, w io.Writer) (int, string) {
			io.WriteString(w, "REPORT "+summary+"\n")
			return code, summary
		}
	}
	before := hashTree(t, dir)
	for _, tc := range []struct {
		name    string
		code    int
		dryRun  bool
		planOut bool
	}{
		{"findings stop a run", plan.ExitFailed, false, false},
		{"undecided checks stop a run", plan.ExitUndecided, false, false},
		{"a dry run prints its plan, then fails", plan.ExitFailed, true, true},
		{"a dry run with undecided checks", plan.ExitUndecided, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var report bytes.Buffer
			out, err := run(t, fx, Options{DryRun: tc.dryRun, Checks: gate(tc.code, "2 error(s), 0 warning(s)"), CheckReport: &report})
			if plan.ExitCode(err) != tc.code || !strings.Contains(err.Error(), "the release checks do not pass (2 error(s), 0 warning(s))") {
				t.Errorf("err = %v (exit %d); want the checks' failure with exit %d", err, plan.ExitCode(err), tc.code)
			}
			if report.String() != "REPORT 2 error(s), 0 warning(s)\n" || strings.Contains(out, "REPORT") {
				t.Errorf("report %q, plan output %q: the report belongs on CheckReport only", report.String(), out)
			}
			if got := strings.Contains(out, "create branch aether-2.1 at "); got != tc.planOut {
				t.Errorf("plan printed: %v, want %v:\n%s", got, tc.planOut, out)
			}
			if after := hashTree(t, dir); after != before {
				t.Fatalf("a gated run changed the workspace")
			}
		})
	}
	out := mustRun(t, fx, Options{Checks: gate(plan.ExitOK, "")})
	if fx.rev(fx.ws.Charts.Dir, "refs/heads/aether-2.1") == "" {
		t.Errorf("passing checks: no branch cut:\n%s", out)
	}
}
