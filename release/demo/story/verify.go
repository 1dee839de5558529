package story

import (
	"context"
	"fmt"
	"io"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/manifestfile"
	"github.com/relkit/relkit/release/workspace"
)

// runVerify shows the manifest release:point committed with 2.1.0 and
// re-resolves every image in it.
func runVerify(ctx context.Context, w io.Writer, ws *workspace.Config, _ *demo.Workspace) error {
	const release = demoLine + ".0"
	path := manifestfile.Path(release)
	data, err := gitx.Git(ctx, ws.Charts.Dir, "show", ws.Charts.Tag(release)+":"+path)
	if err != nil {
		return fmt.Errorf("release:point should have committed %s with tag %s: %w", path, release, err)
	}
	fmt.Fprintf(w, "$ git -C %s show %s:%s\n%s\n", ws.Charts.Path, ws.Charts.Tag(release), path, data)
	fmt.Fprintf(w, "$ go tool mage release:verify %s\n", release)
	v, err := manifestfile.Verify(ctx, ws, release, manifestfile.VerifyOptions{})
	if v != nil {
		if werr := v.WriteText(w); werr != nil {
			return werr
		}
	}
	return err
}
