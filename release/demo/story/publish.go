package story

import (
	"context"
	"fmt"
	"io"

	"github.com/relkit/relkit/checks/chartrepo"
	"github.com/relkit/relkit/release/chartpublish"
	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// runPublish plays the charts repo's CI after the merges on master and on
// aether-2.1: chart:publish puts every chart version not yet published
// into the static chart repository (branch gh-pages of a git repo) and the
// OCI registry, dependencies first; a rerun has nothing to do.
func runPublish(ctx context.Context, w io.Writer, ws *workspace.Config, _ *demo.Workspace) error {
	branch := ws.ReleaseBranch(demoLine)
	steps := []struct {
		note string
		opt  chartpublish.Options
	}{
		{"(the charts repo's CI on master, after the merge)\n$ go tool mage chart:publish -dryRun", chartpublish.Options{Rev: "master", DryRun: true}},
		{"$ go tool mage chart:publish -push", chartpublish.Options{Rev: "master", Push: true}},
		{"(CI on " + branch + ", after the merge of the patch release)\n$ go tool mage chart:publish -push", chartpublish.Options{Rev: branch, Push: true}},
		{"$ go tool mage chart:publish -push   (again: nothing left to do)", chartpublish.Options{Rev: branch, Push: true}},
	}
	for i, st := range steps {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, st.note)
		st.opt.Registry = chartrepo.Options{BaseDir: ws.Root, Mirrors: ws.Images.Mirrors}
		if err := chartpublish.Run(ctx, ws, st.opt, w, plan.Text); err != nil {
			return err
		}
	}
	return nil
}
