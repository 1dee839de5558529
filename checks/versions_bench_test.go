package checks

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/workspace"
)

// synthTaggedRepo writes a repo of 20 commits whose VERSION ends at 1.(tags/100).0
// with `tags` release tags over its history, through git fast-import.
func synthTaggedRepo(b *testing.B, dir string, tags int) {
	if out, err := exec.Command("git", "init", "-q", "-b", "master", dir).CombinedOutput(); err != nil {
		b.Fatalf("%v %s", err, out)
	}
	var s bytes.Buffer
	for i := 1; i <= 20; i++ {
		v := fmt.Sprintf("1.%d.0\n", i*tags/20/100)
		if i == 20 {
			v = fmt.Sprintf("1.%d.0\n", tags/100)
		}
		fmt.Fprintf(&s, "commit refs/heads/master\nmark :%d\ncommitter Dev <d@example.org> %d +0000\ndata 7\ncommit\n", i, 1_700_000_000+i*60)
		if i > 1 {
			fmt.Fprintf(&s, "from :%d\n", i-1)
		}
		fmt.Fprintf(&s, "M 100644 inline VERSION\ndata %d\n%s\n\n", len(v), v)
	}
	for t := 0; t < tags; t++ {
		fmt.Fprintf(&s, "reset refs/tags/v1.%d.%d\nfrom :%d\n\n", t/100, t%100, 1+t*19/tags)
	}
	fmt.Fprintf(&s, "reset refs/tags/v1.%d.0\nfrom :20\n\ndone\n", tags/100)
	cmd := exec.Command("git", "fast-import", "--quiet", "--done")
	cmd.Dir, cmd.Stdin = dir, &s
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%v %s", err, out)
	}
	for _, args := range [][]string{{"reset", "-q", "--hard"}, {"pack-refs", "--all"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			b.Fatalf("%v %s", err, out)
		}
	}
}

// BenchmarkVersions runs check:versions over 200 component repos with
// 1,000 tags each, every VERSION a tagged release (the slow path: tag
// lookup, history walk to the setting commit, parent search).
func BenchmarkVersions(b *testing.B) {
	root := b.TempDir()
	var cfg strings.Builder
	cfg.WriteString("charts: {path: c000}\ncomponents:\n")
	synthTaggedRepo(b, filepath.Join(root, "c000"), 1000)
	for i := range 200 {
		name := fmt.Sprintf("c%03d", i)
		if i > 0 {
			if out, err := exec.Command("cp", "-a", filepath.Join(root, "c000"), filepath.Join(root, name)).CombinedOutput(); err != nil {
				b.Fatalf("%v %s", err, out)
			}
		}
		fmt.Fprintf(&cfg, "  - {name: comp%03d, path: %s, tagPrefix: v}\n", i, name)
	}
	file := filepath.Join(root, "relkit.yaml")
	if err := os.WriteFile(file, []byte(cfg.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	ws, err := workspace.Load(file)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rep := Versions(context.Background(), ws, Options{})
		if err := rep.Err(); err != nil {
			b.Fatal(err)
		}
		if errs, _ := rep.Counts(); errs != 0 {
			b.Fatalf("unexpected errors: %v", rep.Findings()[:1])
		}
	}
}
