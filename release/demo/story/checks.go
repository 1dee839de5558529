package story

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/relkit/relkit/checks"
	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/workspace"
)

// runChecks runs every registered check, with registry lookups, and fails
// the demo only when a check could not decide: the demo workspace carries
// warnings on purpose.
func runChecks(ctx context.Context, w io.Writer, ws *workspace.Config, _ *demo.Workspace) error {
	old, had := os.LookupEnv("RELKIT_REGISTRY")
	os.Setenv("RELKIT_REGISTRY", "1")
	defer func() {
		if had {
			os.Setenv("RELKIT_REGISTRY", old)
		} else {
			os.Unsetenv("RELKIT_REGISTRY")
		}
	}()
	fmt.Fprintf(w, "$ go tool mage check:all   (RELKIT_REGISTRY=1: every image tag is looked up in the registry)\n")
	r := checks.NewRunnerWith(func() (*workspace.Config, error) { return ws, nil })
	code, summary := r.Run(ctx, w, checks.Names()...)
	switch code {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("the demo workspace should pass the checks: %s", summary)
	}
	return fmt.Errorf("checks could not decide: %s", summary)
}
