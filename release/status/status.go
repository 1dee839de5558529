// Package status is release:status X.Y: one screen for the release
// engineer on a release line. It says which repos have the release branch
// (locally and on the remote), the last point release and the next version
// of the charts repo, the commits on the charts branch since the last point
// release, the images the branch's charts render that the registry does not
// have yet, the charts whose versions the chart repository does not have
// yet, and what check:images and check:charts say about the branch. It
// reads the branch in a scratch worktree, never the user's checkout. Any
// registry, chart repository or remote that cannot be asked is shown as
// unknown, and the exit status is then 3.
package status

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"

	"github.com/relkit/relkit/checks"
	"github.com/relkit/relkit/checks/chartrepo"
	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/manifestfile"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/review"
	"github.com/relkit/relkit/release/safetext"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

// State of something asked of a remote service.
type State string

const (
	Present State = "present"
	Absent  State = "absent"
	Unknown State = "unknown"
	// NoRemote: the repo has no such remote configured.
	NoRemote State = "no-remote"
)

// Branch is the release branch in one repo.
type Branch struct {
	Repo string `json:"repo"`
	Kind string `json:"kind"`
	// Local is the local branch's commit ("" when absent).
	Local string `json:"local,omitempty"`
	// Remote is the remote branch's commit ("" when absent or unknown).
	Remote      string `json:"remote,omitempty"`
	RemoteState State  `json:"remoteState"`
	Error       string `json:"error,omitempty"`
}

// Commit is one commit on the charts branch.
type Commit struct {
	Hash    string `json:"hash"`
	Subject string `json:"subject"`
}

// Image is one image reference the branch's charts render.
type Image struct {
	Ref       string   `json:"ref"`
	Charts    []string `json:"charts"`
	Component string   `json:"component,omitempty"`
	// State is present, absent (the registry has no such tag yet) or
	// unknown.
	State  State  `json:"state"`
	Digest string `json:"digest,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Chart is one chart on the branch.
type Chart struct {
	Name    string `json:"name"`
	Path    string `json:"path"`
	Version string `json:"version"`
	// State is present (published: every chart repository chart:publish
	// writes to has this version; without charts.publish,
	// charts.repository), absent (pending: some lacks it) or unknown.
	State State `json:"state"`
	// PublishedIn and PendingIn name those chart repositories that hold
	// the version and that do not.
	PublishedIn []string `json:"publishedIn,omitempty"`
	PendingIn   []string `json:"pendingIn,omitempty"`
	Error       string   `json:"error,omitempty"`
}

// Status is the whole screen.
type Status struct {
	Line   string `json:"line"`
	Branch string `json:"branch"`
	Remote string `json:"remote"`
	// Branches lists every repo of the workspace.
	Branches []Branch `json:"branches"`
	// Source is where the charts branch content was read ("aether-2.1" or
	// "origin/aether-2.1"); "" when no charts branch exists.
	Source string `json:"source,omitempty"`
	Head   string `json:"head,omitempty"`
	// LastRelease is the highest X.Y.Z release tag of the line on the
	// charts repo ("" when none), LastReleaseTag the tag.
	LastRelease       string `json:"lastRelease,omitempty"`
	LastReleaseTag    string `json:"lastReleaseTag,omitempty"`
	LastReleaseCommit string `json:"lastReleaseCommit,omitempty"`
	// NextVersion is the version the branch heads for: the charts repo
	// VERSION on the branch, or X.Y.(n+1)-dev when VERSION is the release
	// X.Y.n that is already tagged.
	NextVersion string `json:"nextVersion,omitempty"`
	// BranchVersion is the charts repo VERSION on the branch as written.
	BranchVersion string `json:"branchVersion,omitempty"`
	// Since says where Commits start (the last release tag, or where the
	// branch left the main branch).
	Since       string   `json:"since,omitempty"`
	Commits     []Commit `json:"commits"`
	MoreCommits int      `json:"moreCommits,omitempty"`
	Images      []Image  `json:"images"`
	Charts      []Chart  `json:"charts"`
	// ChartRepository is the chart repository asked ("" when none is
	// configured).
	ChartRepository string           `json:"chartRepository,omitempty"`
	Findings        []report.Finding `json:"findings"`
	// Reviews are the open reviews relkit made for the line (with
	// review: in relkit.yaml), each with what waits for it.
	Reviews []OpenReview `json:"reviews,omitempty"`
	// Notes are facts worth knowing that are not problems of the release.
	Notes []string `json:"notes,omitempty"`
	// Unknown lists everything that could not be asked; any makes the
	// exit status 3.
	Unknown []string `json:"unknown,omitempty"`

	mu sync.Mutex // guards Notes and Unknown while parts run in parallel
	// released are the line's releases by version.
	released map[string]gitx.Release
}

// Options tune Collect.
type Options struct {
	// Remote defaults to origin.
	Remote string
	// MaxCommits bounds the commits listed (default 50).
	MaxCommits int
	// Checker asks the registries (default: one honouring the mirrors).
	Checker *imageref.Checker
	// Review, when set (relkit.yaml has a review: section), lists the
	// open reviews relkit's targets made for the line.
	Review *review.Options
}

// Collect gathers the status of release line X.Y. It fails only when the
// line is malformed or the workspace has no charts repo; everything else
// that cannot be known is recorded in Unknown.
func Collect(ctx context.Context, ws *workspace.Config, line string, o Options) (*Status, error) {
	if _, err := version.ParseLine(line); err != nil {
		return nil, err
	}
	if ws.Charts == nil {
		return nil, errors.New("the workspace has no charts repo")
	}
	if o.Remote == "" {
		o.Remote = "origin"
	}
	if o.MaxCommits <= 0 {
		o.MaxCommits = 50
	}
	s := &Status{Line: line, Branch: ws.ReleaseBranch(line), Remote: o.Remote,
		Commits: []Commit{}, Images: []Image{}, Charts: []Chart{}, Findings: []report.Finding{}}
	s.branches(ctx, ws)
	if o.Review != nil {
		s.reviews(ctx, ws, line, o)
	}

	dir := ws.Charts.Dir
	// Everything below reads the charts repo's history and tags.
	if _, err := gitx.NeedHistory(ctx, ws.Charts.Name, dir, ""); err != nil {
		s.unknown("%v", err)
		return s, nil
	}
	head := ""
	for _, b := range s.Branches {
		if b.Repo != ws.Charts.Name {
			continue
		}
		switch {
		case b.Local != "":
			head, s.Source = b.Local, s.Branch
		case b.Remote != "":
			// Only on the remote: read what the remote has, if fetched.
			if h, ok, _ := gitx.RevCommit(ctx, dir, "refs/remotes/"+o.Remote+"/"+s.Branch); ok {
				head, s.Source = h, o.Remote+"/"+s.Branch
				if h != b.Remote {
					s.note("%s/%s is not up to date with %s (fetch it); showing the fetched %s", o.Remote, s.Branch, o.Remote, gitx.Short(h))
				}
			} else {
				s.note("%s has %s only on %s, not fetched; fetch it to see its content", ws.Charts.Name, s.Branch, o.Remote)
			}
		}
	}
	if err := s.lastRelease(ctx, ws, head); err != nil {
		s.unknown("%s: reading release tags: %v", ws.Charts.Name, err)
	}
	if head == "" {
		s.note("the charts repo %s has no branch %s; cut it with release:branch %s", ws.Charts.Name, s.Branch, line)
		return s, nil
	}
	s.Head = head
	sc, err := gitx.AddIsolatedWorktree(ctx, dir, head, gitx.Ident{}) // status only reads
	defer gitx.ForgetDryObjects(dir)
	if err != nil {
		s.unknown("%v", err)
		return s, nil
	}
	defer sc.Remove(ctx)

	if raw, _, err := manifestfile.ReleaseVersion(ws, sc.Dir); err != nil {
		s.note("%s on %s: %v", ws.Charts.Name, s.Branch, err)
	} else {
		s.BranchVersion, s.NextVersion = raw, s.nextVersion(raw)
	}
	if err := s.commits(ctx, ws, head, o.MaxCommits); err != nil {
		s.unknown("%s: listing commits on %s: %v", ws.Charts.Name, s.Branch, err)
	}

	// The branch content: images against the registry, charts against the
	// chart repository, and the checks, side by side.
	bws := *ws
	charts := *ws.Charts
	charts.Dir = sc.Dir
	bws.Charts = &charts
	var wg sync.WaitGroup
	var mu sync.Mutex
	var checkReports []*report.Report
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.content(ctx, &bws, o)
	}()
	go func() {
		defer wg.Done()
		img := checks.Images(ctx, &bws, checks.Options{})
		// Without a point release the branch is judged from where it left
		// main. Left to choose, check:charts would take the detached scratch
		// checkout of a branch with no commits yet for a merged commit of
		// main and judge main's last commit.
		base := s.LastReleaseCommit
		if base == "" {
			base = ws.Charts.MainBranch
		}
		ch := checks.ChartsAgainst(ctx, &bws, base)
		mu.Lock()
		checkReports = append(checkReports, img, ch)
		mu.Unlock()
	}()
	wg.Wait()
	for _, rep := range checkReports {
		s.Findings = append(s.Findings, rep.Findings()...)
		if err := rep.Err(); err != nil {
			s.unknown("check:%s: %v", strings.Join(rep.Checks(), ","), err)
		}
	}
	slices.SortStableFunc(s.Findings, func(a, b report.Finding) int {
		if a.Severity != b.Severity {
			return strings.Compare(string(a.Severity), string(b.Severity)) // error before warning
		}
		return 0
	})
	if err := ctx.Err(); err != nil {
		s.unknown("%v", err)
	}
	return s, nil
}

// OpenReview is an open review relkit made, and what waits for it.
type OpenReview struct {
	review.Open
	// Target is the relkit target that made it.
	Target string `json:"target"`
	// Waiting says what happens once it is merged.
	Waiting string `json:"waiting"`
}

// reviewTargets are the targets that send reviews, and what waits for
// their reviews to merge.
var reviewTargets = []struct{ target, waiting string }{
	{"release:branch", "once merged, main is on the next minor; nothing else waits"},
	{"patch:charts", "once merged, the fixes are on the branch for the next release:point"},
	{"patch:component", "once merged, CI's release:tag tags the component release and builds its image; the charts change needs that image"},
	{"release:point", "once merged, CI's release:tag tags the point release on the merged commit"},
	{"release:manifest", "once merged, release:verify can check the manifest"},
}

// reviews lists the open reviews of the line: on Gerrit by topic (one
// query covers every project), on GitHub and Gitea by head branch in each
// repo.
func (s *Status) reviews(ctx context.Context, ws *workspace.Config, line string, o Options) {
	var names []review.Name
	waiting := map[string]string{}
	target := map[string]string{}
	for _, t := range reviewTargets {
		n := review.Name{Target: t.target, Line: line}
		names = append(names, n)
		for _, k := range []string{n.Topic(), n.Head()} {
			waiting[k], target[k] = t.waiting, t.target
		}
	}
	add := func(list []review.Open) {
		for _, r := range list {
			k := r.Topic
			if k == "" {
				k = r.Head
			}
			s.Reviews = append(s.Reviews, OpenReview{Open: r, Target: target[k], Waiting: waiting[k]})
		}
	}
	if o.Review.Kind == workspace.ReviewGerrit {
		list, err := review.List(ctx, *o.Review, "", "", names...)
		if err != nil {
			s.unknown("open reviews: %v", err)
			return
		}
		add(list)
		return
	}
	for _, r := range ws.Repos() {
		list, err := review.List(ctx, *o.Review, r.Dir, o.Remote, names...)
		if err != nil {
			s.unknown("%s: open reviews: %v", r.Name, err)
			continue
		}
		add(list)
	}
}

func (s *Status) unknown(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Unknown = append(s.Unknown, fmt.Sprintf(format, args...))
}

func (s *Status) note(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
}

// branches looks for the release branch in every repo, locally and on the
// remote, in parallel.
func (s *Status) branches(ctx context.Context, ws *workspace.Config) {
	repos := ws.Repos()
	s.Branches = make([]Branch, len(repos))
	ref := "refs/heads/" + s.Branch
	plan.ForEach(ctx, indexes(len(repos)), 8, func(ctx context.Context, i int) {
		r := repos[i]
		b := Branch{Repo: r.Name, Kind: string(r.Kind), RemoteState: Unknown}
		defer func() { s.Branches[i] = b }()
		h, ok, err := gitx.RevCommit(ctx, r.Dir, ref)
		if err != nil {
			b.Error = err.Error()
			return
		}
		if ok {
			b.Local = h
		}
		if _, err := gitx.Git(ctx, r.Dir, "remote", "get-url", "--", s.Remote); err != nil {
			b.RemoteState = NoRemote
			return
		}
		refs, err := gitx.LsRemote(ctx, r.Dir, s.Remote, ref)
		if err != nil {
			b.Error = fmt.Sprintf("asking %s: %v", s.Remote, err)
			return
		}
		b.Remote = refs[ref]
		b.RemoteState = Absent
		if b.Remote != "" {
			b.RemoteState = Present
		}
	})
	for _, b := range s.Branches {
		if b.Error != "" || b.RemoteState == Unknown {
			s.unknown("%s: branch %s: %s", b.Repo, s.Branch, cmp.Or(b.Error, "not checked"))
		}
	}
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// lastRelease finds the line's newest release on the branch (head), in
// any tag prefix form (the SD-Core charts have 1.x and v4.x tags side by
// side); without a branch, the line's newest release anywhere. Releases
// of the line made off the branch (a patch release on main) are noted:
// the branch cannot make them again.
func (s *Status) lastRelease(ctx context.Context, ws *workspace.Config, head string) error {
	l, err := version.ParseLine(s.Line)
	if err != nil {
		return err
	}
	g, err := gitx.Open(ws.Charts.Dir)
	if err != nil {
		return err
	}
	defer g.Close()
	tags, err := g.ReleaseTags(ws.Charts.TagPrefix)
	if err != nil {
		return err
	}
	if s.released, err = tags.LineReleases(l); err != nil {
		return err
	}
	last, ok, err := tags.Last(ctx, l, "", head)
	if err != nil {
		return err
	}
	if ok {
		s.LastRelease, s.LastReleaseTag, s.LastReleaseCommit = last.Version, last.Tag, last.Commit.String()
		if last.Conflict() {
			s.note("the tags of %s name different commits (%s); this status goes by %s, check:versions reports the conflict", last.Version, last.Describe(), last.Tag)
		}
	}
	if head == "" {
		return nil
	}
	for _, v := range tags.Line(l) {
		if ok && v == last.Version {
			continue
		}
		rel := s.released[v]
		on, err := gitx.IsAncestor(ctx, ws.Charts.Dir, rel.Commit.String(), head)
		if err != nil {
			return err
		}
		if !on {
			s.note("%s (tag %s on %s) was released off %s; the branch cannot release %s again", v, rel.Tag, gitx.Short(rel.Commit.String()), s.Branch, v)
		}
	}
	return nil
}

// nextVersion is the version the branch heads for: its VERSION, unless
// VERSION is a release some tag (in any form) already names, as when a
// release was tagged by hand and VERSION never moved on; then the -dev
// version of the next point release no tag names yet, with a note. A -dev
// VERSION whose release is already taken is noted.
func (s *Status) nextVersion(raw string) string {
	v, err := semver.StrictNewVersion(raw)
	if err != nil {
		return raw
	}
	l := version.LineOf(v)
	free := func(from uint64) uint64 {
		for p := from; p < from+10_000; p++ {
			if _, taken := s.released[fmt.Sprintf("%s.%d", l, p)]; !taken {
				return p
			}
		}
		return from
	}
	if v.Prerelease() != "" {
		rel := fmt.Sprintf("%s.%d", l, v.Patch())
		if taken, ok := s.released[rel]; ok {
			s.note("VERSION on %s heads for %s, but tag %s on %s already names it; release:point would refuse: the next free point release is %s.%d",
				s.Source, rel, taken.Tag, gitx.Short(taken.Commit.String()), l, free(v.Patch()))
		}
		return raw
	}
	if _, tagged := s.released[raw]; !tagged {
		return raw
	}
	next := fmt.Sprintf("%s.%d-dev", l, free(v.Patch()+1))
	s.note("%s is already released but VERSION on %s still says %s; the branch heads for %s next (%s is the first point release no tag names)", raw, s.Source, raw, next, strings.TrimSuffix(next, "-dev"))
	return next
}

// commits lists the commits on the branch since the last point release,
// or since the branch left the main branch when there is none.
func (s *Status) commits(ctx context.Context, ws *workspace.Config, head string, limit int) error {
	dir := ws.Charts.Dir
	from := ""
	switch {
	case s.LastReleaseCommit != "":
		from, s.Since = s.LastReleaseCommit, "tag "+s.LastReleaseTag
		if ok, err := gitx.IsAncestor(ctx, dir, from, head); err != nil {
			return err
		} else if !ok {
			s.note("tag %s is not on %s; commits are counted from where they diverged", s.LastReleaseTag, s.Branch)
		}
	default:
		main := ws.Charts.MainBranch
		for _, ref := range []string{"refs/heads/" + main, "refs/remotes/" + s.Remote + "/" + main} {
			if h, ok, err := gitx.RevCommit(ctx, dir, ref); err != nil {
				return err
			} else if ok {
				from, s.Since = h, "where "+s.Branch+" left "+main
				break
			}
		}
	}
	rng := head
	if from != "" {
		rng = from + ".." + head
	}
	out, err := gitx.Git(ctx, dir, "log", "--no-decorate", "--format=%H%x09%s", fmt.Sprintf("--max-count=%d", limit+1), rng, "--")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		h, subj, ok := strings.Cut(l, "\t")
		if !ok {
			continue
		}
		if len(s.Commits) == limit {
			// Count the rest exactly, cheaply.
			n, err := gitx.Git(ctx, dir, "rev-list", "--count", rng, "--")
			if err == nil {
				total, _ := strconv.Atoi(strings.TrimSpace(n))
				s.MoreCommits = max(total-limit, 1)
			}
			break
		}
		s.Commits = append(s.Commits, Commit{Hash: h, Subject: subj})
	}
	return nil
}

// content renders the branch's charts and asks the registry for every
// image and the chart repository for every chart version.
func (s *Status) content(ctx context.Context, bws *workspace.Config, o Options) {
	scan, err := manifestfile.ScanCharts(ctx, bws, bws.Charts.Dir)
	if err != nil {
		s.unknown("%v", err)
		return
	}
	for _, p := range scan.Problems {
		s.note("%s", p)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.images(ctx, bws, scan, o.Checker)
	}()
	go func() {
		defer wg.Done()
		s.charts(ctx, bws, scan)
	}()
	wg.Wait()
}

func (s *Status) images(ctx context.Context, ws *workspace.Config, scan *manifestfile.Scan, checker *imageref.Checker) {
	if checker == nil {
		var err error
		if checker, err = manifestfile.NewChecker(ws); err != nil {
			s.unknown("registry client: %v", err)
			return
		}
	}
	refs := make([]imageref.Ref, 0, len(scan.Images))
	for _, im := range scan.Images {
		r, _ := imageref.Parse(im.Ref)
		refs = append(refs, r)
	}
	results := checker.CheckAll(ctx, refs)
	var unknown []manifestfile.Problem
	for i, res := range results {
		im := scan.Images[i]
		st := Image{Ref: im.Ref, Charts: im.Charts, Component: im.Component}
		switch res.Status {
		case imageref.Exists:
			st.State, st.Digest = Present, res.Digest
		case imageref.Missing:
			st.State = Absent
		default:
			st.State = Unknown
			st.Error = fmt.Sprint(res.Err)
			unknown = append(unknown, manifestfile.Problem{Subject: im.Ref, Err: st.Error})
		}
		s.Images = append(s.Images, st)
	}
	for _, u := range manifestfile.Group("image", unknown) {
		s.unknown("%s", u)
	}
}

func (s *Status) charts(ctx context.Context, ws *workspace.Config, scan *manifestfile.Scan) {
	list := make([]Chart, len(scan.Charts))
	for i, c := range scan.Charts {
		list[i] = Chart{Name: c.Name, Path: c.Path, Version: c.Version, State: Unknown}
	}
	defer func() { s.Charts = list }()
	// Where chart:publish writes (else charts.repository), read as
	// chart:publish and check:charts read them.
	repos, err := chartrepo.PublishTargets(ws.Charts, chartrepo.Options{BaseDir: ws.Root, Mirrors: ws.Images.Mirrors})
	if err != nil {
		s.unknown("chart repositories of %s: %v", ws.Charts.Name, err)
		return
	}
	if len(repos) == 0 {
		for i := range list {
			list[i].Error = "no chart repository configured (charts.repository or charts.publish in relkit.yaml)"
		}
		s.note("no chart repository is configured (charts.repository, charts.publish), so published chart versions are not known")
		return
	}
	s.ChartRepository = strings.Join(chartrepo.Names(repos), ", ")
	var errs []manifestfile.Problem
	var mu sync.Mutex
	// A repository that cannot be read fails for every chart, each time
	// with the chart's name in the error: the first error stands for all,
	// so the charts are listed as one group.
	firstErr := map[string]string{}
	plan.ForEach(ctx, indexes(len(list)), 8, func(ctx context.Context, i int) {
		var have, lack, failed []string
		for _, r := range repos {
			found, err := r.Has(ctx, list[i].Name, list[i].Version)
			mu.Lock()
			switch {
			case err != nil:
				if firstErr[r.String()] == "" {
					firstErr[r.String()] = err.Error()
				}
				failed = append(failed, "chart repository "+r.String()+": "+firstErr[r.String()])
			case found:
				have = append(have, r.String())
			default:
				lack = append(lack, r.String())
			}
			mu.Unlock()
		}
		mu.Lock()
		defer mu.Unlock()
		list[i].PublishedIn, list[i].PendingIn = have, lack
		switch {
		case len(failed) > 0:
			list[i].Error = strings.Join(failed, "; ")
			errs = append(errs, manifestfile.Problem{Subject: list[i].Name + " " + list[i].Version, Err: list[i].Error})
		case len(lack) == 0:
			list[i].State = Present
		default:
			list[i].State = Absent
		}
	})
	slices.SortFunc(errs, func(a, b manifestfile.Problem) int { return strings.Compare(a.Subject, b.Subject) })
	for _, line := range manifestfile.Group("chart", errs) {
		s.unknown("%s", line)
	}
}

// ExitCode is 3 when anything is unknown, else 0: the status informs, it
// does not judge (the checks do).
func (s *Status) ExitCode() int {
	if len(s.Unknown) > 0 {
		return plan.ExitUndecided
	}
	return plan.ExitOK
}

// Err is a *plan.Undecided naming what is unknown, or nil.
func (s *Status) Err() error {
	if len(s.Unknown) == 0 {
		return nil
	}
	return &plan.Undecided{Err: fmt.Errorf("release:status %s is incomplete: %d problem(s) kept relkit from asking (listed under UNKNOWN)", s.Line, len(s.Unknown))}
}

// WriteJSON writes the status as one JSON document.
func (s *Status) WriteJSON(w io.Writer) error {
	return safetext.WriteJSON(w, s)
}

// Write writes the result in format f: JSON, else text.
func (s *Status) Write(w io.Writer, f plan.Format) error {
	if f == plan.JSON {
		return s.WriteJSON(w)
	}
	return s.WriteText(w)
}

// WriteText writes the status for people, on one screen: lists of things
// that are fine are summarised by a count.
func (s *Status) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Release line %s (branch %s)\n", s.Line, s.Branch)

	b.WriteString("\nBranches\n")
	width := 0
	for _, br := range s.Branches {
		width = max(width, len(br.Repo))
	}
	for _, br := range s.Branches {
		local := "-"
		if br.Local != "" {
			local = gitx.Short(br.Local)
		}
		remote := "-"
		switch br.RemoteState {
		case Present:
			remote = gitx.Short(br.Remote)
			if br.Local != "" && br.Local != br.Remote {
				remote += " (differs)"
			}
		case NoRemote:
			remote = "no remote " + s.Remote
		case Unknown:
			remote = "UNKNOWN"
		}
		fmt.Fprintf(&b, "  %-*s  %-9s  local %-8s  %s %s\n", width, br.Repo, br.Kind, local, s.Remote, remote)
	}

	if len(s.Reviews) > 0 {
		fmt.Fprintf(&b, "\nOpen reviews relkit made for %s: %d\n", s.Line, len(s.Reviews))
		for _, r := range s.Reviews {
			fmt.Fprintf(&b, "  %s  %s into %s (%s)\n    %s\n", r.Project, r.Open, r.Branch, r.Target, r.Waiting)
		}
	}

	b.WriteString("\nCharts repo\n")
	if s.LastRelease != "" {
		fmt.Fprintf(&b, "  last point release  %s (tag %s, %s)\n", s.LastRelease, s.LastReleaseTag, gitx.Short(s.LastReleaseCommit))
	} else {
		fmt.Fprintf(&b, "  last point release  none yet in %s.x\n", s.Line)
	}
	switch {
	case s.NextVersion != "" && s.NextVersion != s.BranchVersion:
		fmt.Fprintf(&b, "  next version        %s (%s is released; VERSION on %s still says %s)\n", s.NextVersion, s.BranchVersion, s.Source, s.BranchVersion)
	case s.NextVersion != "":
		fmt.Fprintf(&b, "  next version        %s (VERSION on %s)\n", s.NextVersion, s.Source)
	}
	if s.Source != "" {
		fmt.Fprintf(&b, "  commits since %s: %d\n", s.Since, len(s.Commits)+s.MoreCommits)
		for _, c := range s.Commits {
			fmt.Fprintf(&b, "    %s %s\n", gitx.Short(c.Hash), c.Subject)
		}
		if s.MoreCommits > 0 {
			fmt.Fprintf(&b, "    ... and %d more\n", s.MoreCommits)
		}
	}

	if s.Source != "" {
		missing, unknown := 0, 0
		for _, im := range s.Images {
			switch im.State {
			case Absent:
				missing++
			case Unknown:
				unknown++
			}
		}
		fmt.Fprintf(&b, "\nImages: %d rendered, %d not in the registry yet, %d unknown\n", len(s.Images), missing, unknown)
		for _, im := range s.Images {
			switch im.State {
			case Absent:
				fmt.Fprintf(&b, "  missing  %s  (%s)\n", im.Ref, strings.Join(im.Charts, ", "))
			case Unknown:
				fmt.Fprintf(&b, "  UNKNOWN  %s\n", im.Ref)
			}
		}
		published, pending, unknown := 0, 0, 0
		for _, c := range s.Charts {
			switch c.State {
			case Present:
				published++
			case Absent:
				pending++
			case Unknown:
				unknown++
			}
		}
		fmt.Fprintf(&b, "\nCharts: %d on the branch, %d published, %d pending (chart:publish), %d unknown\n", len(s.Charts), published, pending, unknown)
		if s.ChartRepository != "" {
			fmt.Fprintf(&b, "  chart repositories: %s\n", s.ChartRepository)
		}
		for _, c := range s.Charts {
			switch c.State {
			case Absent:
				where := ""
				if len(c.PublishedIn) > 0 {
					where = "; not yet in " + strings.Join(c.PendingIn, ", ")
				}
				fmt.Fprintf(&b, "  pending    %s %s  (%s%s)\n", c.Name, c.Version, c.Path, where)
			case Unknown:
				fmt.Fprintf(&b, "  UNKNOWN    %s %s\n", c.Name, c.Version)
			}
		}
		errs, warns := 0, 0
		for _, f := range s.Findings {
			if f.Severity == report.Error {
				errs++
			} else {
				warns++
			}
		}
		fmt.Fprintf(&b, "\nChecks on %s (images, charts): %d error(s), %d warning(s)\n", s.Branch, errs, warns)
		for _, f := range s.Findings {
			loc := f.File
			if f.Line > 0 {
				loc += ":" + strconv.Itoa(f.Line)
			}
			fmt.Fprintf(&b, "  %-7s %s  %s  %s\n", f.Severity, f.Rule, loc, f.Message)
		}
	}
	if len(s.Notes) > 0 {
		b.WriteString("\nNotes\n")
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "  %s\n", n)
		}
	}
	if len(s.Unknown) > 0 {
		fmt.Fprintf(&b, "\nUNKNOWN (%d): could not be asked, so this status is incomplete\n", len(s.Unknown))
		for _, u := range s.Unknown {
			fmt.Fprintf(&b, "  %s\n", u)
		}
	}
	_, err := io.WriteString(w, safetext.Clean(b.String()))
	return err
}
