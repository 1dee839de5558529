package imagepush

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/relkit/relkit/checks/imageref"
)

// Publishing a tag, and proving it.
//
// The distribution API has no conditional write: a manifest PUT under a
// tag replaces whatever the tag held, and its 201 answer (even with a
// Docker-Content-Digest) only says what that PUT stored, not what the tag
// holds once another PUT has landed. Two runs pushing different images to
// the same new tag would both be told "created", and one would silently
// lose. So a tag is written as:
//
//  1. HEAD the tag right before the PUT: another digest there is a
//     conflict and nothing is written (this narrows the window to one
//     round trip; the check before the run is minutes older);
//  2. PUT the manifest once, below the transport's retries: a failed PUT
//     is retried from step 1, never blindly over a tag that another run
//     may have written in between;
//  3. read the tag back on the registry actually contacted: another digest
//     there means a concurrent PUT landed after ours, and the run fails
//     naming both digests. It never writes again over it.
//
// A PUT that lands after our read-back is still possible: its run checked
// before our PUT and wrote after our read-back, and then reads back its
// own digest and reports pushed. Push narrows that gap by reading every
// tag it pushed once more, Request.Settle after its last write, before it
// reports anything as pushed: the first run learns it lost whenever the
// other run's PUT landed before that second read, that is unless the other
// run took longer than the settle time between its check and its PUT
// landing (normally one round trip). Without a conditional PUT in the
// registry API nothing closes the gap completely.

// DefaultSettle is how long after its last write a run reads every tag it
// pushed once more (Request.Settle zero).
const DefaultSettle = time.Second

// conflictError is the error of a tag that holds another image.
func conflictError(t *target, found v1.Hash, when string) error {
	return fmt.Errorf("%w: %s %s %s, this run's image is %s; another push wrote the tag at the same time. Release tags are never overwritten: find which run's image is the release (the digest above) and publish a new version if it is not the one wanted",
		ErrTagConflict, t.contact, when, found, t.res.Digest)
}

// publish writes content's manifest under t's tag (everything it needs is
// in the repository) and sets t's status from the read-back.
func (s *session) publish(ctx context.Context, c *client, t *target, content remote.Taggable) {
	if s.stopped([]*target{t}) {
		return
	}
	delay := s.retry.Initial
	sent := false // a PUT of ours may have reached the registry
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			t.res.Status, t.res.Err = StatusFailed, fmt.Errorf("not written: %w", err)
			return
		}
		found, err := s.headTag(ctx, c, t)
		switch {
		case err != nil:
			t.res.Status, t.res.Err = StatusFailed, fmt.Errorf("%w: not written: HEAD %s before the PUT: %w", ErrCheck, t.contact, err)
			return
		case found == t.res.Digest:
			// Our earlier attempt whose answer was lost, or another run
			// pushing the same image: no PUT needed.
		case found != v1.Hash{}:
			t.res.Found = found
			t.res.Status, t.res.Err = StatusRefused, conflictError(t, found, "now holds")
			s.conflict.Store(true)
			return
		default:
			sent = true
			err = s.putTag(ctx, c, t.contact, content)
		}
		if err == nil {
			break
		}
		if !imageref.Retryable(err) || attempt >= s.retry.Attempts {
			t.res.Status, t.res.Err = StatusFailed, fmt.Errorf("writing %s: %w", t.contact, err)
			return
		}
		_ = imageref.Sleep(ctx, delay) // a cancelled run stops at the next write
		delay *= 2
	}
	s.readBack(ctx, c, t)
	if t.res.Status == StatusPushed && !sent {
		// Another run pushed the same image first: nothing of ours.
		t.res.Status, t.res.Found = StatusIdentical, t.res.Digest
	}
}

// headTag returns the digest the tag holds on the contacted registry, the
// zero hash when it does not exist.
func (s *session) headTag(ctx context.Context, c *client, t *target) (v1.Hash, error) {
	desc, err := c.puller.Head(ctx, t.contact)
	if isNotFound(err) {
		return v1.Hash{}, nil
	}
	if err != nil {
		return v1.Hash{}, err
	}
	return desc.Digest, nil
}

// readBack HEADs a written tag and sets its status: pushed only when the
// registry holds the source's digest under it.
func (s *session) readBack(ctx context.Context, c *client, t *target) {
	vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), verifyTimeout)
	defer cancel()
	found, err := s.headTag(vctx, c, t)
	switch {
	case err != nil:
		t.res.Status, t.res.Err = StatusFailed, fmt.Errorf("written but not verified: HEAD %s: %w", t.contact, err)
	case found == v1.Hash{}:
		t.res.Status, t.res.Err = StatusFailed, fmt.Errorf("written but %s does not exist when read back (a registry that is not consistent, or the tag was deleted)", t.contact)
	case found != t.res.Digest:
		t.res.Found = found
		t.res.Status, t.res.Err = StatusFailed, conflictError(t, found, "was read back holding")
		s.conflict.Store(true)
	default:
		t.res.Status = StatusPushed
	}
}

// settle reads every pushed target once more, after waiting d, and fails
// those whose tag now holds another image (a concurrent PUT that landed
// after the first read-back). A read that fails leaves the target pushed:
// the read-back already proved it.
func (s *session) settle(ctx context.Context, targets []*target, d time.Duration) {
	var pushed []*target
	for _, t := range targets {
		if t.res.Status == StatusPushed {
			pushed = append(pushed, t)
		}
	}
	if len(pushed) == 0 || d < 0 {
		return
	}
	_ = imageref.Sleep(ctx, d) // the read-back below runs without ctx's cancel
	vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), verifyTimeout)
	defer cancel()
	var g errgroup.Group
	g.SetLimit(s.jobs)
	for _, t := range pushed {
		g.Go(func() error {
			c, err := s.client(vctx, t.contact.Registry)
			if err != nil {
				return nil
			}
			found, err := s.headTag(vctx, c, t)
			if err != nil || found == t.res.Digest {
				return nil
			}
			if found == (v1.Hash{}) {
				t.res.Status, t.res.Err = StatusFailed, fmt.Errorf("written and read back, but %s was gone %s later", t.contact, d)
				return nil
			}
			t.res.Found = found
			t.res.Status, t.res.Err = StatusFailed, conflictError(t, found, fmt.Sprintf("held, %s after it was read back,", d))
			s.conflict.Store(true)
			return nil
		})
	}
	_ = g.Wait()
}

// stopped marks ts not attempted when a tag of the run was found holding
// another image: the run stops writing, so that two concurrent runs do
// not each end up with half of the targets.
func (s *session) stopped(ts []*target) bool {
	if !s.conflict.Load() {
		return false
	}
	for _, t := range ts {
		t.res.Status = StatusNotAttempted
		t.res.Err = errors.New("not written: another tag of this run was found holding a different image (see the refused or failed target); the run stopped writing")
	}
	return true
}

// verifyTimeout bounds the reads that prove a write (they run even when the
// run's context is cancelled, so that a write that went through is
// reported as such).
const verifyTimeout = 30 * time.Second
