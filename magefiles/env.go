//go:build mage

package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/relkit/relkit/checks"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/plan"
)

// settings is everything relkit takes from the environment, read once
// when the targets start. This is the only place that reads it: the
// libraries get these values as options and arguments.
var settings = readEnv()

// env holds the environment's settings.
type env struct {
	// config is RELKIT_CONFIG, the workspace file; "" means ./relkit.yaml.
	config string
	// checks: RELKIT_REGISTRY (1, true or yes), RELKIT_STRICT (a Go
	// boolean: 1, t, true...), RELKIT_BASE.
	checks checks.Options
	// format is RELKIT_FORMAT as given; each kind of output checks it.
	format string
	// githubActions is GITHUB_ACTIONS=true: check reports end with
	// workflow annotations.
	githubActions bool
	// noColor is NO_COLOR set to anything: no colours even on a terminal.
	noColor bool
	// demoDir is RELKIT_DEMO_DIR, where the demo builds its workspace.
	demoDir string
	// author is RELKIT_GIT_AUTHOR ("Name <email>"), the identity of the
	// commits and tags relkit makes; "" leaves it to relkit.yaml.
	author string
	// environ is the whole environment (KEY=value), for the decisions that
	// look at many variables: image:push's CI detection
	// (imagepush.CheckEnvironment) and image:tags' branch of a detached
	// HEAD (tagging.BranchEnv).
	environ []string
}

// getenv is a variable of the environment read once (settings.environ):
// the tokens -review needs (GITHUB_TOKEN, GITEA_TOKEN, GERRIT_USER,
// GERRIT_HTTP_PASSWORD), named by the review kind of the workspace.
func (e env) getenv(key string) string {
	for _, kv := range e.environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func readEnv() env {
	strict, _ := strconv.ParseBool(os.Getenv("RELKIT_STRICT"))
	return env{
		config: os.Getenv("RELKIT_CONFIG"),
		checks: checks.Options{
			Registry: yes(os.Getenv("RELKIT_REGISTRY")),
			Strict:   strict,
			Base:     os.Getenv(checks.BaseEnv),
		},
		format:        os.Getenv("RELKIT_FORMAT"),
		githubActions: os.Getenv("GITHUB_ACTIONS") == "true",
		noColor:       os.Getenv("NO_COLOR") != "",
		demoDir:       os.Getenv("RELKIT_DEMO_DIR"),
		author:        os.Getenv(plan.AuthorEnv),
		environ:       os.Environ(),
	}
}

// yes reads a switch such as RELKIT_REGISTRY: 1, true or yes.
func yes(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes":
		return true
	}
	return false
}

// reportOptions is how a check report is written to w: RELKIT_FORMAT,
// annotations under GitHub Actions, colours on a terminal unless NO_COLOR.
func reportOptions(w io.Writer) (report.Options, error) {
	f, err := report.ParseFormat(settings.format)
	if err != nil {
		return report.Options{}, fmt.Errorf("RELKIT_FORMAT=%w", err)
	}
	return report.Options{Format: f, GitHub: settings.githubActions, Colour: !settings.noColor && report.IsTerminal(w)}, nil
}
