package review

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const testID = "I0123456789abcdef0123456789abcdef01234567"

// trailerMessages are commit messages of the shapes relkit makes and picks:
// its own trailers, cherry-pick -x lines, sign-offs, bodies that look like
// trailers, URLs, continuation lines, no body at all.
var trailerMessages = map[string]string{
	"subject only":          "Bump chart versions\n",
	"no final newline":      "Bump chart versions",
	"body, no trailers":     "Fix the probe\n\nThe probe timed out.\n",
	"relkit trailer":        "Bump chart versions after fix\n\n- omec 1.2.3 -> 1.2.4 (x changed)\n\nRelkit-Patch: aether-2.1\n",
	"cherry-pick -x":        "Fix the probe\n\nLonger text.\n\n(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)\n",
	"trailer and cherry":    "Fix\n\nBody.\n\nRelkit-Patch: aether-2.1\n(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)\n",
	"signed off":            "Fix\n\nBody.\n\nRelkit-Patch: aether-2.1\nSigned-off-by: A <a@example.org>\nSigned-off-by: B <b@example.org>\n",
	"sob before other":      "Fix\n\nSigned-off-by: A <a@example.org>\nReviewed-by: C <c@example.org>\n",
	"mixed paragraph, sob":  "Fix\n\nsome words here\nmore words\nSigned-off-by: A <a@example.org>\n",
	"mixed paragraph":       "Fix\n\nsome words here\nKey: value\n",
	"url last line":         "Fix\n\nSee the notes.\n\nhttps://example.org/x\n",
	"continuation":          "Fix\n\nRelkit-Patch: aether-2.1\nNote: first\n  second line\n",
	"trailing blank lines":  "Fix\n\nRelkit-Patch: aether-2.1\n\n\n",
	"token with space":      "Fix\n\nRelkit-Patch : aether-2.1\n",
	"title like trailer":    "Key: value\n",
	"title para trailers":   "Key: value\nOther: x\n",
	"cherry only":           "Fix\n\n(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)\n",
	"release commit":        "Release 2.1.3\n\nVERSION 2.1.3 and its release notes.\n\nRelkit-Point-Release: 2.1.3\n",
	"three paragraphs":      "Subject\n\nPara one.\n\nPara two: not a trailer really\n",
	"indented first":        "Subject\n\n  indented: x\nKey: v\n",
	"crlf":                  "Fix\r\n\r\nRelkit-Patch: aether-2.1\r\n",
	"dashes in body":        "Fix\n\nText\n---\nmore\n\nRelkit-Patch: aether-2.1\n",
	"empty value":           "Fix\n\nKey:\n",
	"hash token":            "Fix\n\nFixes #12\n",
	"multiple paragraphs t": "Fix\n\nA: b\n\nC: d\n",
}

// gerritHook adds a Change-Id the way Gerrit's commit-msg hook does: a
// Signed-off-by sentinel appended by `git interpret-trailers`, then the
// Change-Id inserted before the first Signed-off-by, then the sentinel
// removed. One difference on purpose: --no-divider, because in a commit
// message a "---" line is text, and Gerrit's server looks for the
// Change-Id in the last paragraph of the whole message.
func gerritHook(t *testing.T, msg, id string) string {
	t.Helper()
	run := func(in []byte, args ...string) []byte {
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C")
		cmd.Stdin = bytes.NewReader(in)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return out
	}
	withSentinel := run([]byte(msg), "interpret-trailers", "--no-divider", "--trailer", "Signed-off-by: SENTINEL")
	out := run(withSentinel, "-c", "trailer.where=before", "interpret-trailers", "--no-divider", "--trailer", "Signed-off-by: Change-Id: "+id)
	var keep []string
	for _, l := range strings.SplitAfter(string(out), "\n") {
		if strings.HasPrefix(l, "Signed-off-by: SENTINEL") {
			continue
		}
		keep = append(keep, strings.Replace(l, "Signed-off-by: Change-Id: ", "Change-Id: ", 1))
	}
	return strings.Join(keep, "")
}

// lines splits a message for comparison: no CRs, no trailing blank lines.
func lines(s string) []string {
	return strings.Split(strings.TrimRight(strings.ReplaceAll(s, "\r", ""), "\n"), "\n")
}

// TestSetChangeIDLikeGerritHook checks that SetChangeID puts the Change-Id
// on the line where Gerrit's commit-msg hook (git interpret-trailers) puts
// it, and, unlike the hook, which re-formats every trailer it parses
// ("Key:" becomes "Key: ", "https://x" becomes "https: //x"), leaves every
// other line as it was.
func TestSetChangeIDLikeGerritHook(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed")
	}
	for name, msg := range trailerMessages {
		t.Run(name, func(t *testing.T) {
			want := lines(gerritHook(t, msg, testID))
			got := SetChangeID(msg, testID)
			gl := lines(got)
			at := slices.Index(want, "Change-Id: "+testID)
			if at < 0 || len(gl) != len(want) || gl[at] != "Change-Id: "+testID {
				t.Fatalf("SetChangeID(%q)\n got %q\nwant the Change-Id as line %d of %q (Gerrit's hook)", msg, got, at, want)
			}
			rest := slices.Delete(slices.Clone(gl), at, at+1)
			if at == len(rest) && at > 0 && rest[at-1] == "" {
				rest = rest[:at-1] // the blank line opening a new footer
			}
			if !slices.Equal(rest, lines(msg)) {
				t.Errorf("SetChangeID changed other lines: %q, was %q", rest, lines(msg))
			}
			if ids := ChangeIDs(got); len(ids) != 1 || strings.TrimSpace(ids[0]) != testID {
				t.Errorf("ChangeIDs of the result = %q", ids)
			}
			if again := SetChangeID(got, testID); again != got {
				t.Errorf("setting the same id again changed the message:\n%q\n%q", got, again)
			}
		})
	}
}

// TestChangeIDsLikeGit checks the footer parsing against git's own
// (%(trailers:key=Change-Id)) on real commits.
func TestChangeIDsLikeGit(t *testing.T) {
	dir := t.TempDir()
	git := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C",
			"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.org")
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return string(out)
	}
	git("", "init", "-q", "--template=")
	tree := strings.TrimSpace(git("", "hash-object", "-t", "tree", "/dev/null"))
	msgs := map[string]string{
		"in footer":          "Fix\n\nChange-Id: " + testID + "\n",
		"in body only":       "Fix\n\nChange-Id: " + testID + "\n\nnot trailers here\n",
		"two":                "Fix\n\nChange-Id: " + testID + "\nChange-Id: I1111111111111111111111111111111111111111\n",
		"lower case":         "Fix\n\nchange-id: " + testID + "\n",
		"after cherry":       "Fix\n\nChange-Id: " + testID + "\n(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)\n",
		"in mixed, with sob": "Fix\n\nsome words\nmore words\nChange-Id: " + testID + "\nSigned-off-by: A <a@example.org>\n",
		"subject only":       "Change-Id: " + testID + "\n",
	}
	for name, msg := range msgs {
		c := strings.TrimSpace(git(msg, "commit-tree", "--no-gpg-sign", "-F", "-", tree))
		out := git("", "log", "-1", "--format=%(trailers:key=Change-Id,valueonly,separator=%x2C)", c)
		var want []string
		if s := strings.TrimSpace(out); s != "" {
			want = strings.Split(s, ",")
		}
		got := ChangeIDs(msg)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: ChangeIDs = %q, git reads %q", name, got, want)
		}
	}
}

func TestSetChangeIDReplacesInPlace(t *testing.T) {
	old := "I1111111111111111111111111111111111111111"
	msg := "Fix\n\nRelkit-Patch: aether-2.1\nChange-Id: " + old + "\n  (continued)\n(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)\n"
	want := "Fix\n\nRelkit-Patch: aether-2.1\nChange-Id: " + testID + "\n(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)\n"
	if got := SetChangeID(msg, testID); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// Two Change-Ids (Gerrit refuses that) become one.
	two := "Fix\n\nChange-Id: " + old + "\nChange-Id: I2222222222222222222222222222222222222222\n"
	if got := SetChangeID(two, testID); got != "Fix\n\nChange-Id: "+testID+"\n" {
		t.Errorf("two ids: got %q", got)
	}
	// A Change-Id line in the body is text, not the footer: left alone.
	body := "Fix\n\nChange-Id: " + old + "\n\nmore text\n"
	if got := SetChangeID(body, testID); got != body+"\nChange-Id: "+testID+"\n" {
		t.Errorf("body id: got %q", got)
	}
}

func TestEnsureChangeID(t *testing.T) {
	own := "I1111111111111111111111111111111111111111"
	picked := "Fix\n\nChange-Id: " + own + "\n(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)\n"
	if got := EnsureChangeID(picked, testID); got != picked {
		t.Errorf("a valid Change-Id was replaced: %q", got)
	}
	bad := "Fix\n\nChange-Id: Ixyz\n"
	if got := EnsureChangeID(bad, testID); got != "Fix\n\nChange-Id: "+testID+"\n" {
		t.Errorf("an invalid Change-Id was kept: %q", got)
	}
	if got := EnsureChangeID("Fix\n", testID); got != "Fix\n\nChange-Id: "+testID+"\n" {
		t.Errorf("no Change-Id: %q", got)
	}
}

func TestChangeIDIsStableAndDistinct(t *testing.T) {
	k := Key{Target: "patch:charts", Line: "2.1", Repo: "charts", Branch: "aether-2.1", Step: "bump charts"}
	id := ChangeID(k)
	if !ValidChangeID(id) {
		t.Fatalf("%q is not a valid Change-Id", id)
	}
	if ChangeID(k) != id {
		t.Error("the same key gave two ids")
	}
	// Golden value: the id must not change between relkit versions, or a
	// rerun after an upgrade would open new changes.
	if id != goldenChangeID {
		t.Errorf("ChangeID(%+v) = %s, was %s", k, id, goldenChangeID)
	}
	seen := map[string]Key{id: k}
	for _, other := range []Key{
		{Target: "patch:component", Line: "2.1", Repo: "charts", Branch: "aether-2.1", Step: "bump charts"},
		{Target: "patch:charts", Line: "2.2", Repo: "charts", Branch: "aether-2.1", Step: "bump charts"},
		{Target: "patch:charts", Line: "2.1", Repo: "docs", Branch: "aether-2.1", Step: "bump charts"},
		{Target: "patch:charts", Line: "2.1", Repo: "charts", Branch: "aether-2.2", Step: "bump charts"},
		{Target: "patch:charts", Line: "2.1", Repo: "charts", Branch: "aether-2.1", Step: "bump chart"},
		// Shifting text between fields must not collide.
		{Target: "patch:charts2", Line: ".1", Repo: "charts", Branch: "aether-2.1", Step: "bump charts"},
	} {
		o := ChangeID(other)
		if prev, ok := seen[o]; ok {
			t.Errorf("%+v and %+v share %s", other, prev, o)
		}
		seen[o] = other
	}
}

const goldenChangeID = "Ic02d892f0725ed9a1f7ae281620a2aa62a4f2a0c"

func TestValidChangeID(t *testing.T) {
	for id, want := range map[string]bool{
		testID:                        true,
		"I" + strings.Repeat("a", 40): true,
		"I" + strings.Repeat("A", 40): false,
		"I" + strings.Repeat("a", 39): false,
		"i" + strings.Repeat("a", 40): false,
		"":                            false,
		"Ixyz":                        false,
	} {
		if ValidChangeID(id) != want {
			t.Errorf("ValidChangeID(%q) = %v", id, !want)
		}
	}
}
