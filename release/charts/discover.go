// Package charts finds the Helm charts of a charts repo and reads their
// Chart.yaml metadata without loading templates.
package charts

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Chart is one chart directory of a charts repo.
type Chart struct {
	// Dir is the chart directory relative to the repo root, slash-separated
	// ("omec/omec-control-plane").
	Dir string
	// File is Dir + "/Chart.yaml".
	File       string
	Name       string
	Version    string
	APIVersion string
	// VersionLine is the line of the version value in Chart.yaml (0 when
	// the key is missing).
	VersionLine int
	// Dependencies as declared (Chart.yaml for v2, requirements.yaml for v1).
	Dependencies []Dependency
	// DepsFile is the file the dependencies were read from.
	DepsFile string
}

// Dependency is one entry of a chart's dependencies.
type Dependency struct {
	Name       string
	Version    string
	Repository string
	Alias      string
	Condition  string
	Tags       []string
	// Line is the line of the version value.
	Line int
}

// skipDir says whether a directory is never searched for charts.
func skipDir(name string) bool {
	switch name {
	case ".git", "node_modules", "vendor", ".github", ".ci":
		return true
	}
	return false
}

// MaxCharts bounds a discovery walk.
const MaxCharts = 100_000

// Discover finds every chart under root: each directory holding a
// Chart.yaml, except subcharts vendored under another chart's charts/
// directory (they belong to their parent). Charts come back sorted by Dir.
func Discover(ctx context.Context, root string) ([]Chart, error) {
	var out []Chart
	var chartDirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.IsDir() {
			return nil
		}
		if p != root && (skipDir(d.Name()) || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		for _, cd := range chartDirs {
			if rel == cd+"/charts" || strings.HasPrefix(rel, cd+"/charts/") {
				return filepath.SkipDir
			}
		}
		if _, err := os.Stat(filepath.Join(p, "Chart.yaml")); err != nil {
			return nil
		}
		if len(out) >= MaxCharts {
			return fmt.Errorf("%s: more than %d charts", root, MaxCharts)
		}
		c, err := ReadChart(root, rel)
		if err != nil {
			return err
		}
		chartDirs = append(chartDirs, rel)
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Chart) int { return strings.Compare(a.Dir, b.Dir) })
	return out, nil
}

// ReadChart reads the Chart.yaml (and requirements.yaml) of the chart at
// dir, relative to root.
func ReadChart(root, dir string) (Chart, error) {
	file := path.Join(dir, "Chart.yaml")
	if dir == "." {
		file = "Chart.yaml"
	}
	c := Chart{Dir: dir, File: file}
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
	if err != nil {
		return c, err
	}
	meta, err := ParseMeta(data)
	if err != nil {
		return c, fmt.Errorf("%s: %w", file, err)
	}
	c.Name, c.Version, c.APIVersion, c.VersionLine = meta.Name, meta.Version, meta.APIVersion, meta.VersionLine
	c.Dependencies, c.DepsFile = meta.Dependencies, file
	if c.APIVersion == "v1" || c.APIVersion == "" {
		req := path.Join(dir, "requirements.yaml")
		if data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(req))); err == nil {
			deps, err := parseDeps(data)
			if err != nil {
				return c, fmt.Errorf("%s: %w", req, err)
			}
			c.Dependencies, c.DepsFile = deps, req
		}
	}
	return c, nil
}

// Meta is the part of Chart.yaml relkit reads.
type Meta struct {
	Name, Version, APIVersion string
	VersionLine               int
	Dependencies              []Dependency
}

// ParseMeta reads Chart.yaml content.
func ParseMeta(data []byte) (Meta, error) {
	var m Meta
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return m, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return m, fmt.Errorf("expected a mapping with name and version")
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "name":
			m.Name = v.Value
		case "version":
			m.Version, m.VersionLine = v.Value, v.Line
		case "apiVersion":
			m.APIVersion = v.Value
		case "dependencies":
			m.Dependencies = depsFromNode(v)
		}
	}
	return m, nil
}

func parseDeps(data []byte) ([]Dependency, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "dependencies" {
			return depsFromNode(top.Content[i+1]), nil
		}
	}
	return nil, nil
}

func depsFromNode(n *yaml.Node) []Dependency {
	if n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []Dependency
	for _, item := range n.Content {
		if item.Kind != yaml.MappingNode {
			continue
		}
		var d Dependency
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			switch k.Value {
			case "name":
				d.Name = v.Value
			case "version":
				d.Version, d.Line = v.Value, v.Line
			case "repository":
				d.Repository = v.Value
			case "alias":
				d.Alias = v.Value
			case "condition":
				d.Condition = v.Value
			case "tags":
				for _, t := range v.Content {
					d.Tags = append(d.Tags, t.Value)
				}
			}
		}
		out = append(out, d)
	}
	return out
}
