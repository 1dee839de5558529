package repofs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"syscall"
)

// SkipDir, returned by a WalkFunc for a directory, skips its content.
var SkipDir = fs.SkipDir

// Bounds of a walk: a hostile tree (a symlink loop, millions of entries)
// stops with an error instead of running on.
const (
	MaxWalkEntries = 200_000
	MaxWalkDepth   = 64
)

// WalkFunc is called for every entry below the walked directory: rel is
// its slash path relative to the Dir, info describes it after following
// symlinks inside the Dir. err is a refusal (*NotRegularError) for a
// symlink that leads out; info is nil then. Returning SkipDir for a
// directory skips it; any other error stops the walk.
type WalkFunc func(rel string, info fs.FileInfo, err error) error

// Walk visits dir (relative to the Dir, "." for its top) and everything
// below it in lexical order, following symlinks that stay inside the Dir,
// directories included, as Helm does when it loads a chart directory. A
// directory that is its own ancestor through a symlink is a refusal passed
// to fn, not followed again.
func (d *Dir) Walk(ctx context.Context, dir string, fn WalkFunc) error {
	dir = path.Clean(dir)
	info, err := d.Stat(dir)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	w := &walker{d: d, ctx: ctx, fn: fn}
	return w.dir(dir, info, nil, 0)
}

type walker struct {
	d       *Dir
	ctx     context.Context
	fn      WalkFunc
	entries int
}

type fileID struct{ dev, ino uint64 }

func idOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true
}

func (w *walker) dir(rel string, info fs.FileInfo, ancestors []fileID, depth int) error {
	if depth > MaxWalkDepth {
		return fmt.Errorf("%s: more than %d directory levels", rel, MaxWalkDepth)
	}
	if id, ok := idOf(info); ok {
		if slices.Contains(ancestors, id) {
			return w.fn(rel, nil, &NotRegularError{Path: rel, Reason: "a symlink to one of its own parent directories (a loop)"})
		}
		ancestors = append(slices.Clip(ancestors), id)
	}
	entries, err := w.d.ReadDir(rel)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if w.entries++; w.entries > MaxWalkEntries {
			return fmt.Errorf("%s: more than %d files", rel, MaxWalkEntries)
		}
		child := path.Join(rel, e.Name())
		if rel == "." {
			child = e.Name()
		}
		var fi fs.FileInfo
		if e.Type()&fs.ModeSymlink != 0 {
			fi, err = w.d.Stat(child)
			if err != nil {
				if _, _, refused := Refused(err); refused || errors.Is(err, fs.ErrNotExist) {
					if errors.Is(err, fs.ErrNotExist) {
						err = &NotRegularError{Path: child, Reason: "a symlink to nothing (its target does not exist)"}
					}
					if err := w.fn(child, nil, err); err != nil && !errors.Is(err, SkipDir) {
						return err
					}
					continue
				}
				return err
			}
		} else if fi, err = e.Info(); err != nil {
			return err
		}
		err := w.fn(child, fi, nil)
		if fi.IsDir() {
			if errors.Is(err, SkipDir) {
				continue
			}
			if err != nil {
				return err
			}
			if err := w.dir(child, fi, ancestors, depth+1); err != nil {
				return err
			}
			continue
		}
		if err != nil && !errors.Is(err, SkipDir) {
			return err
		}
	}
	return nil
}

func sortEntries(entries []fs.DirEntry) {
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
}
