package imagepush

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/workspace/workspacetest"
)

func TestCheckEnvironment(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		env      []string
		ci       string
		override bool
		errHas   string // "" means accepted
	}{
		{"github actions", []string{"CI=true", "GITHUB_ACTIONS=true"}, "GitHub Actions", false, ""},
		{"gitlab", []string{"CI=true", "GITLAB_CI=true"}, "GitLab CI", false, ""},
		{"jenkins url", []string{"CI=true", "JENKINS_URL=https://ci.example.org/"}, "Jenkins", false, ""},
		{"jenkins build id and home", []string{"CI=1", "BUILD_ID=42", "JENKINS_HOME=/var/jenkins"}, "Jenkins", false, ""},
		{"tekton variable", []string{"CI=true", "TEKTON_PIPELINE_RUN=release-x"}, "Tekton", false, ""},
		{"tekton results dir", []string{"CI=TRUE", "RESULTS=/tekton/results"}, "Tekton", false, ""},
		{"nothing", []string{"HOME=/home/dev"}, "", false, "no CI environment detected"},
		{"empty", nil, "", false, "no CI environment detected"},
		{"CI=true alone", []string{"CI=true"}, "", false, "no known CI system"},
		{"marker without CI=true", []string{"GITHUB_ACTIONS=true"}, "", false, `found GitHub Actions (GITHUB_ACTIONS=true) but CI=""; set CI=true`},
		{"jenkins without CI", []string{"JENKINS_URL=https://ci/"}, "", false, "set CI=true"},
		{"CI=false with marker", []string{"CI=false", "GITLAB_CI=true"}, "", false, `CI="false"`},
		{"BUILD_ID alone is not jenkins", []string{"CI=true", "BUILD_ID=7"}, "", false, "no known CI system"},
		{"GITHUB_ACTIONS must be true", []string{"CI=true", "GITHUB_ACTIONS=1"}, "", false, "no known CI system"},
		{"empty TEKTON_ var", []string{"CI=true", "TEKTON_X="}, "", false, "no known CI system"},
		{"override", []string{AllowLocalEnv + "=1"}, "", true, ""},
		{"override must be 1", []string{AllowLocalEnv + "=true"}, "", false, AllowLocalEnv + `="true" is not "1"`},
		{"CI wins over override", []string{"CI=true", "GITHUB_ACTIONS=true", AllowLocalEnv + "=1"}, "GitHub Actions", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := CheckEnvironment(tc.env)
			if tc.errHas == "" {
				if err != nil {
					t.Fatalf("CheckEnvironment(%q) = %v, want accepted", tc.env, err)
				}
			} else {
				if !errors.Is(err, ErrNotCI) || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("CheckEnvironment(%q) = %v, want ErrNotCI mentioning %q", tc.env, err, tc.errHas)
				}
			}
			if env.CI != tc.ci || env.LocalOverride != tc.override {
				t.Errorf("CheckEnvironment(%q) = %+v, want CI %q override %v", tc.env, env, tc.ci, tc.override)
			}
			if (env.Warning() != "") != tc.override {
				t.Errorf("Warning() = %q with override %v", env.Warning(), tc.override)
			}
		})
	}
}

// facts gathers Preflight's facts from a real checkout the way the mage
// target will: git status for dirtiness, and (standing in for image:tags)
// the plain X.Y.Z / vX.Y.Z tags that point at HEAD.
func facts(t *testing.T, ctx context.Context, dir string) Checkout {
	t.Helper()
	status, err := gitx.Git(ctx, dir, "status", "--porcelain")
	if err != nil {
		t.Fatal(err)
	}
	repo, err := gitx.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, _, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	tags, err := repo.Tags()
	if err != nil {
		t.Fatal(err)
	}
	c := Checkout{Component: "hss", Dir: dir, Commit: head.String()}
	for line := range strings.Lines(status) {
		c.Dirty = true
		c.DirtyFiles = append(c.DirtyFiles, strings.TrimSpace(line[2:]))
	}
	for tag, h := range tags {
		commit, err := repo.Peel(h)
		if err != nil {
			t.Fatal(err)
		}
		v := strings.TrimPrefix(tag, "v")
		if commit == head && len(strings.Split(v, ".")) == 3 && !strings.Contains(v, "-") {
			c.Tags = append(c.Tags, v)
		}
	}
	slices.Sort(c.Tags)
	return c
}

func TestPreflightOnRealCheckouts(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "hss")
	r := workspacetest.Repo(t, dir, "master", func(r *demo.Repo) {
		r.SetVersion("1.2.3\n")
		r.Tag("v1.2.3", "Release 1.2.3", "")
	})

	// A tagged release commit, clean: accepted.
	c := facts(t, ctx, dir)
	if !slices.Equal(c.Tags, []string{"1.2.3"}) || c.Dirty {
		t.Fatalf("facts = %+v, want tag 1.2.3 and clean", c)
	}
	if err := Preflight(c); err != nil {
		t.Errorf("Preflight on a clean release commit: %v", err)
	}

	// The same commit with an edited file: dirty.
	r.Write(map[string]string{"Dockerfile": "FROM scratch\n"})
	c = facts(t, ctx, dir)
	err := Preflight(c)
	if !errors.Is(err, ErrDirty) || errors.Is(err, ErrNoReleaseTag) || !strings.Contains(err.Error(), "Dockerfile") {
		t.Errorf("Preflight on a dirty checkout = %v, want ErrDirty naming Dockerfile", err)
	}

	// The dev bump after the release: no release tag.
	r.Commit("Next dev version", map[string]string{"VERSION": "1.3.0-dev\n", "Dockerfile": "FROM scratch\n"})
	r.Tag("1.3.0-dev-manual", "", "") // a non-release tag does not count
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	c = facts(t, ctx, dir)
	err = Preflight(c)
	if !errors.Is(err, ErrNoReleaseTag) || errors.Is(err, ErrDirty) {
		t.Fatalf("Preflight on a dev commit = %v, want ErrNoReleaseTag only", err)
	}
	if !strings.Contains(err.Error(), c.Commit[:12]) || !strings.Contains(err.Error(), "hss") {
		t.Errorf("error %q does not name the component and commit %s", err, c.Commit[:12])
	}

	// Both at once.
	r.Write(map[string]string{"new.txt": "x"})
	err = Preflight(facts(t, ctx, dir))
	if !errors.Is(err, ErrNoReleaseTag) || !errors.Is(err, ErrDirty) {
		t.Errorf("Preflight on a dirty dev commit = %v, want both refusals", err)
	}

	// Push itself refuses a dev commit's (empty) tag list.
	reg := newTestReg(t)
	_, err = Push(ctx, request(layoutOf(t, randomImage(t, 1)), []string{reg.repo("omec/hss")}, c.Tags...))
	if err == nil || !strings.Contains(err.Error(), ErrNoReleaseTag.Error()) || reg.total.Load() != 0 {
		t.Errorf("Push with a dev commit's tags: err %v, %d requests; want a refusal and no request", err, reg.total.Load())
	}
}

func TestPreflightMessages(t *testing.T) {
	t.Parallel()
	files := []string{"a", "b", "c", "d", "e", "f", "g"}
	err := Preflight(Checkout{Component: "amf", Dirty: true, DirtyFiles: files, Tags: []string{"1.0.0"}})
	if err == nil || !strings.Contains(err.Error(), "amf: dirty worktree: a, b, c, d, e and 2 more") {
		t.Errorf("err = %v", err)
	}
	if err := Preflight(Checkout{Tags: []string{"1.0.0"}}); err != nil {
		t.Errorf("clean checkout with a tag: %v", err)
	}
}
