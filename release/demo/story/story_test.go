package story

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/demo"
	"github.com/relkit/relkit/release/review/gerritlike"
	"github.com/relkit/relkit/release/review/reviewtest"
	"github.com/relkit/relkit/release/testutil"
)

// The whole demo, run once: the review chapter's changes, the CI
// chapter's publishing and the status that follows.
func TestDemoStory(t *testing.T) {
	var out bytes.Buffer
	dir := filepath.Join(t.TempDir(), "demo")
	if err := Run(context.Background(), Options{Dir: dir, Out: &out}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := out.String()
	t.Run("review", func(t *testing.T) {
		checkReviewChapter(t, chapter(t, text, ". A patch through review", ". CI publishes the charts"), dir)
	})
	t.Run("publish and status", func(t *testing.T) {
		checkPublishAndStatus(t, chapter(t, text, ". CI publishes the charts", ". Release status of the 2.1 line"),
			chapter(t, text, ". Release status of the 2.1 line", ". What release 2.1.0 shipped"))
	})
}

// chapter is the demo's output from the title containing from up to the
// one containing to.
func chapter(t *testing.T, text, from, to string) string {
	t.Helper()
	i := strings.Index(text, from)
	j := strings.Index(text, to)
	if i < 0 || j < i {
		t.Fatalf("no chapter %q before %q:\n%s", from, to, text)
	}
	return text[i:j]
}

// The review chapter: the dry run, the run and the rerun of patch:charts
// -review; the changes it opened, each with a Change-Id and the run's
// topic, listed once; the remote took only pushes for review (no branch,
// no tag), and the rerun pushed nothing new.
func checkReviewChapter(t *testing.T, text, dir string) {
	const topic = "relkit-patch-charts-2.1"
	testutil.ContainsAll(t, "the review chapter", text,
		"-review (dry run: nothing will be written)",
		"would push 2 commits for review to refs/for/aether-2.1 on origin, topic "+topic,
		"pushed 2 commits for review to refs/for/aether-2.1 on origin (topic "+topic+"): changes 2, 3",
		"2 commits already up for review on origin (topic "+topic+"): nothing pushed: changes 2, 3",
		"Open changes of topic "+topic,
		"no tag was pushed",
	)
	listed := regexp.MustCompile(`change (\d+) into aether-2.1, patch set (\d+), \S+\n.*\n    Change-Id: (I[0-9a-f]{40})\n`).FindAllStringSubmatch(text, -1)
	if len(listed) != 2 || listed[0][3] == listed[1][3] {
		t.Fatalf("the chapter should list two changes with their own Change-Ids, got %q:\n%s", listed, text)
	}

	g := &gerritlike.Remote{Project: demo.ChartsRepo, Dir: filepath.Join(dir, filepath.FromSlash(reviewRemoteDir))}
	changes, err := g.Changes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range changes {
		if c.Topic != topic {
			if c.Branch != "master" || c.Status != "MERGED" {
				t.Errorf("change %+v: only the fix on master, submitted, should be outside the topic", c)
			}
			continue
		}
		if c.Branch != "aether-2.1" || c.Status != "NEW" || len(c.Patchsets) != 1 {
			t.Errorf("change %+v: want an open change into aether-2.1 with one patch set (the rerun adds none)", c)
		}
		ids = append(ids, c.ChangeID)
	}
	if want := []string{listed[0][3], listed[1][3]}; !slices.Equal(ids, want) {
		t.Errorf("the remote has Change-Ids %v in the topic, the chapter printed %v", ids, want)
	}

	pushes, err := g.Pushes()
	if err != nil {
		t.Fatal(err)
	}
	forBranch := 0
	for _, p := range pushes {
		switch ref := strings.Fields(p)[2]; ref {
		case "refs/for/aether-2.1%topic=" + topic:
			forBranch++
		case "refs/for/master":
		default:
			t.Errorf("push %q: only pushes for review were expected", p)
		}
	}
	if forBranch != 1 {
		t.Errorf("%d pushes for review to aether-2.1: the dry run and the rerun should push nothing, the run once", forBranch)
	}
	gerrit := reviewtest.Refs(t, g.Dir)
	origin := reviewtest.Refs(t, filepath.Join(dir, "remotes", demo.ChartsRepo+".git"))
	if gerrit["refs/heads/aether-2.1"] == "" || gerrit["refs/heads/aether-2.1"] != origin["refs/heads/aether-2.1"] {
		t.Errorf("aether-2.1 moved on the Gerrit-like remote: %s, imported at %s", gerrit["refs/heads/aether-2.1"], origin["refs/heads/aether-2.1"])
	}
	for ref, h := range gerrit {
		if strings.HasPrefix(ref, "refs/tags/") && origin[ref] != h {
			t.Errorf("tag %s on the Gerrit-like remote was not imported from the charts remote", ref)
		}
	}

	cfg, err := os.ReadFile(filepath.Join(dir, reviewConfig))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "review:\n  kind: gerrit\n") || strings.Contains(string(cfg), "127.0.0.1") {
		t.Errorf("after the demo %s should name Gerrit and no loopback server:\n%s", reviewConfig, cfg)
	}
}

// The CI chapter publishes every chart to the static repository in git
// and to the OCI registry, a rerun has nothing to do, and release:status
// then shows the 2.1 line's charts published.
func checkPublishAndStatus(t *testing.T, chapter, status string) {
	testutil.ContainsAll(t, "publish chapter", chapter, "chart package(s) to publish", "committed", "on gh-pages and pushed", "pushed ", "Nothing to do: chart:publish -push is already complete")
	m := regexp.MustCompile(`Charts: (\d+) on the branch, (\d+) published, (\d+) pending`).FindStringSubmatch(status)
	if m == nil || m[1] == "0" || m[1] != m[2] || m[3] != "0" {
		t.Errorf("status does not show every chart published: %v\n%s", m, status)
	}
}

// reviewConfigText moves only the charts repo and says why it cannot.
func TestReviewConfigText(t *testing.T) {
	base := demo.ConfigText(demo.ChartRepoPath, nil)
	text, err := reviewConfigText(base, "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(text, "path: "+reviewCloneDir+"\n") != 1 || strings.Contains(text, "\n  path: "+demo.ChartsRepo+"\n") ||
		!strings.HasSuffix(text, "review:\n  kind: gerrit\n  url: http://127.0.0.1:1\n") {
		t.Errorf("review config:\n%s", text)
	}
	if text, _ := reviewConfigText(base, ""); strings.Contains(text, "url:") {
		t.Errorf("no URL should mean no url line:\n%s", text)
	}
	if _, err := reviewConfigText(strings.Replace(base, "path: "+demo.ChartsRepo, "path: elsewhere", 1), ""); err == nil ||
		!strings.Contains(err.Error(), "path "+demo.ChartsRepo) {
		t.Errorf("a config without the charts path should be refused, got %v", err)
	}
}
