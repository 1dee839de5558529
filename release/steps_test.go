// Package release_test holds the rule that keeps the release steps apart.
package release_test

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/relkit/relkit/"

// steps are the packages of the release process's steps. What two of them
// share lives in a package below both (release/plan, gitx, manifestfile,
// imagetags, ...), never in one of them: a step that imported another
// would make changing one step a change to the other.
var steps = []string{"branch", "patch", "point", "manifest", "tagging", "imagepush", "status", "chartpublish"}

// TestStepsDoNotImportEachOther reads every step's imports (its non-test
// Go files, as the build sees them) and fails naming each step that
// imports another.
func TestStepsDoNotImportEachOther(t *testing.T) {
	stepPaths := map[string]bool{}
	for _, s := range steps {
		stepPaths[module+"release/"+s] = true
	}
	for _, s := range steps {
		pkg, err := build.ImportDir(filepath.Join(".", s), 0)
		if err != nil {
			t.Fatalf("reading step %s: %v", s, err)
		}
		if len(pkg.GoFiles) == 0 {
			t.Fatalf("step %s has no Go files: is the list of steps still true?", s)
		}
		for _, imp := range pkg.Imports {
			if stepPaths[imp] {
				t.Errorf("step release/%s imports step %s; move what they share to a package below both (release/plan or a helper)", s, strings.TrimPrefix(imp, module))
			}
		}
	}
}

// TestStepImportRuleCanFail makes sure the rule above reads real imports:
// a package known to import others (release/point imports release/plan)
// must show them, or the rule would pass on nothing.
func TestStepImportRuleCanFail(t *testing.T) {
	pkg, err := build.ImportDir("point", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pkg.Imports, module+"release/plan") {
		t.Errorf("release/point's imports %v lack release/plan: the import reading is broken", pkg.Imports)
	}
}
