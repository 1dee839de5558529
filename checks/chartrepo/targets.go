package chartrepo

import (
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
