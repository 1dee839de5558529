package render

import (
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxDocs bounds the YAML documents read from one rendered template.
const maxDocs = 10_000

// collectImages returns the image references in a rendered manifest: every
// string under an "image" key at any depth (containers, init and ephemeral
// containers, CronJob templates, custom resources following the
// convention), and image maps ({registry, repository, tag, digest}) under
// an "image" key. A manifest that is not valid YAML is scanned line by
// line instead.
func collectImages(manifest string) []string {
	if !strings.Contains(manifest, "image") {
		return nil
	}
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	dec := yaml.NewDecoder(strings.NewReader(manifest))
	for range maxDocs {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			for _, s := range scanLines(manifest) {
				add(s)
			}
			return out
		}
		walkImages(&doc, add, 0)
	}
	return out
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
