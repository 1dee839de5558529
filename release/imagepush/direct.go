package imagepush

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// The direct path: writing an image into a repository of the registry that
// already holds every blob of it in another repository (a staging
// repository, or a repository this run has just written).
//
// remote.Write asks the registry about every blob first (HEAD), then mounts
// it (POST ?mount=&from=). For a target whose tag the check found missing,
// in a repository that is new in the common promote case, the HEAD answers
// 404 nearly always, and each request costs the registry more than the
// network. The direct path skips it: one POST ?mount= per blob, then the
// manifests are PUT (an index's children by digest first). A registry that
// answers anything but 201 to a mount (202 means it started an upload
// instead: it does not mount) sends this target, and every later one on
// that registry, down the usual remote.Write path.

// errNoMount says the registry did not mount a blob.
var errNoMount = errors.New("the registry did not mount the blob")

// maxIndexDepth bounds the nesting of image indexes walked.
const maxIndexDepth = 8

// manifestChild is a manifest of an index, written by digest before it.
type manifestChild struct {
	digest v1.Hash
	t      remote.Taggable
	depth  int // 1 for a child of the top index
}

// contents is what writing a source's manifest requires: the blobs to link
// into the repository and the child manifests to PUT first (deepest
// first). It is worked out once per source and shared by every repository
// the source goes to, so that a registry source's child manifests are
// fetched once.
type contents struct {
	once     sync.Once
	blobs    []v1.Hash
	children []manifestChild
	err      error
}

func (c *contents) of(t remote.Taggable) ([]v1.Hash, []manifestChild, error) {
	c.once.Do(func() {
		seen := map[v1.Hash]bool{}
		c.err = walk(t, 0, seen, &c.blobs, &c.children)
	})
	return c.blobs, c.children, c.err
}

// walk lists the blobs and child manifests under t.
func walk(t remote.Taggable, depth int, seen map[v1.Hash]bool, blobs *[]v1.Hash, children *[]manifestChild) error {
	if depth > maxIndexDepth {
		return fmt.Errorf("image indexes nested more than %d deep", maxIndexDepth)
	}
	blob := func(h v1.Hash) {
		if !seen[h] {
			seen[h] = true
			*blobs = append(*blobs, h)
		}
	}
	switch t := t.(type) {
	case v1.ImageIndex:
		im, err := t.IndexManifest()
		if err != nil {
			return err
		}
		for _, d := range im.Manifests {
			var child remote.Taggable
			switch {
			case d.MediaType.IsIndex():
				child, err = t.ImageIndex(d.Digest)
			case d.MediaType.IsImage():
				child, err = t.Image(d.Digest)
			default:
				// Not a manifest (an attestation blob, say): a blob.
				if d.MediaType.IsDistributable() {
					blob(d.Digest)
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("child %s: %w", d.Digest, err)
			}
			if seen[d.Digest] {
				continue
			}
			seen[d.Digest] = true
			if err := walk(child, depth+1, seen, blobs, children); err != nil {
				return err
			}
			*children = append(*children, manifestChild{digest: d.Digest, t: child, depth: depth + 1})
		}
	case v1.Image:
		m, err := t.Manifest()
		if err != nil {
			return err
		}
		if m.Config.Digest != (v1.Hash{}) {
			blob(m.Config.Digest)
		}
		for _, l := range m.Layers {
			if l.MediaType.IsDistributable() {
				blob(l.Digest)
			}
		}
	default:
		return fmt.Errorf("unexpected content %T", t)
	}
	return nil
}

// writeDirect links every blob of content into repo from the repository
// from (same registry) and PUTs the child manifests by digest: everything
// the top manifest needs, which publish then PUTs under each tag. It
// returns errNoMount (wrapped) when the registry did not mount; the caller
// then writes the usual way.
func (s *session) writeDirect(ctx context.Context, c *client, repo, from name.Repository, content remote.Taggable, cts *contents) error {
	blobs, children, err := cts.of(content)
	if err != nil {
		return fmt.Errorf("%w: reading the source: %v", errNoMount, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.jobs)
	for _, h := range blobs {
		g.Go(func() error { return s.mount(gctx, c, repo, from, h) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// Children by digest, deepest first (a nested index after its own
	// children), the children of one depth at once.
	for depth := maxIndexDepth + 1; depth > 0; depth-- {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(s.jobs)
		for _, ch := range children {
			if ch.depth == depth {
				g.Go(func() error { return c.pusher.Put(gctx, repo.Digest(ch.digest.String()), ch.t) })
			}
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return nil
}

// putTag PUTs content's manifest under tag, once: through the session's
// authenticated client but below its retries, since publish re-checks the
// tag before every attempt (a retry must not land on a tag that another
// run wrote in between). Content whose media type is unknown goes through
// the library's pusher instead, with its own retries.
func (s *session) putTag(ctx context.Context, c *client, tag name.Tag, content remote.Taggable) error {
	typed, ok := content.(interface {
		MediaType() (types.MediaType, error)
	})
	if !ok || c.http == nil {
		return c.pusher.Put(ctx, tag, content)
	}
	mt, err := typed.MediaType()
	if err != nil || mt == "" {
		return c.pusher.Put(ctx, tag, content)
	}
	raw, err := content.RawManifest()
	if err != nil {
		return err
	}
	u := url.URL{Scheme: tag.Scheme(), Host: tag.RegistryStr(), Path: "/v2/" + tag.RepositoryStr() + "/manifests/" + tag.TagStr()}
	req, err := http.NewRequestWithContext(withoutRetry(ctx), http.MethodPut, u.String(), bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }
	req.ContentLength = int64(len(raw))
	req.Header.Set("Content-Type", string(mt))
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("PUT %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusCreated, http.StatusOK); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	// The answer's Docker-Content-Digest says what this PUT stored, not
	// what the tag holds once the PUT is answered: publish reads it back.
	return nil
}

// mount asks the registry to link blob h of repository from into repo.
// Anything but 201 Created is errNoMount; a started upload (202) is
// cancelled and marks the registry as one that does not mount.
func (s *session) mount(ctx context.Context, c *client, repo, from name.Repository, h v1.Hash) error {
	u := url.URL{
		Scheme:   repo.Scheme(),
		Host:     repo.RegistryStr(),
		Path:     "/v2/" + repo.RepositoryStr() + "/blobs/uploads/",
		RawQuery: url.Values{"mount": {h.String()}, "from": {from.RepositoryStr()}}.Encode(),
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: POST %s: %v", errNoMount, u.Redacted(), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusCreated:
		return nil
	case http.StatusAccepted:
		c.noMount.Store(true)
		s.cancelUpload(ctx, c, resp)
		return fmt.Errorf("%w: %s answered 202 (an upload) to a mount of %s from %s", errNoMount, repo.RegistryStr(), h, from)
	}
	c.noMount.Store(true)
	return fmt.Errorf("%w: POST %s: %v", errNoMount, u.Redacted(), transport.CheckError(resp, http.StatusCreated))
}

// cancelUpload deletes the upload a registry started instead of mounting,
// so that it does not linger until the registry's clean-up. Best effort.
func (s *session) cancelUpload(ctx context.Context, c *client, resp *http.Response) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return
	}
	lu, err := url.Parse(loc)
	if err != nil {
		return
	}
	lu = resp.Request.URL.ResolveReference(lu)
	if lu.Host != resp.Request.URL.Host {
		return // only on the registry itself
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(dctx, http.MethodDelete, lu.String(), nil)
	if err != nil {
		return
	}
	if r, err := c.http.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10))
		r.Body.Close()
	}
}
