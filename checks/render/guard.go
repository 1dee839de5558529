package render

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"unicode/utf8"
)

type reflectValue = reflect.Value

// guard wraps a template function so that it checks the time, refuses a
// call whose estimated allocation exceeds what is left of the budget, and
// charges what the call returned. The wrapper has fn's exact type, so
// templates see no difference.
func (e *engine) guard(name string, fn any) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func {
		return fn
	}
	pre := estimates[name]
	if pre == nil && serializers[name] {
		pre = serialized
	}
	post := resultSize
	switch {
	case passThrough[name]:
		post = nil
	case deepResults[name]:
		post = func(r reflect.Value) int64 { return weighValue(r, math.MaxInt64) }
	}
	return reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		must(e.b.alive())
		if pre != nil {
			must(e.b.need(pre(args, e.b.max-e.b.used)))
		}
		var out []reflect.Value
		if t.IsVariadic() {
			out = v.CallSlice(args)
		} else {
			out = v.Call(args)
		}
		if post != nil && len(out) > 0 {
			must(e.b.charge(post(out[0])))
		}
		return out
	}).Interface()
}

// passThrough functions return one of their arguments, a value the
// template already holds, or text already charged (include, tpl): their
// result is not new memory.
var passThrough = setOf("include", "tpl", "required", "fail", "default", "coalesce", "ternary",
	"first", "mustFirst", "last", "mustLast", "get", "dig", "set", "unset",
	"merge", "mergeOverwrite", "mustMerge", "mustMergeOverwrite",
	"empty", "all", "any", "hasKey", "has", "mustHas", "deepEqual", "contains", "hasPrefix", "hasSuffix",
	"typeOf", "typeIs", "typeIsLike", "kindOf", "kindIs", "lookup", "getHostByName",
	"regexMatch", "mustRegexMatch", "semverCompare")

// deepResults build a new structure as large as their input.
var deepResults = setOf("deepCopy", "mustDeepCopy", "fromYaml", "fromYamlArray", "fromJson", "fromJsonArray",
	"fromToml", "mustFromJson")

// serializers format every value reachable from their arguments; a
// structure that shares parts (a dict holding the same dict twice, again
// and again) is small in memory and exponential once formatted.
var serializers = setOf("toYaml", "toYamlPretty", "toJson", "toPrettyJson", "toRawJson", "mustToJson",
	"mustToPrettyJson", "mustToRawJson", "toToml", "toString", "toStrings", "quote", "squote", "cat", "join",
	"sortAlpha", "deepCopy", "mustDeepCopy", "merge", "mergeOverwrite", "mustMerge", "mustMergeOverwrite",
	"print", "printf", "println", "html", "js", "urlquery", "deepEqual", "uniq", "mustUniq", "concat")

// formatFactor bounds how much larger than its weight a value gets once
// formatted: JSON writes a control character or '<' as six bytes.
const formatFactor = 6

func serialized(args []reflect.Value, room int64) int64 {
	w := &weigher{limit: room/formatFactor + 1}
	for _, a := range args {
		if !w.walk(a, 0) {
			break
		}
	}
	// printf's widths and precisions pad without limit.
	return mulSat(w.total, formatFactor)
}

// estimates are the functions whose result can be far larger than their
// arguments, by what they will allocate.
var estimates = map[string]func(args []reflect.Value, room int64) int64{
	"repeat":  func(a []reflect.Value, _ int64) int64 { return mulSat(a[0].Int(), int64(a[1].Len())) },
	"indent":  indentCost,
	"nindent": indentCost,
	"until":   func(a []reflect.Value, _ int64) int64 { return mulSat(abs(a[0].Int()), 16) },
	"untilStep": func(a []reflect.Value, _ int64) int64 {
		return mulSat(steps(float64(a[0].Int()), float64(a[1].Int()), float64(a[2].Int())), 16)
	},
	"seq":          seqCost,
	"randAlphaNum": countCost,
	"randAlpha":    countCost,
	"randAscii":    countCost,
	"randNumeric":  countCost,
	"randBytes":    func(a []reflect.Value, _ int64) int64 { return mulSat(a[0].Int(), 2) },
	"replace": func(a []reflect.Value, _ int64) int64 {
		old, repl, src := a[0].String(), a[1].String(), a[2].String()
		n := int64(utf8.RuneCountInString(src) + 1)
		if old != "" {
			n = int64(strings.Count(src, old))
		}
		return addSat(mulSat(n, int64(len(repl))), int64(len(src)))
	},
	"regexReplaceAll":            regexReplaceCost,
	"mustRegexReplaceAll":        regexReplaceCost,
	"regexReplaceAllLiteral":     regexReplaceCost,
	"mustRegexReplaceAllLiteral": regexReplaceCost,
	"wrap":                       func(a []reflect.Value, _ int64) int64 { return int64(2*a[1].Len() + 1) },
	"wrapWith": func(a []reflect.Value, _ int64) int64 {
		l, sep, s := max(a[0].Int(), 1), int64(a[1].Len()), int64(a[2].Len())
		return addSat(s, mulSat(s/l+1, sep))
	},
	"printf":    printfCost,
	"splitList": splitCost(16),
	"split":     splitCost(48),
	"splitn": func(a []reflect.Value, _ int64) int64 {
		return mulSat(min(int64(strings.Count(a[2].String(), a[0].String())+1), abs(a[1].Int())), 48)
	},
}

// maxFmtPad is fmt's own bound on a width or precision; a larger one
// prints %!(BADWIDTH).
const maxFmtPad = 1_000_000

// printfCost adds to the formatted arguments every width and precision of
// the format (a format from values can hold thousands of %999999d).
func printfCost(a []reflect.Value, room int64) int64 {
	total := serialized(a, room)
	f := a[0].String()
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		// Flags, argument indexes, widths and precisions up to the verb;
		// every number counts as padding (an index too: a harmless
		// overestimate).
		j := i + 1
		for ; j < len(f) && strings.IndexByte("+-# 0123456789.[]*", f[j]) >= 0; j++ {
		}
		n := int64(0)
		for _, c := range []byte(f[i+1 : j]) {
			switch {
			case c >= '0' && c <= '9':
				n = min(n*10+int64(c-'0'), maxFmtPad)
				continue
			case c == '*':
				total = addSat(total, maxFmtPad)
			}
			total, n = addSat(total, n), 0
		}
		total = addSat(total, n)
		i = j
	}
	return total
}

func indentCost(a []reflect.Value, _ int64) int64 {
	s := a[1].String()
	return addSat(mulSat(abs(a[0].Int()), int64(strings.Count(s, "\n")+1)), int64(len(s)+1))
}

func countCost(a []reflect.Value, _ int64) int64 { return abs(a[0].Int()) }

// seqCost: seq END, seq START END or seq START STEP END, as digits.
func seqCost(a []reflect.Value, _ int64) int64 {
	p := a[0]
	n := p.Len()
	if n == 0 || n > 3 {
		return 0
	}
	start, step, end := 1.0, 1.0, float64(p.Index(n-1).Int())
	if n >= 2 {
		start = float64(p.Index(0).Int())
	}
	if n == 3 {
		step = float64(p.Index(1).Int())
	}
	if step == 0 {
		return 0
	}
	return mulSat(int64(math.Min(math.Abs((end-start)/step)+1, math.MaxInt64/32)), 21)
}

func regexReplaceCost(a []reflect.Value, _ int64) int64 {
	s, repl := int64(a[1].Len()), a[2].String()
	// Every match (at most one per position) gets the replacement; each
	// $n expands to at most the whole input over all matches.
	return addSat(mulSat(s+1, int64(len(repl))), mulSat(s, int64(strings.Count(repl, "$")+1)))
}

func splitCost(per int64) func([]reflect.Value, int64) int64 {
	return func(a []reflect.Value, _ int64) int64 {
		sep, s := a[0].String(), a[1].String()
		n := utf8.RuneCountInString(s)
		if sep != "" {
			n = strings.Count(s, sep) + 1
		}
		return mulSat(int64(n), per)
	}
}

// steps is how many values untilStep gives.
func steps(start, stop, step float64) int64 {
	if step == 0 || (stop-start)/step <= 0 {
		return 0
	}
	return int64(math.Min(math.Ceil((stop-start)/step), math.MaxInt64/32))
}

// resultSize is the memory a function's result holds of its own: a
// string's bytes, a collection's slots (its elements are charged when
// they are made).
func resultSize(v reflect.Value) int64 {
	switch v.Kind() {
	case reflect.String:
		return int64(v.Len())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return int64(v.Len())
		}
		return int64(v.Len()) * 16
	case reflect.Array:
		return int64(v.Len()) * 16
	case reflect.Map:
		return int64(v.Len()) * 48
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			return resultSize(v.Elem())
		}
	}
	return 0
}

// maxWeighDepth stops weighing at a depth no chart's data reaches: a
// deeper value is a cycle or a bomb.
const maxWeighDepth = 10_000

// weigh estimates how large v gets once formatted (fmt, JSON or YAML),
// counting shared parts every time they are reached and the indentation
// of nested ones; it stops counting past limit.
func weigh(v any, limit int64) int64 { return weighValue(reflect.ValueOf(v), limit) }

func weighValue(v reflect.Value, limit int64) int64 {
	w := &weigher{limit: limit}
	w.walk(v, 0)
	return w.total
}

type weigher struct{ total, limit int64 }

func (w *weigher) add(n int64) bool {
	w.total = addSat(w.total, n)
	return w.total <= w.limit
}

func (w *weigher) walk(v reflect.Value, depth int) bool {
	if depth > maxWeighDepth {
		w.total = math.MaxInt64
		return false
	}
	indent := int64(2 + 2*depth)
	switch v.Kind() {
	case reflect.Invalid:
		return w.add(4)
	case reflect.String:
		return w.add(int64(v.Len()) + 2)
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return w.add(4)
		}
		return w.walk(v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return w.add(mulSat(int64(v.Len()), 4))
		}
		for i := range v.Len() {
			if !w.add(indent) || !w.walk(v.Index(i), depth+1) {
				return false
			}
		}
		return true
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if !w.add(indent) || !w.walk(it.Key(), depth+1) || !w.walk(it.Value(), depth+1) {
				return false
			}
		}
		return true
	case reflect.Struct:
		t := v.Type()
		for i := range v.NumField() {
			if !w.add(indent+int64(len(t.Field(i).Name))) || !w.walk(v.Field(i), depth+1) {
				return false
			}
		}
		return true
	}
	return w.add(24)
}

var (
	errorType    = reflect.TypeFor[error]()
	stringerType = reflect.TypeFor[fmt.Stringer]()
)

// printable returns v as text/template prints it when v came straight
// from the pipeline.
func printable(v any) reflect.Value {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Struct {
		t, pt := rv.Type(), reflect.PointerTo(rv.Type())
		if !t.Implements(errorType) && !t.Implements(stringerType) && (pt.Implements(errorType) || pt.Implements(stringerType)) {
			p := reflect.New(t)
			p.Elem().Set(rv)
			return p
		}
	}
	return rv
}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func abs(n int64) int64 {
	if n < 0 {
		if n == math.MinInt64 {
			return math.MaxInt64
		}
		return -n
	}
	return n
}

// mulSat multiplies non-negative sizes, saturating; a negative factor
// (a bad count the function itself rejects) gives 0.
func mulSat(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

func addSat(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
