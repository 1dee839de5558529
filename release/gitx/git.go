// Package gitx is relkit's access to git: go-git for fast in-process reads
// (refs, tags, trees, history walks) and the git CLI, run with a context and
// a clean environment, for what go-git cannot do (worktrees, cherry-pick,
// status that honours every ignore file).
package gitx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"

	"github.com/relkit/relkit/release/repofs"
	"github.com/relkit/relkit/release/safetext"
)

// Repo is an opened repository.
type Repo struct {
	Dir string
	*git.Repository
	storage *filesystem.Storage
}

// Open opens the git checkout (or bare repository) at dir. Pack files stay
// open until Close: reopening a pack per object read made history walks
// twenty times slower.
func Open(dir string) (*Repo, error) {
	gitDir, err := findGitDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable git repository: %w", dir, err)
	}
	var fs billy.Filesystem = osfs.New(gitDir, osfs.WithBoundOS())
	// A linked worktree's git dir holds HEAD and the index; refs and
	// objects live in the common dir it names.
	if data, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common := strings.TrimSpace(string(data))
		if !filepath.IsAbs(common) {
			common = filepath.Join(gitDir, common)
		}
		fs = dotgit.NewRepositoryFilesystem(fs, osfs.New(common, osfs.WithBoundOS()))
	}
	st := filesystem.NewStorageWithOptions(fs, cache.NewObjectLRU(64*cache.MiByte),
		filesystem.Options{KeepDescriptors: true, AlternatesFS: osfs.New("/", osfs.WithBoundOS())})
	var wt billy.Filesystem
	if filepath.Base(gitDir) == ".git" || gitDir != dir {
		wt = osfs.New(dir, osfs.WithBoundOS())
	}
	r, err := git.Open(st, wt)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("%s: not a readable git repository: %w", dir, err)
	}
	return &Repo{Dir: dir, Repository: r, storage: st}, nil
}

// Close releases the pack files.
func (r *Repo) Close() error {
	if r.storage != nil {
		return r.storage.Close()
	}
	return nil
}

// findGitDir resolves dir's git directory: dir/.git (a directory, or a
// "gitdir:" file as in worktrees and submodules), or dir itself when bare.
func findGitDir(dir string) (string, error) {
	dotgit := filepath.Join(dir, ".git")
	st, err := os.Stat(dotgit)
	switch {
	case err == nil && st.IsDir():
		return dotgit, nil
	case err == nil:
		data, err := os.ReadFile(dotgit)
		if err != nil {
			return "", err
		}
		target, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir: ")
		if !ok {
			return "", fmt.Errorf("%s: expected a \"gitdir: <path>\" line", dotgit)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		if _, err := os.Stat(filepath.Join(target, "HEAD")); err != nil {
			return "", err
		}
		return target, nil
	}
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil {
		if _, err := os.Stat(filepath.Join(dir, "objects")); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no .git directory")
}

// CmdError is a failed git command with its stderr.
type CmdError struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *CmdError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = e.Err.Error()
	}
	// Remote URLs in the arguments and in git's messages may carry
	// credentials.
	return safetext.Redact(fmt.Sprintf("git %s: %s", strings.Join(e.Args, " "), msg))
}

func (e *CmdError) Unwrap() error { return e.Err }

// ExitCode returns git's exit status, or -1.
func (e *CmdError) ExitCode() int {
	var ee *exec.ExitError
	if errors.As(e.Err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// Env is the environment every git command runs with, made from base (the
// environment git would inherit, exec.Cmd.Environ): no prompts, no pager,
// stable English messages, no user or system config surprises in what
// relkit parses, and never another repository's GIT_DIR. relkit decides
// nothing from base; git gets it for its own settings (HOME, SSH agents,
// credential helpers).
func Env(base []string, extra ...string) []string {
	env := []string{}
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "LANG", "LC_ALL", "LANGUAGE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, append([]string{"GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_PAGER=cat", "GIT_EDITOR=true"}, extra...)...)
}

// Git runs the git CLI in dir and returns its stdout.
func Git(ctx context.Context, dir string, args ...string) (string, error) {
	return GitEnv(ctx, dir, nil, nil, args...)
}

// Paths runs a git command that lists paths NUL-terminated (args hold
// -z) in dir and returns them in git's order, as they are: no quoting,
// no empty entries.
func Paths(ctx context.Context, dir string, args ...string) ([]string, error) {
	out, err := Git(ctx, dir, args...)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, p := range strings.Split(out, "\x00") {
		if p != "" {
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// GitEnv runs git with extra environment and optional stdin.
func GitEnv(ctx context.Context, dir string, env []string, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	// On cancellation ask git to stop (SIGTERM lets it remove its lock
	// files) and kill it only if it has not within a few seconds.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = dir
	cmd.Env = Env(cmd.Environ(), env...)
	if alt := dryAlternates(dir); alt != "" {
		cmd.Env = append(cmd.Env, alt) // a dry run's own objects, see DryObjects
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return out.String(), ctx.Err()
		}
		return out.String(), &CmdError{Args: args, Stderr: errb.String(), Err: err}
	}
	return out.String(), nil
}

// Tags maps every tag name to the hash its ref points at (a tag object for
// annotated tags, a commit for lightweight ones).
func (r *Repo) Tags() (map[string]plumbing.Hash, error) {
	iter, err := r.References()
	if err != nil {
		return nil, err
	}
	tags := map[string]plumbing.Hash{}
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		// ReferenceName.Short scans with fmt.Sscanf: with thousands of tags
		// it was half of check:versions' CPU time.
		if name, ok := strings.CutPrefix(string(ref.Name()), "refs/tags/"); ok && ref.Type() == plumbing.HashReference {
			tags[name] = ref.Hash()
		}
		return nil
	})
	return tags, err
}

// Peel follows a tag object (or chain of them) to the commit it names.
func (r *Repo) Peel(h plumbing.Hash) (plumbing.Hash, error) {
	for range 10 {
		obj, err := r.Storer.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if obj.Type() != plumbing.TagObject {
			return h, nil
		}
		t, err := object.DecodeTag(r.Storer, obj)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		h = t.Target
	}
	return plumbing.ZeroHash, fmt.Errorf("tag chain at %s is too long", h)
}

// Head returns the commit HEAD points at and the short branch name ("" when
// detached).
func (r *Repo) Head() (plumbing.Hash, string, error) {
	ref, err := r.Repository.Head()
	if err != nil {
		return plumbing.ZeroHash, "", fmt.Errorf("%s: reading HEAD: %w", r.Dir, err)
	}
	branch := ""
	if ref.Name().IsBranch() {
		branch = ref.Name().Short()
	}
	return ref.Hash(), branch, nil
}

// Resolve turns a revision (branch, tag, hash) into a commit hash.
func (r *Repo) Resolve(rev string) (plumbing.Hash, error) {
	h, err := r.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%s: cannot resolve %q: %w", r.Dir, rev, err)
	}
	return *h, nil
}

// CommitTree returns the root tree of commit c.
func (r *Repo) CommitTree(c plumbing.Hash) (*object.Tree, error) {
	commit, err := r.CommitObject(c)
	if err != nil {
		return nil, err
	}
	return commit.Tree()
}

// FileAt returns the content of path in commit c, or os.ErrNotExist.
func (r *Repo) FileAt(c plumbing.Hash, path string) ([]byte, error) {
	tree, err := r.CommitTree(c)
	if err != nil {
		return nil, err
	}
	f, err := tree.File(path)
	if errors.Is(err, object.ErrFileNotFound) {
		return nil, fmt.Errorf("%s at %s: %w", path, c.String()[:7], os.ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	// A committed blob is read from git, never through the file system,
	// so no symlink is followed; its size is still untrusted.
	if f.Size > MaxFileAt {
		return nil, &repofs.TooLargeError{Path: path, Size: f.Size, Limit: MaxFileAt}
	}
	s, err := f.Contents()
	return []byte(s), err
}

// MaxFileAt bounds what FileAt reads of one file (relkit reads VERSION,
// Chart.yaml and values files from commits): the largest of repofs' caps.
const MaxFileAt = repofs.MaxFile

// BlobContent reads at most limit bytes of a blob.
func (r *Repo) BlobContent(h plumbing.Hash, limit int64) ([]byte, error) {
	obj, err := r.Storer.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, fmt.Errorf("%s: reading blob %s: %w", r.Dir, h, err)
	}
	rd, err := obj.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(io.LimitReader(rd, limit))
}
