// Package chartpublish is chart:publish: every chart of the charts repo's
// commit whose version a chart repository does not hold yet is packaged
// (release/chartpkg: reproducible, from git objects) and put there: into a
// static chart repository kept in git (index.yaml merged, one commit,
// pushed without force, merged again and retried when another publisher
// moved the branch) and into an OCI registry (Helm's media types). What is
// published is worked out from the repository itself, not from a diff
// against HEAD^, so whatever an earlier run missed is published now.
// A version published with the same digest is skipped; with another
// digest it is refused, and nothing is ever overwritten.
package chartpublish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/relkit/relkit/checks/chartrepo"
	"github.com/relkit/relkit/release/chartpkg"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// Options of one run.
type Options struct {
	// Rev is the commit of the charts repo to publish from (default
	// HEAD: what CI checked out).
	Rev string
	// DryRun plans and prints, and writes nothing (not even the
	// dependency cache). Push writes; without it the run is a dry run too.
	DryRun, Push bool
	// Author is the identity of the site commits ("Name <email>"); empty:
	// RELKIT_GIT_AUTHOR, git.author, the charts repo's git config, else
	// "relkit <relkit@localhost>" (see plan.Author).
	Author gitx.Ident
	// HTTPClient fetches remote dependencies from https chart
	// repositories (nil: the default client).
	HTTPClient *http.Client
	// Registry is how OCI registries are asked and written: credentials,
	// images.mirrors, retries (image:push's).
	Registry chartrepo.Options
	// Attempts bounds the tries of a static repository commit whose push
	// another publisher beat (default 8).
	Attempts int
	// RetryWait is the first wait before such a retry (default 200ms,
	// doubled each time, with jitter).
	RetryWait time.Duration
}

// MaxAttempts caps Options.Attempts.
const MaxAttempts = 30

func (o Options) attempts() int {
	if o.Attempts <= 0 {
		return 8
	}
	return min(o.Attempts, MaxAttempts)
}

// Target is one chart repository chart:publish writes to.
type target struct {
	// name is how the plan shows it.
	name string
	kind string
	site *chartrepo.Site // a static repository in git
	url  string          // its base URL for index.yaml ("": relative)
	oci  *chartrepo.OCI
	repo chartrepo.Repository
	// pr is the target's part of the plan; pending its packages to
	// publish, in dependency order.
	pr      *plan.Repo
	pending []*chartpkg.Package
}

// Publication is a planned run: the plan to print and what applying it
// needs.
type Publication struct {
	Plan *plan.Plan
	// Packages are every chart of the commit that could be packaged, in
	// dependency order.
	Packages []*chartpkg.Package

	opt     Options
	ident   gitx.Ident
	targets []*target
	byDir   map[string]*chartpkg.Package
	// beforePush runs right before each push of the static repository:
	// tests let another publisher in there.
	beforePush func()
}

// Plan packages every chart of the charts repo at opt.Rev and asks every
// chart repository the charts publish to which versions it holds. An
// error is returned (with the plan so far) when something kept it from
// deciding (the charts repo or a repository could not be read: a
// *plan.Undecided).
func Plan(ctx context.Context, ws *workspace.Config, opt Options) (*Publication, error) {
	if ws.Charts == nil {
		return nil, fmt.Errorf("%s: no charts repo configured (charts:)", ws.File)
	}
	pub := ws.Charts.Publish
	if pub == nil {
		return nil, fmt.Errorf("%s: charts.publish is not set; expected git (a repo for the static chart repository), oci (oci://host/path) or both", ws.File)
	}
	if opt.Rev == "" {
		opt.Rev = "HEAD"
	}
	action := "chart:publish"
	if opt.Push && !opt.DryRun {
		action += " -push"
	}
	dry := opt.DryRun || !opt.Push
	p := &Publication{Plan: &plan.Plan{Action: action, DryRun: dry}, opt: opt, byDir: map[string]*chartpkg.Package{}}
	p.opt.DryRun = dry
	p.ident = opt.Author
	if p.ident.Name == "" {
		p.ident = committer(ctx, ws.Charts.Dir)
	}
	p.Plan.Author = p.ident.String()

	// The targets, and the repository the charts say they are published
	// to (charts.repository), which is only read.
	var err error
	if pub.Git != "" {
		site := chartrepo.Site{Git: pub.Git, Branch: pub.Branch, Dir: pub.Dir}
		p.targets = append(p.targets, &target{name: site.String(), kind: "static chart repository in git", site: &site, url: pub.URL, repo: chartrepo.OpenSite(site)})
	}
	if pub.OCI != "" {
		o, err := chartrepo.OpenOCI(pub.OCI, opt.Registry)
		if err != nil {
			return nil, fmt.Errorf("%s: charts.publish.oci: %w", ws.File, err)
		}
		p.targets = append(p.targets, &target{name: o.String(), kind: "OCI registry", oci: o, repo: o})
	}
	var readOnly chartrepo.Repository
	if ref := ws.Charts.Repository; ref != "" {
		ropt := opt.Registry
		ropt.BaseDir = ws.Root
		if readOnly, err = chartrepo.Open(ref, ropt); err != nil {
			return nil, fmt.Errorf("%s: charts.repository: %w", ws.File, err)
		}
		if ref == pub.OCI {
			readOnly = nil // the same registry as a target
		}
	}
	for _, t := range p.targets {
		t.pr = &plan.Repo{Name: t.name, Kind: t.kind, Dir: ws.Charts.Name + " " + ws.Charts.Dir}
		p.Plan.Repos = append(p.Plan.Repos, t.pr)
	}

	// Package every chart of the commit.
	tree, err := chartpkg.ReadTree(ctx, ws.Charts.Dir, opt.Rev)
	if err != nil {
		return p, &plan.Undecided{Err: fmt.Errorf("%s: %w", ws.Charts.Name, err)}
	}
	defer tree.Close()
	gitDir, err := gitx.Git(ctx, ws.Charts.Dir, "rev-parse", "--absolute-git-dir")
	if err != nil {
		return p, &plan.Undecided{Err: fmt.Errorf("%s: %w", ws.Charts.Name, err)}
	}
	fetcher := &chartpkg.Fetcher{CacheDir: chartpkg.CacheDir(strings.TrimSpace(gitDir)), ReadOnly: dry, HTTPClient: opt.HTTPClient, Registry: opt.Registry}
	heads, headErrs := readHeads(tree)
	local := map[string]string{}
	for dir, h := range heads {
		if h.Name != "" && h.Version != "" {
			local[h.Name+"\x00"+h.Version] = dir
		}
	}
	own := []string{pub.URL, pub.OCI, ws.Charts.Repository}
	loader := &chartpkg.Loader{Tree: tree, Fetcher: fetcher, Own: own, Local: func(name, version string) (string, bool) {
		d, ok := local[name+"\x00"+version]
		return d, ok
	}}
	dirs := tree.Discover()
	var loaded []*chartpkg.Chart
	loadErrs := map[string]error{}
	for _, dir := range dirs {
		if err := headErrs[dir]; err != nil {
			loadErrs[dir] = err
			continue
		}
		c, err := loader.Load(ctx, dir)
		if err != nil {
			if ctx.Err() != nil {
				return p, ctx.Err()
			}
			loadErrs[dir] = err
			continue
		}
		loaded = append(loaded, c)
	}
	pkgs, buildErrs, err := chartpkg.Build(ctx, tree, loaded)
	if err != nil {
		var se *chartpkg.ShallowError
		if errors.As(err, &se) {
			return p, &plan.Undecided{Err: err}
		}
		return p, &plan.Undecided{Err: fmt.Errorf("%s: %w", ws.Charts.Name, err)}
	}
	for i, pk := range pkgs {
		if buildErrs[i] != nil {
			loadErrs[loaded[i].Dir] = buildErrs[i]
			continue
		}
		p.byDir[pk.Dir] = pk
	}
	order, cycle := Order(p.byDir)
	if cycle != "" {
		for _, t := range p.targets {
			t.pr.Problemf("charts depend on each other in a cycle: %s", cycle)
		}
	}
	for _, dir := range order {
		p.Packages = append(p.Packages, p.byDir[dir])
	}

	// Ask every repository about every chart version, in parallel.
	var undecided []error
	type answer struct {
		v   *chartrepo.Version
		err error
	}
	repos := []chartrepo.Repository{}
	for _, t := range p.targets {
		repos = append(repos, t.repo)
	}
	if readOnly != nil {
		repos = append(repos, readOnly)
	}
	type q struct{ repo, dir string }
	answers := map[q]answer{}
	type job struct {
		r         chartrepo.Repository
		dir       string
		name, ver string
	}
	var jobs []job
	for _, r := range repos {
		for _, dir := range dirs {
			h := heads[dir]
			if h.Name == "" || h.Version == "" {
				continue
			}
			jobs = append(jobs, job{r, dir, h.Name, h.Version})
		}
	}
	results := make([]answer, len(jobs))
	idx := make([]int, len(jobs))
	for i := range idx {
		idx[i] = i
	}
	plan.ForEach(ctx, idx, 16, func(ctx context.Context, i int) {
		v, err := jobs[i].r.Lookup(ctx, jobs[i].name, jobs[i].ver)
		results[i] = answer{v, err}
	})
	if err := ctx.Err(); err != nil {
		return p, err
	}
	for i, j := range jobs {
		answers[q{j.r.String(), j.dir}] = results[i]
	}
	reported := map[string]bool{}
	ask := func(r chartrepo.Repository, dir string) (*chartrepo.Version, bool) {
		a := answers[q{r.String(), dir}]
		if a.err != nil {
			if !reported[r.String()] {
				reported[r.String()] = true
				undecided = append(undecided, fmt.Errorf("%s: %w", r, a.err))
			}
			return nil, false
		}
		return a.v, true
	}

	// Per target: done, pending, refused.
	blocked := map[string]string{} // dir -> why it cannot be published
	for _, dir := range dirs {
		if err := loadErrs[dir]; err != nil {
			blocked[dir] = err.Error()
		}
	}
	for _, t := range p.targets {
		var waiting []string
		for _, dir := range dirs {
			h := heads[dir]
			pk := p.byDir[dir]
			have, ok := ask(t.repo, dir)
			if !ok {
				continue
			}
			var ro *chartrepo.Version
			if readOnly != nil {
				if ro, ok = ask(readOnly, dir); !ok {
					continue
				}
			}
			switch {
			case pk == nil && (have != nil || h.Name == ""):
				// Published already (or not a chart at all): a chart that
				// cannot be packaged now cannot be compared, which is not
				// this run's business.
				if have != nil {
					t.pr.Notef("%s %s is published; not rebuilt to compare: %s", h.Name, h.Version, blocked[dir])
				} else {
					t.pr.Problemf("%s: %s", dir, blocked[dir])
				}
			case pk == nil:
				if chartpkg.IsUnreachable(loadErrs[dir]) {
					undecided = append(undecided, fmt.Errorf("%s: %w", dir, loadErrs[dir]))
				}
				t.pr.Problemf("%s %s (%s) cannot be packaged: %s", h.Name, h.Version, dir, blocked[dir])
			case have != nil && chartrepo.NormalizeDigest(have.Digest) == pk.Digest:
				t.pr.Donef("%s %s is published with the same digest %s", pk.Name(), pk.Version(), pk.Digest)
			case have != nil:
				t.pr.Problems = append(t.pr.Problems, (&chartrepo.DigestConflict{Chart: pk.Name(), Version: pk.Version(), Published: chartrepo.NormalizeDigest(have.Digest), Package: pk.Digest, Where: t.name}).Error())
				blocked[dir] = "refused in " + t.name
			case ro != nil && chartrepo.NormalizeDigest(ro.Digest) != pk.Digest:
				t.pr.Problems = append(t.pr.Problems, (&chartrepo.DigestConflict{Chart: pk.Name(), Version: pk.Version(), Published: chartrepo.NormalizeDigest(ro.Digest), Package: pk.Digest, Where: readOnly.String() + " (charts.repository)"}).Error())
				blocked[dir] = "refused in " + readOnly.String()
			default:
				waiting = append(waiting, dir)
			}
		}
		// Dependency order; a chart whose dependency cannot be published
		// is not published either.
		for _, dir := range order {
			if !slices.Contains(waiting, dir) {
				continue
			}
			pk := p.byDir[dir]
			var needs []string
			stop := ""
			for _, n := range pk.Needs {
				dep := p.byDir[n]
				if dep == nil {
					stop = fmt.Sprintf("its dependency %s cannot be packaged", n)
					break
				}
				if why, ok := blocked[n]; ok {
					stop = fmt.Sprintf("its dependency %s %s is not published (%s)", dep.Name(), dep.Version(), why)
					break
				}
				needs = append(needs, dep.Name()+" "+dep.Version())
			}
			if stop != "" {
				t.pr.Problemf("%s %s (%s) waits: %s", pk.Name(), pk.Version(), dir, stop)
				blocked[dir] = stop
				continue
			}
			t.pending = append(t.pending, pk)
			t.pr.Steps = append(t.pr.Steps, plan.Step{Kind: plan.PublishChart, Remote: t.name, Ref: t.ref(pk),
				Package: &plan.Package{Chart: pk.Name(), Version: pk.Version(), Digest: pk.Digest, Dir: pk.Dir, Commit: tree.Commit(), Needs: needs}})
		}
	}
	if len(undecided) > 0 {
		return p, &plan.Undecided{Err: errors.Join(undecided...)}
	}
	return p, nil
}

// ref is where package pk goes in t, for the plan.
func (t *target) ref(pk *chartpkg.Package) string {
	if t.site != nil {
		return t.site.File(pk.FileName())
	}
	repo, err := t.oci.Repository(pk.Name())
	if err != nil {
		return pk.Name() + ":" + chartrepo.Tag(pk.Version())
	}
	return repo.Name() + ":" + chartrepo.Tag(pk.Version())
}

// head is a chart's name and version as its Chart.yaml says.
type head struct{ Name, Version string }

// readHeads reads the name and version of every chart of the tree, before
// any chart is loaded: the loader needs them to package a dependency on
// the repo's own chart repository from the commit, and a chart that
// cannot be loaded is still named in the plan.
func readHeads(t *chartpkg.Tree) (map[string]head, map[string]error) {
	heads, errs := map[string]head{}, map[string]error{}
	for _, dir := range t.Discover() {
		file := chartpkg.ChartFile(dir)
		data, _, err := t.ReadFile(file, chartpkg.MaxFileSize)
		if err != nil {
			errs[dir] = err
			continue
		}
		var h struct {
			Name    any `yaml:"name"`
			Version any `yaml:"version"`
		}
		if err := yaml.Unmarshal(data, &h); err != nil {
			errs[dir] = fmt.Errorf("%s: %s; expected a Helm Chart.yaml", file, strings.TrimPrefix(err.Error(), "yaml: "))
			continue
		}
		name, _ := h.Name.(string)
		version := fmt.Sprint(h.Version)
		if h.Version == nil {
			version = ""
		}
		if name == "" || version == "" {
			errs[dir] = fmt.Errorf("%s: expected a name and a version", file)
		}
		heads[dir] = head{Name: name, Version: version}
	}
	return heads, errs
}

// Order sorts the packages' folders so that every chart comes after the
// charts of the repo it depends on (Needs), ties in folder order. A cycle
// is named in the second result and its charts are left out.
func Order(pkgs map[string]*chartpkg.Package) ([]string, string) {
	dirs := make([]string, 0, len(pkgs))
	for d := range pkgs {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	state := map[string]int{} // 1 visiting, 2 done
	var out []string
	cycle := ""
	var visit func(d string, stack []string)
	visit = func(d string, stack []string) {
		switch state[d] {
		case 2:
			return
		case 1:
			if cycle == "" {
				i := slices.Index(stack, d)
				cycle = strings.Join(append(slices.Clone(stack[i:]), d), " -> ")
			}
			return
		}
		state[d] = 1
		if pk := pkgs[d]; pk != nil {
			for _, n := range pk.Needs {
				if _, ok := pkgs[n]; ok {
					visit(n, append(stack, d))
				}
			}
		}
		state[d] = 2
		out = append(out, d)
	}
	for _, d := range dirs {
		visit(d, nil)
	}
	return out, cycle
}

// committer is the charts repo's configured git identity, else relkit's.
func committer(ctx context.Context, dir string) gitx.Ident {
	name, _ := gitx.Git(ctx, dir, "config", "user.name")
	email, _ := gitx.Git(ctx, dir, "config", "user.email")
	if id, err := gitx.ParseIdent(strings.TrimSpace(name) + " <" + strings.TrimSpace(email) + ">"); err == nil {
		return id
	}
	return gitx.Ident{Name: "relkit", Email: "relkit@localhost"}
}

// Run plans, prints and (with -push, unless refused) applies chart:publish.
func Run(ctx context.Context, ws *workspace.Config, opt Options, w io.Writer, f plan.Format) error {
	p, err := Plan(ctx, ws, opt)
	if p == nil {
		return err
	}
	if err != nil {
		_ = p.Plan.Write(w, f)
		return err
	}
	return plan.RunWith(ctx, p.Plan, w, f, p.Apply)
}

// Apply writes every pending package to every target: the static
// repository in one commit, the OCI registry one chart at a time in
// dependency order. A failure in one target does not stop the other.
func (p *Publication) Apply(ctx context.Context, progress io.Writer) error {
	if probs := p.Plan.Problems(); len(probs) > 0 {
		return &plan.Refused{Problems: probs}
	}
	if p.opt.DryRun {
		return nil
	}
	say := func(t *target, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		t.pr.Applied = append(t.pr.Applied, msg)
		if progress != nil {
			fmt.Fprintf(progress, "%s: %s\n", t.name, msg)
		}
	}
	var errs []error
	for _, t := range p.targets {
		if len(t.pending) == 0 {
			continue
		}
		var err error
		if t.site != nil {
			err = p.applySite(ctx, t, say)
		} else {
			err = p.applyOCI(ctx, t, say)
		}
		if err != nil {
			t.pr.Error = err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", t.name, err))
		}
	}
	return errors.Join(errs...)
}
