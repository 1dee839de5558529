package charts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/relkit/relkit/release/repofs"
)

// HelmignoreFile is the name of a chart's ignore file.
const HelmignoreFile = ".helmignore"

// Ignore is a parsed .helmignore: the set of chart files `helm package`
// leaves out of the chart archive.
//
// The matching follows what Helm 3 does when it loads a chart directory, not
// what git does with .gitignore, because the question it answers is "is this
// file part of the published chart?":
//   - blank lines and lines starting with # are skipped; each line is trimmed;
//   - a pattern uses path.Match syntax (*, ?, [...]); ** is refused, as Helm
//     refuses it;
//   - a pattern ending in / applies to directories only;
//   - a pattern starting with / or holding a / is matched against the whole
//     path inside the chart, any other pattern against the last element;
//   - rules are tried in order and the first match decides;
//   - a !pattern line ignores every path it does NOT match and lets matching
//     paths fall through to the next rule (Helm's reading of negation, which
//     differs from git's);
//   - Helm's built-in rule templates/.?* comes after the file's rules;
//   - a directory that is ignored takes everything below it along.
type Ignore struct {
	rules []ignoreRule
}

type ignoreRule struct {
	pattern string
	negate  bool
	dirOnly bool
	// whole means the pattern is matched against the whole path, not the
	// base name.
	whole bool
}

// defaultIgnore is the rule Helm adds to every chart after its own rules.
const defaultIgnore = "templates/.?*"

// MaxHelmignoreRules bounds the rules read from one file.
const MaxHelmignoreRules = 10_000

// ParseHelmignore parses .helmignore content; file names the file in
// errors, which also carry the line.
func ParseHelmignore(file string, data []byte) (*Ignore, error) {
	ig := &Ignore{}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	for i, line := range strings.Split(string(data), "\n") {
		if len(ig.rules) >= MaxHelmignoreRules {
			return nil, fmt.Errorf("%s:%d: more than %d rules", file, i+1, MaxHelmignoreRules)
		}
		if err := ig.add(line); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, i+1, err)
		}
	}
	if err := ig.add(defaultIgnore); err != nil {
		return nil, err
	}
	return ig, nil
}

// DefaultIgnore is the rule set of a chart without a .helmignore.
func DefaultIgnore() *Ignore {
	ig, _ := ParseHelmignore("", nil)
	return ig
}

// ReadHelmignore reads the .helmignore of the chart at dir (relative to
// root, slash-separated) from the worktree; a chart without one gets Helm's
// default rule only.
func ReadHelmignore(ctx context.Context, root, dir string) (*Ignore, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rel := path.Join(dir, HelmignoreFile)
	data, err := repofs.Read(root, rel, repofs.MaxChartMeta)
	if errors.Is(err, os.ErrNotExist) {
		return DefaultIgnore(), nil
	}
	if err != nil {
		return nil, err
	}
	return ParseHelmignore(rel, data)
}

func (ig *Ignore) add(line string) error {
	p := strings.TrimSpace(line)
	if p == "" || strings.HasPrefix(p, "#") {
		return nil
	}
	if strings.Contains(p, "**") {
		return fmt.Errorf("%q: ** is not supported in .helmignore (Helm refuses to load the chart); use * per directory level", p)
	}
	if _, err := path.Match(p, "abc"); err != nil {
		return fmt.Errorf("%q is not a valid pattern: %w", p, err)
	}
	r := ignoreRule{}
	if rest, ok := strings.CutPrefix(p, "!"); ok {
		r.negate, p = true, rest
	}
	if rest, ok := strings.CutSuffix(p, "/"); ok {
		r.dirOnly, p = true, rest
	}
	if rest, ok := strings.CutPrefix(p, "/"); ok {
		r.whole, p = true, rest
	} else if strings.Contains(p, "/") {
		r.whole = true
	}
	r.pattern = p
	ig.rules = append(ig.rules, r)
	return nil
}

func (r ignoreRule) matches(p string) bool {
	name := p
	if !r.whole {
		name = path.Base(p)
	}
	ok, _ := path.Match(r.pattern, name)
	return ok
}

// ignores evaluates one path (a file, or a directory when dir is set) the
// way Helm's rule list does.
func (ig *Ignore) ignores(p string, dir bool) bool {
	if p == "" || p == "." {
		return false
	}
	for _, r := range ig.rules {
		if r.negate {
			if r.dirOnly && !dir {
				return true
			}
			if !r.matches(p) {
				return true
			}
			continue
		}
		if r.dirOnly && !dir {
			continue
		}
		if r.matches(p) {
			return true
		}
	}
	return false
}

// IgnoredDir reports whether the directory at rel (slash-separated,
// relative to the chart directory) is left out, with everything below it,
// judging rel alone: a walk that skips ignored directories asks only
// about directories whose parents it kept, as Helm's loader does.
func (ig *Ignore) IgnoredDir(rel string) bool {
	return ig.ignores(strings.TrimPrefix(path.Clean(rel), "./"), true)
}

// Ignored reports whether the file at rel (slash-separated, relative to the
// chart directory) is left out of the chart archive: the file itself or one
// of the directories above it is ignored.
func (ig *Ignore) Ignored(rel string) bool {
	rel = strings.TrimPrefix(path.Clean(rel), "./")
	if rel == "." || rel == "" || rel == ".." || strings.HasPrefix(rel, "../") {
		return false
	}
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && ig.ignores(rel[:i], true) {
			return true
		}
	}
	return ig.ignores(rel, false)
}
