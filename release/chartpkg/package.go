package chartpkg

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"
)

// Package is a chart package built from a commit.
type Package struct {
	*Chart
	// Data is the .tgz, Digest its sha256 ("sha256:<hex>").
	Data   []byte
	Digest string
	// ModTime is the time of every file in the archive: the last change
	// of the chart's Paths on the commit's first-parent line.
	ModTime time.Time
}

// FileName is the package's file name, <name>-<version>.tgz, as `helm
// package` names it.
func (p *Package) FileName() string { return p.Name() + "-" + p.Version() + ".tgz" }

// Build packages loaded charts of tree t: one history walk dates them
// all, then the archives are written in parallel. The packages and the
// errors of the charts that could not be archived are in the order of
// list; the error return is for the history walk (a *ShallowError, git
// failing), which stops everything.
func Build(ctx context.Context, t *Tree, list []*Chart) ([]*Package, []error, error) {
	sets := make(map[string][]string, len(list))
	for _, c := range list {
		sets[c.Dir] = c.Paths
	}
	times, err := t.ModTimes(ctx, sets)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*Package, len(list))
	errs := make([]error, len(list))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, c := range list {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				errs[i] = err
				return nil
			}
			data, err := Archive(c.Chart, times[c.Dir])
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", c.Dir, err)
				return nil
			}
			out[i] = &Package{Chart: c, Data: data, Digest: Digest(data), ModTime: times[c.Dir]}
			return nil
		})
	}
	_ = g.Wait()
	return out, errs, ctx.Err()
}
