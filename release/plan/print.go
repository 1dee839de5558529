package plan

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/safetext"
)

// Format is an output format: "text" or "json".
type Format string

const (
	Text Format = "text"
	JSON Format = "json"
)

// ParseFormat reads a format name (RELKIT_FORMAT's value in the targets):
// text (also when empty) or json, in any letter case.
func ParseFormat(name string) (Format, error) {
	switch f := strings.ToLower(strings.TrimSpace(name)); f {
	case "", "text":
		return Text, nil
	case "json":
		return JSON, nil
	default:
		return "", fmt.Errorf("%q: expected text or json", f)
	}
}

// WriteJSON writes the plan as one indented JSON document, credentials
// in URLs removed (encoding/json escapes control characters).
func (p *Plan) WriteJSON(w io.Writer) error {
	return safetext.WriteJSON(w, p)
}

// WriteText writes the plan for people: per repo what is already done,
// then each step with every file change, then any problem.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	mode := ""
	if p.DryRun {
		mode = " (dry run: nothing will be written)"
	}
	fmt.Fprintf(&b, "Plan for %s%s\n", p.Action, mode)
	if p.Author != "" {
		fmt.Fprintf(&b, "Author and committer: %s\n", p.Author)
	} else {
		fmt.Fprintf(&b, "Author and committer: from each repo's git config\n")
	}
	for _, r := range p.Repos {
		kind := ""
		if r.Kind != "" {
			kind = " (" + r.Kind + ")"
		}
		fmt.Fprintf(&b, "\n%s%s  %s\n", r.Name, kind, r.Dir)
		for _, d := range r.Done {
			fmt.Fprintf(&b, "  done: %s\n", d)
		}
		for _, s := range r.Steps {
			writeStep(&b, r, s, p.DryRun)
		}
		if len(r.Steps) == 0 && len(r.Problems) == 0 {
			b.WriteString("  nothing to do\n")
		}
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "  note: %s\n", n)
		}
		for _, pr := range r.Problems {
			fmt.Fprintf(&b, "  PROBLEM: %s\n", pr)
		}
	}
	fmt.Fprintf(&b, "\n%s\n", p.Summary())
	// Commit subjects, file contents and remote URLs come from repos and
	// config: no control character reaches the terminal, no credential
	// is printed.
	_, err := io.WriteString(w, safetext.Clean(b.String()))
	return err
}

// writeStep writes one step; in a dry run each says "would", so nobody
// reads a plan that was not applied as a record of what was done.
func writeStep(b *strings.Builder, r *Repo, s Step, dryRun bool) {
	would := ""
	if dryRun {
		would = "would "
	}
	switch s.Kind {
	case CreateBranch:
		fmt.Fprintf(b, "  %screate branch %s at %s\n", would, shortRef(s.Ref), gitx.Short(s.Commit))
	case CreateTag:
		first, _, _ := strings.Cut(s.Message, "\n")
		fmt.Fprintf(b, "  %screate tag %s on %s: %q\n", would, shortRef(s.Ref), gitx.Short(s.Commit), first)
	case Commit:
		first, _, _ := strings.Cut(s.Message, "\n")
		fmt.Fprintf(b, "  %scommit on %s (after %s): %q\n", would, s.Branch, gitx.Short(s.Parent), first)
		width := 0
		for _, f := range s.Files {
			for _, c := range f.Changes {
				width = max(width, len(fmt.Sprintf("%s:%d", f.Path, c.Line)))
			}
		}
		for _, f := range s.Files {
			for _, c := range f.Changes {
				loc := fmt.Sprintf("%s:%d", f.Path, c.Line)
				fmt.Fprintf(b, "    %-*s  %s %s -> %s\n", width, loc, c.Field, c.Old, c.New)
			}
		}
	case Fetch:
		var parts []string
		for _, u := range s.Updates {
			parts = append(parts, shortRef(u.Local))
		}
		fmt.Fprintf(b, "  %sfetch from %s: %s (the remote already has it right)\n", would, s.Remote, strings.Join(parts, ", "))
	case Push:
		if s.moves(r) {
			// A push to the repo itself moves a local branch (never a
			// checked-out one, fast-forward only): say so.
			for _, u := range s.Updates {
				note := gitx.Short(u.Local)
				if u.Note != "" {
					note = u.Note
				}
				fmt.Fprintf(b, "  %smove branch %s %s -> %s (fast-forward only)\n", would, shortRef(u.Ref), gitx.Short(u.Expect), note)
			}
			return
		}
		var parts []string
		for _, u := range s.Updates {
			from := "new"
			if u.Expect != "" {
				from = gitx.Short(u.Expect) + " ->"
			}
			note := shortRef(u.Local)
			if u.Note != "" {
				note = u.Note
			}
			parts = append(parts, fmt.Sprintf("%s (%s %s)", shortRef(u.Ref), from, note))
		}
		fmt.Fprintf(b, "  %spush to %s, all or nothing: %s\n", would, s.Remote, strings.Join(parts, ", "))
	case Review:
		writeReview(b, s, would)
	case PublishChart:
		if pk := s.Package; pk != nil {
			fmt.Fprintf(b, "  publish %s %s  %s  from %s at %s  -> %s\n", pk.Chart, pk.Version, pk.Digest, pk.Dir, gitx.Short(pk.Commit), s.Ref)
			if len(pk.Needs) > 0 {
				fmt.Fprintf(b, "    after %s\n", strings.Join(pk.Needs, ", "))
			}
		}
	}
}

// Summary is one line counting the steps and problems.
func (p *Plan) Summary() string {
	probs := len(p.Problems())
	if p.Empty() && probs == 0 {
		return fmt.Sprintf("Nothing to do: %s is already complete in all %d repo(s).", p.Action, len(p.Repos))
	}
	var parts []string
	moves := 0
	for _, r := range p.Repos {
		for _, s := range r.Steps {
			if s.Kind == Push && s.moves(r) {
				moves++
			}
		}
	}
	for _, k := range []struct {
		kind Kind
		name string
	}{{CreateBranch, "branch(es) to create"}, {Commit, "commit(s)"}, {CreateTag, "tag(s) to create"}, {Fetch, "fetch(es)"}, {Push, "push(es)"}, {Review, "review(s) to send"}, {PublishChart, "chart package(s) to publish"}} {
		n := p.Count(k.kind)
		if k.kind == Push {
			if moves > 0 {
				parts = append(parts, fmt.Sprintf("%d branch move(s)", moves))
			}
			n -= moves
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k.name))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no steps")
	}
	s := strings.Join(parts, ", ")
	if probs > 0 {
		s += fmt.Sprintf("; %d problem(s): the run is refused and writes nothing", probs)
	}
	return s + "."
}

// Write prints the plan in format f.
func (p *Plan) Write(w io.Writer, f Format) error {
	if f == JSON {
		return p.WriteJSON(w)
	}
	return p.WriteText(w)
}

// Execute finishes what a planner started: p and planErr are what it
// returned. A plan that could not be completed (planErr set) is printed
// with the error and not applied; otherwise Run prints and applies it.
func Execute(ctx context.Context, p *Plan, planErr error, w io.Writer, f Format, opt Options) error {
	// The dry run's scratch objects (gitx.DryObjects) go with it, before
	// any later run in this process writes into the same repos.
	defer func() { gitx.ForgetDryObjects(p.dirs()...) }()
	if p == nil {
		return planErr
	}
	if planErr != nil {
		_ = p.Write(w, f)
		return planErr
	}
	return Run(ctx, p, w, f, opt)
}

// Run prints the plan and, unless it is a dry run, is empty or has
// problems, applies it. Text output shows the plan first and then a line
// per step as it is done; JSON output is the plan once, after the run,
// with what was applied and any error per repo.
func Run(ctx context.Context, p *Plan, w io.Writer, f Format, opt Options) error {
	if opt.Review != nil {
		if err := opt.Review.Rewrite(ctx, p); err != nil {
			_ = p.Write(w, f)
			return AsUndecided(err)
		}
	}
	p.checkWrites()
	p.CheckRepos()
	return RunWith(ctx, p, w, f, func(ctx context.Context, progress io.Writer) error {
		opt.Progress = progress
		return p.Apply(ctx, opt)
	})
}

// RunWith is Run with another way of applying the plan: apply is called
// only for a plan that is not a dry run, not empty and without problems,
// with the writer for its progress lines (nil for JSON output). Targets
// whose steps Apply does not know (chart:publish) print and refuse
// exactly as the others do.
func RunWith(ctx context.Context, p *Plan, w io.Writer, f Format, apply func(ctx context.Context, progress io.Writer) error) error {
	defer func() { gitx.ForgetDryObjects(p.dirs()...) }() // see Execute
	if f != JSON {
		if err := p.WriteText(w); err != nil {
			return err
		}
	}
	var err error
	switch {
	case len(p.Problems()) > 0:
		err = &Refused{p.Problems()}
	case p.DryRun || p.Empty():
	default:
		var progress io.Writer
		if f != JSON {
			fmt.Fprintf(w, "\nApplying:\n")
			progress = w
		}
		// Nothing a real run writes may be taken for present because a
		// dry-run store (gitx.DryObjects) holds it.
		gitx.ForgetDryObjects(p.dirs()...)
		err = apply(ctx, progress)
		if err == nil && f != JSON {
			fmt.Fprintf(w, "Done.\n")
		}
	}
	if f == JSON {
		if werr := p.WriteJSON(w); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

// dirs lists the directories of the plan's repos (none for a nil plan).
func (p *Plan) dirs() []string {
	if p == nil {
		return []string{}
	}
	out := make([]string, 0, len(p.Repos))
	for _, r := range p.Repos {
		if r.Dir != "" {
			out = append(out, r.Dir)
		}
	}
	return out
}
