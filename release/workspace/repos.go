package workspace

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// staysInside reports whether dir, with every symlink resolved, is the
// workspace root or below it, and says so under key when not. The lexical
// check (no "..", not absolute) is not enough: a checkout path can be a
// symlink, or sit under one, that leads anywhere on the machine, and
// relkit writes branches and commits into every repo it is given.
func (v *validator) staysInside(key, dir string) bool {
	if v.realRoot == "" {
		v.realRoot = v.root
		if real, err := filepath.EvalSymlinks(v.root); err == nil {
			v.realRoot = real
		}
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		v.errorf(key, "%s: %s cannot be resolved: %v", key, dir, err)
		return false
	}
	if rel, err := filepath.Rel(v.realRoot, real); err != nil || !filepath.IsLocal(rel) && rel != "." {
		v.errorf(key, "%s: %s resolves through a symlink to %s, outside the workspace root %s; expected a checkout inside it", key, dir, real, v.realRoot)
		return false
	}
	return true
}

// checkout checks a repo whose path is a git checkout inside the
// workspace: no other key names the same repository, and a repo that is
// versioned holds its version file.
func (v *validator) checkout(key string, r *Repo) {
	if gitDir := commonGitDir(r.Dir); gitDir != "" {
		if v.repoKeys == nil {
			v.repoKeys = map[string]string{}
		}
		if prev, dup := v.repoKeys[gitDir]; dup {
			// Two roles on one repository would branch, bump and tag it
			// twice in one run (docs = charts, a component = the charts
			// repo), and a worktree of another repo shares its refs.
			v.errorf(key+".path", "%s.path: %s is the same repository as %s.path (git directory %s); every repo in relkit.yaml has one role, so give each its own checkout", key, r.Dir, prev, gitDir)
		} else {
			v.repoKeys[gitDir] = key
		}
	}
	if r.VersionFile == "" {
		return // a branched repo has no version by design
	}
	vkey := key + ".path"
	if v.lines[key+".versionFile"] != 0 {
		vkey = key + ".versionFile"
	}
	st, err := os.Stat(filepath.Join(r.Dir, filepath.FromSlash(r.VersionFile)))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		v.errorf(vkey, "%s: %s holds no %s; a %s repo needs its version file (or set %s.versionFile to the file that holds its version)", vkey, r.Dir, r.VersionFile, r.Kind, key)
	case err != nil:
		v.errorf(vkey, "%s: cannot read %s in %s: %v", vkey, r.VersionFile, r.Dir, err)
	case st.IsDir():
		v.errorf(vkey, "%s: %s in %s is a directory; expected the file holding the repo's version", vkey, r.VersionFile, r.Dir)
	}
}

// commonGitDir is the real path of the git directory that holds dir's
// refs: dir/.git, or for a linked worktree (a .git file "gitdir: ...")
// the main repository's git directory its commondir names. "" when it
// cannot be worked out.
func commonGitDir(dir string) string {
	gitPath := filepath.Join(dir, ".git")
	if st, err := os.Lstat(gitPath); err == nil && st.Mode().IsRegular() {
		gd, ok := strings.CutPrefix(strings.TrimSpace(readSmall(gitPath)), "gitdir:")
		if !ok {
			return ""
		}
		gitPath = absFrom(dir, strings.TrimSpace(gd))
		if common := strings.TrimSpace(readSmall(filepath.Join(gitPath, "commondir"))); common != "" {
			gitPath = absFrom(gitPath, common)
		}
	}
	real, err := filepath.EvalSymlinks(gitPath)
	if err != nil {
		return ""
	}
	return real
}

// readSmall reads the first few KB of a regular file; "" on any problem.
// git's pointer files are one line.
func readSmall(path string) string {
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 4096))
	return string(b)
}

func absFrom(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}
