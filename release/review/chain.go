package review

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/relkit/relkit/release/gitx"
)

// maxChain bounds the commits of one review. relkit's reviews hold a few
// (picks and a bump, a release and its move-on); hundreds mean a wrong
// base, and walking them would only hide that.
const maxChain = 100

// commit is what a review compares of a commit.
type commit struct {
	Hash    string
	Parent  string // the only parent
	Tree    string
	Message string
	Author  object.Signature
	Commit  object.Signature
}

// subject is the first line of the message.
func (c commit) subject() string {
	s, _, _ := strings.Cut(c.Message, "\n")
	return s
}

// sameContent reports whether two commits say the same: same tree, same
// message (trailers, Change-Id and all). Dates, committer and hash may
// differ: those are what a rerun changes.
func sameContent(a, b commit) bool { return a.Tree == b.Tree && a.Message == b.Message }

// readChain resolves tip and lists base..tip, oldest first. The commits
// must be one line: each the only parent of the next, the first made on
// base.
func readChain(ctx context.Context, dir, base, tip string) ([]commit, error) {
	t, ok, err := gitx.RevCommit(ctx, dir, tip)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: %q names no commit to review", dir, tip)
	}
	if !gitx.HasCommit(ctx, dir, base) {
		return nil, fmt.Errorf("%s: the base %s of the review is not in the repo", dir, gitx.Short(base))
	}
	if t == base {
		return nil, fmt.Errorf("%s: nothing to review: %s is the base itself", dir, tip)
	}
	chain, linear, err := commitsSince(ctx, dir, base, t)
	if err != nil {
		return nil, err
	}
	if !linear || len(chain) == 0 {
		return nil, fmt.Errorf("%s: %s..%s is not one line of commits made on %s (relkit reviews single-parent commits on the branch's tip)",
			dir, gitx.Short(base), gitx.Short(t), gitx.Short(base))
	}
	return chain, nil
}

// commitsSince lists base..tip oldest first; linear says whether they
// form one line on base. At most maxChain commits are read.
func commitsSince(ctx context.Context, dir, base, tip string) ([]commit, bool, error) {
	out, err := gitx.Git(ctx, dir, "rev-list", "--parents", fmt.Sprintf("--max-count=%d", maxChain+1), tip, "^"+base, "--")
	if err != nil {
		return nil, false, err
	}
	var hashes []string
	linear := true
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			linear = false // a merge or a root
		}
		hashes = append(hashes, f[0])
	}
	if len(hashes) > maxChain {
		return nil, false, fmt.Errorf("%s: more than %d commits between %s and %s; is the base right?", dir, maxChain, gitx.Short(base), gitx.Short(tip))
	}
	// rev-list lists newest first.
	for i, j := 0, len(hashes)-1; i < j; i, j = i+1, j-1 {
		hashes[i], hashes[j] = hashes[j], hashes[i]
	}
	commits, err := readCommits(ctx, dir, hashes)
	if err != nil {
		return nil, false, err
	}
	parent := base
	for _, c := range commits {
		if c.Parent != parent {
			linear = false
		}
		parent = c.Hash
	}
	return commits, linear, nil
}

// readCommits reads commits through git (which also sees a dry run's own
// objects, see gitx.DryObjects) and decodes them as go-git does. A merge
// or root commit gets an empty Parent.
func readCommits(ctx context.Context, dir string, hashes []string) ([]commit, error) {
	out := make([]commit, 0, len(hashes))
	for _, h := range hashes {
		raw, err := gitx.Git(ctx, dir, "cat-file", "commit", h)
		if err != nil {
			return nil, fmt.Errorf("%s: reading commit %s: %w", dir, gitx.Short(h), err)
		}
		obj := &plumbing.MemoryObject{}
		obj.SetType(plumbing.CommitObject)
		if _, err := obj.Write([]byte(raw)); err != nil {
			return nil, err
		}
		var c object.Commit
		if err := c.Decode(obj); err != nil {
			return nil, fmt.Errorf("%s: reading commit %s: %w", dir, gitx.Short(h), err)
		}
		cm := commit{Hash: h, Tree: c.TreeHash.String(), Message: c.Message, Author: c.Author, Commit: c.Committer}
		if len(c.ParentHashes) == 1 {
			cm.Parent = c.ParentHashes[0].String()
		}
		out = append(out, cm)
	}
	return out, nil
}

// heldPrefix counts the leading planned commits the remote already holds:
// held[i] says the same as planned[i] (sameContent) and is made on
// held[i-1] (on base for the first).
func heldPrefix(base string, planned, held []commit) int {
	parent := base
	for i := range planned {
		if i >= len(held) || held[i].Parent != parent || !sameContent(planned[i], held[i]) {
			return i
		}
		parent = held[i].Hash
	}
	return len(planned)
}

// replay re-makes commits on top of onto, each with its own tree,
// message, author and committer (dates included), and returns the last.
// Only objects are written; no ref moves.
func replay(ctx context.Context, dir, onto string, commits []commit) (string, error) {
	parent := onto
	for _, c := range commits {
		env := []string{
			"GIT_AUTHOR_NAME=" + c.Author.Name, "GIT_AUTHOR_EMAIL=" + c.Author.Email, "GIT_AUTHOR_DATE=" + gitDate(c.Author),
			"GIT_COMMITTER_NAME=" + c.Commit.Name, "GIT_COMMITTER_EMAIL=" + c.Commit.Email, "GIT_COMMITTER_DATE=" + gitDate(c.Commit),
		}
		out, err := gitx.GitEnv(ctx, dir, env, []byte(c.Message), "commit-tree", "--no-gpg-sign", "-p", parent, "-F", "-", c.Tree)
		if err != nil {
			return "", fmt.Errorf("re-making %s on %s: %w", gitx.Short(c.Hash), gitx.Short(parent), err)
		}
		parent = strings.TrimSpace(out)
	}
	return parent, nil
}

// gitDate is a signature's date in git's internal format.
func gitDate(s object.Signature) string {
	return fmt.Sprintf("%d %s", s.When.Unix(), s.When.Format("-0700"))
}
