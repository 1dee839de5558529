package gitx

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Content is one content a file had somewhere in a repository's history.
type Content struct {
	Blob plumbing.Hash
	// Source is the ref through which the newest commit that wrote this
	// content was reached ("refs/heads/master", "refs/tags/4.1.3").
	Source string
	// Data is the blob (nil when it is larger than the limit).
	Data []byte
}

// KnownRefs are the git log arguments for everything a repository knows
// as history: its branches, tags and remote-tracking branches (not a
// stash, not a scratch worktree's HEAD, not the origin/HEAD alias).
// --glob, unlike --branches, makes --source name refs in full, so a tag
// and a branch never read alike.
var KnownRefs = []string{"--glob=refs/heads", "--glob=refs/tags", "--exclude=refs/remotes/*/HEAD", "--glob=refs/remotes"}

// EveryContent visits each distinct content that any file named base
// (in any directory) ever had in the history of revs (git log arguments
// such as KnownRefs, or commits), once per blob, newest
// first. It costs one git log over the matching paths and two cat-file
// batches, whatever the number of files and refs: PathHistory per file
// and ref would walk the history once each. Merges that resolved a file
// to new content count too (git log -c). Blobs over limit bytes come
// with nil Data.
func (r *Repo) EveryContent(ctx context.Context, revs []string, base string, limit int64, visit func(Content) error) error {
	args := []string{"-c", "core.quotepath=off", "log", "--source", "-c", "--raw", "--no-abbrev", "--no-renames",
		"--format=%x1e%H%x09%S"}
	args = append(args, revs...)
	args = append(args, "--", ":(glob)**/"+base)
	// The glob magic must work even when the caller's environment makes
	// pathspecs literal.
	out, err := GitEnv(ctx, r.Dir, []string{"GIT_LITERAL_PATHSPECS=0"}, nil, args...)
	if err != nil {
		return err
	}
	var order []Content
	seen := map[string]bool{}
	records := 0
	for rec := range strings.SplitSeq(out, "\x1e") {
		if records++; records > MaxWalk {
			return fmt.Errorf("%s: more than %d changes of %s", r.Dir, MaxWalk, base)
		}
		header, raw, _ := strings.Cut(rec, "\n")
		_, source, _ := strings.Cut(header, "\t")
		for line := range strings.Lines(raw) {
			meta, _, ok := strings.Cut(strings.TrimRight(line, "\n"), "\t")
			if !ok || !strings.HasPrefix(meta, ":") {
				continue
			}
			// ":mode mode old new M" or, for a merge, "::mode mode mode
			// old old new MM": the content after the commit comes last
			// before the status.
			f := strings.Fields(meta)
			if len(f) < 3 {
				continue
			}
			h := f[len(f)-2]
			if len(h) != 40 || h == ZeroID || seen[h] {
				continue
			}
			seen[h] = true
			order = append(order, Content{Blob: plumbing.NewHash(h), Source: strings.TrimSpace(source)})
		}
	}
	if len(order) == 0 {
		return nil
	}
	// Sizes first, so a huge blob is never read into memory.
	var query bytes.Buffer
	for _, c := range order {
		query.WriteString(c.Blob.String() + "\n")
	}
	sizes, err := GitEnv(ctx, r.Dir, nil, query.Bytes(), "cat-file", "--batch-check=%(objecttype) %(objectsize)")
	if err != nil {
		return err
	}
	var small bytes.Buffer
	read := make([]bool, len(order))
	i := 0
	for line := range strings.Lines(sizes) {
		if i >= len(order) {
			break
		}
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "blob" {
			if n, err := strconv.ParseInt(f[1], 10, 64); err == nil && n <= limit {
				read[i] = true
				small.WriteString(order[i].Blob.String() + "\n")
			}
		}
		i++
	}
	var res string
	if small.Len() > 0 {
		if res, err = GitEnv(ctx, r.Dir, nil, small.Bytes(), "cat-file", "--batch=%(objectname) %(objecttype) %(objectsize)"); err != nil {
			return err
		}
	}
	for i, c := range order {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if read[i] {
			header, rest, ok := strings.Cut(res, "\n")
			f := strings.Fields(header)
			if !ok || len(f) != 3 {
				return fmt.Errorf("%s: git cat-file: bad answer %q", r.Dir, header)
			}
			size, err := strconv.Atoi(f[2])
			if err != nil || size+1 > len(rest) || f[0] != c.Blob.String() {
				return fmt.Errorf("%s: git cat-file: bad answer %q", r.Dir, header)
			}
			c.Data = []byte(rest[:size])
			res = rest[size+1:]
		}
		if err := visit(c); err != nil {
			return stopOK(err)
		}
	}
	return nil
}

// RefDisplay names a full ref the way people say it: "master",
// "origin/master", "tag 4.1.3".
func RefDisplay(ref string) string {
	switch {
	case strings.HasPrefix(ref, "refs/heads/"):
		return strings.TrimPrefix(ref, "refs/heads/")
	case strings.HasPrefix(ref, "refs/remotes/"):
		return strings.TrimPrefix(ref, "refs/remotes/")
	case strings.HasPrefix(ref, "refs/tags/"):
		return "tag " + strings.TrimPrefix(ref, "refs/tags/")
	}
	return ref
}
