package imagepush

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// AllowLocalEnv is the variable that lets a push run outside CI. It is for
// tests only, and every run that uses it prints a warning.
const AllowLocalEnv = "RELKIT_ALLOW_LOCAL_PUSH"

// Environment is where a push runs.
type Environment struct {
	// CI names the detected CI system ("GitHub Actions", "GitLab CI",
	// "Jenkins", "Tekton"), or "" outside CI.
	CI string
	// LocalOverride is set when the push is allowed only because
	// RELKIT_ALLOW_LOCAL_PUSH=1.
	LocalOverride bool
}

// Warning is the loud message to print when the local override is in use,
// or "".
func (e Environment) Warning() string {
	if !e.LocalOverride {
		return ""
	}
	return "WARNING: " + AllowLocalEnv + "=1: publishing official images from outside CI. " +
		"This override exists for tests only; official images must be pushed by CI."
}

// CheckEnvironment decides whether official images may be pushed from the
// environment environ (KEY=value entries, the process environment's form).
//
// A CI run needs CI=true (GitHub Actions and GitLab set it; Jenkins and
// Tekton pipelines must set it themselves) together with a marker of a known
// CI system:
//
//   - GitHub Actions: GITHUB_ACTIONS=true
//   - GitLab CI: GITLAB_CI set
//   - Jenkins: JENKINS_URL set, or both BUILD_ID and JENKINS_HOME set
//   - Tekton: any TEKTON_* variable set, or a variable pointing into the
//     Tekton results directory (/tekton/results)
//
// Requiring two independent signals keeps a stray CI=true in a laptop shell
// from publishing. Outside CI, RELKIT_ALLOW_LOCAL_PUSH=1 (exactly "1")
// allows the push and sets LocalOverride, whose Warning must be printed.
// The error wraps ErrNotCI and says what was found and what is missing.
func CheckEnvironment(environ []string) (Environment, error) {
	env := map[string]string{}
	var tekton []string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		env[k] = v
		if v == "" {
			continue
		}
		if strings.HasPrefix(k, "TEKTON_") || v == "/tekton/results" || strings.HasPrefix(v, "/tekton/results/") {
			tekton = append(tekton, k)
		}
	}
	slices.Sort(tekton)

	var markers []string // "System (VAR)"
	var system string
	add := func(sys, why string) {
		if system == "" {
			system = sys
		}
		markers = append(markers, sys+" ("+why+")")
	}
	if env["GITHUB_ACTIONS"] == "true" {
		add("GitHub Actions", "GITHUB_ACTIONS=true")
	}
	if env["GITLAB_CI"] != "" {
		add("GitLab CI", "GITLAB_CI")
	}
	switch {
	case env["JENKINS_URL"] != "":
		add("Jenkins", "JENKINS_URL")
	case env["BUILD_ID"] != "" && env["JENKINS_HOME"] != "":
		add("Jenkins", "BUILD_ID and JENKINS_HOME")
	}
	if len(tekton) > 0 {
		add("Tekton", strings.Join(tekton, ", "))
	}
	ciVal := env["CI"]
	ciTrue := strings.EqualFold(ciVal, "true") || ciVal == "1"
	if ciTrue && system != "" {
		return Environment{CI: system}, nil
	}

	if env[AllowLocalEnv] == "1" {
		return Environment{LocalOverride: true}, nil
	}
	var why string
	switch {
	case system != "":
		why = fmt.Sprintf("found %s but CI=%q; set CI=true in the pipeline's environment", strings.Join(markers, ", "), ciVal)
	case ciTrue:
		why = "CI=" + ciVal + " is set but no known CI system was recognised (GitHub Actions, GitLab CI, Jenkins, Tekton)"
	default:
		why = "no CI environment detected (expected CI=true with GITHUB_ACTIONS=true, GITLAB_CI, JENKINS_URL, or TEKTON_*)"
	}
	if v, ok := env[AllowLocalEnv]; ok {
		why += fmt.Sprintf("; %s=%q is not \"1\"", AllowLocalEnv, v)
	}
	return Environment{}, fmt.Errorf("%w: %s. Official images are pushed by CI only", ErrNotCI, why)
}

// Checkout are the facts about a component checkout that decide whether
// its HEAD may be published. The caller gathers them (git status, image:tags).
type Checkout struct {
	// Component names the component, for messages.
	Component string
	// Dir is the checkout directory, for messages.
	Dir string
	// Commit is the HEAD commit, for messages.
	Commit string
	// Dirty is set when the worktree has uncommitted changes (tracked or
	// untracked files, as `git status --porcelain` lists them).
	Dirty bool
	// DirtyFiles optionally lists the changed paths; the first few are
	// quoted in the error.
	DirtyFiles []string
	// Tags are the docker tags image:tags computed from the release git
	// tags at HEAD; empty means HEAD is not a release.
	Tags []string
}

// Preflight refuses to publish a checkout whose worktree is dirty (the image
// would not be what the commit says) or whose HEAD has no release tag. The
// error wraps ErrDirty and/or ErrNoReleaseTag.
func Preflight(c Checkout) error {
	where := c.Component
	if where == "" {
		where = c.Dir
	}
	if c.Dir != "" && c.Dir != where {
		where += " (" + c.Dir + ")"
	}
	if where == "" {
		where = "checkout"
	}
	commit := c.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if commit == "" {
		commit = "HEAD"
	}
	var errs []error
	if c.Dirty {
		files := ""
		if n := len(c.DirtyFiles); n > 0 {
			shown := c.DirtyFiles[:min(n, 5)]
			files = ": " + strings.Join(shown, ", ")
			if n > len(shown) {
				files += fmt.Sprintf(" and %d more", n-len(shown))
			}
		}
		errs = append(errs, fmt.Errorf("%s: %w%s; commit or stash the changes: an official image is built from a clean release commit", where, ErrDirty, files))
	}
	if len(c.Tags) == 0 {
		errs = append(errs, fmt.Errorf("%s: commit %s has %w; only released commits are published (set a release VERSION, merge, and let CI tag it)", where, commit, ErrNoReleaseTag))
	}
	return errors.Join(errs...)
}
