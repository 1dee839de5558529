package render

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/Masterminds/sprig/v3"
	"github.com/gobwas/glob"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"sigs.k8s.io/yaml"
	goyaml "sigs.k8s.io/yaml/goyaml.v3"
)

// The SDK's engine.Render cannot be bounded: it renders into private
// strings.Builders, takes no context, and its function map (sprig's) has no
// hook, so one `repeat 1000000000` used 5.9 GB and a loop ran until the
// process died. Rendering here follows engine.Render step by step (same
// scoping of values, same template order, same helm functions, same error
// texts; TestEngineMatchesSDK compares the two on every fixture) with three
// differences that bound a run:
//
//   - every byte a template writes, an include or tpl returns, and a function
//     allocates is charged to one budget per chart; amplifying functions
//     (repeat, indent, until, printf widths, replace, toYaml of a shared
//     structure...) are charged before they run, so no single call can
//     allocate far past the budget;
//   - the parsed templates are instrumented: every template body and every
//     range iteration calls a hidden function that stops the render once the
//     chart's time is up, and every printed value is weighed before fmt
//     formats it;
//   - a nesting limit on templates stops deep include chains before they
//     exhaust the stack.
//
// A render that crosses a limit fails with a *LimitError.

// LimitError is a render stopped by the output or time limit.
type LimitError struct {
	// Reason is "output larger than 64 MB", "took longer than 30 s" or
	// "templates nested deeper than 2000".
	Reason string
}

func (e *LimitError) Error() string { return "rendering stopped: " + e.Reason }

// ValuesError is a template stopped by `required` or `fail`: the chart
// cannot render with the values it was given.
type ValuesError struct{ Msg string }

func (e *ValuesError) Error() string { return e.Msg }

// NeedsValues reports whether err (a render error) comes from `required`
// or `fail`.
func NeedsValues(err error) bool {
	var v *ValuesError
	return errors.As(err, &v)
}

// maxNesting bounds templates executing inside each other (template,
// include, tpl). The SDK stops one name's recursion only past 1000
// includes, and a chain of names never; each level holds about 190 KB of
// stack (2000 levels measured 380 MB), and no chart we know nests more
// than a dozen.
const maxNesting = 200

// budget is what one chart's render may use. It belongs to the goroutine
// that renders; the caller reads err only after that goroutine is done.
type budget struct {
	ctx   context.Context
	max   int64
	used  int64
	depth int
	err   error
}

func newBudget(ctx context.Context, max int64) *budget { return &budget{ctx: ctx, max: max} }

// stop records the first limit error; every later check returns it.
func (b *budget) stop(err error) error {
	if b.err == nil {
		b.err = err
	}
	return b.err
}

func (b *budget) outputErr() error {
	return b.stop(&LimitError{Reason: fmt.Sprintf("output larger than %s", megabytes(b.max))})
}

// alive returns the limit error once the time is up or the run is
// cancelled.
func (b *budget) alive() error {
	if b.err != nil {
		return b.err
	}
	if b.ctx.Err() != nil {
		return b.stop(context.Cause(b.ctx))
	}
	return nil
}

// need fails when n more bytes would exceed the budget, without charging.
func (b *budget) need(n int64) error {
	if err := b.alive(); err != nil {
		return err
	}
	if n < 0 || n > b.max-b.used {
		return b.outputErr()
	}
	return nil
}

// charge counts n bytes.
func (b *budget) charge(n int64) error {
	if err := b.need(n); err != nil {
		return err
	}
	b.used += n
	return nil
}

// must panics with err; text/template turns a panicking function into an
// execution error.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

func megabytes(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// output is a strings.Builder that charges the budget for every write.
type output struct {
	b  *budget
	sb strings.Builder
}

func (w *output) Write(p []byte) (int, error) {
	if err := w.b.charge(int64(len(p))); err != nil {
		return 0, err
	}
	return w.sb.Write(p)
}

func (w *output) String() string { return w.sb.String() }

// engine renders one chart tree within a budget.
type engine struct {
	b *budget
	// included counts the active includes of each name, as the SDK does.
	included map[string]int
}

const (
	warnStart = "HELM_ERR_START"
	warnEnd   = "HELM_ERR_END"
	// maxInclude is the SDK's recursion limit for one include name.
	maxInclude = 1000
)

var warnRegex = regexp.MustCompile(warnStart + `((?s).*)` + warnEnd)

// scoped is a template with the values it sees.
type scoped struct {
	src      string
	vals     chartutil.Values
	basePath string
}

// renderTree renders every template of the chart tree with the values
// (as chartutil.ToRenderValues made them), like engine.Render.
func (e *engine) renderTree(ch *chart.Chart, vals chartutil.Values) (out map[string]string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rendering template failed: %v", r)
		}
		if e.b.err != nil {
			out, err = map[string]string{}, e.b.err
		}
	}()
	tpls := map[string]scoped{}
	scopeTemplates(ch, tpls, vals)
	t := template.New("gotpl")
	t.Option("missingkey=zero")
	t.Funcs(e.funcs(t))
	keys := sortedTemplates(tpls)
	for _, name := range keys {
		if _, err := t.New(name).Parse(tpls[name].src); err != nil {
			return map[string]string{}, parseError(name, err)
		}
	}
	instrument(t)
	out = make(map[string]string, len(keys))
	for _, name := range keys {
		if strings.HasPrefix(path.Base(name), "_") {
			continue
		}
		v := tpls[name].vals
		v["Template"] = chartutil.Values{"Name": name, "BasePath": tpls[name].basePath}
		w := &output{b: e.b}
		e.b.depth = 0
		if err := t.ExecuteTemplate(w, name, v); err != nil {
			return map[string]string{}, execError(name, err)
		}
		out[name] = strings.ReplaceAll(w.String(), "<no value>", "")
	}
	return out, nil
}

// scopeTemplates lists the templates of c and its subcharts with the
// values each sees: a subchart sees the parent's .Values.<name> table.
func scopeTemplates(c *chart.Chart, out map[string]scoped, vals chartutil.Values) map[string]any {
	subcharts := map[string]any{}
	meta := struct {
		chart.Metadata
		IsRoot bool
	}{*c.Metadata, c.IsRoot()}
	next := map[string]any{
		"Chart":        meta,
		"Files":        newFiles(c.Files),
		"Release":      vals["Release"],
		"Capabilities": vals["Capabilities"],
		"Values":       make(chartutil.Values),
		"Subcharts":    subcharts,
	}
	if c.IsRoot() {
		next["Values"] = vals["Values"]
	} else if vs, err := vals.Table("Values." + c.Name()); err == nil {
		next["Values"] = vs
	}
	for _, child := range c.Dependencies() {
		subcharts[child.Name()] = scopeTemplates(child, out, next)
	}
	base := c.ChartFullPath()
	library := strings.EqualFold(c.Metadata.Type, "library")
	for _, t := range c.Templates {
		if t == nil || library && !strings.HasPrefix(path.Base(t.Name), "_") {
			continue
		}
		out[path.Join(base, t.Name)] = scoped{src: string(t.Data), vals: next, basePath: path.Join(base, "templates")}
	}
	return next
}

// sortedTemplates orders names as the SDK parses them: deepest paths
// first, so a parent chart's defines override its subcharts'.
func sortedTemplates(tpls map[string]scoped) []string {
	keys := make([]string, 0, len(tpls))
	for k := range tpls {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		ca, cb := strings.Count(a, "/"), strings.Count(b, "/")
		if ca == cb {
			return a > b
		}
		return ca > cb
	})
	return keys
}

func parseError(name string, err error) error {
	tokens := strings.Split(err.Error(), ": ")
	if len(tokens) == 1 {
		return fmt.Errorf("parse error in (%s): %s", name, err)
	}
	return fmt.Errorf("parse error at (%s): %s", tokens[1], tokens[len(tokens)-1])
}

// execError shortens an execution error the way the SDK does, keeping the
// cause (a *ValuesError, a *LimitError) reachable with errors.As.
func execError(name string, err error) error {
	var ee template.ExecError
	if !errors.As(err, &ee) {
		return err
	}
	tokens := strings.SplitN(err.Error(), ": ", 3)
	if len(tokens) != 3 {
		return fmt.Errorf("execution error in (%s): %w", name, err)
	}
	if parts := warnRegex.FindStringSubmatch(tokens[2]); len(parts) >= 2 {
		return &wrapped{msg: fmt.Sprintf("execution error at (%s): %s", tokens[1], parts[1]), err: err}
	}
	return err
}

// wrapped is an error with its own text that still unwraps to its cause.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// include executes a named template, as the SDK's include does.
func (e *engine) include(t *template.Template) func(string, any) (string, error) {
	return func(name string, data any) (string, error) {
		if n := e.included[name]; n > maxInclude {
			return "", fmt.Errorf("rendering template has a nested reference name: %s: unable to execute template", name)
		}
		e.included[name]++
		w := &output{b: e.b}
		err := t.ExecuteTemplate(w, name, data)
		e.included[name]--
		return w.String(), err
	}
}

// tpl renders a string as a template that sees the templates of its
// caller, as the SDK's tpl does.
func (e *engine) tpl(parent *template.Template) func(string, any) (string, error) {
	return func(src string, vals any) (string, error) {
		t, err := parent.Clone()
		if err != nil {
			return "", fmt.Errorf("cannot clone template: %w", err)
		}
		t.Option("missingkey=zero")
		t.Funcs(template.FuncMap{"include": e.guard("include", e.include(t)), "tpl": e.guard("tpl", e.tpl(t))})
		t, err = t.New(parent.Name()).Parse(src)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", src, err)
		}
		instrument(t)
		w := &output{b: e.b}
		if err := t.Execute(w, vals); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", src, err)
		}
		return strings.ReplaceAll(w.String(), "<no value>", ""), nil
	}
}

// funcs is the SDK's function map (sprig without env and expandenv, the
// helm additions, include, tpl, required, fail, an empty lookup, no DNS),
// every function guarded, plus the instrumentation hooks.
func (e *engine) funcs(t *template.Template) template.FuncMap {
	e.included = map[string]int{}
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	for k, v := range map[string]any{
		"toToml":        toTOML,
		"fromToml":      fromTOML,
		"toYaml":        toYAML,
		"toYamlPretty":  toYAMLPretty,
		"fromYaml":      fromYAML,
		"fromYamlArray": fromYAMLArray,
		"toJson":        toJSON,
		"fromJson":      fromJSON,
		"fromJsonArray": fromJSONArray,
		"include":       e.include(t),
		"tpl":           e.tpl(t),
		"required":      required,
		"fail":          fail,
		"lookup":        func(string, string, string, string) (map[string]any, error) { return map[string]any{}, nil },
		"getHostByName": func(string) string { return "" },
		// text/template's own printing functions, so they are weighed too.
		"print":    fmt.Sprint,
		"printf":   fmt.Sprintf,
		"println":  fmt.Sprintln,
		"html":     template.HTMLEscaper,
		"js":       template.JSEscaper,
		"urlquery": template.URLQueryEscaper,
	} {
		f[k] = v
	}
	for k, v := range f {
		f[k] = e.guard(k, v)
	}
	f[hookEnter] = e.enter
	f[hookLeave] = e.leave
	f[hookTick] = e.tick
	f[hookOut] = e.out
	return f
}

func required(warn string, val any) (any, error) {
	if val == nil {
		return val, &ValuesError{Msg: warnStart + warn + warnEnd}
	}
	if s, ok := val.(string); ok && s == "" {
		return val, &ValuesError{Msg: warnStart + warn + warnEnd}
	}
	return val, nil
}

func fail(msg string) (string, error) {
	return "", &ValuesError{Msg: warnStart + msg + warnEnd}
}

// The hooks instrument adds to parsed templates.
const (
	hookEnter = "relkitEnter"
	hookLeave = "relkitLeave"
	hookTick  = "relkitTick"
	hookOut   = "relkitOut"
)

func (e *engine) enter() string {
	must(e.b.alive())
	if e.b.depth++; e.b.depth > maxNesting {
		must(e.b.stop(&LimitError{Reason: fmt.Sprintf("templates nested deeper than %d", maxNesting)}))
	}
	return ""
}

func (e *engine) leave() string {
	e.b.depth--
	return ""
}

func (e *engine) tick() string {
	must(e.b.alive())
	return ""
}

// out weighs a value about to be printed: fmt formats all of it in memory
// before the writer sees a byte. It returns the value as the template
// would print it: nil stays "no value", a pointer is printed through, and
// a struct whose pointer has a String method (.Capabilities.KubeVersion)
// is printed with it, as text/template does for addressable values.
func (e *engine) out(v any) reflectValue {
	must(e.b.need(weigh(v, e.b.max-e.b.used)))
	return printable(v)
}

// instrument adds the hooks to every template of t's set not yet
// instrumented: enter and leave around each body, a tick in each range
// iteration, and out at the end of each printing action.
func instrument(t *template.Template) {
	for _, tt := range t.Templates() {
		if tt.Tree == nil || tt.Root == nil || instrumented(tt.Root) {
			continue
		}
		walkNodes(tt.Root, tt.Tree)
		tt.Root.Nodes = append(append([]parse.Node{hookAction(tt.Tree, hookEnter, tt.Root.Pos)}, tt.Root.Nodes...), hookAction(tt.Tree, hookLeave, tt.Root.Pos))
	}
}

func instrumented(l *parse.ListNode) bool {
	if len(l.Nodes) == 0 {
		return false
	}
	a, ok := l.Nodes[0].(*parse.ActionNode)
	if !ok || a.Pipe == nil || len(a.Pipe.Cmds) != 1 || len(a.Pipe.Cmds[0].Args) != 1 {
		return false
	}
	id, ok := a.Pipe.Cmds[0].Args[0].(*parse.IdentifierNode)
	return ok && id.Ident == hookEnter
}

func hookCommand(tr *parse.Tree, name string, pos parse.Pos) *parse.CommandNode {
	return &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos,
		Args: []parse.Node{parse.NewIdentifier(name).SetTree(tr).SetPos(pos)}}
}

func hookAction(tr *parse.Tree, name string, pos parse.Pos) *parse.ActionNode {
	return &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos,
		Pipe: &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Cmds: []*parse.CommandNode{hookCommand(tr, name, pos)}}}
}

func walkNodes(n parse.Node, tr *parse.Tree) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkNodes(c, tr)
		}
	case *parse.ActionNode:
		if n.Pipe != nil && len(n.Pipe.Decl) == 0 && len(n.Pipe.Cmds) > 0 {
			n.Pipe.Cmds = append(n.Pipe.Cmds, hookCommand(tr, hookOut, n.Pos))
		}
	case *parse.IfNode:
		walkNodes(n.List, tr)
		walkNodes(n.ElseList, tr)
	case *parse.WithNode:
		walkNodes(n.List, tr)
		walkNodes(n.ElseList, tr)
	case *parse.RangeNode:
		walkNodes(n.List, tr)
		walkNodes(n.ElseList, tr)
		if n.List != nil {
			n.List.Nodes = append([]parse.Node{hookAction(tr, hookTick, n.Pos)}, n.List.Nodes...)
		}
	}
}

// files are a chart's non-template files as templates see them
// (.Files.Get, .Files.Glob, ...), as the SDK offers them.
type files map[string][]byte

func newFiles(from []*chart.File) files {
	f := files{}
	for _, file := range from {
		f[file.Name] = file.Data
	}
	return f
}

// GetBytes returns a file's content, empty when there is none.
func (f files) GetBytes(name string) []byte {
	if v, ok := f[name]; ok {
		return v
	}
	return []byte{}
}

// Get returns a file's content as a string.
func (f files) Get(name string) string { return string(f.GetBytes(name)) }

// Glob returns the files whose names match pattern.
func (f files) Glob(pattern string) files {
	g, err := glob.Compile(pattern, '/')
	if err != nil {
		g, _ = glob.Compile("**")
	}
	out := files{}
	for name, data := range f {
		if g.Match(name) {
			out[name] = data
		}
	}
	return out
}

// AsConfig is the files as ConfigMap data, keyed by base name.
func (f files) AsConfig() string {
	if f == nil {
		return ""
	}
	m := map[string]string{}
	for k, v := range f {
		m[path.Base(k)] = string(v)
	}
	return toYAML(m)
}

// AsSecrets is the files as Secret data (base64), keyed by base name.
func (f files) AsSecrets() string {
	if f == nil {
		return ""
	}
	m := map[string]string{}
	for k, v := range f {
		m[path.Base(k)] = base64.StdEncoding.EncodeToString(v)
	}
	return toYAML(m)
}

// Lines splits a file into lines.
func (f files) Lines(name string) []string {
	if f == nil || len(f[name]) == 0 {
		return []string{}
	}
	s := string(f[name])
	if s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return strings.Split(s, "\n")
}

// The helm additions to sprig, with the SDK's behaviour: marshalling
// errors give "" (toToml: the error text), parse errors land in "Error".

func toYAML(v any) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func toYAMLPretty(v any) string {
	var data bytes.Buffer
	enc := goyaml.NewEncoder(&data)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(data.String(), "\n")
}

func fromYAML(s string) map[string]any { return decodeObject(unmarshalYAML, s) }

func fromYAMLArray(s string) []any { return decodeArray(unmarshalYAML, s) }

// unmarshalYAML is yaml.Unmarshal without its options.
func unmarshalYAML(b []byte, v any) error { return yaml.Unmarshal(b, v) }

// decodeObject decodes s as an object the way Helm's fromYaml and
// fromJson do: a document that does not decode gives {"Error": why}.
func decodeObject(unmarshal func([]byte, any) error, s string) map[string]any {
	m := map[string]any{}
	if err := unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

// decodeArray decodes s as a list the way Helm's fromYamlArray and
// fromJsonArray do: a document that does not decode gives [why].
func decodeArray(unmarshal func([]byte, any) error, s string) []any {
	a := []any{}
	if err := unmarshal([]byte(s), &a); err != nil {
		a = []any{err.Error()}
	}
	return a
}

func toTOML(v any) string {
	b := &bytes.Buffer{}
	if err := toml.NewEncoder(b).Encode(v); err != nil {
		return err.Error()
	}
	return b.String()
}

func fromTOML(s string) map[string]any {
	m := map[string]any{}
	if err := toml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func toJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSON(s string) map[string]any { return decodeObject(json.Unmarshal, s) }

func fromJSONArray(s string) []any { return decodeArray(json.Unmarshal, s) }

// limits are the effective limits of one chart's render.
type limits struct {
	output  int64
	timeout time.Duration
}

func (o Options) limits() limits {
	l := limits{output: o.MaxOutput, timeout: o.Timeout}
	if l.output <= 0 {
		l.output = DefaultMaxOutput
	}
	if l.timeout <= 0 {
		l.timeout = DefaultTimeout
	}
	return l
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}

// stopped reports whether a render error is a crossed limit or a
// cancelled run, after which nothing more is rendered.
func stopped(err error) bool {
	var l *LimitError
	return errors.As(err, &l) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// renderBounded renders the chart tree on its own goroutine and waits at
// most until ctx is done. A render still running then (inside one long
// function call) is abandoned: its next hook sees ctx done and ends it,
// and until then it stays within its output budget.
func renderBounded(ctx context.Context, ch *chart.Chart, vals chartutil.Values, max int64) (map[string]string, error) {
	type result struct {
		out map[string]string
		err error
	}
	done := make(chan result, 1)
	go func() {
		e := &engine{b: newBudget(ctx, max)}
		out, err := e.renderTree(ch, vals)
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}
