// Package gitxtest makes git fixtures for tests and benchmarks: large
// synthetic histories generated quickly with `git fast-import` (for
// history walks), and the files and symlinks of a work tree (WriteTree,
// Symlink). It imports only the standard library, so any package's tests
// can use it.
package gitxtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
)

// Synth describes a generated history.
type Synth struct {
	// Commits on the main line (merge commits included).
	Commits int
	// VersionEvery is how many commits pass between VERSION changes.
	VersionEvery int
	// MergeEvery makes every n-th main-line commit a merge of a two-commit
	// side branch (0: no merges).
	MergeEvery int
	// Files is the number of other files in the tree (touched round-robin).
	Files int
}

// Result says what was generated.
type Result struct {
	// Versions lists the VERSION contents in the order they were set.
	Versions []string
}

// Build writes a non-bare repo with branch master at dir.
func (s Synth) Build(ctx context.Context, dir string) (Result, error) {
	var res Result
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	if out, err := exec.CommandContext(ctx, "git", "init", "-q", "-b", "master", dir).CombinedOutput(); err != nil {
		return res, fmt.Errorf("git init: %v: %s", err, out)
	}
	var b bytes.Buffer
	mark := 0
	when := int64(1_700_000_000)
	blob := func(content string) int {
		mark++
		fmt.Fprintf(&b, "blob\nmark :%d\ndata %d\n%s\n", mark, len(content), content)
		return mark
	}
	minor, patch := 0, 0
	version := func() string {
		if patch%2 == 1 {
			return fmt.Sprintf("1.%d.%d-dev\n", minor, patch/2+1)
		}
		return fmt.Sprintf("1.%d.%d\n", minor, patch/2)
	}
	commit := func(branch string, msg string, parents []int, files map[string]int) int {
		mark++
		when += 60
		fmt.Fprintf(&b, "commit refs/heads/%s\nmark :%d\nauthor Dev <dev@example.org> %d +0000\ncommitter Dev <dev@example.org> %d +0000\ndata %d\n%s\n",
			branch, mark, when, when, len(msg), msg)
		for i, p := range parents {
			if i == 0 {
				fmt.Fprintf(&b, "from :%d\n", p)
			} else {
				fmt.Fprintf(&b, "merge :%d\n", p)
			}
		}
		for path, m := range files {
			fmt.Fprintf(&b, "M 100644 :%d %s\n", m, path)
		}
		b.WriteString("\n")
		return mark
	}
	files := max(s.Files, 1)
	v := blob(version())
	res.Versions = append(res.Versions, version())
	head := commit("master", "initial", nil, map[string]int{"VERSION": v, "README.md": blob("readme\n")})
	for i := 1; i < s.Commits; i++ {
		change := map[string]int{fmt.Sprintf("src/file%03d.go", i%files): blob(fmt.Sprintf("package src // %d\n", i))}
		if s.VersionEvery > 0 && i%s.VersionEvery == 0 {
			patch++
			if patch%20 == 0 {
				minor++
				patch = 0
			}
			change["VERSION"] = blob(version())
			res.Versions = append(res.Versions, version())
		}
		if s.MergeEvery > 0 && i%s.MergeEvery == 0 {
			sideBlob := blob(fmt.Sprintf("side %d\n", i))
			side := commit("side", fmt.Sprintf("side work %d", i), []int{head}, map[string]int{"side.txt": sideBlob})
			side = commit("side", fmt.Sprintf("more side work %d", i), []int{side}, change)
			change["side.txt"] = sideBlob
			head = commit("master", fmt.Sprintf("Merge side work %d", i), []int{head, side}, change)
			continue
		}
		head = commit("master", fmt.Sprintf("change %d", i), []int{head}, change)
	}
	b.WriteString("done\n")
	cmd := exec.CommandContext(ctx, "git", "fast-import", "--quiet", "--done")
	cmd.Dir = dir
	cmd.Stdin = &b
	if out, err := cmd.CombinedOutput(); err != nil {
		return res, fmt.Errorf("git fast-import: %v: %s", err, out)
	}
	for _, args := range [][]string{{"reset", "-q", "--hard", "master"}, {"gc", "-q"}} {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return res, fmt.Errorf("git %v: %v: %s", args, err, out)
		}
	}
	return res, nil
}
