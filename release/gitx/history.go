package gitx

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Change is a commit that gave a path new content.
type Change struct {
	Commit plumbing.Hash
	// Blob is the path's blob after the commit (ZeroHash when removed).
	Blob plumbing.Hash
}

// ErrStop ends a history walk early without error.
var ErrStop = errors.New("stop walk")

// MaxWalk bounds every history walk.
const MaxWalk = 5_000_000

// PathHistory walks the history of one path from commit `from`, newest
// first, the way `git log -- path` simplifies it: at a merge, when the path
// is the same as in some parent (first parent first), the walk follows that
// parent only; a commit whose path differs from every parent changed it and
// is reported to visit, and the walk goes on along its first parent. Return
// ErrStop from visit to end the walk.
func (r *Repo) PathHistory(ctx context.Context, from plumbing.Hash, path string, visit func(Change) error) error {
	w := &walker{repo: r, parts: strings.Split(strings.Trim(path, "/"), "/"), cache: map[plumbing.Hash]plumbing.Hash{}}
	cur, err := r.CommitObject(from)
	if err != nil {
		return fmt.Errorf("%s: reading commit %s: %w", r.Dir, from, err)
	}
	entry, err := w.entry(cur.TreeHash)
	if err != nil {
		return err
	}
	for steps := 0; ; steps++ {
		if steps >= MaxWalk {
			return fmt.Errorf("%s: history of %s is longer than %d commits", r.Dir, path, MaxWalk)
		}
		if steps%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if len(cur.ParentHashes) == 0 {
			if entry != plumbing.ZeroHash {
				if err := visit(Change{cur.Hash, entry}); err != nil {
					return stopOK(err)
				}
			}
			return nil
		}
		var next *object.Commit
		var nextEntry plumbing.Hash
		same := false
		for i, ph := range cur.ParentHashes {
			p, err := r.CommitObject(ph)
			if err != nil {
				return fmt.Errorf("%s: reading commit %s: %w", r.Dir, ph, err)
			}
			pe, err := w.entry(p.TreeHash)
			if err != nil {
				return err
			}
			if i == 0 {
				next, nextEntry = p, pe
			}
			if pe == entry {
				next, nextEntry, same = p, pe, true
				break
			}
		}
		if !same {
			if err := visit(Change{cur.Hash, entry}); err != nil {
				return stopOK(err)
			}
		}
		cur, entry = next, nextEntry
	}
}

func stopOK(err error) error {
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

type walker struct {
	repo  *Repo
	parts []string
	cache map[plumbing.Hash]plumbing.Hash // root tree -> path blob
}

// entry finds the blob hash of the path in a root tree (ZeroHash if absent).
func (w *walker) entry(root plumbing.Hash) (plumbing.Hash, error) {
	if h, ok := w.cache[root]; ok {
		return h, nil
	}
	h := root
	for i, part := range w.parts {
		t, err := object.GetTree(w.repo.Storer, h)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("%s: reading tree %s: %w", w.repo.Dir, h, err)
		}
		found := false
		for _, e := range t.Entries {
			if e.Name != part {
				continue
			}
			last := i == len(w.parts)-1
			if last != (e.Mode != filemode.Dir) {
				break
			}
			h, found = e.Hash, true
			break
		}
		if !found {
			h = plumbing.ZeroHash
			break
		}
	}
	if len(w.cache) > 100_000 {
		clear(w.cache)
	}
	w.cache[root] = h
	return h, nil
}

// LastChange returns the commit that gave path the content it has at from,
// or ZeroHash when path does not exist there.
func (r *Repo) LastChange(ctx context.Context, from plumbing.Hash, path string) (plumbing.Hash, error) {
	found := plumbing.ZeroHash
	err := r.PathHistory(ctx, from, path, func(c Change) error {
		found = c.Commit
		return ErrStop
	})
	return found, err
}
