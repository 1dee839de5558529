// Package dockerfile finds the parent images of a Dockerfile the way docker
// build does (buildkit's parser, instructions and shell lexer; global ARGs
// and build-arg overrides) and classifies image references by how firmly
// they name their content. It does no I/O: Analyze and Classify are pure, so
// they can be fuzzed.
package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Kind is what a FROM builds on.
type Kind int

const (
	// Image: a registry image (Expanded holds the reference).
	Image Kind = iota
	// Stage: an earlier stage of the same Dockerfile.
	Stage
	// Scratch: the empty image.
	Scratch
	// Unresolved: the reference uses an ARG that has no value.
	Unresolved
)

func (k Kind) String() string {
	switch k {
	case Image:
		return "image"
	case Stage:
		return "stage"
	case Scratch:
		return "scratch"
	case Unresolved:
		return "unresolved"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Via is the instruction that names a parent image.
type Via int

const (
	// ViaFrom: FROM <image>.
	ViaFrom Via = iota
	// ViaCopy: COPY --from=<image>.
	ViaCopy
	// ViaMount: RUN --mount=from=<image> (any mount type).
	ViaMount
)

// Describe writes the instruction with ref as its image, as a Dockerfile
// would hold it.
func (v Via) Describe(ref string) string {
	switch v {
	case ViaCopy:
		return "COPY --from=" + ref
	case ViaMount:
		return "RUN --mount=from=" + ref
	}
	return "FROM " + ref
}

// From is one image an instruction builds on: the base of a FROM, or the
// source of a COPY --from or RUN --mount=from that names an image rather
// than a stage.
type From struct {
	// Via is the instruction (FROM unless set).
	Via Via
	// Line is the first line of the instruction (1-based); EndLine the last
	// (they differ with continuation lines).
	Line, EndLine int
	// Index is the stage number (0-based); Name the stage name given with
	// AS, lowercased as Docker does ("" for none). For COPY and RUN, Index
	// is the stage the instruction is in and Name is empty.
	Index int
	Name  string
	// Written is the base as written; Expanded after ARG expansion (for
	// Unresolved: what docker build would use with no build args). COPY
	// --from and RUN --mount=from are never expanded (buildkit refuses
	// variables there), so both hold the value as written.
	Written, Expanded string
	// Platform is the --platform value as written.
	Platform string
	Kind     Kind
	// Missing names the variables that have no value (Unresolved only), and
	// Reason says why, naming the ARG lines.
	Missing []string
	Reason  string
}

// Options are the build settings docker build would get.
type Options struct {
	// BuildArgs are --build-arg values; as with docker build they apply only
	// to ARGs the Dockerfile declares (and to the built-in platform ARGs).
	BuildArgs map[string]string
	// Platform is the build and target platform for the built-in ARGs
	// (BUILDPLATFORM, TARGETARCH...); default linux/amd64.
	Platform string
}

// SyntaxError is a problem docker build would stop at.
type SyntaxError struct {
	Line int // 0 when the parser gives none
	Msg  string
	// TooLarge marks a word relkit refused to expand (see MaxExpansion):
	// docker build would go on and exhaust memory, not stop.
	TooLarge bool
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// SyntaxErrors are all the syntax errors of one Dockerfile.
type SyntaxErrors []*SyntaxError

func (es SyntaxErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// MaxSize is the largest Dockerfile Analyze reads; docker build has no such
// limit, but nothing real comes close.
const MaxSize = 4 << 20

// Analyze parses a Dockerfile and resolves the base of every FROM. Syntax
// problems come back as SyntaxErrors, together with the FROMs that could
// still be resolved: an instruction that does not parse is skipped, and the
// analysis goes on.
func Analyze(content []byte, opts Options) ([]From, error) {
	if len(content) > MaxSize {
		return nil, SyntaxErrors{{Msg: fmt.Sprintf("the file is %d bytes; expected a Dockerfile of at most %d", len(content), MaxSize)}}
	}
	res, err := parser.Parse(bytes.NewReader(content))
	if err != nil {
		return nil, SyntaxErrors{syntaxError(err, 0)}
	}
	a := &analysis{
		lex:      shell.NewLex(res.EscapeToken),
		env:      builtinArgs(opts),
		buildArg: opts.BuildArgs,
		global:   map[string]argDecl{},
		local:    map[string]int{},
		stages:   map[string]int{},
		tainted:  map[string][]string{},
		oversize: map[string]int{},
		budget:   maxExpansionWork,
	}
	for _, n := range res.AST.Children {
		if a.stopped {
			break
		}
		a.node(n)
	}
	a.resolveSources()
	// Sources are resolved once every stage name is known; keep the
	// instructions in file order.
	slices.SortStableFunc(a.froms, func(x, y From) int { return x.Line - y.Line })
	if len(a.errs) > 0 {
		return a.froms, a.errs
	}
	return a.froms, nil
}

type argDecl struct {
	line       int
	hasDefault bool
}

type analysis struct {
	lex      *shell.Lex
	env      envMap
	buildArg map[string]string
	// global are the ARGs before the first FROM; local the first line of
	// each ARG inside a stage (which FROM never sees).
	global map[string]argDecl
	local  map[string]int
	// stages maps stage names to their index; while the FROMs are read it
	// holds the earlier stages only, which is what FROM can name.
	stages  map[string]int
	tainted map[string][]string // global ARG -> unset variables its default used
	// oversize maps a global ARG that was too large to expand to its line.
	oversize map[string]int
	froms    []From
	// sources are the COPY --from and RUN --mount=from values, resolved
	// once every stage name is known.
	sources []source
	errs    SyntaxErrors
	// seenFrom is set at the first FROM; nstages counts FROMs so far.
	seenFrom bool
	nstages  int
	// budget is what expansions may still produce (see maxExpansionWork);
	// stopped is set when it ran out, and the rest of the file is skipped.
	budget  int
	stopped bool
}

func (a *analysis) node(n *parser.Node) {
	cmd, err := instructions.ParseInstruction(n)
	if err != nil {
		a.errs = append(a.errs, syntaxError(err, n.StartLine))
		if strings.EqualFold(n.Value, "from") {
			a.failedFrom(n)
		}
		return
	}
	switch c := cmd.(type) {
	case *instructions.ArgCommand:
		if a.seenFrom {
			for _, kv := range c.Args {
				if _, ok := a.local[kv.Key]; !ok {
					a.local[kv.Key] = n.StartLine
				}
			}
			return
		}
		a.globalArg(c, n.StartLine)
	case *instructions.Stage:
		a.seenFrom = true
		if f, ok := a.resolve(c, n); ok {
			a.froms = append(a.froms, f)
		}
		a.nstages++
		if c.Name != "" {
			a.stages[c.Name] = a.nstages - 1
		}
	default:
		if !a.seenFrom {
			a.errs = append(a.errs, &SyntaxError{Line: n.StartLine, Msg: fmt.Sprintf("%s before the first FROM; only ARG may come before it", strings.ToUpper(n.Value))})
			return
		}
		switch c := cmd.(type) {
		case *instructions.CopyCommand:
			if c.From != "" {
				a.sources = append(a.sources, source{via: ViaCopy, value: c.From, n: n, stage: a.nstages - 1})
			}
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(c) {
				if m.From != "" {
					a.sources = append(a.sources, source{via: ViaMount, value: m.From, n: n, stage: a.nstages - 1})
				}
			}
		}
	}
}

// failedFrom keeps the stage name of a FROM that did not parse, so later
// references to it are not taken for registry images.
func (a *analysis) failedFrom(n *parser.Node) {
	a.seenFrom = true
	a.nstages++
	var args []string
	for c := n.Next; c != nil && len(args) < 4; c = c.Next {
		args = append(args, c.Value)
	}
	if len(args) == 3 && strings.EqualFold(args[1], "as") {
		a.stages[strings.ToLower(args[2])] = a.nstages - 1
	}
}

// globalArg applies an ARG before the first FROM as buildkit does: a build
// arg wins over the default, the default is expanded with the ARGs before
// it, and an ARG with neither leaves the variable as it was (unset, or a
// built-in's value).
func (a *analysis) globalArg(c *instructions.ArgCommand, line int) {
	for _, kv := range c.Args {
		decl := argDecl{line: line, hasDefault: kv.Value != nil}
		if v, ok := a.buildArg[kv.Key]; ok {
			a.env.set(kv.Key, v)
			delete(a.tainted, kv.Key)
			delete(a.oversize, kv.Key)
			decl.hasDefault = true
		} else if kv.Value != nil {
			r, err := a.expand(*kv.Value, a.env)
			if tl := (*tooLarge)(nil); errors.As(err, &tl) {
				a.tooLarge(line, fmt.Sprintf("ARG %s: %v", kv.Key, tl), tl)
				// Later words see the variable as set but unknown: a FROM
				// using it is unresolved, and says why.
				a.oversize[kv.Key] = line
				a.tainted[kv.Key] = []string{kv.Key}
				a.env.set(kv.Key, "")
				a.global[kv.Key] = argDecl{line: line, hasDefault: true}
				continue
			}
			if err != nil {
				a.errs = append(a.errs, &SyntaxError{Line: line, Msg: fmt.Sprintf("ARG %s: %v", kv.Key, err)})
				continue
			}
			missing := a.missing(*kv.Value, r, line)
			for k := range r.Matched {
				missing = append(missing, a.tainted[k]...)
			}
			slices.Sort(missing)
			missing = slices.Compact(missing)
			if len(missing) > 0 {
				a.tainted[kv.Key] = missing
			} else {
				delete(a.tainted, kv.Key)
			}
			a.env.set(kv.Key, r.Result)
			delete(a.oversize, kv.Key)
		}
		if _, ok := a.global[kv.Key]; !ok || decl.hasDefault {
			a.global[kv.Key] = decl
		}
	}
}

// unsetMark stands in for an unset variable when probing whether its
// emptiness reaches an expansion.
const unsetMark = "\x00relkit-unset\x00"

// missing returns the unset variables whose emptiness reaches the expansion
// of word: $X and ${X} count, ${X:-default} and ${X:+alt} do not. Each
// unset variable is tried with a marker value: if the marker reaches the
// result and removing it gives back the real result, the real result holds
// the empty value where the variable's value would be.
func (a *analysis) missing(word string, r shell.ProcessWordResult, line int) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(r.Unmatched)) {
		probe := a.env.with(name, unsetMark)
		got, err := a.expand(word, probe)
		if tl := (*tooLarge)(nil); errors.As(err, &tl) {
			// The word fitted without the marker, so this is nearly always
			// the file's budget running out, which stops the analysis.
			a.tooLarge(line, tl.Error(), tl)
			return out
		}
		if err == nil && strings.Contains(got.Result, unsetMark) && strings.ReplaceAll(got.Result, unsetMark, "") == r.Result {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// resolve expands the base of a FROM; false when docker build would stop
// there (the error is recorded).
func (a *analysis) resolve(c *instructions.Stage, n *parser.Node) (From, bool) {
	f := From{Line: n.StartLine, EndLine: n.EndLine, Index: a.nstages, Name: c.Name,
		Written: c.BaseName, Platform: c.Platform}
	r, err := a.expand(c.BaseName, a.env)
	if tl := (*tooLarge)(nil); errors.As(err, &tl) {
		a.tooLarge(f.Line, fmt.Sprintf("FROM %s: %v", c.BaseName, tl), tl)
		return f, false
	}
	f.Expanded = r.Result
	if err != nil {
		if len(r.Unmatched) == 0 {
			a.errs = append(a.errs, &SyntaxError{Line: f.Line, Msg: fmt.Sprintf("FROM %s: %v", c.BaseName, err)})
			return f, false
		}
		// ${X:?message} with X unset: the build demands a build arg.
		f.Missing = slices.Sorted(maps.Keys(r.Unmatched))
		f.Kind = Unresolved
		f.Reason = fmt.Sprintf("%v (%s)", err, a.explain(f.Missing))
		return f, true
	}
	missing := a.missing(c.BaseName, r, f.Line)
	for k := range r.Matched {
		missing = append(missing, a.tainted[k]...)
	}
	slices.Sort(missing)
	f.Missing = slices.Compact(missing)
	switch {
	case len(f.Missing) > 0:
		f.Kind = Unresolved
		f.Reason = a.explain(f.Missing)
	case r.Result == "":
		a.errs = append(a.errs, &SyntaxError{Line: f.Line, Msg: fmt.Sprintf("FROM %s: the base name expands to nothing; expected an image or stage name", c.BaseName)})
		return f, false
	case a.isStage(r.Result):
		f.Kind = Stage
	case strings.EqualFold(r.Result, "scratch"):
		f.Kind = Scratch
	default:
		f.Kind = Image
	}
	return f, true
}

func (a *analysis) isStage(name string) bool {
	_, ok := a.stages[strings.ToLower(name)]
	return ok
}

// tooLarge records a word that was not expanded; when the file's budget ran
// out, the rest of the file is not analysed.
func (a *analysis) tooLarge(line int, msg string, tl *tooLarge) {
	a.errs = append(a.errs, &SyntaxError{Line: line, Msg: msg, TooLarge: true})
	if tl.work {
		a.stopped = true
	}
}

// explain says, for each variable without a value, why it has none.
func (a *analysis) explain(names []string) string {
	var parts []string
	for _, k := range names {
		g, isGlobal := a.global[k]
		l, isLocal := a.local[k]
		_, hasBuildArg := a.buildArg[k]
		switch ol, isOversize := a.oversize[k]; {
		case isOversize:
			parts = append(parts, fmt.Sprintf("ARG %s (line %d) is too large to expand", k, ol))
		case isGlobal:
			parts = append(parts, fmt.Sprintf("ARG %s (line %d) has no default and no build arg sets it", k, g.line))
		case isLocal:
			parts = append(parts, fmt.Sprintf("ARG %s is declared on line %d, inside a stage, where FROM cannot see it; declare it before the first FROM", k, l))
		default:
			parts = append(parts, fmt.Sprintf("%s is not declared by an ARG before the first FROM", k))
		}
		if hasBuildArg && !isGlobal {
			parts[len(parts)-1] += fmt.Sprintf(" (a build arg %s is configured, but docker build applies build args only to declared ARGs)", k)
		}
	}
	return strings.Join(parts, "; ")
}

func syntaxError(err error, line int) *SyntaxError {
	var le *parser.LocationError
	if errors.As(err, &le) {
		for _, loc := range le.Locations {
			if len(loc) > 0 && loc[0].Start.Line > 0 {
				line = loc[0].Start.Line
				break
			}
		}
	}
	msg := err.Error()
	if line > 0 {
		// buildkit sometimes repeats the location in the text.
		msg = strings.TrimPrefix(msg, fmt.Sprintf("dockerfile parse error on line %d: ", line))
	}
	return &SyntaxError{Line: line, Msg: msg}
}

// builtinArgs are the ARGs docker build defines for every Dockerfile; build
// args may override them.
func builtinArgs(opts Options) envMap {
	plat := opts.Platform
	if plat == "" {
		plat = "linux/amd64"
	}
	parts := strings.SplitN(plat, "/", 3)
	osName, arch, variant := parts[0], "", ""
	if len(parts) > 1 {
		arch = parts[1]
	}
	if len(parts) > 2 {
		variant = parts[2]
	}
	env := envMap{}
	for _, kv := range [][2]string{
		{"BUILDPLATFORM", plat}, {"BUILDOS", osName}, {"BUILDOSVERSION", ""}, {"BUILDARCH", arch}, {"BUILDVARIANT", variant},
		{"TARGETPLATFORM", plat}, {"TARGETOS", osName}, {"TARGETOSVERSION", ""}, {"TARGETARCH", arch}, {"TARGETVARIANT", variant},
		{"TARGETSTAGE", "default"},
	} {
		v := kv[1]
		if o, ok := opts.BuildArgs[kv[0]]; ok {
			v = o
		}
		env.set(kv[0], v)
	}
	return env
}

// envMap is the variable set the shell lexer expands with.
type envMap map[string]string

func (e envMap) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }
func (e envMap) Keys() []string              { return slices.Sorted(maps.Keys(e)) }
func (e envMap) set(k, v string)             { e[k] = v }

// with returns a copy with k set to v.
func (e envMap) with(k, v string) envMap {
	c := maps.Clone(e)
	c[k] = v
	return c
}

// IsDockerfile reports whether a file name is a build file docker or
// podman builds: Dockerfile or Containerfile, <name>.<suffix> and
// <prefix>.<name>, in any letter case (Windows and macOS checkouts do not
// care, and repos hold dockerfile, Dockerfile.prod, app.Dockerfile,
// build.containerfile). Not build files: the <name>.dockerignore and
// .containerignore files buildkit reads next to them, and
// dockerfile.<ext> with a source or document extension (dockerfile.go,
// Dockerfile.md), which are code or prose about Dockerfiles.
func IsDockerfile(name string) bool {
	lower := strings.ToLower(name)
	if strings.HasSuffix(lower, ".dockerignore") || strings.HasSuffix(lower, ".containerignore") {
		return false
	}
	for _, base := range []string{"dockerfile", "containerfile"} {
		switch {
		case lower == base:
			return true
		case strings.HasPrefix(lower, base+".") && len(lower) > len(base)+1:
			return !notBuildFileExt[lower[len(base)+1:]]
		case strings.HasSuffix(lower, "."+base) && len(lower) > len(base)+1:
			return true
		}
	}
	return false
}

// notBuildFileExt are suffixes that make Dockerfile.<suffix> a source file
// or a document rather than a build file.
var notBuildFileExt = map[string]bool{
	"go": true, "py": true, "rb": true, "js": true, "ts": true, "java": true, "rs": true, "c": true, "h": true,
	"sh": true, "md": true, "rst": true, "txt": true, "adoc": true, "html": true, "json": true, "yaml": true,
	"yml": true, "toml": true, "orig": true, "rej": true, "bak": true, "swp": true,
}
