package story

import (
	"context"
	"fmt"
	"io"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/status"
	"github.com/relkit/relkit/release/workspace"
)

// runStatus prints release:status for the demo line.
func runStatus(ctx context.Context, w io.Writer, ws *workspace.Config, _ *demo.Workspace) error {
	fmt.Fprintf(w, "$ go tool mage release:status %s\n", demoLine)
	st, err := status.Collect(ctx, ws, demoLine, status.Options{})
	if err != nil {
		return err
	}
	if err := st.WriteText(w); err != nil {
		return err
	}
	if code := st.ExitCode(); code != 0 {
		return fmt.Errorf("release:status exit %d", code)
	}
	return nil
}
