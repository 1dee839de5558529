package chartpublish

import (
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
		done, err := p.siteOnce(ctx, t, gitDir, scratch, say)
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
func (p *Publication) siteOnce(ctx context.Context, t *target, gitDir, scratch string, say func(*target, string, ...any)) (string, error) {
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

	// The new tree: the tip's, plus the packages and index.yaml.
	blobs := map[string][]byte{s.File("index.yaml"): merged}
	for _, pk := range write {
		blobs[s.File(pk.FileName())] = pk.Data
	}
	tree, err := writeTree(ctx, gitDir, scratch, tip, blobs)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range add {
		names = append(names, e.Name+" "+e.Version)
	}
	msg := fmt.Sprintf("Publish %s\n\nchart:publish added %d chart version(s) to index.yaml from %s.\n", strings.Join(names, ", "), n, gitx.Short(t.pr.Steps[0].Package.Commit))
	args := []string{"commit-tree", tree, "-F", "-"}
	if tip != "" {
		args = []string{"commit-tree", tree, "-p", tip, "-F", "-"}
	}
	out, err := gitx.GitEnv(ctx, gitDir, p.ident.Env(), []byte(msg), args...)
	if err != nil {
		return "", err
	}
	commit := strings.TrimSpace(out)
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
	return fmt.Sprintf("committed %s on %s and pushed: %s", gitx.Short(commit), s.Branch, strings.Join(names, ", ")), nil
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

// writeTree writes blobs (path -> content) over the tree of commit tip
// (none when tip is "") in the bare repository gitDir and returns the new
// tree, through a scratch index: no worktree, nobody's checkout.
func writeTree(ctx context.Context, gitDir, scratch, tip string, blobs map[string][]byte) (string, error) {
	index := filepath.Join(scratch, "index")
	_ = os.Remove(index)
	env := []string{"GIT_INDEX_FILE=" + index}
	readArgs := []string{"read-tree", "--empty"}
	if tip != "" {
		readArgs = []string{"read-tree", tip}
	}
	if _, err := gitx.GitEnv(ctx, gitDir, env, nil, readArgs...); err != nil {
		return "", err
	}
	// One hash-object for every file.
	dir := filepath.Join(scratch, "blobs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	var order []string
	var list strings.Builder
	i := 0
	for p, data := range blobs {
		f := filepath.Join(dir, fmt.Sprint(i))
		i++
		if err := os.WriteFile(f, data, 0o600); err != nil {
			return "", err
		}
		order = append(order, p)
		list.WriteString(f + "\n")
	}
	out, err := gitx.GitEnv(ctx, gitDir, nil, []byte(list.String()), "hash-object", "-w", "--no-filters", "--stdin-paths")
	if err != nil {
		return "", err
	}
	hashes := strings.Fields(out)
	if len(hashes) != len(order) {
		return "", fmt.Errorf("git hash-object gave %d hashes for %d files", len(hashes), len(order))
	}
	var info strings.Builder
	for i, p := range order {
		fmt.Fprintf(&info, "100644 %s\t%s\n", hashes[i], p)
	}
	if _, err := gitx.GitEnv(ctx, gitDir, append(env, "GIT_LITERAL_PATHSPECS=1"), []byte(info.String()), "update-index", "--add", "--index-info"); err != nil {
		return "", err
	}
	out, err = gitx.GitEnv(ctx, gitDir, env, nil, "write-tree")
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
