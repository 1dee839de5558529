package patch

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/yamledit"
)

// NotSetError says a version was never set in a version file's history.
type NotSetError struct {
	File, Want, From string
	// Versions are the versions the file was set to, newest first, each
	// once.
	Versions []string
}

func (e *NotSetError) Error() string {
	const show = 30
	list := e.Versions
	more := ""
	if len(list) > show {
		more = fmt.Sprintf(" and %d older", len(list)-show)
		list = list[:show]
	}
	if len(list) == 0 {
		return fmt.Sprintf("%s never held a version in the history of %s", e.File, e.From)
	}
	return fmt.Sprintf("%s was never set to %s in the history of %s; it was set to (newest first): %s%s",
		e.File, e.Want, e.From, strings.Join(list, ", "), more)
}

// BranchPoint finds where a lazily created release branch starts: the
// commit that set versionFile to want, searching the file's history from
// `from` newest first (simplified across merges as git log does), so a
// version set more than once (a revert, a flip-flop) gives its most recent
// setting. The version is the file's first word (yamledit.VersionToken).
// A version never set is a *NotSetError listing the versions that were.
func BranchPoint(ctx context.Context, g *gitx.Repo, from plumbing.Hash, versionFile, want, fromName string) (plumbing.Hash, error) {
	found := plumbing.ZeroHash
	var seen []string
	dup := map[string]bool{}
	err := g.PathHistory(ctx, from, versionFile, func(c gitx.Change) error {
		if c.Blob == plumbing.ZeroHash {
			return nil // removed here
		}
		content := c.Content
		if content == nil {
			var err error
			if content, err = g.BlobContent(c.Blob, gitx.MaxContent); err != nil {
				return err
			}
		}
		tok, _, _, err := yamledit.VersionToken(content)
		if err != nil {
			return nil // an unreadable version is not the one wanted
		}
		if tok == want {
			found = c.Commit
			return gitx.ErrStop
		}
		if !dup[tok] {
			dup[tok] = true
			seen = append(seen, tok)
		}
		return nil
	})
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if found == plumbing.ZeroHash {
		return found, &NotSetError{File: versionFile, Want: want, From: fromName, Versions: seen}
	}
	return found, nil
}
