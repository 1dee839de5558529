package checks

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/Masterminds/semver/v3"
	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/relkit/relkit/checks/chartrepo"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/repofs"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

const chartsCheck = "charts"

// BaseEnv names the environment variable that sets the base the charts
// check compares with (CI sets the target branch of the change); the
// targets read it into Options.Base, and messages name it.
const BaseEnv = "RELKIT_BASE"

// Charts checks every chart of the charts repo against a base commit:
// the version is strict SemVer, a chart whose packaged files changed since
// the base has a higher version than at the base, a changed chart's version
// is not already in the chart repository, file:// dependencies are pinned
// to the local chart's current version, and render.kubeVersion meets every
// chart's kubeVersion constraint.
//
// The base is, in order:
//   - o.Base (RELKIT_BASE=<ref> in the targets): the merge base of HEAD
//     and ref (origin/<ref> when ref names no commit), like
//     chart-testing's --target-branch;
//   - on release branch <branchPrefix>X.Y: the highest <tagPrefix>X.Y.Z
//     release tag reachable from HEAD, else as on any other branch;
//   - on the main branch: when HEAD holds commits its upstream (or
//     origin/<main>) does not, the merge base with it, so every unpushed
//     commit is judged; otherwise HEAD's first parent, so CI after a merge
//     judges what the merge brought in (and a root commit has no base: every
//     chart is new);
//   - on any other branch or a detached HEAD (what CI checks out), against
//     the main branch (the newest of the local branch, its upstream and
//     origin/<main>):
//     a detached HEAD on main's history (a merged commit): HEAD's first
//     parent, what that commit changed;
//     a branch with no commits of its own since main: HEAD, so its
//     uncommitted changes are judged (the branch adds nothing else);
//     a detached merge commit whose second parent is not on main's history
//     (a pull request's merge commit, GitHub's refs/pull/N/merge): its
//     first parent, the target branch tip the change merges into;
//     otherwise the merge base with main, never the branch tip, so work that
//     landed on main after the branch was cut is not blamed on the branch;
//     with no main branch to compare with, the check cannot decide and asks
//     for RELKIT_BASE.
//
// A detached HEAD is never compared with itself; on a named branch, or
// with a RELKIT_BASE that already holds HEAD, that base judges the
// uncommitted changes, and the findings' base says so.
//
// Changes are the commits base..HEAD plus uncommitted and untracked
// (not git-ignored) files of the worktree. A chart whose only change is a
// Chart.yaml that parses to the same content (blank lines, comments, key
// order, quoting) has not changed.
func Charts(ctx context.Context, ws *workspace.Config, o Options) *report.Report {
	return ChartsAgainst(ctx, ws, o.Base)
}

// chartBase is the commit charts are compared with.
type chartBase struct {
	// commit is the full hash; "" means there is no base and every chart is
	// new.
	commit string
	// desc says how the base was chosen, for messages.
	desc string
	// landed is set when the base is HEAD^ on a main branch whose commits
	// are all pushed: the change has merged, and its charts may already
	// have been published from it by CI.
	landed bool
}

// chartRun holds what one run of the charts check works with.
type chartRun struct {
	ws   *workspace.Config
	repo *workspace.Repo
	base chartBase
	// refused are file-not-regular findings met on the way (a .helmignore
	// relkit would not read).
	refused []report.Finding
}

func (r *chartRun) finding(rule, file string, line int, subject, format string, args ...any) report.Finding {
	return report.Finding{Check: chartsCheck, Rule: rule, Severity: report.Error, Repo: r.repo.Name,
		File: file, Line: line, Subject: subject, Message: fmt.Sprintf(format, args...)}
}

func chartSubject(c charts.Chart) string {
	n := c.Name
	if n == "" {
		n = path.Base(c.Dir)
	}
	return n + "@" + c.Version
}

func checkCharts(ctx context.Context, ws *workspace.Config, override string) ([]report.Finding, []error) {
	r := &chartRun{ws: ws, repo: ws.Charts}
	dir := r.repo.Dir
	list, err := charts.Discover(ctx, dir)
	if err != nil {
		return nil, []error{fmt.Errorf("%s: finding charts: %w", r.repo.Name, err)}
	}
	var out []report.Finding
	// A chart whose Chart.yaml does not parse is reported and left out of
	// the other rules; it still owns its files when changes are mapped.
	var readable []charts.Chart
	for _, c := range list {
		if refused := refusedFindings(chartsCheck, r.repo.Name, c.Err); refused != nil {
			out = append(out, refused...)
			continue
		}
		var bad *charts.ChartError
		if errors.As(c.Err, &bad) {
			out = append(out, r.finding("chart-invalid", bad.File, bad.Line, c.Dir,
				"chart %s cannot be read: %v; expected a YAML mapping with apiVersion, name and version", c.Dir, bad.Err))
			continue
		}
		readable = append(readable, c)
	}
	out = append(out, r.pins(readable)...)
	out = append(out, r.kubeVersions(readable)...)

	valid := map[string]bool{}
	for _, c := range readable {
		if version.Valid(c.Version) {
			valid[c.Dir] = true
			continue
		}
		out = append(out, r.finding("chart-version-invalid", c.File, c.VersionLine, chartSubject(c), "%s", invalidChartVersion(c)))
	}

	// The base and the changes since it are history: a shallow clone
	// cannot tell them.
	if _, err := gitx.NeedHistory(ctx, r.repo.Name, dir, ""); err != nil {
		return out, []error{err}
	}
	r.base, err = resolveChartBase(ctx, dir, r.repo, ws.BranchPrefix, override)
	if err != nil {
		return out, []error{fmt.Errorf("%s: choosing the base to compare charts with: %w", r.repo.Name, err)}
	}
	changed, err := r.changedCharts(ctx, list)
	if err != nil {
		return out, []error{err}
	}
	var changedList []charts.Chart
	for _, c := range list {
		if _, ok := changed[c.Dir]; ok && valid[c.Dir] {
			changedList = append(changedList, c)
		}
	}
	bumps, err := r.bumps(ctx, changedList, changed)
	out = append(out, bumps...)
	out = append(out, r.refused...)
	errs := []error{err}

	if (r.repo.Repository != "" || r.repo.Publish != nil) && len(changedList) > 0 {
		pub, perrs := r.published(ctx, changedList)
		out = append(out, pub...)
		errs = append(errs, perrs...)
	}
	return out, errs
}

func invalidChartVersion(c charts.Chart) string {
	if c.VersionLine == 0 {
		return fmt.Sprintf("%s has no version; expected a SemVer 2.0 version such as 1.2.3", c.File)
	}
	reason := "expected MAJOR.MINOR.PATCH such as 1.2.3"
	if p := version.Check(c.Version); p != nil {
		reason = strings.ReplaceAll(p.Reason, "the VERSION file holds", "Chart.yaml needs")
		reason = strings.ReplaceAll(reason, "the first line is empty", "the version is empty")
	}
	return fmt.Sprintf("chart version %q is not strict SemVer 2.0: %s", c.Version, reason)
}

// --- choosing the base ---

// mergeBase is the best common ancestor of HEAD and the union of refs.
func mergeBase(ctx context.Context, dir string, refs ...string) (string, error) {
	out, err := gitx.Git(ctx, dir, append([]string{"merge-base", "HEAD"}, refs...)...)
	if err != nil {
		var ce *gitx.CmdError
		if errors.As(err, &ce) && ce.ExitCode() == 1 {
			return "", fmt.Errorf("HEAD and %s have no common history; set %s to the branch this change targets", strings.Join(refs, ", "), BaseEnv)
		}
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// mainRefs lists the refs that stand for the main branch, existing ones
// only: the local branch, its upstream and origin/<main>.
func mainRefs(ctx context.Context, dir, main string) ([]string, error) {
	var refs []string
	seen := map[string]bool{}
	for _, ref := range []string{"refs/heads/" + main, main + "@{upstream}", "refs/remotes/origin/" + main} {
		h, ok, err := gitx.RevCommit(ctx, dir, ref)
		if err != nil {
			var ce *gitx.CmdError
			if errors.As(err, &ce) && strings.Contains(ref, "@{") {
				continue // no upstream configured
			}
			return nil, err
		}
		if ok && !seen[h] {
			seen[h] = true
			refs = append(refs, ref)
		}
	}
	return refs, nil
}

func resolveChartBase(ctx context.Context, dir string, r *workspace.Repo, branchPrefix, override string) (chartBase, error) {
	head, ok, err := gitx.RevCommit(ctx, dir, "HEAD")
	if err != nil || !ok {
		if err == nil {
			err = errors.New("HEAD names no commit (empty repository?)")
		}
		return chartBase{}, err
	}
	if ref := strings.TrimSpace(override); ref != "" {
		target := ref
		_, ok, err := gitx.RevCommit(ctx, dir, ref)
		if err != nil {
			return chartBase{}, err
		}
		if !ok {
			target = "refs/remotes/origin/" + ref
			if _, ok, err = gitx.RevCommit(ctx, dir, target); err != nil {
				return chartBase{}, err
			} else if !ok {
				return chartBase{}, fmt.Errorf("%s=%s names no commit (neither %s nor origin/%s exists); expected a branch, tag or commit", BaseEnv, ref, ref, ref)
			}
		}
		mb, err := mergeBase(ctx, dir, target)
		if err != nil {
			return chartBase{}, err
		}
		// An explicit base is honoured even when HEAD is already in it
		// (then only uncommitted changes count): release:status asks
		// exactly that of a release branch with nothing since its tag.
		return chartBase{commit: mb, desc: fmt.Sprintf("merge-base of HEAD and %s=%s, %s", BaseEnv, ref, gitx.Short(mb))}, nil
	}

	out, err := gitx.Git(ctx, dir, "symbolic-ref", "--quiet", "--short", "HEAD")
	branch := strings.TrimSpace(out)
	if err != nil {
		var ce *gitx.CmdError
		if !errors.As(err, &ce) || ce.ExitCode() != 1 {
			return chartBase{}, err
		}
		branch = "" // detached HEAD
	}
	main := r.MainBranch

	if m := releaseBranchRE(branchPrefix).FindStringSubmatch(branch); m != nil && branch != main {
		line, err := version.ParseLine(m[1] + "." + m[2])
		if err != nil {
			return chartBase{}, err
		}
		tag, h, err := lastPointRelease(ctx, dir, r.TagPrefix, line)
		if err != nil {
			return chartBase{}, err
		}
		if tag != "" {
			return chartBase{commit: h, desc: fmt.Sprintf("last point release of %s, tag %s, %s", branch, tag, gitx.Short(h))}, nil
		}
		// No point release yet: the branch is judged from where it left main.
	}

	refs, err := mainRefs(ctx, dir, main)
	if err != nil {
		return chartBase{}, err
	}
	if branch == main {
		var upstream []string
		for _, ref := range refs {
			if ref != "refs/heads/"+main {
				upstream = append(upstream, ref)
			}
		}
		if len(upstream) > 0 {
			mb, err := mergeBase(ctx, dir, upstream...)
			if err == nil && mb != head {
				return chartBase{commit: mb, desc: fmt.Sprintf("merge-base of %s and its upstream (commits not pushed yet), %s", main, gitx.Short(mb))}, nil
			}
		}
		return firstParentBase(ctx, dir, "the commit before the last one on "+main, true)
	}

	// Any other branch, or a detached HEAD (what CI checks out).
	var mb string
	if len(refs) > 0 {
		if mb, err = mergeBase(ctx, dir, refs...); err != nil {
			return chartBase{}, err
		}
		if mb == head && branch != "" {
			// A work branch with no commits of its own adds nothing over
			// main but its uncommitted changes; those are what is judged.
			return chartBase{commit: head, desc: fmt.Sprintf("HEAD, %s: %s has no commits of its own since %s, so only its uncommitted changes are judged", gitx.Short(head), branch, main)}, nil
		}
		if mb == head {
			// A detached HEAD on main's history is CI checking out a merged
			// commit: the merge base would compare nothing, so judge what
			// the commit changed, as CI on main does after a merge.
			return firstParentBase(ctx, dir, fmt.Sprintf("HEAD is on %s's history, so what its commit changed", main), true)
		}
	}
	if branch == "" {
		pr, err := isChangeMerge(ctx, dir, refs)
		if err != nil {
			return chartBase{}, err
		}
		if pr {
			return firstParentBase(ctx, dir, "the first parent of the merge commit HEAD (a pull request's merge: the target branch before the change)", false)
		}
	}
	if len(refs) == 0 {
		where := "branch " + branch
		if branch == "" {
			where = "a detached HEAD that is no merge commit"
		}
		return chartBase{}, fmt.Errorf("cannot tell what %s changes: neither %s nor origin/%s exists to compare with; fetch it (git fetch origin %s) or set %s to the branch this change targets", where, main, main, main, BaseEnv)
	}
	return chartBase{commit: mb, desc: fmt.Sprintf("merge-base of HEAD and %s, %s", main, gitx.Short(mb))}, nil
}

// firstParentBase is the base HEAD^ (HEAD's first parent), said with why;
// a root commit has no base and every chart is new.
func firstParentBase(ctx context.Context, dir, why string, landed bool) (chartBase, error) {
	parent, ok, err := gitx.RevCommit(ctx, dir, "HEAD^1")
	if err != nil {
		return chartBase{}, err
	}
	if !ok {
		return chartBase{commit: "", desc: "none: HEAD is the first commit, every chart is new"}, nil
	}
	return chartBase{commit: parent, desc: fmt.Sprintf("HEAD^, %s, %s", why, gitx.Short(parent)), landed: landed}, nil
}

// isChangeMerge reports whether a detached HEAD is the merge commit of a
// change into its target, as GitHub's refs/pull/N/merge and GitLab's merged
// results pipelines check out: a merge whose first parent is the target
// tip. A merge that brought main into a work branch (its second parent on
// main's history) is not one; that branch is judged from its merge base.
// Without main refs to tell, every merge counts.
func isChangeMerge(ctx context.Context, dir string, mainRefs []string) (bool, error) {
	second, ok, err := gitx.RevCommit(ctx, dir, "HEAD^2")
	if err != nil || !ok {
		return false, err
	}
	for _, ref := range mainRefs {
		on, err := gitx.IsAncestor(ctx, dir, second, ref)
		if err != nil {
			return false, err
		}
		if on {
			return false, nil
		}
	}
	return true, nil
}

func releaseBranchRE(prefix string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
}

// lastPointRelease finds the highest X.Y.Z release tag (in any prefix
// form) reachable from HEAD and the commit it names ("" when there is
// none).
func lastPointRelease(ctx context.Context, dir, prefix string, line version.Line) (string, string, error) {
	g, err := gitx.Open(dir)
	if err != nil {
		return "", "", err
	}
	defer g.Close()
	tags, err := g.ReleaseTags(prefix)
	if err != nil {
		return "", "", err
	}
	head, _, err := g.Head()
	if err != nil {
		return "", "", err
	}
	rel, ok, err := tags.Last(ctx, line, "", head.String())
	if err != nil || !ok {
		return "", "", err
	}
	return rel.Tag, rel.Commit.String(), nil
}

// --- what changed ---

// chartChange is what changed in one chart since the base.
type chartChange struct {
	// files are the changed files that go into the chart archive, relative
	// to the chart directory.
	files []string
}

// changedCharts maps chart directories to their changes since the base
// that helm package would put in the archive. Without a base every chart
// counts as changed (and new).
func (r *chartRun) changedCharts(ctx context.Context, list []charts.Chart) (map[string]*chartChange, error) {
	out := map[string]*chartChange{}
	if r.base.commit == "" {
		for _, c := range list {
			out[c.Dir] = &chartChange{}
		}
		return out, nil
	}
	dir := r.repo.Dir
	files, err := changedFiles(ctx, dir, r.base.commit)
	if err != nil {
		return nil, fmt.Errorf("%s: listing changes since %s: %w", r.repo.Name, r.base.desc, err)
	}
	byDir := map[string]charts.Chart{}
	for _, c := range list {
		byDir[c.Dir] = c
	}
	rules := map[string]*charts.Ignore{}
	for _, f := range files {
		c, rel, ok := owningChart(byDir, f)
		if !ok {
			continue
		}
		ig, ok := rules[c.Dir]
		if !ok {
			ig, err = charts.ReadHelmignore(ctx, dir, c.Dir)
			if f := refusedFindings(chartsCheck, r.repo.Name, err); f != nil {
				// Judged as if it had none: every file counts.
				r.refused = append(r.refused, f...)
				ig, err = charts.DefaultIgnore(), nil
			}
			if err != nil {
				return nil, fmt.Errorf("%s: cannot tell which changes of chart %s count: %w", r.repo.Name, c.Dir, err)
			}
			rules[c.Dir] = ig
		}
		if ig.Ignored(rel) {
			continue
		}
		ch := out[c.Dir]
		if ch == nil {
			ch = &chartChange{}
			out[c.Dir] = ch
		}
		ch.files = append(ch.files, rel)
	}
	if err := r.dropLayoutOnly(ctx, byDir, out); err != nil {
		return nil, fmt.Errorf("%s: comparing Chart.yaml files with %s: %w", r.repo.Name, r.base.desc, err)
	}
	return out, nil
}

// dropLayoutOnly removes from changes the charts whose only changed file is
// a Chart.yaml that parses to the same content as at the base: a dropped
// blank line, a comment, reordered keys or other quoting. helm package
// writes Chart.yaml from the parsed metadata, so such an edit changes
// nothing a user installs, and demanding a version bump for it would only
// burn chart versions. Any other changed file still makes a chart change.
func (r *chartRun) dropLayoutOnly(ctx context.Context, byDir map[string]charts.Chart, changes map[string]*chartChange) error {
	var files []string
	fileDir := map[string]string{}
	for dir, ch := range changes {
		if len(ch.files) == 1 && ch.files[0] == "Chart.yaml" {
			files = append(files, byDir[dir].File)
			fileDir[byDir[dir].File] = dir
		}
	}
	slices.Sort(files)
	old, err := baseFiles(ctx, r.repo.Dir, r.base.commit, files)
	if err != nil {
		return err
	}
	for _, f := range files {
		was, ok := old[f]
		if !ok {
			continue // a new chart
		}
		// The worktree's Chart.yaml, as Discover read it.
		now, err := repofs.Read(r.repo.Dir, f, repofs.MaxChartMeta)
		if err != nil {
			continue // judged as changed; the bump rules read it again
		}
		if sameYAML(was, now) {
			delete(changes, fileDir[f])
		}
	}
	return nil
}

// maxYAMLDocs bounds the documents sameYAML decodes from one file.
const maxYAMLDocs = 100

// sameYAML reports whether a and b hold the same YAML documents once parsed
// (types included: version: 1.10 and version: "1.10" differ). Anything
// that does not parse counts as different.
func sameYAML(a, b []byte) bool {
	da, oka := yamlDocs(a)
	db, okb := yamlDocs(b)
	return oka && okb && reflect.DeepEqual(da, db)
}

func yamlDocs(data []byte) ([]any, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []any
	for range maxYAMLDocs {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs, true
		}
		if err != nil {
			return nil, false
		}
		docs = append(docs, v)
	}
	return nil, false
}

// owningChart finds the chart a repo file belongs to: the deepest chart
// directory above it, compared path element by path element (so onos does
// not own onos-progran/x). Subcharts under <chart>/charts/ are not charts of
// their own (Discover skips them), so their files go to the parent.
func owningChart(byDir map[string]charts.Chart, file string) (charts.Chart, string, bool) {
	d := path.Dir(file)
	for range 1000 {
		if c, ok := byDir[d]; ok {
			if d == "." {
				return c, file, true
			}
			return c, file[len(d)+1:], true
		}
		if d == "." || d == "/" {
			break
		}
		d = path.Dir(d)
	}
	return charts.Chart{}, "", false
}

// changedFiles lists the files (relative to dir, slash-separated) that
// differ between the base commit and the worktree: committed and
// uncommitted changes of tracked files, both sides of renames, and
// untracked files git does not ignore.
func changedFiles(ctx context.Context, dir, base string) ([]string, error) {
	files, err := gitx.Paths(ctx, dir, "-c", "core.quotepath=off", "diff", "--name-only", "-z", "--no-renames",
		"--no-ext-diff", "--relative", base, "--")
	if err != nil {
		return nil, err
	}
	untracked, err := gitx.Paths(ctx, dir, "ls-files", "-z", "--others", "--exclude-standard")
	if err != nil {
		return nil, err
	}
	files = append(files, untracked...)
	slices.Sort(files)
	return slices.Compact(files), nil
}

// --- version bumps ---

// baseFiles reads files (relative to dir) as they are at commit base with
// one git cat-file process; files missing there are absent from the map.
func baseFiles(ctx context.Context, dir, base string, files []string) (map[string][]byte, error) {
	if len(files) == 0 {
		return nil, nil
	}
	prefix, err := gitx.Git(ctx, dir, "rev-parse", "--show-prefix")
	if err != nil {
		return nil, err
	}
	prefix = strings.TrimSpace(prefix)
	var in strings.Builder
	for _, f := range files {
		fmt.Fprintf(&in, "%s:%s%s\n", base, prefix, f)
	}
	out, err := gitx.GitEnv(ctx, dir, nil, []byte(in.String()), "cat-file", "--batch")
	if err != nil {
		return nil, err
	}
	got := map[string][]byte{}
	rd := bufio.NewReader(strings.NewReader(out))
	for _, f := range files {
		header, err := rd.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("git cat-file: output ended before %s", f)
		}
		fields := strings.Fields(header)
		if len(fields) != 3 {
			continue // "<name> missing" or "<name> ambiguous"
		}
		size, err := strconv.Atoi(fields[2])
		if err != nil || size < 0 {
			return nil, fmt.Errorf("git cat-file: unexpected header %q for %s", strings.TrimSpace(header), f)
		}
		data := make([]byte, size+1)
		if _, err := io.ReadFull(rd, data); err != nil {
			return nil, fmt.Errorf("git cat-file: short content for %s", f)
		}
		if fields[1] == "blob" {
			got[f] = data[:size]
		}
	}
	return got, nil
}

// bumps judges the version of every changed chart (with a valid version)
// against its version at the base.
func (r *chartRun) bumps(ctx context.Context, changed []charts.Chart, changes map[string]*chartChange) ([]report.Finding, error) {
	if r.base.commit == "" || len(changed) == 0 {
		return nil, nil
	}
	files := make([]string, 0, len(changed))
	for _, c := range changed {
		files = append(files, c.File)
	}
	old, err := baseFiles(ctx, r.repo.Dir, r.base.commit, files)
	if err != nil {
		return nil, fmt.Errorf("%s: reading Chart.yaml files at %s: %w", r.repo.Name, r.base.desc, err)
	}
	var out []report.Finding
	for _, c := range changed {
		data, ok := old[c.File]
		if !ok {
			continue // a new chart: any valid version will do
		}
		meta, err := charts.ParseMeta(data)
		if err != nil || !version.Valid(meta.Version) {
			continue // the base version was broken; any valid version is a fix
		}
		was, now := semver.MustParse(meta.Version), semver.MustParse(c.Version)
		what := describeChanges(c.Dir, changes[c.Dir].files)
		switch cmp := now.Compare(was); {
		case cmp < 0:
			out = append(out, r.finding("chart-version-not-increased", c.File, c.VersionLine, chartSubject(c),
				"version went down from %s to %s while %s; bump version above %s (base %s)",
				meta.Version, c.Version, what, meta.Version, r.base.desc))
		case cmp == 0:
			still := "is still " + c.Version
			if meta.Version != c.Version {
				still = fmt.Sprintf("%s ranks the same as %s (SemVer ignores build metadata)", c.Version, meta.Version)
			}
			out = append(out, r.finding("chart-not-bumped", c.File, c.VersionLine, chartSubject(c),
				"%s, but the version %s; bump version above %s (base %s)", what, still, meta.Version, r.base.desc))
		}
	}
	return out, nil
}

// describeChanges names a few changed files of a chart for a message.
func describeChanges(dir string, files []string) string {
	const show = 3
	if len(files) == 0 {
		return "the chart changed"
	}
	names := files[:min(show, len(files))]
	s := fmt.Sprintf("%s changed since the base (%s", dir, strings.Join(names, ", "))
	if len(files) > show {
		s += fmt.Sprintf(" and %d more", len(files)-show)
	}
	return s + ")"
}

// --- the chart repository ---

func (r *chartRun) published(ctx context.Context, changed []charts.Chart) ([]report.Finding, []error) {
	// charts.repository and every charts.publish target: a version any of
	// them holds is published, as chart:publish and release:status see it.
	repos, err := chartrepo.Targets(r.repo, chartrepo.Options{BaseDir: r.ws.Root, Mirrors: r.ws.Images.Mirrors})
	if err != nil {
		return nil, []error{fmt.Errorf("%s: %w", r.repo.Name, err)}
	}
	var mu sync.Mutex
	var out []report.Finding
	var errs []error
	parallel(ctx, changed, func(ctx context.Context, c charts.Chart) {
		name := c.Name
		if name == "" {
			name = path.Base(c.Dir)
		}
		have, _, err := chartrepo.Holding(ctx, repos, name, c.Version)
		mu.Lock()
		defer mu.Unlock()
		found := len(have) > 0
		if err != nil && !found {
			errs = append(errs, fmt.Errorf("%s: %w", r.repo.Name, err))
			return
		}
		var repo chartrepo.Repository
		if found {
			repo = have[0]
		}
		if found && r.base.landed {
			// After the merge, CI's publish job puts exactly this version in
			// the repository: an error here would block every run on main
			// (release:branch included) until the next chart change.
			f := r.finding("chart-version-published", c.File, c.VersionLine, chartSubject(c),
				"%s %s is already in the chart repository %s; expected on %s once CI has published the last merge (base %s), so only a warning: make sure it was published from this commit",
				name, c.Version, repo, r.repo.MainBranch, r.base.desc)
			f.Severity = report.Warning
			out = append(out, f)
			return
		}
		if found {
			out = append(out, r.finding("chart-version-published", c.File, c.VersionLine, chartSubject(c),
				"%s %s is already in the chart repository %s, and the chart changed since the base (%s): publishing it would put different content under a released version; bump version to one the repository does not hold",
				name, c.Version, repo, r.base.desc))
		}
	})
	return out, errs
}

// --- kubeVersion ---

// kubeVersions reports every chart whose kubeVersion constraint the
// Kubernetes version the charts are rendered for (render.kubeVersion) does
// not meet: helm template --kube-version, and helm install on such a
// cluster, refuse the chart before rendering anything. The test is helm's
// own (action's renderResources): the constraint as the chart loader
// sanitizes it, against the version as chartutil.ParseKubeVersion prints
// it, with chartutil.IsCompatibleRange, so Masterminds' pre-release rules
// (">=1.20.0-0") and a constraint that does not parse (refused on every
// version) behave as in helm.
func (r *chartRun) kubeVersions(list []charts.Chart) []report.Finding {
	kv := r.ws.Render.KubeVersion
	if kv == "" {
		kv = workspace.DefaultKubeVersion
	}
	parsed, err := chartutil.ParseKubeVersion(kv)
	if err != nil {
		return nil // the config loader refuses such a render.kubeVersion
	}
	cluster := parsed.String()
	var out []report.Finding
	for _, c := range list {
		cons := helmSanitize(c.KubeVersion)
		if cons == "" || chartutil.IsCompatibleRange(cons, cluster) {
			continue
		}
		what := fmt.Sprintf("kubeVersion %q excludes Kubernetes %s (render.kubeVersion)", cons, cluster)
		if _, err := semver.NewConstraint(cons); err != nil {
			what = fmt.Sprintf("kubeVersion %q is not a constraint helm can read (%v), so it excludes every Kubernetes version", cons, err)
		}
		out = append(out, r.finding("chart-kube-version", c.File, c.KubeVersionLine, chartSubject(c),
			"%s: helm template --kube-version %s and helm install on that Kubernetes refuse the chart; expected a constraint %s meets (such as \">=1.25.0-0\"), or render.kubeVersion in %s set to the Kubernetes the platform runs",
			what, cluster, cluster, filepath.Base(r.ws.File)))
	}
	return out
}

// helmSanitize is what helm's chart loader does to Chart.yaml strings
// before using them: white space becomes a blank, other unprintable
// characters go.
func helmSanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
}

// --- file:// dependency pins ---

func (r *chartRun) pins(list []charts.Chart) []report.Finding {
	var out []report.Finding
	for _, c := range list {
		for _, d := range c.Dependencies {
			rel, ok := strings.CutPrefix(d.Repository, "file://")
			if !ok {
				continue
			}
			target := path.Clean(path.Join(c.Dir, rel))
			subject := d.Name + "@" + d.Version
			local, err := charts.ReadChart(r.repo.Dir, target)
			if errors.Is(err, os.ErrNotExist) {
				out = append(out, r.finding("dependency-missing", c.DepsFile, d.Line, subject,
					"dependency %s points to %s, but %s does not exist; expected a chart directory relative to %s",
					d.Name, d.Repository, path.Join(target, "Chart.yaml"), c.Dir))
				continue
			}
			if err != nil || !version.Valid(local.Version) || strings.TrimSpace(d.Version) == "" {
				// An unreadable or invalid local chart is reported as itself;
				// an empty pin takes whatever is there.
				continue
			}
			if msg := pinProblem(d.Version, local.Version); msg != "" {
				out = append(out, r.finding("dependency-pin-mismatch", c.DepsFile, d.Line, subject,
					"dependency %s (%s) %s, the version of %s; expected version: %s",
					d.Name, d.Repository, msg, filepath.ToSlash(local.File), local.Version))
			}
		}
	}
	return out
}

// pinProblem says how pin fails to name version, or "".
func pinProblem(pin, current string) string {
	pin = strings.TrimSpace(pin)
	if version.Valid(pin) {
		if pin != current {
			return fmt.Sprintf("is pinned to %s but the local chart is at %s", pin, current)
		}
		return ""
	}
	cons, err := semver.NewConstraint(pin)
	if err != nil {
		return fmt.Sprintf("has version %q, which is neither a SemVer version nor a constraint (%v), so it cannot match %s", pin, err, current)
	}
	if !cons.Check(semver.MustParse(current)) {
		return fmt.Sprintf("is constrained to %q, which does not match %s", pin, current)
	}
	return ""
}
