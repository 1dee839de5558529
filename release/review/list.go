package review

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/relkit/relkit/release/workspace"
)

// List lists the open reviews relkit made for names, for release:status:
// on Gerrit the open changes of each name's topic, in every project (dir
// and remote are not used: one call covers all repos); on GitHub and
// Gitea the open pull requests from each name's review branch in the repo
// remote (a name or URL, as git in dir knows it) points at. Each list is
// ordered by project and number.
func List(ctx context.Context, opt Options, dir, remote string, names ...Name) ([]Open, error) {
	kind := opt.Kind
	if err := opt.check(kind); err != nil {
		return nil, err
	}
	var out []Open
	if kind == workspace.ReviewGerrit {
		if strings.TrimSpace(opt.URL) == "" {
			return nil, errNoGerritURL
		}
		for _, n := range names {
			list, err := gerritChanges(ctx, opt, n.Topic())
			if err != nil {
				return nil, redactErr(err, opt.Token)
			}
			for _, ch := range list {
				out = append(out, ch.open(opt.URL))
			}
		}
	} else {
		h, err := newHub(opt, kind)
		if err != nil {
			return nil, err
		}
		repo, err := remoteRepo(ctx, dir, remote)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			pulls, err := h.openPulls(ctx, repo, n.Head())
			if err != nil {
				return nil, redactErr(err, opt.Token)
			}
			for _, p := range pulls {
				out = append(out, p.open(kind, repo))
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Open) int {
		if c := strings.Compare(a.Project, b.Project); c != 0 {
			return c
		}
		return a.Number - b.Number
	})
	return out, nil
}

var errNoGerritURL = errors.New("listing Gerrit changes needs review.url, Gerrit's web root")
