package chartrepo

import (
	"context"
	"errors"
	"fmt"

	"github.com/relkit/relkit/release/workspace"
)

// Targets opens every chart repository the charts repo c publishes to:
// charts.repository, then charts.publish's static repository in git and
// its OCI registry, without duplicates. A chart version counts as
// published where Lookup finds it; check:charts, release:status and
// chart:publish all ask these. None configured gives an empty list.
func Targets(c *workspace.Repo, opts Options) ([]Repository, error) {
	var out []Repository
	seen := map[string]bool{}
	add := func(r Repository) {
		if !seen[r.String()] {
			seen[r.String()] = true
			out = append(out, r)
		}
	}
	if c == nil {
		return nil, nil
	}
	if c.Repository != "" {
		r, err := Open(c.Repository, opts)
		if err != nil {
			return nil, err
		}
		add(r)
	}
	if p := c.Publish; p != nil {
		if p.Git != "" {
			add(OpenSite(Site{Git: p.Git, Branch: p.Branch, Dir: p.Dir}))
		}
		if p.OCI != "" {
			r, err := OpenOCI(p.OCI, opts)
			if err != nil {
				return nil, fmt.Errorf("charts.publish.oci: %w", err)
			}
			add(r)
		}
	}
	return out, nil
}

// PublishTargets opens the chart repositories chart:publish writes to
// (charts.publish's static repository in git and OCI registry); when
// charts.publish is not set, the repository the charts are published to
// by other means (charts.repository). "Published" in release:status means
// held by every one of them, "pending" lacking in some.
func PublishTargets(c *workspace.Repo, opts Options) ([]Repository, error) {
	if c == nil || c.Publish == nil {
		return Targets(c, opts)
	}
	p := *c.Publish
	return Targets(&workspace.Repo{Publish: &p}, opts)
}

// Holding asks every repository of repos whether it holds chart at
// exactly version: have lists those that do, lack those that do not, in
// the order of repos. A repository that could not answer is in neither,
// and its error (naming it) is joined into err.
func Holding(ctx context.Context, repos []Repository, chart, version string) (have, lack []Repository, err error) {
	var errs []error
	for _, r := range repos {
		found, e := r.Has(ctx, chart, version)
		switch {
		case e != nil:
			errs = append(errs, fmt.Errorf("chart repository %s: %w", r, e))
		case found:
			have = append(have, r)
		default:
			lack = append(lack, r)
		}
	}
	return have, lack, errors.Join(errs...)
}

// Names lists the repositories' names.
func Names(repos []Repository) []string {
	out := make([]string, len(repos))
	for i, r := range repos {
		out[i] = r.String()
	}
	return out
}
