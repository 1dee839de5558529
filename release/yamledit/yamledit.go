// Package yamledit changes scalar values in YAML files (and the version in
// VERSION files) the way a person would: only the bytes of the value
// change. Quotes, comments, blank lines, indentation and line endings stay
// as they were written.
//
// A YAML round trip (decode, encode) re-indents, drops blank lines and
// moves comments, so it is never used. Instead the value's node is located
// with yaml.v3 (line and column), its bytes are replaced in the original
// text keeping its quote style, and the result is parsed again and compared
// with the original tree: everything but the edited values must be equal,
// comments included. Values that cannot be edited safely this way are
// refused: anchored or aliased nodes (an edit would change other places
// too), multi-line scalars, block scalars (| and >), and files holding
// more than one YAML document.
package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Edit sets the scalar at Path to Value.
type Edit struct {
	// Path names the scalar from the top of the document: mapping keys, and
	// sequence indexes written in decimal ({"dependencies", "0", "version"}).
	Path []string
	// Value is the new value, unquoted; it is written in the quote style the
	// old value had.
	Value string
}

// Change is an edit as applied: where it was and what it replaced.
type Change struct {
	Path []string `json:"path"`
	// Line is the 1-based line of the value.
	Line int    `json:"line"`
	Old  string `json:"old"`
	New  string `json:"new"`
}

// Error says why an edit was refused; Line is 0 when no line applies.
type Error struct {
	Line   int
	Path   string
	Reason string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// PathString writes a path the way people read it: dependencies[0].version.
func PathString(path []string) string {
	var b strings.Builder
	for i, p := range path {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// Parse reads a single-document YAML file into its root node (a document
// node). Empty input gives an empty document node.
func Parse(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{Kind: yaml.DocumentNode}, nil
		}
		return nil, &Error{Reason: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		return nil, &Error{Line: more.Line, Reason: "a second YAML document starts here; expected one document per file"}
	} else if !errors.Is(err, io.EOF) {
		return nil, &Error{Reason: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	return &doc, nil
}

// Lookup finds the node at path under a document node. It refuses paths
// that pass through anchors, aliases or merge keys, since a value there is
// shared with other places.
func Lookup(doc *yaml.Node, path []string) (*yaml.Node, error) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &Error{Path: PathString(path), Reason: "the document is empty"}
	}
	n := doc.Content[0]
	for i := 0; ; i++ {
		where := PathString(path[:i])
		if n.Kind == yaml.AliasNode {
			return nil, &Error{Line: n.Line, Path: where, Reason: fmt.Sprintf("is an alias (*%s); relkit does not edit shared YAML values, edit the anchor by hand", n.Value)}
		}
		if n.Anchor != "" {
			return nil, &Error{Line: n.Line, Path: where, Reason: fmt.Sprintf("carries the anchor &%s; relkit does not edit shared YAML values, edit it by hand", n.Anchor)}
		}
		if i == len(path) {
			return n, nil
		}
		step := path[i]
		switch n.Kind {
		case yaml.MappingNode:
			var found *yaml.Node
			merge := false
			for j := 0; j+1 < len(n.Content); j += 2 {
				k := n.Content[j]
				if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
					merge = true
				}
				if k.Kind == yaml.ScalarNode && k.Value == step {
					if found != nil {
						return nil, &Error{Line: k.Line, Path: PathString(path[:i+1]), Reason: "the key appears twice in its mapping"}
					}
					found = n.Content[j+1]
				}
			}
			if found == nil {
				reason := fmt.Sprintf("no key %q", step)
				if merge {
					reason += " (it may come from a << merge key, which relkit does not edit)"
				}
				return nil, &Error{Line: n.Line, Path: where, Reason: reason}
			}
			n = found
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(step)
			if err != nil || idx < 0 || idx >= len(n.Content) {
				return nil, &Error{Line: n.Line, Path: where, Reason: fmt.Sprintf("no item %q in a list of %d", step, len(n.Content))}
			}
			n = n.Content[idx]
		default:
			return nil, &Error{Line: n.Line, Path: where, Reason: fmt.Sprintf("is a scalar, not a mapping or list, so it has no %q", step)}
		}
	}
}

// Get returns the scalar value at path and its line.
func Get(data []byte, path ...string) (string, int, error) {
	doc, err := Parse(data)
	if err != nil {
		return "", 0, err
	}
	n, err := Lookup(doc, path)
	if err != nil {
		return "", 0, err
	}
	if n.Kind != yaml.ScalarNode {
		return "", n.Line, &Error{Line: n.Line, Path: PathString(path), Reason: "is not a scalar value"}
	}
	return n.Value, n.Line, nil
}

// span is the byte range of a scalar's text in the file.
type span struct {
	start, end int
	node       *yaml.Node
	edit       Edit
}

// Apply makes the edits and returns the new content and what changed. An
// edit whose value is already the wanted one changes nothing and is not
// reported. Either every edit is made or none is.
func Apply(data []byte, edits ...Edit) ([]byte, []Change, error) {
	doc, err := Parse(data)
	if err != nil {
		return nil, nil, err
	}
	lines := lineStarts(data)
	var spans []span
	for _, e := range edits {
		n, err := Lookup(doc, e.Path)
		if err != nil {
			return nil, nil, err
		}
		p := PathString(e.Path)
		if n.Kind != yaml.ScalarNode {
			return nil, nil, &Error{Line: n.Line, Path: p, Reason: "is a mapping or list, expected a single value"}
		}
		if slices.ContainsFunc(spans, func(s span) bool { return s.node == n }) {
			return nil, nil, &Error{Line: n.Line, Path: p, Reason: "is edited twice"}
		}
		start, end, err := locate(data, lines, n)
		if err != nil {
			return nil, nil, &Error{Line: n.Line, Path: p, Reason: err.Error()}
		}
		if n.Value == e.Value {
			continue
		}
		spans = append(spans, span{start, end, n, e})
	}
	if len(spans) == 0 {
		return data, nil, nil
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var out bytes.Buffer
	out.Grow(len(data) + 16*len(spans))
	last := 0
	changes := make([]Change, 0, len(spans))
	for _, s := range spans {
		raw, err := quote(s.node, s.edit.Value)
		if err != nil {
			return nil, nil, &Error{Line: s.node.Line, Path: PathString(s.edit.Path), Reason: err.Error()}
		}
		out.Write(data[last:s.start])
		out.WriteString(raw)
		last = s.end
		changes = append(changes, Change{Path: slices.Clone(s.edit.Path), Line: s.node.Line, Old: s.node.Value, New: s.edit.Value})
	}
	out.Write(data[last:])
	result := out.Bytes()
	if err := verify(doc, result, spans); err != nil {
		return nil, nil, err
	}
	return result, changes, nil
}

// lineStarts returns the byte offset of each line's start (index 0 is line 1).
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offset turns a yaml.v3 line and column (1-based, counted in characters)
// into a byte offset.
func offset(data []byte, lines []int, line, col int) (int, error) {
	if line < 1 || line > len(lines) {
		return 0, fmt.Errorf("the parser placed the value on line %d, outside the file", line)
	}
	off := lines[line-1]
	if line == 1 && bytes.HasPrefix(data, []byte("\ufeff")) {
		off += 3
	}
	for c := 1; c < col; c++ {
		if off >= len(data) || data[off] == '\n' {
			return 0, fmt.Errorf("the parser placed the value at column %d, past the end of line %d", col, line)
		}
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	return off, nil
}

// locate finds the bytes of a one-line scalar, quotes included.
func locate(data []byte, lines []int, n *yaml.Node) (int, int, error) {
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, 0, errors.New("is a block scalar (| or >); relkit edits one-line values only")
	}
	start, err := offset(data, lines, n.Line, n.Column)
	if err != nil {
		return 0, 0, err
	}
	// An explicit tag (!!str 1.2.3) comes first: skip it and the blanks after.
	if start < len(data) && data[start] == '!' {
		for start < len(data) && !isBlank(data[start]) && data[start] != '\n' {
			start++
		}
		for start < len(data) && isBlank(data[start]) {
			start++
		}
	}
	rest := data[start:]
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		if len(rest) == 0 || rest[0] != '"' {
			return 0, 0, errors.New("expected a double-quoted value at the position the parser gave")
		}
		for i := 1; i < len(rest); i++ {
			switch rest[i] {
			case '\\':
				i++
			case '\n', '\r':
				return 0, 0, errors.New("is a quoted value spanning several lines; relkit edits one-line values only")
			case '"':
				var v string
				if err := yaml.Unmarshal(rest[:i+1], &v); err != nil || v != n.Value {
					return 0, 0, errors.New("could not match the double-quoted value to its text")
				}
				return start, start + i + 1, nil
			}
		}
		return 0, 0, errors.New("the double-quoted value has no closing quote on its line")
	case n.Style&yaml.SingleQuotedStyle != 0:
		raw := "'" + strings.ReplaceAll(n.Value, "'", "''") + "'"
		if !bytes.HasPrefix(rest, []byte(raw)) {
			return 0, 0, errors.New("is a quoted value spanning several lines; relkit edits one-line values only")
		}
		return start, start + len(raw), nil
	default:
		// A plain scalar on one line is its value, byte for byte; a plain
		// scalar folded over several lines has a line break where its value
		// has a space, so it does not match.
		if !bytes.HasPrefix(rest, []byte(n.Value)) || n.Value == "" {
			if n.Value == "" {
				return 0, 0, errors.New("is empty; relkit edits only values that are written out")
			}
			return 0, 0, errors.New("is a plain value spanning several lines; relkit edits one-line values only")
		}
		return start, start + len(n.Value), nil
	}
}

func isBlank(b byte) bool { return b == ' ' || b == '\t' }

// quote writes v in the style of the node it replaces.
func quote(n *yaml.Node, v string) (string, error) {
	if strings.ContainsAny(v, "\n\r") {
		return "", fmt.Errorf("new value %q spans several lines", v)
	}
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		var b strings.Builder
		b.WriteByte('"')
		for _, r := range v {
			switch {
			case r == '"' || r == '\\':
				b.WriteByte('\\')
				b.WriteRune(r)
			case r < 0x20 || r == 0x7f:
				fmt.Fprintf(&b, "\\x%02x", r)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('"')
		return b.String(), nil
	case n.Style&yaml.SingleQuotedStyle != 0:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'", nil
	default:
		if v == "" {
			return "", errors.New("an empty value cannot be written unquoted")
		}
		return v, nil
	}
}

// verify parses the edited text and compares it with the original tree
// with the edits applied: same structure, tags, styles and comments.
func verify(orig *yaml.Node, result []byte, spans []span) error {
	got, err := Parse(result)
	if err != nil {
		return &Error{Reason: "the edited file no longer parses (" + err.Error() + "); nothing was changed"}
	}
	want := map[*yaml.Node]string{}
	for _, s := range spans {
		want[s.node] = s.edit.Value
	}
	return same(orig, got, want, nil)
}

func same(a, b *yaml.Node, want map[*yaml.Node]string, path []string) error {
	fail := func(what string) error {
		return &Error{Line: b.Line, Path: PathString(path), Reason: "after the edit the file reads differently (" + what + "); nothing was changed"}
	}
	value := a.Value
	if v, ok := want[a]; ok {
		value = v
	}
	switch {
	case a.Kind != b.Kind:
		return fail("kind")
	case value != b.Value:
		return fail(fmt.Sprintf("value %q, expected %q", b.Value, value))
	case a.Tag != b.Tag:
		return fail(fmt.Sprintf("type %s, expected %s; quote the value", b.Tag, a.Tag))
	case a.Style != b.Style:
		return fail("quote style")
	case a.Anchor != b.Anchor:
		return fail("anchor")
	case a.HeadComment != b.HeadComment || a.LineComment != b.LineComment || a.FootComment != b.FootComment:
		return fail("comments")
	case len(a.Content) != len(b.Content):
		return fail("number of entries")
	}
	for i := range a.Content {
		p := path
		if a.Kind == yaml.MappingNode {
			if i%2 == 1 {
				p = append(slices.Clone(path), a.Content[i-1].Value)
			}
		} else if a.Kind == yaml.SequenceNode {
			p = append(slices.Clone(path), strconv.Itoa(i))
		}
		if err := same(a.Content[i], b.Content[i], want, p); err != nil {
			return err
		}
	}
	return nil
}
