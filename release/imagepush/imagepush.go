// Package imagepush publishes a component's image to its official
// repositories under its release tags: the core of `image:push NAME SOURCE`.
//
// A push is all or nothing up to the first write. Push first resolves every
// target (repository:tag), checks the environment (official images are
// pushed only by CI), opens the source and asks the registry about EVERY
// target with a HEAD request. A tag that already holds another digest is
// refused (release tags are immutable) and then nothing at all is written; a
// tag that already holds the same digest is skipped as identical. Only then
// are the missing tags written, with bounded parallelism, retries with
// backoff on 408/429/5xx (honouring Retry-After), and one shared pusher so
// blobs are uploaded once per repository and mounted across repositories of
// the same registry (from a staging repository there, directly: one mount
// request per blob, no existence checks first); the manifest goes in by
// digest, and each tag is then only a manifest PUT. Every tag is checked
// again right before its PUT and read back after it (publish.go): a tag
// that another run filled with another image in the meantime fails the
// run naming both digests, and is never written over. A registry that
// dies mid-push leaves targets reported as failed, never as done.
//
// Local sources (a layout, a tarball) are verified byte for byte before
// the first write (integrity.go). Errors: a tag holding another image, a
// bad source and a run outside CI are refusals; a registry that cannot be
// reached (refused connection, DNS, timeouts, 5xx after the retries,
// refused credentials) makes the error a *plan.Undecided.
//
// SOURCE forms (see OpenSource):
//
//   - an OCI image layout directory (index.json naming exactly one image or
//     one index; a multi-arch index is pushed whole), optionally written
//     "oci:DIR";
//   - a `docker save` tarball, "FILE" when it holds one image or
//     "FILE:REPO:TAG" to pick the image saved under that name, optionally
//     written "docker-archive:FILE[:REPO:TAG]";
//   - an image reference in a staging registry, optionally written
//     "docker://REF". A path that exists on disk wins over a reference.
package imagepush

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/relkit/relkit/checks/imageref"
	rplan "github.com/relkit/relkit/release/plan"
)

// DefaultJobs is the parallelism used when Request.Jobs is 0.
const DefaultJobs = 4

// MaxJobs bounds Request.Jobs.
const MaxJobs = 64

// Image is one image to publish: a source and where it goes.
type Image struct {
	// Source is an OCI layout directory, a docker tarball or a registry
	// reference (see the package documentation).
	Source string
	// Repos are the official image repositories (registry/path, no tag),
	// the component's `images` in relkit.yaml.
	Repos []string
	// Tags are the docker tags to publish, as image:tags computes them for
	// the component's commit. Every tag is treated as immutable.
	Tags []string
}

// Request describes one publishing run.
type Request struct {
	// Source, Repos and Tags describe the image to publish (see Image).
	Source string
	Repos  []string
	Tags   []string
	// Images are further images published in the same run, sharing
	// connections, credentials and the limits below (a release of several
	// components at once). The all-or-nothing check covers all of them.
	Images []Image
	// Mirrors maps a registry host to the host actually contacted (a proxy
	// or an air-gapped copy). Reports keep the official names.
	Mirrors map[string]string
	// Progress receives human-readable progress: a live byte counter when it
	// is a terminal, one line per finished tag otherwise. nil prints nothing
	// (except the RELKIT_ALLOW_LOCAL_PUSH warning, which goes to stderr).
	Progress io.Writer
	// DryRun checks everything and writes nothing: targets that a real run
	// would push are reported as StatusPlanned. A dry run is allowed outside
	// CI (it says that a real run would be refused).
	DryRun bool
	// Jobs bounds parallelism: at most Jobs targets are written at once and
	// each moves at most Jobs blobs at once. 0 means DefaultJobs.
	Jobs int
	// Retry tunes retries of failed requests; the zero value is sensible.
	Retry Retry
	// Keychain resolves registry credentials; nil means
	// authn.DefaultKeychain (docker/podman config files and helpers).
	Keychain authn.Keychain
	// Environ is the environment checked for CI, as KEY=value (the
	// targets pass the process environment); nil is an empty one, outside CI.
	Environ []string
	// Settle is how long after its last write the run reads every tag it
	// pushed once more, to catch a concurrent push of another image that
	// landed after the read-back (see publish.go). 0 means DefaultSettle;
	// negative skips the second read.
	Settle time.Duration
}

func (r *Request) images() []Image {
	var out []Image
	if r.Source != "" || len(r.Repos) > 0 || len(r.Tags) > 0 {
		out = append(out, Image{Source: r.Source, Repos: r.Repos, Tags: r.Tags})
	}
	return append(out, r.Images...)
}

// Status is what happened to one target.
type Status string

const (
	// StatusPushed: written in this run, read back holding the source's
	// digest right after the PUT and again after Request.Settle.
	StatusPushed Status = "pushed"
	// StatusIdentical: the tag already held the same digest; nothing
	// written.
	StatusIdentical Status = "identical"
	// StatusPlanned: a dry run would have pushed it.
	StatusPlanned Status = "planned"
	// StatusRefused: the run was refused because of this target (a tag
	// holding another digest, before the run or right before this tag's
	// PUT) or before any target was looked at (outside CI); this tag was
	// not written. Err says why.
	StatusRefused Status = "refused"
	// StatusNotAttempted: nothing was written because another target was
	// refused or could not be checked.
	StatusNotAttempted Status = "not attempted"
	// StatusFailed: the check or the write failed, or the written tag did
	// not read back as the source's digest (Err wraps ErrTagConflict when
	// it holds another image: a concurrent push won). The registry may or
	// may not hold the tag.
	StatusFailed Status = "failed"
)

// Target is one repository:tag of the run.
type Target struct {
	// Source is the image source this target takes its content from.
	Source string
	// Ref is the official repository:tag, as named in the request.
	Ref string
	// Contacted is the repository:tag actually contacted (after Mirrors).
	Contacted string
	// Digest is the source's manifest digest (zero when the source could
	// not be opened).
	Digest v1.Hash
	// Found is the digest the registry held under the tag before the run
	// (zero when the tag did not exist or was not looked at).
	Found  v1.Hash
	Status Status
	// Err says why a target is refused, not attempted or failed.
	Err error
}

func (t Target) String() string {
	s := fmt.Sprintf("%-13s %s", t.Status, t.Ref)
	if t.Contacted != "" && t.Contacted != t.Ref {
		s += " (via " + t.Contacted + ")"
	}
	if t.Digest != (v1.Hash{}) {
		s += " " + t.Digest.String()
	}
	if t.Err != nil {
		s += ": " + t.Err.Error()
	}
	return s
}

// Result reports every target of a run, in request order (image, then
// repository, then tag).
type Result struct {
	Targets []Target
	DryRun  bool
	// CI names the detected CI system ("" outside CI).
	CI string
}

// With returns the targets with status s.
func (r Result) With(s Status) []Target {
	var out []Target
	for _, t := range r.Targets {
		if t.Status == s {
			out = append(out, t)
		}
	}
	return out
}

// Done reports whether every target is pushed or identical (or planned, in
// a dry run).
func (r Result) Done() bool {
	for _, t := range r.Targets {
		switch t.Status {
		case StatusPushed, StatusIdentical, StatusPlanned:
		default:
			return false
		}
	}
	return len(r.Targets) > 0
}

// String is a report with one line per target.
func (r Result) String() string {
	var b strings.Builder
	for _, t := range r.Targets {
		b.WriteString(t.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Refusals and failures. Errors returned by Push wrap one of these.
var (
	ErrNotCI        = errors.New("refusing to push official images outside CI")
	ErrNoReleaseTag = errors.New("no release tag")
	ErrDirty        = errors.New("dirty worktree")
	ErrTagConflict  = errors.New("release tag already exists with a different digest")
	ErrCheck        = errors.New("could not check the registry")
	ErrSource       = errors.New("cannot read the image source")
	ErrIncomplete   = errors.New("push incomplete")
)

// target is the working state of one Target.
type target struct {
	img      int
	official name.Tag
	contact  name.Tag
	res      *Target
}

// Push publishes the request's images. The returned Result always lists
// every target that could be named; the error is nil only when every target
// ended pushed, identical or planned.
func Push(ctx context.Context, req Request) (Result, error) {
	res := Result{DryRun: req.DryRun}
	images := req.images()
	if len(images) == 0 {
		return res, errors.New("nothing to push: the request names no image")
	}
	jobs := req.Jobs
	if jobs <= 0 {
		jobs = DefaultJobs
	}
	jobs = min(jobs, MaxJobs)
	rep := newReporter(req.Progress)
	defer rep.close()

	targets, err := plan(images, req.Mirrors, &res)
	if err != nil {
		return res, err
	}

	env, envErr := CheckEnvironment(req.Environ)
	res.CI = env.CI
	if w := env.Warning(); w != "" {
		rep.warn(w)
	}
	if envErr != nil {
		if !req.DryRun {
			for _, t := range targets {
				t.res.Status, t.res.Err = StatusRefused, envErr
			}
			return res, envErr
		}
		rep.linef("dry run outside CI; a real run would be refused: %v", envErr)
	}

	s := newSession(req, jobs, rep, scopes(targets, images, req.Mirrors))
	defer s.close()

	// Open every source before talking to the targets.
	sources := make([]*Source, len(images))
	// Not errgroup.WithContext: a registry source keeps its context for
	// the lazy reads during the push, and that context must outlive Wait.
	var g errgroup.Group
	g.SetLimit(jobs)
	for i, im := range images {
		g.Go(func() error {
			src, err := OpenSource(ctx, im.Source, s.sourceOptions()...)
			if err != nil {
				return err
			}
			sources[i] = src
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		for _, t := range targets {
			t.res.Status, t.res.Err = StatusNotAttempted, err
		}
		if unreachableRegistry(err) {
			// A staging registry that cannot be read: could not decide.
			return res, &rplan.Undecided{Err: err}
		}
		return res, err
	}
	for _, t := range targets {
		t.res.Digest = sources[t.img].Digest
	}

	// Check every target before writing anything.
	if err := s.check(ctx, targets); err != nil {
		return res, err
	}
	var todo []*target
	for _, t := range targets {
		if t.res.Status == "" {
			todo = append(todo, t)
		}
	}
	if req.DryRun {
		for _, t := range todo {
			t.res.Status = StatusPlanned
			rep.finished(*t.res)
		}
		return res, nil
	}
	s.write(ctx, todo, sources)
	settle := req.Settle
	if settle == 0 {
		settle = DefaultSettle
	}
	s.settle(ctx, todo, settle)
	for _, t := range todo {
		if t.res.Status == StatusPushed {
			rep.finished(*t.res)
		}
	}
	return res, outcome(res.Targets)
}

// outcome is Push's error after the writes: nil when every target ended
// pushed or identical. A tag found holding another image makes it wrap
// ErrTagConflict (exit 1: refused, whatever else happened); when every
// other failure is a registry that could not be reached, it is a
// *plan.Undecided (exit 3); else a plain failure (exit 1). It always wraps
// ErrIncomplete.
func outcome(targets []Target) error {
	var lines []string
	conflict, allUnreachable := false, true
	for _, t := range targets {
		switch t.Status {
		case StatusPushed, StatusIdentical:
			continue
		case StatusFailed, StatusRefused:
			if errors.Is(t.Err, ErrTagConflict) {
				conflict = true
			} else if !imageref.Unreachable(t.Err) {
				allUnreachable = false
			}
		}
		lines = append(lines, t.String())
	}
	if len(lines) == 0 {
		return nil
	}
	err := fmt.Errorf("%w: %d of %d targets not pushed (a re-run skips the tags already written):\n  %s",
		ErrIncomplete, len(lines), len(targets), strings.Join(lines, "\n  "))
	switch {
	case conflict:
		return wrapAll(err, ErrTagConflict)
	case allUnreachable:
		return &rplan.Undecided{Err: err}
	}
	return err
}

// plan names every target and fills res.Targets; it does no I/O.
func plan(images []Image, mirrors map[string]string, res *Result) ([]*target, error) {
	var problems []string
	seen := map[string]int{} // official ref -> image index
	var targets []*target
	for i, im := range images {
		what := fmt.Sprintf("image %d (%s)", i+1, im.Source)
		if im.Source == "" {
			problems = append(problems, what+": no source; expected an OCI layout directory, a docker tarball or a registry reference")
		}
		if len(im.Repos) == 0 {
			problems = append(problems, what+": no repositories; expected the component's images from relkit.yaml")
		}
		if len(im.Tags) == 0 {
			problems = append(problems, fmt.Sprintf("%s: %v: image:tags found no release tag for this commit; only released commits are pushed", what, ErrNoReleaseTag))
		}
		for _, rs := range im.Repos {
			repo, err := name.NewRepository(rs)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: repository %q: %v; expected registry/path without tag", what, rs, err))
				continue
			}
			contactRepo, err := imageref.ContactRepository(repo, mirrors)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: repository %q: %v", what, rs, err))
				continue
			}
			for _, tag := range im.Tags {
				official, err := name.NewTag(repo.Name()+":"+tag, name.StrictValidation)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: tag %q: %v", what, tag, err))
					continue
				}
				ref := rs + ":" + tag
				if prev, dup := seen[official.Name()]; dup {
					if prev != i {
						problems = append(problems, fmt.Sprintf("%s: %s is also a target of image %d; one tag cannot hold two images", what, ref, prev+1))
					}
					continue
				}
				seen[official.Name()] = i
				contact := contactRepo.Tag(tag)
				targets = append(targets, &target{img: i, official: official, contact: contact})
				res.Targets = append(res.Targets, Target{Source: im.Source, Ref: ref, Contacted: contactString(rs, repo, contactRepo, tag)})
			}
		}
	}
	for i := range targets {
		targets[i].res = &res.Targets[i]
	}
	if len(problems) > 0 {
		for _, t := range targets {
			t.res.Status, t.res.Err = StatusNotAttempted, errors.New("the request has errors")
		}
		return targets, errors.New(strings.Join(problems, "\n"))
	}
	return targets, nil
}

func contactString(official string, repo, contact name.Repository, tag string) string {
	if contact.RegistryStr() == repo.RegistryStr() {
		return official + ":" + tag
	}
	return contact.Name() + ":" + tag
}

// isNotFound says whether err is a registry 404 (no such tag or
// repository).
func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
