package plan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/sync/errgroup"

	"github.com/relkit/relkit/release/gitx"
)

// Options says how a plan is applied.
type Options struct {
	// Ident is the author and committer of commits and the tagger of tags;
	// empty means each repo's git config.
	Ident gitx.Ident
	// Progress receives one line per step done (nil: discarded).
	Progress io.Writer
	// Parallel bounds how many repos are worked on at once (0: a default
	// from the number of CPUs).
	Parallel int
}

// limit is the bound on repos worked on at once. The work is mostly git
// processes starting and waiting on disk or network, so it runs well
// above the number of CPUs.
func (o Options) limit() int {
	if o.Parallel > 0 {
		return o.Parallel
	}
	return max(8, 4*runtime.GOMAXPROCS(0))
}

// Apply carries out a plan that has no problems: first every repo's local
// steps, in parallel across repos; if all succeeded, a check that every
// remote ref a push depends on still has the value the plan read; then the
// pushes. A repo whose local steps fail keeps every other repo's local work
// but stops all pushes. A push that fails does not stop the other pushes.
// The error lists every failure; running the same command again plans only
// what is left.
func (p *Plan) Apply(ctx context.Context, opt Options) error {
	if probs := p.Problems(); len(probs) > 0 {
		return &Refused{probs}
	}
	var mu sync.Mutex
	progress := func(r *Repo, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		mu.Lock()
		defer mu.Unlock()
		r.Applied = append(r.Applied, msg)
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, "%s: %s\n", r.Name, msg)
		}
	}
	fail := func(r *Repo, err error) error {
		mu.Lock()
		defer mu.Unlock()
		if r.Error == "" {
			r.Error = err.Error()
		} else {
			r.Error += "; " + err.Error()
		}
		return fmt.Errorf("%s: %w", r.Name, err)
	}

	// Local steps.
	var errs []error
	var errMu sync.Mutex
	keep := func(err error) {
		errMu.Lock()
		errs = append(errs, err)
		errMu.Unlock()
	}
	forEach(ctx, p.Repos, opt.limit(), func(ctx context.Context, r *Repo) {
		for _, s := range r.Steps {
			if s.Kind == Push {
				continue
			}
			if err := ctx.Err(); err != nil {
				keep(fail(r, err))
				return
			}
			msg, err := s.applyLocal(ctx, r.Dir, opt.Ident)
			if err != nil {
				keep(fail(r, fmt.Errorf("%s: %w", s.Kind, err)))
				return
			}
			progress(r, "%s", msg)
		}
	})
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		if p.Count(Push) > 0 {
			errs = append(errs, errors.New("nothing was pushed because of the failures above; run the same command again once they are fixed"))
		}
		return errors.Join(sortErrs(errs)...)
	}

	// Remote guards: every ref the pushes depend on, in every repo, before
	// the first push anywhere.
	type pushJob struct {
		repo *Repo
		step Step
	}
	var jobs []pushJob
	for _, r := range p.Repos {
		for _, s := range r.Steps {
			if s.Kind == Push {
				jobs = append(jobs, pushJob{r, s})
			}
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	forEach(ctx, jobs, opt.limit(), func(ctx context.Context, j pushJob) {
		if err := j.step.checkGuards(ctx, j.repo.Dir); err != nil {
			keep(fail(j.repo, err))
		}
	})
	if len(errs) > 0 {
		var u *Undecided
		if errors.As(errors.Join(errs...), &u) {
			errs = append(errs, errors.New("a remote could not be asked, so nothing was pushed anywhere; run the same command again once it answers"))
		} else {
			errs = append(errs, errors.New("a remote changed since the plan was made, so nothing was pushed anywhere; pull, then run the same command again"))
		}
		return errors.Join(sortErrs(errs)...)
	}

	// Pushes.
	forEach(ctx, jobs, opt.limit(), func(ctx context.Context, j pushJob) {
		specs := make([]string, 0, len(j.step.Updates))
		names := make([]string, 0, len(j.step.Updates))
		for _, u := range j.step.Updates {
			specs = append(specs, u.Local+":"+u.Ref)
			names = append(names, shortRef(u.Ref))
		}
		if err := gitx.Push(ctx, j.repo.Dir, j.step.Remote, specs...); err != nil {
			keep(fail(j.repo, fmt.Errorf("push to %s rejected, nothing of this repo was pushed: %w", j.step.Remote, err)))
			return
		}
		progress(j.repo, "pushed %s to %s", strings.Join(names, ", "), j.step.Remote)
	})
	if len(errs) > 0 {
		errs = append(errs, errors.New("the other repos were pushed; fix the cause and run the same command again to push the rest"))
	}
	return errors.Join(sortErrs(errs)...)
}

func sortErrs(errs []error) []error {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errs
}

// forEach runs fn for every item with at most limit at once.
func forEach[T any](ctx context.Context, items []T, limit int, fn func(context.Context, T)) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for _, it := range items {
		g.Go(func() error {
			fn(gctx, it)
			return nil
		})
	}
	_ = g.Wait()
}

// ForEach runs fn for every item with at most limit (0: the default) at
// once; planners use it to read repos in parallel.
func ForEach[T any](ctx context.Context, items []T, limit int, fn func(context.Context, T)) {
	forEach(ctx, items, Options{Parallel: limit}.limit(), fn)
}

func shortRef(ref string) string {
	for _, p := range []string{"refs/heads/", "refs/tags/"} {
		if s, ok := strings.CutPrefix(ref, p); ok {
			return s
		}
	}
	return ref
}

// applyLocal carries out one local step and says what it did.
func (s Step) applyLocal(ctx context.Context, dir string, id gitx.Ident) (string, error) {
	switch s.Kind {
	case CreateBranch:
		if err := gitx.CreateRef(ctx, dir, s.Ref, s.Commit, "relkit: create "+shortRef(s.Ref)); err != nil {
			return "", err
		}
		return fmt.Sprintf("created branch %s at %s", shortRef(s.Ref), gitx.Short(s.Commit)), nil
	case CreateTag:
		name, ok := strings.CutPrefix(s.Ref, "refs/tags/")
		if !ok {
			return "", fmt.Errorf("%q is not a tag ref", s.Ref)
		}
		if _, err := gitx.GitEnv(ctx, dir, id.Env(), []byte(s.Message), "tag", "-a", "-F", "-", "--cleanup=verbatim", "--", name, s.Commit); err != nil {
			return "", err
		}
		return fmt.Sprintf("created tag %s on %s", name, gitx.Short(s.Commit)), nil
	case Fetch:
		var specs, names []string
		for _, u := range s.Updates {
			specs = append(specs, u.Ref+":"+u.Local)
			names = append(names, shortRef(u.Local))
		}
		if err := gitx.Fetch(ctx, dir, s.Remote, specs...); err != nil {
			return "", err
		}
		return fmt.Sprintf("fetched %s from %s", strings.Join(names, ", "), s.Remote), nil
	case Commit:
		h, err := s.commit(ctx, dir, id)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("committed %s on %s (%d file(s))", gitx.Short(h), s.Branch, len(s.Files)), nil
	}
	return "", fmt.Errorf("unknown step kind %q", s.Kind)
}

// commit writes the step's files into the worktree, stages them and
// commits, then checks that the commit holds exactly those files.
func (s Step) commit(ctx context.Context, dir string, id gitx.Ident) (string, error) {
	repo, err := gitx.Open(dir)
	if err != nil {
		return "", err
	}
	defer repo.Close()
	head, branch, err := repo.Head()
	if err != nil {
		return "", err
	}
	if branch != s.Branch {
		return "", fmt.Errorf("%s: HEAD is on %q, expected %s; nothing was written", dir, branch, s.Branch)
	}
	if head.String() != s.Parent {
		return "", fmt.Errorf("%s: %s moved since the plan was made (now %s, planned on %s); nothing was written", dir, s.Branch, gitx.Short(head.String()), gitx.Short(s.Parent))
	}
	paths := make([]string, 0, len(s.Files))
	for _, f := range s.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		cur, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		if !bytes.Equal(cur, f.Old) && !bytes.Equal(cur, f.New) {
			return "", fmt.Errorf("%s changed since the plan was made; it was not overwritten", f.Path)
		}
		paths = append(paths, f.Path)
	}
	// Temporary files go into .git, so a run killed mid-write leaves no
	// stray file in the worktree that would make it dirty.
	tmpDir := filepath.Join(dir, ".git")
	if st, err := os.Stat(tmpDir); err != nil || !st.IsDir() {
		tmpDir = ""
	}
	for _, f := range s.Files {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(f.Path)), tmpDir, f.New); err != nil {
			return "", err
		}
	}
	// One git run: `commit -- paths` commits exactly these files as they
	// are in the worktree, whatever else is staged. Hooks are not run:
	// relkit's commit is made by a machine and reviewed as a plan, and a
	// hook must not change what the plan said. No auto-gc on the way.
	env := append(id.Env(), "GIT_LITERAL_PATHSPECS=1")
	args := append([]string{"-c", "gc.auto=0", "-c", "maintenance.auto=false",
		"commit", "--quiet", "--no-verify", "--cleanup=verbatim", "-F", "-", "--"}, paths...)
	if _, err := gitx.GitEnv(ctx, dir, env, []byte(s.Message), args...); err != nil {
		return "", err
	}
	return verifyCommit(repo, s.Parent, paths)
}

// verifyCommit checks that HEAD is a commit on parent that changes exactly
// paths, and returns its hash.
func verifyCommit(repo *gitx.Repo, parent string, paths []string) (string, error) {
	head, _, err := repo.Head()
	if err != nil {
		return "", err
	}
	c, err := repo.CommitObject(head)
	if err != nil {
		return "", err
	}
	if len(c.ParentHashes) != 1 || c.ParentHashes[0].String() != parent {
		return "", fmt.Errorf("the new commit %s is not a single-parent commit on %s", gitx.Short(head.String()), gitx.Short(parent))
	}
	p, err := c.Parent(0)
	if err != nil {
		return "", err
	}
	from, err := p.Tree()
	if err != nil {
		return "", err
	}
	to, err := c.Tree()
	if err != nil {
		return "", err
	}
	changes, err := object.DiffTree(from, to)
	if err != nil {
		return "", err
	}
	var got []string
	for _, ch := range changes {
		name := ch.To.Name
		if name == "" {
			name = ch.From.Name
		}
		got = append(got, name)
	}
	want := slices.Clone(paths)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return "", fmt.Errorf("commit %s changes %v, expected exactly %v", gitx.Short(head.String()), got, want)
	}
	return head.String(), nil
}

// writeFile replaces a file's content atomically, keeping its mode. The
// temporary file is made in tmpDir (same file system), or next to the
// file when tmpDir is empty.
func writeFile(path, tmpDir string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if tmpDir == "" {
		tmpDir = filepath.Dir(path)
	}
	tmp, err := os.CreateTemp(tmpDir, "relkit-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// checkGuards asks the remote for every ref the push depends on and
// compares each with the value the plan read.
func (s Step) checkGuards(ctx context.Context, dir string) error {
	all := append(slices.Clone(s.Guards), s.Updates...)
	var names []string
	for _, g := range all {
		if !slices.Contains(names, g.Ref) {
			names = append(names, g.Ref)
		}
	}
	slices.Sort(names)
	got, err := gitx.LsRemote(ctx, dir, s.Remote, names...)
	if err != nil {
		// A remote that vanished or does not answer: nothing is known
		// about it, so the run could not decide (exit 3), not "refused".
		return &Undecided{Err: fmt.Errorf("checking %s before pushing: %w", s.Remote, err)}
	}
	var moved []string
	for _, g := range all {
		if got[g.Ref] != g.Expect {
			msg := fmt.Sprintf("%s is %s, expected %s", shortRef(g.Ref), orNone(got[g.Ref]), orNone(g.Expect))
			if !slices.Contains(moved, msg) {
				moved = append(moved, msg)
			}
		}
	}
	if len(moved) > 0 {
		return fmt.Errorf("%s changed since the plan was made: %s", s.Remote, strings.Join(moved, ", "))
	}
	return nil
}

func orNone(h string) string {
	if h == "" {
		return "absent"
	}
	return gitx.Short(h)
}
