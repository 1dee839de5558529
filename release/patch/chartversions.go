package patch

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"

	"github.com/relkit/relkit/checks/chartrepo"
	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/workspace"
)

// maxFreeSteps bounds the search for a free chart version.
const maxFreeSteps = 10_000

// versionKey is how used versions are compared: SemVer without build
// metadata (Helm orders 4.1.4+build.1 with 4.1.4, and a chart repository
// holding one must not get the other), a leading "v" ignored.
func versionKey(v string) (string, bool) {
	sv, err := semver.StrictNewVersion(strings.TrimPrefix(strings.TrimSpace(v), "v"))
	if err != nil {
		return "", false
	}
	k := fmt.Sprintf("%d.%d.%d", sv.Major(), sv.Minor(), sv.Patch())
	if sv.Prerelease() != "" {
		k += "-" + sv.Prerelease()
	}
	return k, true
}

// NextFreeVersion decides a chart's next version on a release branch: the
// next patch release after cur (cur itself when cur is a pre-release) that
// used does not hold. It returns that version and the used versions it
// passed over, in order. used holds versions as written anywhere (a
// Chart.yaml in some commit, a chart repository); entries that are not
// SemVer block nothing.
func NextFreeVersion(cur string, used map[string]bool) (string, []string, error) {
	v, err := semver.StrictNewVersion(cur)
	if err != nil {
		return "", nil, fmt.Errorf("version %q is not SemVer", cur)
	}
	taken := map[string]bool{}
	for u := range used {
		if k, ok := versionKey(u); ok {
			taken[k] = true
		}
	}
	patch := v.Patch() + 1
	if v.Prerelease() != "" {
		patch = v.Patch()
	}
	var skipped []string
	for range maxFreeSteps {
		cand := fmt.Sprintf("%d.%d.%d", v.Major(), v.Minor(), patch)
		if !taken[cand] {
			return cand, skipped, nil
		}
		skipped = append(skipped, cand)
		patch++
	}
	return "", skipped, fmt.Errorf("no free patch version after %s within %d tries", cur, maxFreeSteps)
}

// SkippedReason says why the versions skipped were not free, grouping runs
// of consecutive versions seen in the same place: "4.1.1..4.1.3 used on
// master; 4.1.4 in the chart repository https://charts.example.org".
// where maps a skipped version to the place it was seen.
func SkippedReason(skipped []string, where map[string]string) string {
	var parts []string
	for i := 0; i < len(skipped); {
		j := i
		for j+1 < len(skipped) && where[skipped[j+1]] == where[skipped[i]] && consecutive(skipped[j], skipped[j+1]) {
			j++
		}
		span := skipped[i]
		if j > i {
			span += ".." + skipped[j]
		}
		w := where[skipped[i]]
		if w == "" {
			w = "used"
		}
		parts = append(parts, span+" "+w)
		i = j + 1
	}
	return strings.Join(parts, "; ")
}

// consecutive reports whether b is the patch release right after a.
func consecutive(a, b string) bool {
	va, err1 := semver.StrictNewVersion(a)
	vb, err2 := semver.StrictNewVersion(b)
	return err1 == nil && err2 == nil && va.Major() == vb.Major() && va.Minor() == vb.Minor() && vb.Patch() == va.Patch()+1
}

// UsedVersions returns the versions chart (by name) ever had, each mapped
// to where it was seen.
type UsedVersions func(ctx context.Context, chart string) (map[string]string, error)

// maxChartYAML bounds a Chart.yaml read from history.
const maxChartYAML = 1 << 20

// chartVersionsUsed gathers, once per run, the versions every chart ever
// had: from the history of every Chart.yaml on every branch, tag and
// remote-tracking branch of the charts repo (one git log pass), and from
// the chart repositories charts.repository and charts.publish name (one
// index read each, or one tag listing per chart), as check:charts and
// chart:publish read them.
type chartVersionsUsed struct {
	dir, root string
	charts    *workspace.Repo
	// mirrors are images.mirrors: an OCI chart repository is asked where
	// the registry's content is served, as everywhere else.
	mirrors map[string]string

	mu       sync.Mutex
	loaded   bool
	git      map[string]map[string]string
	repos    []chartrepo.Repository
	opened   bool
	fromRepo map[string]map[string]string
}

func (u *chartVersionsUsed) of(ctx context.Context, chart string) (map[string]string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.loaded {
		if err := u.loadGit(ctx); err != nil {
			return nil, err
		}
		u.loaded = true
	}
	out := map[string]string{}
	for v, w := range u.git[chart] {
		out[v] = w
	}
	if !u.opened {
		repos, err := chartrepo.Targets(u.charts, chartrepo.Options{BaseDir: u.root, Mirrors: u.mirrors})
		if err != nil {
			return nil, fmt.Errorf("charts.repository, charts.publish: %w", err)
		}
		u.repos, u.opened = repos, true
	}
	if len(u.repos) == 0 {
		return out, nil
	}
	if u.fromRepo == nil {
		u.fromRepo = map[string]map[string]string{}
	}
	got, ok := u.fromRepo[chart]
	if !ok {
		got = map[string]string{}
		for _, r := range u.repos {
			list, err := chartrepo.Versions(ctx, r, chart)
			if err != nil {
				return nil, fmt.Errorf("reading the chart repository %s, to pick a version of %s it does not hold: %w", r, chart, err)
			}
			for _, v := range list {
				if k, ok := versionKey(v); ok {
					if _, seen := got[k]; !seen {
						got[k] = "in the chart repository " + r.String()
					}
				}
			}
		}
		u.fromRepo[chart] = got
	}
	for v, w := range got {
		if _, seen := out[v]; !seen {
			out[v] = w
		}
	}
	return out, nil
}

func (u *chartVersionsUsed) loadGit(ctx context.Context) error {
	g, err := gitx.Open(u.dir)
	if err != nil {
		return err
	}
	defer g.Close()
	u.git = map[string]map[string]string{}
	return g.EveryContent(ctx, gitx.KnownRefs, "Chart.yaml", maxChartYAML, func(c gitx.Content) error {
		if c.Data == nil {
			return nil
		}
		meta, err := charts.ParseMeta(c.Data)
		if err != nil || meta.Name == "" {
			return nil // not a chart relkit could have versioned
		}
		k, ok := versionKey(meta.Version)
		if !ok {
			return nil
		}
		if u.git[meta.Name] == nil {
			u.git[meta.Name] = map[string]string{}
		}
		if _, seen := u.git[meta.Name][k]; !seen {
			u.git[meta.Name][k] = "used on " + gitx.RefDisplay(c.Source)
		}
		return nil
	})
}

// UsedChartVersions returns the session's view of every chart version
// ever used (see chartVersionsUsed), gathered once.
func (s *Session) UsedChartVersions() UsedVersions {
	s.usedOnce.Do(func() {
		s.used = &chartVersionsUsed{dir: s.WS.Charts.Dir, charts: s.WS.Charts, root: s.WS.Root, mirrors: s.WS.Images.Mirrors}
	})
	return s.used.of
}
