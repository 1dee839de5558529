//go:build mage

package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/checks/report"
)

// readEnv reads each variable with the rules the libraries used when they
// read it themselves: RELKIT_REGISTRY takes 1, true or yes; RELKIT_STRICT
// a Go boolean; NO_COLOR counts when set to anything.
func TestReadEnvParsesEachVariableAsBefore(t *testing.T) {
	for _, tc := range []struct {
		registry, strict string
		wantReg, wantStr bool
	}{
		{"", "", false, false},
		{"1", "1", true, true},
		{" YES ", "true", true, true},
		{"True", "T", true, true},
		{"t", "yes", false, false}, // each variable keeps its own rule
		{"0", "0", false, false},
		{"no", "false", false, false},
	} {
		t.Setenv("RELKIT_REGISTRY", tc.registry)
		t.Setenv("RELKIT_STRICT", tc.strict)
		e := readEnv()
		if e.checks.Registry != tc.wantReg || e.checks.Strict != tc.wantStr {
			t.Errorf("RELKIT_REGISTRY=%q RELKIT_STRICT=%q: registry %v strict %v; want %v %v",
				tc.registry, tc.strict, e.checks.Registry, e.checks.Strict, tc.wantReg, tc.wantStr)
		}
	}

	t.Setenv("RELKIT_BASE", "origin/master")
	t.Setenv("RELKIT_CONFIG", "/ws/relkit.yaml")
	t.Setenv("RELKIT_GIT_AUTHOR", "CI Robot <ci@example.org>")
	t.Setenv("RELKIT_DEMO_DIR", "/tmp/aether")
	t.Setenv("RELKIT_FORMAT", "JSON")
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("NO_COLOR", "0")
	t.Setenv("GITHUB_REF_NAME", "feature/x")
	e := readEnv()
	if e.checks.Base != "origin/master" || e.config != "/ws/relkit.yaml" || e.author != "CI Robot <ci@example.org>" ||
		e.demoDir != "/tmp/aether" || e.format != "JSON" || !e.githubActions || !e.noColor {
		t.Errorf("readEnv = %+v", e)
	}
	if !slices.Contains(e.environ, "GITHUB_REF_NAME=feature/x") {
		t.Errorf("environ lacks the CI variables image:tags and image:push judge")
	}

	// reportOptions turns them into how check reports are written.
	old := settings
	t.Cleanup(func() { settings = old })
	settings = e
	ro, err := reportOptions(os.Stdout)
	if err != nil || ro.Format != report.JSON || !ro.GitHub || ro.Colour {
		t.Errorf("reportOptions = %+v, %v; want JSON with annotations, no colour under NO_COLOR", ro, err)
	}
	settings.format = "xml"
	if _, err := reportOptions(os.Stdout); err == nil || !strings.HasPrefix(err.Error(), `RELKIT_FORMAT="xml": expected`) {
		t.Errorf("a bad RELKIT_FORMAT: %v; want an error naming it", err)
	}
}
