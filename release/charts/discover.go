// Package charts finds the Helm charts of a charts repo and reads their
// Chart.yaml metadata without loading templates.
package charts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	yaml2 "go.yaml.in/yaml/v2"
	"gopkg.in/yaml.v3"

	"github.com/relkit/relkit/release/repofs"
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
	// KubeVersion is the kubeVersion constraint as written ("" for none) and
	// KubeVersionLine its line.
	KubeVersion     string
	KubeVersionLine int
	// Dependencies as declared (Chart.yaml for v2, requirements.yaml for v1).
	Dependencies []Dependency
	// DepsFile is the file the dependencies were read from.
	DepsFile string
	// Err is set (to a *ChartError) when Discover found the chart but could
	// not read its Chart.yaml or requirements.yaml: a YAML syntax error, a
	// document that is not a mapping. Only Dir and File are sure to be set
	// then; callers report the chart as invalid and go on with the others.
	Err error
}

// ChartError says which file of a chart could not be read, and where.
type ChartError struct {
	// File is relative to the repo root (slash-separated).
	File string
	// Line is the 1-based line the YAML parser stopped at (0 when unknown).
	Line int
	Err  error
}

func (e *ChartError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *ChartError) Unwrap() error { return e.Err }

// Invalid joins the errors of the charts Discover could not read, or
// returns nil: for callers that cannot go on without every chart.
func Invalid(list []Chart) error {
	var errs []error
	for _, c := range list {
		if c.Err != nil {
			errs = append(errs, c.Err)
		}
	}
	return errors.Join(errs...)
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
// A chart whose Chart.yaml (or requirements.yaml) cannot be read is
// returned with Err set instead of failing the walk; the error return is
// for the walk itself (an unreadable directory, a cancelled context).
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
			var ce *ChartError
			if !errors.As(err, &ce) {
				ce = &ChartError{File: c.File, Err: err}
			}
			c.Err = ce
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
// dir, relative to root. A file that does not parse is a *ChartError
// naming it and the line; a file that cannot be read is the os error.
func ReadChart(root, dir string) (Chart, error) {
	file := path.Join(dir, "Chart.yaml")
	if dir == "." {
		file = "Chart.yaml"
	}
	c := Chart{Dir: dir, File: file}
	data, err := repofs.Read(root, file, repofs.MaxChartMeta)
	if err != nil {
		return c, err
	}
	meta, err := ParseMeta(data)
	if err != nil {
		line, err := syntaxError(data, err)
		return c, &ChartError{File: file, Line: line, Err: err}
	}
	c.Name, c.Version, c.APIVersion, c.VersionLine = meta.Name, meta.Version, meta.APIVersion, meta.VersionLine
	c.KubeVersion, c.KubeVersionLine = meta.KubeVersion, meta.KubeVersionLine
	c.Dependencies, c.DepsFile = meta.Dependencies, file
	if c.APIVersion == "v1" || c.APIVersion == "" {
		req := path.Join(dir, "requirements.yaml")
		data, err := repofs.Read(root, req, repofs.MaxChartMeta)
		if _, _, refused := repofs.Refused(err); refused {
			return c, err
		}
		if err == nil {
			deps, err := parseDeps(data)
			if err != nil {
				line, err := syntaxError(data, err)
				return c, &ChartError{File: req, Line: line, Err: err}
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
	KubeVersion               string
	KubeVersionLine           int
	Dependencies              []Dependency
}

// ParseMeta reads Chart.yaml content.
func ParseMeta(data []byte) (Meta, error) {
	var m Meta
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return m, err
	}
	if len(doc.Content) == 0 {
		return m, &lineError{line: 1, msg: "no YAML document; expected a mapping with name and version"}
	}
	if top := doc.Content[0]; top.Kind != yaml.MappingNode {
		return m, &lineError{line: top.Line, msg: fmt.Sprintf("found %s; expected a mapping with name and version", kindName(top))}
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
		case "kubeVersion":
			m.KubeVersion, m.KubeVersionLine = v.Value, v.Line
		case "dependencies":
			m.Dependencies = depsFromNode(v)
		}
	}
	return m, nil
}

// lineError is a well-formed YAML document of the wrong shape.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return e.msg }

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are the problems libyaml's parser (not its scanner)
// reports; their marks are 0-based.
var parserProblems = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'", "did not find expected '-' indicator",
	"did not find expected <document start>", "did not find expected <stream-start>", "did not find expected key",
	"did not find expected node content", "found duplicate %TAG directive", "found duplicate %YAML directive",
	"found incompatible YAML document", "found undefined tag handle",
}

// syntaxError locates the YAML syntax error err (from yaml.v3) in data:
// the 1-based line (0 when unknown) and the problem without a line.
//
// yaml.v3 puts the line where the enclosing block starts in the text
// (three lines off for a bad key under a comment header). yaml v2 (the
// parser Helm reads Chart.yaml with) gives the mark of the token where
// parsing stopped instead, 1-based for a scanner problem and 0-based for a
// parser problem, so that is the line used.
func syntaxError(data []byte, err error) (int, error) {
	var le *lineError
	if errors.As(err, &le) {
		return le.line, err
	}
	msg := err.Error()
	var x any
	if err2 := yaml2.Unmarshal(data, &x); err2 != nil {
		msg = err2.Error()
	}
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return 0, err
	}
	line, _ := strconv.Atoi(m[1])
	if slices.Contains(parserProblems, m[2]) {
		line++
	}
	lines := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		lines++
	}
	return min(line, max(lines, 1)), fmt.Errorf("YAML syntax error: %s", m[2])
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("the scalar %q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "something else"
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
		if item.Kind == yaml.MappingNode {
			out = append(out, dependencyOf(item))
		}
	}
	return out
}

// dependencyOf reads one entry (a mapping) of a dependencies list.
func dependencyOf(item *yaml.Node) Dependency {
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
	return d
}
