package gitx

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ZeroID is the all-zero object name git uses for "no such ref".
const ZeroID = "0000000000000000000000000000000000000000"

// StatusEntry is one line of `git status --porcelain`: XY are the index
// and worktree states ("??" untracked, " M" modified, "M " staged...).
type StatusEntry struct {
	XY   string
	Path string
	// Orig is the source path of a rename or copy.
	Orig string
}

func (e StatusEntry) String() string {
	if e.Orig != "" {
		return e.XY + " " + e.Orig + " -> " + e.Path
	}
	return e.XY + " " + e.Path
}

// Status lists what `git status --porcelain` reports for the worktree at
// dir: changed, staged and untracked files (honouring every ignore file).
// An empty list means a clean worktree.
func Status(ctx context.Context, dir string) ([]StatusEntry, error) {
	// --no-optional-locks: a status must not refresh (write) the index.
	out, err := Git(ctx, dir, "--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=normal")
	if err != nil {
		return nil, err
	}
	var entries []StatusEntry
	fields := strings.Split(out, "\x00")
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if len(f) < 4 {
			continue
		}
		e := StatusEntry{XY: f[:2], Path: f[3:]}
		if e.XY[0] == 'R' || e.XY[0] == 'C' {
			if i+1 < len(fields) {
				e.Orig = fields[i+1]
				i++
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// IsAncestor reports whether commit a is an ancestor of (or equal to)
// commit b. A commit the repository does not have is not an ancestor.
func IsAncestor(ctx context.Context, dir, a, b string) (bool, error) {
	_, err := Git(ctx, dir, "merge-base", "--is-ancestor", a, b)
	if err == nil {
		return true, nil
	}
	var ce *CmdError
	if errors.As(err, &ce) && ce.ExitCode() == 1 {
		return false, nil
	}
	if errors.As(err, &ce) && ce.ExitCode() == 128 && strings.Contains(ce.Stderr, "Not a valid") {
		return false, nil
	}
	return false, err
}

// HasCommit reports whether the repository holds commit h.
func HasCommit(ctx context.Context, dir, h string) bool {
	_, err := Git(ctx, dir, "cat-file", "-e", h+"^{commit}")
	return err == nil
}

// CreateRef creates ref (a full name) at commit, failing if the ref
// already exists: it never moves a ref.
func CreateRef(ctx context.Context, dir, ref, commit, reason string) error {
	if !strings.HasPrefix(ref, "refs/") {
		return fmt.Errorf("CreateRef: %q is not a full ref name", ref)
	}
	_, err := Git(ctx, dir, "update-ref", "-m", reason, "--create-reflog", ref, commit, ZeroID)
	return err
}

// Ident is a git identity, "Name <email>".
type Ident struct{ Name, Email string }

// ParseIdent reads "Name <email>".
func ParseIdent(s string) (Ident, error) {
	s = strings.TrimSpace(s)
	open, close := strings.LastIndexByte(s, '<'), strings.LastIndexByte(s, '>')
	if open <= 0 || close != len(s)-1 || open > close {
		return Ident{}, fmt.Errorf("%q: expected \"Name <email>\"", s)
	}
	id := Ident{Name: strings.TrimSpace(s[:open]), Email: s[open+1 : close]}
	if id.Name == "" || id.Email == "" || strings.ContainsAny(id.Name+id.Email, "<>\n") {
		return Ident{}, fmt.Errorf("%q: expected \"Name <email>\"", s)
	}
	return id, nil
}

func (id Ident) String() string {
	if id.Name == "" {
		return ""
	}
	return id.Name + " <" + id.Email + ">"
}

// Env is the environment that makes git use id as author and committer
// (and tagger); nothing when id is empty, so git falls back to its config.
func (id Ident) Env() []string {
	if id.Name == "" {
		return nil
	}
	return []string{"GIT_AUTHOR_NAME=" + id.Name, "GIT_AUTHOR_EMAIL=" + id.Email,
		"GIT_COMMITTER_NAME=" + id.Name, "GIT_COMMITTER_EMAIL=" + id.Email}
}
