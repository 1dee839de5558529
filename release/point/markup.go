package point

import (
	"fmt"
	"strings"
)

// markup writes the few things Markdown and reStructuredText spell
// differently; everything else in the notes (lists, bold, the text) is
// the same in both, so Render writes it once.
type markup struct {
	b   strings.Builder
	rst bool
}

func newMarkup(f Format) *markup { return &markup{rst: f == RST} }

// comment writes a line readers of the rendered page do not see (the
// markers around the generated section).
func (m *markup) comment(text string) {
	if m.rst {
		fmt.Fprintf(&m.b, ".. %s\n", text)
		return
	}
	fmt.Fprintf(&m.b, "<!-- %s -->\n", text)
}

// rstUnderline is each heading level's underline: reStructuredText
// ranks headings by the order of first use, so the levels stay fixed.
var rstUnderline = map[int]string{1: "=", 2: "-", 3: "~"}

// heading writes a section title of level 1 (the page), 2 or 3.
func (m *markup) heading(level int, title string) {
	if m.rst {
		fmt.Fprintf(&m.b, "%s\n%s\n\n", title, strings.Repeat(rstUnderline[level], len([]rune(title))))
		return
	}
	fmt.Fprintf(&m.b, "%s %s\n\n", strings.Repeat("#", level), title)
}

// code is inline literal text.
func (m *markup) code(s string) string {
	if m.rst {
		return "``" + s + "``"
	}
	return "`" + s + "`"
}

// table writes a table with a header row, then a blank line. An empty
// reStructuredText cell is written as a space: an empty list-table item
// ends the table.
func (m *markup) table(header []string, rows [][]string) {
	if !m.rst {
		fmt.Fprintf(&m.b, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
		for _, row := range rows {
			fmt.Fprintf(&m.b, "| %s |\n", strings.Join(row, " | "))
		}
		m.b.WriteString("\n")
		return
	}
	m.b.WriteString(".. list-table::\n   :header-rows: 1\n\n")
	for _, row := range append([][]string{header}, rows...) {
		for i, cell := range row {
			lead := "     - "
			if i == 0 {
				lead = "   * - "
			}
			if cell == "" {
				cell = " "
			}
			fmt.Fprintf(&m.b, "%s%s\n", lead, cell)
		}
	}
	m.b.WriteString("\n")
}

// subList writes items nested under the list item just written.
// reStructuredText needs a blank line around a nested list.
func (m *markup) subList(items []string) {
	if len(items) == 0 {
		return
	}
	if m.rst {
		m.b.WriteString("\n")
	}
	for _, s := range items {
		fmt.Fprintf(&m.b, "  - %s\n", s)
	}
	if m.rst {
		m.b.WriteString("\n")
	}
}
