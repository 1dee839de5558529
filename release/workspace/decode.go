package workspace

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder turns a yaml.Node tree into Go values by the `yaml` struct tags,
// strictly: unknown keys, wrong kinds and duplicate keys are errors that name
// the file, the line and the key path. It also remembers the line of every
// key path so later validation can point at the right line.
type decoder struct {
	file  string
	lines map[string]int
	errs  []string
	// dropped counts the problems not kept beyond maxProblems.
	dropped int
	// expanded counts the nodes decoded again through aliases; past
	// maxAliasExpansion the decoder stops (see decode).
	expanded int
	inAlias  int
	stopped  bool
}

const (
	// maxProblems bounds the problems kept (and printed): a file of a
	// million wrong keys is reported by its first ones, in bounded memory.
	maxProblems = 100
	// maxAliasExpansion bounds how many nodes aliases may add. An alias is
	// decoded as a copy of its anchor, so nested aliases multiply
	// ("billion laughs": ten lists of ten aliases each make 10^10 values
	// from a few hundred bytes). Sharing a few blocks between components
	// stays far below it.
	maxAliasExpansion = 10000
)

// add records a problem, keeping at most maxProblems.
func (d *decoder) add(msg string) {
	if len(d.errs) >= maxProblems {
		d.dropped++
		return
	}
	d.errs = append(d.errs, msg)
}

// problems is the list to report, with a last line counting the
// problems left out.
func (d *decoder) problems() []string {
	if d.dropped == 0 {
		return d.errs
	}
	return append(d.errs, fmt.Sprintf("%s: ... and %d more problem(s)", d.file, d.dropped))
}

// Date is a calendar day written as YYYY-MM-DD.
type Date struct{ time.Time }

var dateType = reflect.TypeFor[Date]()

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	d.add(fmt.Sprintf("%s:%d: %s", d.file, n.Line, msg))
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!int", "!!float":
			return "a number (" + n.Value + ")"
		case "!!bool":
			return "a boolean (" + n.Value + ")"
		}
		return fmt.Sprintf("the string %q", n.Value)
	}
	return "an empty document"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	if d.stopped {
		return
	}
	if d.inAlias > 0 {
		d.expanded++
	}
	if n.Kind == yaml.AliasNode {
		if d.expanded >= maxAliasExpansion {
			d.stopped = true
			d.fail(n, path, "aliases expand to more than %d values here; relkit does not follow alias chains this large (a \"billion laughs\" file?): write the values out", maxAliasExpansion)
			return
		}
		d.inAlias++
		defer func() { d.inAlias-- }()
		n = n.Alias
	}
	d.lines[path] = n.Line
	if v.Kind() == reflect.Pointer {
		if n.Tag == "!!null" {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, path, v.Elem())
		return
	}
	if v.Type() == dateType {
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "expected a date (YYYY-MM-DD), got %s", kindName(n))
			return
		}
		t, err := time.Parse(time.DateOnly, n.Value)
		if err != nil {
			d.fail(n, path, "expected a date (YYYY-MM-DD), got %q", n.Value)
			return
		}
		v.Set(reflect.ValueOf(Date{t}))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Tag == "!!bool" {
			d.fail(n, path, "expected a string, got %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || err != nil {
			d.fail(n, path, "expected true or false, got %s", kindName(n))
			return
		}
		v.SetBool(b)
	case reflect.Int:
		i, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			d.fail(n, path, "expected a whole number, got %s", kindName(n))
			return
		}
		v.SetInt(int64(i))
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "expected a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, fmt.Sprintf("%s[%d]", path, i), s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n, path, "expected a mapping, got %s", kindName(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				d.fail(k, path, "expected a string key, got %s", kindName(k))
				continue
			}
			if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
				d.fail(k, path, "key %q appears twice", k.Value)
				continue
			}
			elem := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, join(path, k.Value), elem)
			m.SetMapIndex(reflect.ValueOf(k.Value), elem)
		}
		v.Set(m)
	default:
		panic("workspace: cannot decode into " + v.Type().String())
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping, got %s", kindName(n))
		return
	}
	t := v.Type()
	fields := map[string]int{}
	var known []string
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		fields[name] = i
		known = append(known, name)
	}
	slices.Sort(known)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		idx, ok := fields[k.Value]
		where := path
		if where == "" {
			where = "top level"
		}
		switch {
		case !ok:
			d.fail(k, "", "unknown key %q in %s (expected one of: %s)", k.Value, where, strings.Join(known, ", "))
			continue
		case seen[k.Value]:
			d.fail(k, "", "key %q appears twice in %s", k.Value, where)
			continue
		}
		seen[k.Value] = true
		d.decode(val, join(path, k.Value), v.Field(idx))
	}
}
