package story

import (
	"context"
	"fmt"
	"io"

	"github.com/relkit/relkit/release/branch"
	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// runBranch shows release:branch's plan with -dryRun, then cuts and pushes.
func runBranch(ctx context.Context, w io.Writer, ws *workspace.Config, _ *demo.Workspace) error {
	fmt.Fprintf(w, "$ go tool mage release:branch %s -dryRun\n", demoLine)
	if err := branch.Run(ctx, ws, branch.Options{Line: demoLine, DryRun: true, Push: true}, w, plan.Text); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n$ go tool mage release:branch %s -push\n", demoLine)
	if err := branch.Run(ctx, ws, branch.Options{Line: demoLine, Push: true}, w, plan.Text); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n$ go tool mage release:branch %s -push   (again: nothing left to do)\n", demoLine)
	return branch.Run(ctx, ws, branch.Options{Line: demoLine, Push: true}, w, plan.Text)
}
