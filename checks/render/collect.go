package render

import (
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxDecodedLines bounds the lines of one rendered document decoded
// into YAML nodes: a node costs about 200 bytes, so 7 million one-line
// items (28 MB, within the output limit) took 1.5 GB and 30 s. Longer
// documents are scanned line by line (scanLarge).
const maxDecodedLines = 50_000

// collectImages returns the image references in a rendered manifest: every
// string under an "image" key at any depth (containers, init and ephemeral
// containers, CronJob templates, custom resources following the
// convention), and image maps ({registry, repository, tag, digest}) under
// an "image" key. A document that is not valid YAML is scanned line by
// line instead.
func collectImages(manifest string) []string {
	if !strings.Contains(manifest, "image") {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, doc := range documents(manifest) {
		if !strings.Contains(doc, "image") {
			continue
		}
		if strings.Count(doc, "\n") > maxDecodedLines {
			scanLarge(doc, add)
			continue
		}
		dec := yaml.NewDecoder(strings.NewReader(doc))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				for _, s := range scanLines(doc) {
					add(s)
				}
				break
			}
			walkImages(&n, add, 0)
		}
	}
	return out
}

// documents splits a manifest at the "---" lines that start YAML
// documents (block scalars are indented, so a marker in column 0 is
// always one).
func documents(manifest string) []string {
	var out []string
	start := 0
	for i := 0; i < len(manifest); {
		end := strings.IndexByte(manifest[i:], '\n')
		if end < 0 {
			end = len(manifest)
		} else {
			end += i
		}
		line := strings.TrimRight(manifest[i:end], " \t\r")
		if i > start && (line == "---" || strings.HasPrefix(line, "--- ") || strings.HasPrefix(line, "---\t")) {
			out = append(out, manifest[start:i])
			start = i
		}
		i = end + 1
	}
	return append(out, manifest[start:])
}

func walkImages(n *yaml.Node, add func(string), depth int) {
	if n == nil || depth > 200 {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			walkImages(c, add, depth+1)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "image" {
				switch v.Kind {
				case yaml.ScalarNode:
					if v.Tag != "!!null" {
						add(v.Value)
					}
					continue
				case yaml.MappingNode:
					if s := composeImage(v); s != "" {
						add(s)
					}
				}
			}
			walkImages(v, add, depth+1)
		}
	case yaml.AliasNode:
		// Aliases repeat content already walked.
	}
}

// composeImage builds a reference from an image map {registry,
// repository, tag, digest}; "" when there is no repository.
func composeImage(m *yaml.Node) string {
	get := func(key string) string {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.ScalarNode && m.Content[i+1].Tag != "!!null" {
				return strings.TrimSpace(m.Content[i+1].Value)
			}
		}
		return ""
	}
	repo := get("repository")
	if repo == "" {
		return ""
	}
	s := repo
	if reg := strings.TrimSuffix(get("registry"), "/"); reg != "" {
		s = reg + "/" + repo
	}
	if tag := get("tag"); tag != "" {
		s += ":" + tag
	}
	if d := get("digest"); d != "" {
		s += "@" + d
	}
	return s
}

var imageLine = regexp.MustCompile(`(?m)^[\s-]*["']?image["']?\s*:\s*["']?([^"'\s#{}]+)`)

// scanLines finds "image: ref" lines in text that does not parse as YAML.
func scanLines(text string) []string {
	var out []string
	for _, m := range imageLine.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// scanLarge finds the images of a document too long to decode, line by
// line: "image: ref" (in a list item too), an image map under "image:"
// written as indented keys or as a flow map, skipping the content of
// block scalars (a dashboard's JSON in a ConfigMap names images that
// nothing runs).
func scanLarge(doc string, add func(string)) {
	block := -1  // inside a block scalar whose key is at this column
	imgMap := -1 // collecting the keys of an "image:" map at this column
	var parts map[string]string
	flush := func() {
		if parts != nil && parts["repository"] != "" {
			ref := parts["repository"]
			if reg := strings.TrimSuffix(parts["registry"], "/"); reg != "" {
				ref = reg + "/" + ref
			}
			if parts["tag"] != "" {
				ref += ":" + parts["tag"]
			}
			if parts["digest"] != "" {
				ref += "@" + parts["digest"]
			}
			add(ref)
		}
		parts, imgMap = nil, -1
	}
	for line := range strings.SplitSeq(doc, "\n") {
		content := strings.TrimSpace(line)
		if content == "" || content[0] == '#' {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if block >= 0 {
			if indent > block {
				continue
			}
			block = -1
		}
		item := content
		for strings.HasPrefix(item, "- ") {
			item = strings.TrimLeft(item[2:], " ")
		}
		col := indent + len(content) - len(item)
		if imgMap >= 0 && (indent <= imgMap || col <= imgMap) {
			flush()
		}
		key, val, ok := splitKey(item)
		if !ok {
			continue
		}
		if strings.HasPrefix(val, "|") || strings.HasPrefix(val, ">") {
			block = col
			continue
		}
		switch {
		case imgMap >= 0:
			if slices.Contains([]string{"registry", "repository", "tag", "digest"}, key) {
				parts[key] = scalar(val)
			}
		case key != "image":
		case val == "":
			imgMap, parts = col, map[string]string{}
		case strings.HasPrefix(val, "{"):
			var n yaml.Node
			if yaml.Unmarshal([]byte(val), &n) == nil && len(n.Content) == 1 && n.Content[0].Kind == yaml.MappingNode {
				if s := composeImage(n.Content[0]); s != "" {
					add(s)
				}
			}
		default:
			if s := scalar(val); s != "" && s != "~" && s != "null" {
				add(s)
			}
		}
	}
	flush()
}

// splitKey splits "key: value" (the key plain or quoted); ok is false
// for a line that is not a mapping entry.
func splitKey(s string) (key, val string, ok bool) {
	if s == "" {
		return "", "", false
	}
	if q := s[0]; q == '"' || q == '\'' {
		end := strings.IndexByte(s[1:], q)
		if end < 0 {
			return "", "", false
		}
		key, s = s[1:end+1], s[end+2:]
		if !strings.HasPrefix(s, ":") {
			return "", "", false
		}
		s = s[1:]
	} else {
		i := strings.Index(s, ": ")
		if i < 0 {
			if !strings.HasSuffix(s, ":") {
				return "", "", false
			}
			i = len(s) - 1
		}
		key, s = s[:i], s[i+1:]
	}
	if s != "" && s[0] != ' ' && s[0] != '\t' {
		return "", "", false
	}
	return key, strings.TrimSpace(s), true
}

// scalar is a plain or quoted one-line scalar's value, without a trailing
// comment.
func scalar(v string) string {
	if v == "" {
		return ""
	}
	if v[0] == '"' || v[0] == '\'' {
		var s string
		if end := strings.LastIndexByte(v, v[0]); end > 0 && yaml.Unmarshal([]byte(v[:end+1]), &s) == nil {
			return s
		}
		return ""
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}
