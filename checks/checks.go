// Package checks holds relkit's CI policy checks. Each check reads the
// workspace and returns a report; Runner runs them at most once per process
// and prints the merged result.
package checks

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/workspace"
)

// Options are the settings every check runs with. The caller decides them
// (the mage targets read RELKIT_REGISTRY, RELKIT_STRICT and RELKIT_BASE
// once, in magefiles/); the zero value is a run with none of them set.
type Options struct {
	// Registry makes check:images ask each registry whether the tag
	// exists (the -registry flag or RELKIT_REGISTRY=1).
	Registry bool
	// Strict makes check:dockerfiles findings errors even while the repo's
	// VERSION is a pre-release (RELKIT_STRICT=1).
	Strict bool
	// Base is what check:charts compares with (RELKIT_BASE): a ref or
	// commit whose merge base with HEAD is the base; "" lets the check
	// choose (see Charts).
	Base string
	// Now is the day waivers are compared with; zero means today.
	Now time.Time
	// Client configures check:images' registry client; its Mirrors
	// default to the workspace's images.mirrors.
	Client imageref.Options
}

// now is o.Now, or the current time when it is unset.
func (o Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

// Func is one check.
type Func func(ctx context.Context, ws *workspace.Config, o Options) *report.Report

// registry lists every check by the name of its mage target (check:<name>).
var registry = map[string]Func{
	versionsCheck:    Versions,
	dockerfilesCheck: Dockerfiles,
	imagesCheck:      Images,
	chartsCheck:      Charts,
}

// Names lists the registered checks in a stable order.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Runner loads the workspace once and runs each check at most once, keeping
// the reports so check:all can merge them.
type Runner struct {
	load    func() (*workspace.Config, error)
	opts    Options
	once    sync.Once
	ws      *workspace.Config
	wsErr   error
	mu      sync.Mutex
	results map[string]*report.Report
}

// NewRunner returns a runner over the workspace load returns, running the
// checks with options o.
func NewRunner(load func() (*workspace.Config, error), o Options) *Runner {
	return &Runner{load: load, opts: o, results: map[string]*report.Report{}}
}

// Options returns the options checks not yet collected run with.
func (r *Runner) Options() Options {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.opts
}

// SetOptions changes the options of the checks not yet collected; a check
// already run keeps its report. It is for a target flag (check:images
// -registry) read after the runner was made.
func (r *Runner) SetOptions(o Options) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opts = o
}

// Workspace returns the loaded config, loading it on first use.
func (r *Runner) Workspace() (*workspace.Config, error) {
	r.once.Do(func() { r.ws, r.wsErr = r.load() })
	return r.ws, r.wsErr
}

// Collect runs check name (once) and keeps its report. A problem that stops
// the check is kept in the report as "could not decide", so Collect only
// fails for an unknown check name.
func (r *Runner) Collect(ctx context.Context, name string) error {
	f, ok := registry[name]
	if !ok {
		return fmt.Errorf("unknown check %q; known: %v", name, Names())
	}
	r.mu.Lock()
	_, done := r.results[name]
	opts := r.opts
	r.mu.Unlock()
	if done {
		return nil
	}
	// Without a workspace no check runs; Report says why, once.
	rep := report.New(name)
	if ws, err := r.Workspace(); err == nil {
		rep = f(ctx, ws, opts)
	}
	r.mu.Lock()
	r.results[name] = rep
	r.mu.Unlock()
	return nil
}

// Report merges the reports of the named checks (which must have been
// collected). When the workspace could not be loaded no check ran: the
// report holds that one problem and no check, so that every format shows
// it once (text once, JSON one undecided entry, JUnit one failing case)
// rather than once per check.
func (r *Runner) Report(names ...string) *report.Report {
	out := report.New()
	if _, err := r.Workspace(); err != nil {
		out.Undecided(err)
		return out
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range names {
		if rep, ok := r.results[n]; ok {
			out.Merge(rep)
		} else {
			missing := report.New(n)
			missing.Undecided(fmt.Errorf("check %s did not run", n))
			out.Merge(missing)
		}
	}
	return out
}

// Print writes the merged report of the named checks to w as opts say
// (format, colour, annotations; the repo paths come from the workspace),
// and returns the exit code with a one-line summary.
func (r *Runner) Print(w io.Writer, opts report.Options, names ...string) (int, string) {
	rep := r.Report(names...)
	if ws, err := r.Workspace(); err == nil {
		opts.RepoDir = ws.RepoDirs()
	}
	if err := rep.Write(w, opts); err != nil {
		return report.ExitUndecided, err.Error()
	}
	errs, warns := rep.Counts()
	code := rep.ExitCode()
	switch code {
	case report.ExitUndecided:
		// The report holds the reasons; the summary (mage prints it on
		// stderr) does not repeat them.
		return code, "could not decide; the report says why"
	case report.ExitFindings:
		return code, fmt.Sprintf("%d error(s), %d warning(s)", errs, warns)
	}
	return code, ""
}

// Run collects and prints the named checks: the whole job of a check target
// outside mage.
func (r *Runner) Run(ctx context.Context, w io.Writer, opts report.Options, names ...string) (int, string) {
	for _, n := range names {
		if err := r.Collect(ctx, n); err != nil {
			return report.ExitUndecided, err.Error()
		}
	}
	return r.Print(w, opts, names...)
}

// parallel runs fn for every item with bounded concurrency.
func parallel[T any](ctx context.Context, items []T, fn func(context.Context, T)) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(4, 2*runtime.GOMAXPROCS(0)))
	for _, it := range items {
		g.Go(func() error {
			if gctx.Err() == nil {
				fn(gctx, it)
			}
			return nil
		})
	}
	_ = g.Wait()
}
