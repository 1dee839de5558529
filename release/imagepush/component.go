package imagepush

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/imagetags"
	rplan "github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// ComponentOptions are the inputs of image:push beyond the workspace.
type ComponentOptions struct {
	// Name is the component, Source the image to publish (OCI layout dir,
	// docker save tarball, or a staging registry reference).
	Name, Source string
	DryRun       bool
	// Out receives progress and the final per-target lines.
	Out io.Writer
	// Environ is the environment checked for CI, as KEY=value (the
	// targets pass the process environment); nil is an empty one, outside CI.
	Environ []string
}

// PushComponent is image:push: it publishes Source to every image
// repository of component Name under the docker tags of the release git
// tags at the component's HEAD (what image:tags prints), after refusing a
// dirty checkout, a commit with no release tag and a run outside CI.
func PushComponent(ctx context.Context, ws *workspace.Config, o ComponentOptions) (Result, error) {
	r, ok := ws.Component(o.Name)
	if !ok {
		_, err := imagetags.ForHead(ctx, ws, o.Name, imagetags.HeadOptions{})
		return Result{}, err
	}
	if len(r.Images) == 0 {
		return Result{}, fmt.Errorf("component %s lists no images in %s (components[].images); nothing to publish to", r.Name, ws.File)
	}
	tags, err := imagetags.ForHead(ctx, ws, r.Name, imagetags.HeadOptions{})
	if err != nil {
		return Result{}, err
	}
	status, err := gitx.Status(ctx, r.Dir)
	if err != nil {
		return Result{}, &rplan.Undecided{Err: err}
	}
	var dirty []string
	for _, e := range status {
		dirty = append(dirty, e.String())
	}
	if err := Preflight(Checkout{Component: r.Name, Dir: r.Dir, Commit: tags.Commit,
		Dirty: len(dirty) > 0, DirtyFiles: dirty, Tags: tags.Tags}); err != nil {
		return Result{}, &rplan.Refused{Problems: strings.Split(err.Error(), "\n")}
	}
	out := o.Out
	if out == nil {
		out = os.Stdout
	}
	fmt.Fprintf(out, "%s at %s: tags %s -> %s\n", r.Name, tags.Commit[:12], strings.Join(tags.Tags, ", "), strings.Join(r.Images, ", "))
	res, err := Push(ctx, Request{Source: o.Source, Repos: r.Images, Tags: tags.Tags, Mirrors: ws.Images.Mirrors,
		Progress: out, DryRun: o.DryRun, Environ: o.Environ})
	for _, t := range res.Targets {
		if t.Status != StatusPushed { // pushed targets were reported as progress
			fmt.Fprintln(out, t.String())
		}
	}
	return res, classify(err)
}

// classify maps Push's error to image:push's exit status: a registry that
// could not be reached is "could not decide" (exit 3, already a
// *plan.Undecided); a run refused before anything was written (outside
// CI, a tag holding another digest, no release tag, a bad or corrupted
// source) is a *plan.Refused (exit 1); a run that wrote and then failed,
// or lost a tag to a concurrent push, stays a plain error (exit 1) that
// says what was written.
func classify(err error) error {
	var u *rplan.Undecided
	switch {
	case err == nil, errors.As(err, &u), errors.Is(err, ErrIncomplete):
		return err
	case errors.Is(err, ErrNotCI), errors.Is(err, ErrTagConflict), errors.Is(err, ErrNoReleaseTag), errors.Is(err, ErrSource):
		return &rplan.Refused{Problems: []string{err.Error()}}
	}
	return err
}
