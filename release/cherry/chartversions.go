package cherry

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/repofs"
	"github.com/relkit/relkit/release/yamledit"
)

// ChartVersions is a Resolver for the conflict every chart fix picked from
// main onto a release branch meets: main bumped the chart's version line
// too, from a version the branch never had. It settles a Chart.yaml (or
// requirements.yaml) conflict when the conflict is only about the chart's
// version and its file:// dependency pins: it takes the branch's side for
// those values (the caller then bumps them as the branch needs) and merges
// the rest, which must then merge cleanly. Anything else stays a conflict.
func ChartVersions(ctx context.Context, w *Worktree, file string) (bool, error) {
	base := path.Base(file)
	if base != "Chart.yaml" && base != "requirements.yaml" {
		return false, nil
	}
	stage := func(n int) ([]byte, bool, error) {
		out, err := gitx.Git(ctx, w.Dir, "cat-file", "blob", ":"+strconv.Itoa(n)+":"+file)
		if err != nil {
			var ce *gitx.CmdError
			if errors.As(err, &ce) && ce.ExitCode() == 128 {
				return nil, false, nil // no such stage: added or deleted on one side
			}
			return nil, false, err
		}
		return []byte(out), true, nil
	}
	anc, ok1, err := stage(1)
	if err != nil {
		return false, err
	}
	ours, ok2, err := stage(2)
	if err != nil {
		return false, err
	}
	theirs, ok3, err := stage(3)
	if err != nil || !ok1 || !ok2 || !ok3 {
		return false, err
	}
	want, ok := versionValues(ours, base == "Chart.yaml")
	if !ok {
		return false, nil
	}
	anc2, ok := setValues(anc, want, base == "Chart.yaml")
	if !ok {
		return false, nil
	}
	theirs2, ok := setValues(theirs, want, base == "Chart.yaml")
	if !ok {
		return false, nil
	}
	merged, clean, err := mergeFile(ctx, w.Dir, ours, anc2, theirs2)
	if err != nil || !clean {
		return false, err
	}
	return true, repofs.Write(w.Dir, file, merged, 0o644)
}

// versionValues reads the values the resolver takes from the branch: the
// chart version (Chart.yaml) and each file:// dependency's version by
// dependency name.
type versionSet struct {
	version string
	hasVer  bool
	deps    map[string]string // name (alias when set) -> version
}

func versionValues(data []byte, chartFile bool) (versionSet, bool) {
	vs := versionSet{deps: map[string]string{}}
	doc, err := yamledit.Parse(data)
	if err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return vs, false
	}
	top := doc.Content[0]
	if chartFile {
		if v := mapValue(top, "version"); v != nil && v.Kind == yaml.ScalarNode {
			vs.version, vs.hasVer = v.Value, true
		}
	}
	for _, d := range fileDeps(top) {
		vs.deps[d.key] = d.version
	}
	return vs, true
}

// setValues sets the chart version and file:// pins of data to those of
// want, where data has them.
func setValues(data []byte, want versionSet, chartFile bool) ([]byte, bool) {
	doc, err := yamledit.Parse(data)
	if err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false
	}
	top := doc.Content[0]
	var edits []yamledit.Edit
	if chartFile && want.hasVer {
		if v := mapValue(top, "version"); v != nil && v.Kind == yaml.ScalarNode {
			edits = append(edits, yamledit.Edit{Path: []string{"version"}, Value: want.version})
		}
	}
	for _, d := range fileDeps(top) {
		if v, ok := want.deps[d.key]; ok && d.hasVersion && v != "" {
			edits = append(edits, yamledit.Edit{Path: []string{"dependencies", strconv.Itoa(d.index), "version"}, Value: v})
		}
	}
	out, _, err := yamledit.Apply(data, edits...)
	if err != nil {
		return nil, false
	}
	return out, true
}

type fileDep struct {
	index      int
	key        string
	version    string
	hasVersion bool
}

// fileDeps lists the file:// entries of a dependencies list.
func fileDeps(top *yaml.Node) []fileDep {
	list := mapValue(top, "dependencies")
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil
	}
	var out []fileDep
	for i, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			continue
		}
		repo := mapValue(item, "repository")
		if repo == nil || !strings.HasPrefix(repo.Value, "file://") {
			continue
		}
		d := fileDep{index: i}
		if n := mapValue(item, "name"); n != nil {
			d.key = n.Value
		}
		if a := mapValue(item, "alias"); a != nil && a.Value != "" {
			d.key = a.Value
		}
		if v := mapValue(item, "version"); v != nil && v.Kind == yaml.ScalarNode {
			d.version, d.hasVersion = v.Value, true
		}
		out = append(out, d)
	}
	return out
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// mergeFile runs git merge-file on three versions and reports whether the
// merge was clean.
func mergeFile(ctx context.Context, dir string, ours, base, theirs []byte) ([]byte, bool, error) {
	tmp, err := os.MkdirTemp("", "relkit-merge-*")
	if err != nil {
		return nil, false, err
	}
	defer os.RemoveAll(tmp)
	names := []string{"ours", "base", "theirs"}
	for i, data := range [][]byte{ours, base, theirs} {
		if err := os.WriteFile(filepath.Join(tmp, names[i]), data, 0o644); err != nil {
			return nil, false, err
		}
	}
	out, err := gitx.Git(ctx, dir, "merge-file", "-p", filepath.Join(tmp, "ours"), filepath.Join(tmp, "base"), filepath.Join(tmp, "theirs"))
	if err != nil {
		var ce *gitx.CmdError
		if errors.As(err, &ce) && ce.ExitCode() > 0 && ce.ExitCode() < 128 {
			return nil, false, nil // conflicts left
		}
		return nil, false, err
	}
	if bytes.Contains([]byte(out), []byte("<<<<<<<")) {
		return nil, false, nil
	}
	return []byte(out), true, nil
}
