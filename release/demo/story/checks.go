package story

import (
	"context"
	"fmt"
	"io"

	"github.com/relkit/relkit/checks"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/workspace"
)

// runChecks runs every registered check, with registry lookups, prints
// the report as ro says, and fails the demo only when a check could not
// decide: the demo workspace carries warnings on purpose.
func runChecks(ctx context.Context, w io.Writer, ws *workspace.Config, ro report.Options) error {
	fmt.Fprintf(w, "$ go tool mage check:all   (RELKIT_REGISTRY=1: every image tag is looked up in the registry)\n")
	r := checks.NewRunner(func() (*workspace.Config, error) { return ws, nil }, checks.Options{Registry: true})
	code, summary := r.Run(ctx, w, ro, checks.Names()...)
	switch code {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("the demo workspace should pass the checks: %s", summary)
	}
	return fmt.Errorf("checks could not decide: %s", summary)
}
