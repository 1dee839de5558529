package manifest

import (
	"context"
	"fmt"
	"io"

	"github.com/relkit/relkit/release/workspace"
)

// DemoManifest is the demo's closing chapter for release line minor
// ("2.1"): it writes the release manifest on the charts repo's release
// branch (release:manifest), shows it, and re-resolves every image in it
// (release:verify). It returns the verification's error, if any.
func DemoManifest(ctx context.Context, w io.Writer, ws *workspace.Config, minor string) error {
	checker, err := NewChecker(ws)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n== release:manifest %s: what the release is made of ==\n\n", minor)
	res, err := Run(ctx, ws, minor, Options{Checker: checker})
	if err != nil {
		return err
	}
	if err := res.WriteText(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s on %s:\n\n", res.Path, res.Branch)
	if _, err := w.Write(res.Data); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n== release:verify %s: is the release still what it was? ==\n\n", res.Release)
	v, verr := Verify(ctx, ws, res.Release, VerifyOptions{Checker: checker})
	if v != nil {
		if err := v.WriteText(w); err != nil {
			return err
		}
	}
	return verr
}
