package chartpkg

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/relkit/relkit/release/gitx"
)

// ShallowError says that a chart's last change lies beyond a shallow
// clone's history, so its file times (and so its package) cannot be
// worked out: packaging it anyway would give another digest than a full
// clone, and every later run would see a "changed" published chart.
type ShallowError struct {
	Dir   string
	Paths []string
}

func (e *ShallowError) Error() string {
	return fmt.Sprintf("%s is a shallow clone and the last change of %s is not in it, so the package's file times cannot be known; fetch the history (git fetch --unshallow; in GitHub Actions fetch-depth: 0)",
		e.Dir, strings.Join(e.Paths, ", "))
}

// ModTimes returns, for each named set of repo paths, the committer time
// of the last commit on the tree's first-parent line that changed any of
// them: what `git log -1 --first-parent --format=%ct <commit> -- <paths>`
// prints. The first-parent line is the history of the branch CI
// publishes from (a merge counts as the change it brought), and one walk
// answers every set, stopping as soon as all are known. A set whose last
// change is beyond a shallow clone's boundary is a *ShallowError.
func (t *Tree) ModTimes(ctx context.Context, sets map[string][]string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if len(sets) == 0 {
		return out, nil
	}
	// Every path (and every folder above a path) -> the sets it belongs to.
	owners := map[string][]string{}
	pending := map[string]bool{}
	for key, paths := range sets {
		pending[key] = true
		for _, p := range paths {
			p = strings.Trim(p, "/")
			if p == "" || p == "." {
				p = ""
			}
			owners[p] = append(owners[p], key)
		}
	}
	shallow, err := t.shallowBoundary(ctx)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd, stdout, errb, err := startGit(wctx, t.dir, "log", "--first-parent", "--diff-merges=first-parent", "--no-renames",
		"--name-only", "-z", "--format=%x01%H%x02%ct", t.commit)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(stdout, 256<<10)
	var when time.Time
	var hash string
	var boundary []string // sets first seen changed by a shallow boundary commit
	done := false
	for !done {
		tok, err := r.ReadString(0)
		if err == io.EOF {
			break
		}
		if err != nil {
			cancel()
			_ = cmd.Wait()
			return nil, err
		}
		tok = strings.TrimPrefix(strings.TrimSuffix(tok, "\x00"), "\n")
		if rest, ok := strings.CutPrefix(tok, "\x01"); ok {
			h, ct, _ := strings.Cut(rest, "\x02")
			secs, err := strconv.ParseInt(strings.TrimSpace(ct), 10, 64)
			if err != nil {
				cancel()
				_ = cmd.Wait()
				return nil, fmt.Errorf("git log: unexpected commit line %q", rest)
			}
			hash, when = h, time.Unix(secs, 0).UTC()
			continue
		}
		if tok == "" {
			continue
		}
		// The file and each folder above it.
		for p := tok; ; {
			for _, key := range owners[p] {
				if pending[key] {
					delete(pending, key)
					if shallow[hash] {
						boundary = append(boundary, key)
					} else {
						out[key] = when
					}
				}
			}
			i := strings.LastIndexByte(p, '/')
			if i < 0 {
				if p != "" {
					p = ""
					continue
				}
				break
			}
			p = p[:i]
		}
		done = len(pending) == 0
	}
	cancel()
	werr := cmd.Wait()
	if !done && werr != nil && ctx.Err() == nil {
		return nil, &gitx.CmdError{Args: cmd.Args[1:], Stderr: errb.String(), Err: werr}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(boundary) > 0 {
		return nil, &ShallowError{Dir: t.dir, Paths: boundary}
	}
	for key := range pending {
		// Not changed by any commit: only possible for paths the commit
		// does not hold. The commit's own time keeps the result defined.
		out[key] = t.time
	}
	return out, nil
}

// shallowBoundary lists the commits a shallow clone cut history at (git
// shows each as adding every file).
func (t *Tree) shallowBoundary(ctx context.Context) (map[string]bool, error) {
	gd, err := gitx.Git(ctx, t.dir, "rev-parse", "--git-common-dir")
	if err != nil {
		return nil, err
	}
	gd = strings.TrimSpace(gd)
	if !filepath.IsAbs(gd) {
		gd = filepath.Join(t.dir, gd)
	}
	data, err := os.ReadFile(filepath.Join(gd, "shallow"))
	if err != nil {
		return map[string]bool{}, nil
	}
	m := map[string]bool{}
	for _, l := range strings.Fields(string(data)) {
		m[l] = true
	}
	return m, nil
}
