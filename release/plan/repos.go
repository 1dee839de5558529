package plan

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/workspace"
)

// ReadRepos fills p.Repos with one Repo per repo, in order, each planned
// by fn with at most parallel (0: the default) at once. A repo fn could not
// read gets the problem "could not read the repo", and the error returned
// is then an *Undecided naming every such repo; a cancelled ctx is
// returned as it is.
func (p *Plan) ReadRepos(ctx context.Context, repos []*workspace.Repo, parallel int, fn func(context.Context, *workspace.Repo, *Repo) error) error {
	p.Repos = make([]*Repo, len(repos))
	var mu sync.Mutex
	var undecided []error
	idx := make([]int, len(repos))
	for i := range idx {
		idx[i] = i
	}
	ForEach(ctx, idx, parallel, func(ctx context.Context, i int) {
		r := repos[i]
		pr := &Repo{Name: r.Name, Kind: string(r.Kind), Dir: r.Dir}
		if err := fn(ctx, r, pr); err != nil {
			var sh *gitx.ShallowError
			if errors.As(err, &sh) {
				pr.Problemf("could not decide: %v", err)
			} else {
				pr.Problemf("could not read the repo: %v", err)
			}
			mu.Lock()
			undecided = append(undecided, fmt.Errorf("%s: %w", r.Name, err))
			mu.Unlock()
		}
		p.Repos[i] = pr
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(undecided) > 0 {
		return &Undecided{Err: errors.Join(undecided...)}
	}
	return nil
}
