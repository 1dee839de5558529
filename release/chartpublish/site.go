package chartpublish

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/relkit/relkit/checks/chartrepo"
	"github.com/relkit/relkit/release/chartpkg"
	"github.com/relkit/relkit/release/gitx"
)

// siteRef is where the scratch repository keeps the fetched branch tip.
const siteRef = "refs/relkit/site"

// applySite publishes t's pending packages to the static repository in
// one commit: fetch the branch tip, add the packages that are still
// missing, merge index.yaml, commit on the tip and push without force.
// When the push is rejected because the branch moved (another publisher),
// it starts again from the new tip, so no publisher's entries are lost;
// the tries are bounded by Options.Attempts.
func (p *Publication) applySite(ctx context.Context, t *target, say func(*target, string, ...any)) error {
	scratch, err := os.MkdirTemp("", "relkit-publish-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	gitDir := filepath.Join(scratch, "site.git")
	wait := p.opt.RetryWait
	if wait <= 0 {
		wait = 200 * time.Millisecond
	}
	attempts := p.opt.attempts()
	for attempt := 1; ; attempt++ {
		done, err := p.siteOnce(ctx, t, gitDir, say)
		if err == nil {
			if done != "" {
				say(t, "%s", done)
			}
			return nil
		}
		if !errors.Is(err, errMoved) || attempt >= attempts {
			if errors.Is(err, errMoved) {
				return fmt.Errorf("%s moved under every one of %d tries (other publishers); nothing of this run is in it: run chart:publish again", t.site.Branch, attempts)
			}
			return err
		}
		say(t, "%s moved since it was read (another publisher); merging again (try %d of %d)", t.site.Branch, attempt+1, attempts)
		d := wait << min(attempt-1, 6)
		d += time.Duration(rand.Int64N(int64(d)))
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// errMoved is a push the remote rejected because the branch is no longer
// where it was read.
var errMoved = errors.New("the branch moved")

// siteOnce is one try: it returns what it did, errMoved when the push
// lost a race, or another error.
func (p *Publication) siteOnce(ctx context.Context, t *target, gitDir string, say func(*target, string, ...any)) (string, error) {
	s := *t.site
	tip, err := chartrepo.FetchSite(ctx, gitDir, s, siteRef)
	if err != nil {
		return "", err
	}
	var old []byte
	if tip != "" {
		if err := chartrepo.CheckSiteDir(ctx, gitDir, tip, s); err != nil {
			return "", err
		}
		if old, err = chartrepo.ReadSiteIndex(ctx, gitDir, tip, s); err != nil {
			return "", err
		}
	}
	indexFile := s.String() + ":" + s.File("index.yaml")
	var idx *chartrepo.Index
	if len(strings.TrimSpace(string(old))) > 0 {
		if idx, err = chartrepo.ParseIndex(indexFile, old); err != nil {
			return "", err
		}
	} else {
		idx = &chartrepo.Index{}
	}

	// What is still missing, and what the tip already holds.
	var paths []string
	for _, pk := range t.pending {
		paths = append(paths, s.File(pk.FileName()))
	}
	files := map[string]chartrepo.TreeEntry{}
	if tip != "" {
		if files, err = chartrepo.LsTree(ctx, gitDir, tip, paths...); err != nil {
			return "", err
		}
	}
	var add []chartrepo.Entry
	var write []*chartpkg.Package
	var already []string
	for _, pk := range t.pending {
		if v := idx.Lookup(pk.Name(), pk.Version()); v != nil {
			if v.Digest != pk.Digest {
				return "", &chartrepo.DigestConflict{Chart: pk.Name(), Version: pk.Version(), Published: v.Digest, Package: pk.Digest, Where: t.name}
			}
			already = append(already, pk.Name()+" "+pk.Version())
			continue
		}
		file := s.File(pk.FileName())
		if e, ok := files[file]; ok {
			// A package file index.yaml does not list (a publisher that
			// died between steps, a hand upload): used only when it is
			// exactly this package.
			if e.Type != "blob" || e.Hash != gitBlobHash(pk.Data, e.Hash) {
				return "", fmt.Errorf("%s: %s is already in %s with other content than this commit's package (%s), and index.yaml does not list it; not overwritten: remove it or bump the chart's version", t.name, file, s.Branch, pk.Digest)
			}
		} else {
			write = append(write, pk)
		}
		meta, err := json.Marshal(pk.Chart.Chart.Metadata)
		if err != nil {
			return "", err
		}
		url := pk.FileName()
		if t.url != "" {
			url = strings.TrimSuffix(t.url, "/") + "/" + pk.FileName()
		}
		add = append(add, chartrepo.Entry{Name: pk.Name(), Version: pk.Version(), Metadata: meta, Digest: pk.Digest, URL: url, Created: pk.ModTime})
	}
	if len(add) == 0 {
		return fmt.Sprintf("nothing to write: %s already published by another run", strings.Join(already, ", ")), nil
	}
	merged, n, err := chartrepo.MergeIndex(indexFile, old, add)
	if err != nil {
		return "", err
	}
	if int64(len(merged)) > chartrepo.MaxGitIndexSize {
		return "", fmt.Errorf("%s: index.yaml would be %d bytes, more than the %d relkit writes", t.name, len(merged), chartrepo.MaxGitIndexSize)
	}

	// The new commit: the tip's tree plus the packages and index.yaml.
	blobs := []siteFile{{s.File("index.yaml"), merged}}
	for _, pk := range write {
		blobs = append(blobs, siteFile{s.File(pk.FileName()), pk.Data})
	}
	var names []string
	for _, e := range add {
		names = append(names, e.Name+" "+e.Version)
	}
	msg := commitMessage(names, n, t.pr.Steps[0].Package.Commit)
	commit, err := writeCommit(ctx, gitDir, tip, p.ident, msg, blobs)
	if err != nil {
		return "", err
	}
	if p.beforePush != nil {
		p.beforePush()
	}
	// Never forced: a branch that moved since the fetch rejects this, and
	// the next try merges with what the other publisher wrote.
	if err := gitx.Push(ctx, gitDir, s.Git, commit+":refs/heads/"+s.Branch); err != nil {
		if lostRace(err) {
			return "", errMoved
		}
		return "", err
	}
	return fmt.Sprintf("committed %s on %s and pushed: %s", gitx.Short(commit), s.Branch, list(names, 10)), nil
}

// list joins names, at most limit of them and a count of the rest.
func list(names []string, limit int) string {
	if len(names) <= limit {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:limit], ", "), len(names)-limit)
}

// commitMessage says what a site commit adds: the chart versions in the
// subject (a count when there are many), all of them in the body, and the
// charts repo commit they were packaged from.
func commitMessage(names []string, added int, from string) string {
	subject := "Publish " + strings.Join(names, ", ")
	if len(names) > 3 {
		subject = fmt.Sprintf("Publish %d chart versions", len(names))
	}
	return fmt.Sprintf("%s\n\nchart:publish added %d chart version(s) to index.yaml, packaged from %s:\n\n  %s\n",
		subject, added, from, strings.Join(names, "\n  "))
}

// lostRace says whether a push failed because the remote branch is not
// where it was read: rejected as not a fast-forward, or two pushes
// racing for the ref's lock.
func lostRace(err error) bool {
	var ce *gitx.CmdError
	if !errors.As(err, &ce) {
		return false
	}
	for _, m := range []string{"fetch first", "non-fast-forward", "cannot lock ref", "incorrect old value", "failed to update ref", "stale info"} {
		if strings.Contains(ce.Stderr, m) {
			return true
		}
	}
	return false
}

// siteFile is a file a site commit writes.
type siteFile struct {
	path string
	data []byte
}

// writeCommit makes the commit that writes files over the tree of commit
// tip (a root commit when tip is "") in the bare repository gitDir, with
// one git fast-import: the objects go into one pack, where a blob per
// file with hash-object took half the run for 200 packages. Nobody's
// checkout or index is involved.
func writeCommit(ctx context.Context, gitDir, tip string, id gitx.Ident, msg string, files []siteFile) (string, error) {
	const ref = "refs/relkit/publish"
	var b bytes.Buffer
	fmt.Fprintf(&b, "commit %s\ncommitter %s <%s> %d +0000\ndata %d\n%s\n", ref, id.Name, id.Email, time.Now().Unix(), len(msg), msg)
	if tip != "" {
		fmt.Fprintf(&b, "from %s\n", tip)
	}
	for _, f := range files {
		// Paths are the site folder and Helm chart file names; quoting
		// them for fast-import is never needed, so refuse what would.
		if f.path == "" || strings.ContainsAny(f.path, "\n\"") {
			return "", fmt.Errorf("%q cannot be written into the static repository", f.path)
		}
		fmt.Fprintf(&b, "M 100644 inline %s\ndata %d\n", f.path, len(f.data))
		b.Write(f.data)
		b.WriteString("\n")
	}
	b.WriteString("\ndone\n")
	// --force: a retry replaces the scratch ref with a commit on the new
	// tip; the site's branch itself is only ever pushed without force.
	if _, err := gitx.GitEnv(ctx, gitDir, nil, b.Bytes(), "fast-import", "--quiet", "--done", "--date-format=raw", "--force"); err != nil {
		return "", err
	}
	out, err := gitx.Git(ctx, gitDir, "rev-parse", "--verify", ref+"^{commit}")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// gitBlobHash is the git object name of a blob holding data, in the hash
// the repository uses (SHA-1: 40 hex digits, SHA-256: 64).
func gitBlobHash(data []byte, like string) string {
	head := fmt.Sprintf("blob %d\x00", len(data))
	if len(like) == 64 {
		h := sha256.New()
		h.Write([]byte(head))
		h.Write(data)
		return hex.EncodeToString(h.Sum(nil))
	}
	h := sha1.New()
	h.Write([]byte(head))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}
