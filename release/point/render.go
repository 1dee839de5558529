package point

import (
	"fmt"
	"strings"

	"github.com/relkit/relkit/release/gitx"
)

// Rendering: the notes page is a pure function of Facts (see notes.go for
// how they are gathered), so every line of it is tested without git.

// Markers delimit the part of a notes page relkit writes; what people
// write outside them stays.
const (
	beginMarker = "relkit:release-notes begin"
	endMarker   = "relkit:release-notes end"
)

func hasMarkers(page []byte) bool {
	s := string(page)
	return strings.Contains(s, beginMarker) && strings.Contains(s, endMarker)
}

// Page is the release notes page: a new page with a title and the
// generated section, or existing with its generated section replaced (or,
// when it has none, added at the end) so what people wrote stays.
func Page(existing []byte, f *Facts, format Format) []byte {
	block := Render(f, format)
	if len(existing) == 0 {
		w := newMarkup(format)
		w.heading(1, f.Title)
		w.b.WriteString(block)
		return []byte(w.b.String())
	}
	s := string(existing)
	if hasMarkers(existing) {
		i := strings.Index(s, beginMarker)
		j := strings.Index(s, endMarker)
		if i < j {
			start := strings.LastIndex(s[:i], "\n") + 1
			end := len(s)
			if k := strings.Index(s[j:], "\n"); k >= 0 {
				end = j + k + 1
			}
			return []byte(s[:start] + block + s[end:])
		}
	}
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return []byte(s + "\n" + block)
}

// Render writes the generated section of the notes, between markers. It
// is a pure function of the facts: the sections are written once, through
// markup, which knows the only things Markdown and reStructuredText spell
// differently.
func Render(f *Facts, format Format) string {
	w := newMarkup(format)
	w.comment(beginMarker + ": written by relkit release:point; what is between these markers is rewritten")
	w.b.WriteString("\n")
	fmt.Fprintf(&w.b, "%s\n\n", intro(f))
	w.heading(2, changesTitle(f))
	wrote := false
	if f.Prev != "" {
		var rows [][]string
		for _, c := range f.Charts {
			if c.Changed() {
				rows = append(rows, []string{c.Name, versionOr(c.Prev, "(new)"), c.Version})
			}
		}
		if len(rows) > 0 {
			w.heading(3, "Chart versions")
			w.table([]string{"Chart", f.Prev, f.Version}, rows)
			wrote = true
		}
		if len(f.Components) > 0 {
			w.heading(3, "Component releases")
			for _, c := range f.Components {
				fmt.Fprintf(&w.b, "- **%s** %s → %s%s\n", c.Name, c.Old, c.New, takenNote(c))
				w.subList(c.Commits)
			}
			w.b.WriteString("\n")
			wrote = true
		}
		var imgs []string
		for _, im := range f.Images {
			if im.Changed() && im.Component == "" {
				imgs = append(imgs, fmt.Sprintf("- %s %s → %s", w.code(im.Name), versionOr(strings.Join(im.Prev, ", "), "(new)"), strings.Join(im.Tags, ", ")))
			}
		}
		if len(imgs) > 0 {
			w.heading(3, "Other image updates")
			fmt.Fprintf(&w.b, "%s\n\n", strings.Join(imgs, "\n"))
			wrote = true
		}
	}
	if len(f.Picked) > 0 {
		w.heading(3, "Fixes on "+f.Branch)
		for _, c := range f.Picked {
			fmt.Fprintf(&w.b, "- %s (%s", c.Subject, w.code(gitx.Short(c.Hash)))
			if c.From != "" {
				fmt.Fprintf(&w.b, ", cherry-picked from %s", w.code(gitx.Short(c.From)))
			}
			w.b.WriteString(")\n")
		}
		w.b.WriteString("\n")
		wrote = true
	}
	if !wrote {
		w.b.WriteString("No chart, image or fix changed.\n\n")
	}
	w.heading(2, "Charts")
	var rows [][]string
	for _, c := range f.Charts {
		rows = append(rows, []string{c.Name, w.code(c.Dir), c.Version})
	}
	w.table([]string{"Chart", "Path", "Version"}, rows)
	w.heading(2, "Images")
	rows = nil
	for _, im := range f.Images {
		name := w.code(im.Name)
		if im.Component != "" {
			name += " (" + im.Component + ")"
		}
		rows = append(rows, []string{name, strings.Join(im.Tags, ", "), strings.Join(im.Charts, ", ")})
	}
	w.table([]string{"Image", "Tag", "Charts"}, rows)
	w.comment(endMarker)
	return w.b.String()
}

func intro(f *Facts) string {
	s := fmt.Sprintf("%s is point release %s of branch %s of %s (tag %s).", f.Title, f.Version, f.Branch, f.ChartsRepo, f.Tag)
	if len(f.Unrendered) > 0 {
		s += fmt.Sprintf(" The images of %s could not all be listed: they did not render offline.", strings.Join(f.Unrendered, ", "))
	}
	return s
}

func changesTitle(f *Facts) string {
	if f.Prev == "" {
		return "Changes"
	}
	return "Changes since " + f.Prev
}

func versionOr(v, none string) string {
	if v == "" {
		return none
	}
	return v
}

// takenNote marks a component release taken as it was (-use).
func takenNote(c ComponentFact) string {
	if !c.Taken {
		return ""
	}
	return " (an existing release, shipped as it is: every change listed comes with it)"
}
