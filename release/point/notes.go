package point

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/checks/render"
	"github.com/relkit/relkit/release/charts"
	"github.com/relkit/relkit/release/cherry"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/workspace"
)

// Format is a release notes markup.
type Format string

const (
	Markdown Format = "markdown"
	RST      Format = "rst"
)

// Facts is everything the release notes say.
type Facts struct {
	Title, Version, Branch string
	// ChartsRepo and Tag name the charts repo and the release tag.
	ChartsRepo, Tag string
	// Prev is the release compared with ("" when there is none);
	// PrevOnBranch says it is an earlier point release of the branch.
	Prev         string
	PrevOnBranch bool
	Charts       []ChartFact
	Images       []ImageFact
	Components   []ComponentFact
	// Picked are the branch's own commits since Prev (or since it left the
	// main branch), relkit's bookkeeping commits left out.
	Picked []CommitFact
	// Unrendered names charts whose images could not all be listed.
	Unrendered []string
}

// ChartFact is one chart of the release.
type ChartFact struct {
	Name, Dir, Version string
	// Prev is the version in the previous release ("" when new).
	Prev string
}

// ImageFact is one image repository of the release.
type ImageFact struct {
	// Name is the repository, Tags its tags (or digests) in the release.
	Name   string
	Tags   []string
	Charts []string
	// Component builds it ("" for third-party images).
	Component string
	// Prev are its tags in the previous release.
	Prev []string
}

// ComponentFact is a component whose release changed.
type ComponentFact struct {
	Name     string
	Old, New string
	// Commits are the subjects of the component's commits between the two
	// release tags (VERSION-only and relkit commits left out).
	Commits []string
	// Taken says New is an existing release the branch's charts were
	// moved to as it was (patch:component -use), not one made for the
	// branch: every commit listed ships with it, none was picked.
	Taken bool
}

// CommitFact is one commit of the branch.
type CommitFact struct {
	Hash, Subject string
	// From is the commit it was cherry-picked from ("" when made there).
	From string
}

// Changed reports whether the chart's version differs from the previous
// release.
func (c ChartFact) Changed() bool { return c.Prev != c.Version }

// Changed reports whether the image's tags differ from the previous
// release.
func (i ImageFact) Changed() bool { return !slices.Equal(i.Tags, i.Prev) }

// maxCommits bounds the commits listed per range.
const maxCommits = 200

// facts gathers the notes of the release in the charts worktree.
func (pt *pointRun) facts(ctx context.Context) (*Facts, error) {
	ws, r := pt.ws, pt.ws.Charts
	f := &Facts{Title: Title(ws, pt.res.Version), Version: pt.res.Version, Branch: pt.s.Branch,
		ChartsRepo: r.Name, Tag: pt.releaseTag(), PrevOnBranch: pt.prevOnBranch}
	now, nowImages, bad, err := chartsAndImages(ctx, pt.wt.Dir, ws)
	if err != nil {
		return nil, err
	}
	f.Unrendered = bad
	var prev []charts.Chart
	prevImages := map[string][]string{}
	if pt.prevCommit != "" {
		f.Prev = pt.prevVersion
		w, err := cherry.Add(ctx, r.Dir, pt.prevCommit, pt.s.Ident)
		if err != nil {
			return nil, err
		}
		var pimgs map[string]*ImageFact
		prev, pimgs, _, err = chartsAndImages(ctx, w.Dir, ws)
		w.Remove(ctx)
		if err != nil {
			return nil, err
		}
		for n, im := range pimgs {
			prevImages[n] = im.Tags
		}
	}
	prevByDir := map[string]string{}
	for _, c := range prev {
		prevByDir[c.Dir] = c.Version
	}
	for _, c := range now {
		name := c.Name
		if name == "" {
			name = c.Dir
		}
		f.Charts = append(f.Charts, ChartFact{Name: name, Dir: c.Dir, Version: c.Version, Prev: prevByDir[c.Dir]})
	}
	for _, n := range sortedKeys(nowImages) {
		im := nowImages[n]
		im.Prev = prevImages[n]
		f.Images = append(f.Images, *im)
	}
	if pt.prevCommit != "" {
		f.Components = componentChanges(ctx, ws, f.Images)
		taken := pt.takenReleases(ctx)
		for i, c := range f.Components {
			f.Components[i].Taken = slices.Contains(taken, c.Name+" "+c.New)
		}
	}
	f.Picked, err = pt.picked(ctx)
	return f, err
}

// takenReleases lists the "<component> <version>" values of the
// plan.UseTrailer on the charts branch's commits in the range picked
// reads.
func (pt *pointRun) takenReleases(ctx context.Context) []string {
	r := pt.ws.Charts
	args := []string{"log", "--format=%B%x00", pt.relCommit}
	if pt.prevOnBranch {
		args = append(args, "^"+pt.prevCommit)
	} else {
		args = append(args, "^refs/heads/"+r.MainBranch)
	}
	out, err := gitx.Git(ctx, r.Dir, append(args, "--")...)
	if err != nil {
		return nil
	}
	var taken []string
	for _, msg := range strings.Split(out, "\x00") {
		if v := trailerValue(msg, plan.UseTrailer); v != "" {
			taken = append(taken, v)
		}
	}
	return taken
}

// chartsAndImages lists the charts of dir and the images they render,
// by image repository, and names the charts that did not render fully.
func chartsAndImages(ctx context.Context, dir string, ws *workspace.Config) ([]charts.Chart, map[string]*ImageFact, []string, error) {
	results, err := render.All(ctx, dir, render.OptionsFrom(ws.Render))
	if err != nil {
		return nil, nil, nil, err
	}
	var list []charts.Chart
	images := map[string]*ImageFact{}
	var bad []string
	for _, res := range results {
		list = append(list, res.Chart)
		if res.Err != nil || len(res.Failed) > 0 {
			bad = append(bad, res.Chart.Dir)
		}
		for _, img := range res.Images {
			ref, err := imageref.Parse(img.Ref)
			if err != nil {
				continue
			}
			tag := ref.Tag
			if ref.Digest != "" {
				if tag != "" {
					tag += "@" + ref.Digest
				} else {
					tag = "@" + ref.Digest
				}
			}
			im := images[ref.Name()]
			if im == nil {
				im = &ImageFact{Name: ref.Name()}
				if c, ok := componentOf(ws, ref); ok {
					im.Component = c.Name
				}
				images[ref.Name()] = im
			}
			if !slices.Contains(im.Tags, tag) {
				im.Tags = append(im.Tags, tag)
			}
			name := res.Chart.Name
			if name == "" {
				name = res.Chart.Dir
			}
			if !slices.Contains(im.Charts, name) {
				im.Charts = append(im.Charts, name)
			}
		}
	}
	for _, im := range images {
		slices.Sort(im.Tags)
		slices.Sort(im.Charts)
	}
	return list, images, bad, nil
}

func componentOf(ws *workspace.Config, ref imageref.Ref) (*workspace.Repo, bool) {
	for _, c := range ws.Components {
		if slices.ContainsFunc(c.Images, ref.SameRepository) {
			return c, true
		}
	}
	return nil, false
}

// componentChanges lists the components whose shipped release changed,
// with the commits between the two release tags.
func componentChanges(ctx context.Context, ws *workspace.Config, images []ImageFact) []ComponentFact {
	byComp := map[string]*ComponentFact{}
	for _, im := range images {
		if im.Component == "" || !im.Changed() || len(im.Tags) != 1 || len(im.Prev) != 1 {
			continue
		}
		oldV, _, ok1 := imageref.ReleaseVersion(im.Prev[0], ws.Images.ReleaseTagForms)
		newV, _, ok2 := imageref.ReleaseVersion(im.Tags[0], ws.Images.ReleaseTagForms)
		if !ok1 || !ok2 || byComp[im.Component] != nil {
			continue
		}
		byComp[im.Component] = &ComponentFact{Name: im.Component, Old: oldV, New: newV}
	}
	var out []ComponentFact
	for _, name := range sortedKeys(byComp) {
		cf := byComp[name]
		if c, ok := ws.Component(name); ok {
			cf.Commits = componentCommits(ctx, c, cf.Old, cf.New)
		}
		out = append(out, *cf)
	}
	return out
}

// componentCommits lists the subjects of the commits in old..new of the
// component's release tags (in any prefix form), leaving out relkit's and
// VERSION-only commits.
func componentCommits(ctx context.Context, c *workspace.Repo, old, new string) []string {
	from, to, ok := releaseRange(c, old, new)
	if !ok {
		return nil
	}
	out, err := gitx.Git(ctx, c.Dir, "log", "--no-merges", "--max-count="+fmt.Sprint(maxCommits),
		"--format=%x1e%s%x00%B%x00", "--name-only", from+".."+to, "--")
	if err != nil {
		return nil
	}
	var subjects []string
	for _, rec := range strings.Split(out, "\x1e") {
		parts := strings.SplitN(rec, "\x00", 3)
		if len(parts) < 3 {
			continue
		}
		subject, body := parts[0], parts[1]
		files := strings.Fields(parts[2])
		if isRelkit(body) || (len(files) == 1 && files[0] == c.VersionFile) || len(files) == 0 {
			continue
		}
		subjects = append(subjects, subject)
	}
	slices.Reverse(subjects)
	return subjects
}

// releaseRange finds the commits of the component's releases old and new;
// ok is false when either is not tagged.
func releaseRange(c *workspace.Repo, old, new string) (from, to string, ok bool) {
	g, err := gitx.Open(c.Dir)
	if err != nil {
		return "", "", false
	}
	defer g.Close()
	tags, err := g.ReleaseTags(c.TagPrefix)
	if err != nil {
		return "", "", false
	}
	a, ok1, err1 := tags.Release(old)
	b, ok2, err2 := tags.Release(new)
	if !ok1 || !ok2 || err1 != nil || err2 != nil {
		return "", "", false
	}
	return a.Commit.String(), b.Commit.String(), true
}

// isRelkit reports whether a commit message carries a relkit trailer.
func isRelkit(msg string) bool {
	for _, line := range strings.Split(msg, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "Relkit-") {
			return true
		}
	}
	return false
}

// picked lists the charts branch's own commits since the previous point
// release, or since the branch left main.
func (pt *pointRun) picked(ctx context.Context) ([]CommitFact, error) {
	r := pt.ws.Charts
	args := []string{"log", "--no-merges", "--max-count=" + fmt.Sprint(maxCommits), "--format=%x1e%H%x00%s%x00%B", pt.relCommit}
	if pt.prevOnBranch {
		args = append(args, "^"+pt.prevCommit)
	} else {
		main, err := gitx.Git(ctx, r.Dir, "rev-parse", "--verify", "--quiet", "refs/heads/"+r.MainBranch)
		if err != nil {
			return nil, nil // no main branch: no list
		}
		args = append(args, "^"+strings.TrimSpace(main))
	}
	out, err := gitx.Git(ctx, r.Dir, append(args, "--")...)
	if err != nil {
		return nil, err
	}
	var list []CommitFact
	for _, rec := range strings.Split(out, "\x1e") {
		parts := strings.SplitN(rec, "\x00", 3)
		if len(parts) < 3 || isRelkit(parts[2]) {
			continue
		}
		c := CommitFact{Hash: parts[0], Subject: parts[1]}
		if from := cherry.PickedFrom(parts[2]); len(from) > 0 {
			c.From = from[len(from)-1]
		}
		list = append(list, c)
	}
	slices.Reverse(list)
	return list, nil
}

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
		var b strings.Builder
		if format == RST {
			fmt.Fprintf(&b, "%s\n%s\n\n", f.Title, strings.Repeat("=", len([]rune(f.Title))))
		} else {
			fmt.Fprintf(&b, "# %s\n\n", f.Title)
		}
		b.WriteString(block)
		return []byte(b.String())
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

// Render writes the generated section of the notes, between markers.
func Render(f *Facts, format Format) string {
	if format == RST {
		return renderRST(f)
	}
	return renderMarkdown(f)
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

func renderMarkdown(f *Facts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- %s: written by relkit release:point; what is between these markers is rewritten -->\n\n", beginMarker)
	fmt.Fprintf(&b, "%s\n\n", intro(f))
	fmt.Fprintf(&b, "## %s\n\n", changesTitle(f))
	wrote := false
	if f.Prev != "" {
		var rows []string
		for _, c := range f.Charts {
			if c.Changed() {
				rows = append(rows, fmt.Sprintf("| %s | %s | %s |", c.Name, versionOr(c.Prev, "(new)"), c.Version))
			}
		}
		if len(rows) > 0 {
			fmt.Fprintf(&b, "### Chart versions\n\n| Chart | %s | %s |\n|---|---|---|\n%s\n\n", f.Prev, f.Version, strings.Join(rows, "\n"))
			wrote = true
		}
		if len(f.Components) > 0 {
			b.WriteString("### Component releases\n\n")
			for _, c := range f.Components {
				fmt.Fprintf(&b, "- **%s** %s → %s%s\n", c.Name, c.Old, c.New, takenNote(c))
				for _, s := range c.Commits {
					fmt.Fprintf(&b, "  - %s\n", s)
				}
			}
			b.WriteString("\n")
			wrote = true
		}
		var imgs []string
		for _, im := range f.Images {
			if im.Changed() && im.Component == "" {
				imgs = append(imgs, fmt.Sprintf("- `%s` %s → %s", im.Name, versionOr(strings.Join(im.Prev, ", "), "(new)"), strings.Join(im.Tags, ", ")))
			}
		}
		if len(imgs) > 0 {
			fmt.Fprintf(&b, "### Other image updates\n\n%s\n\n", strings.Join(imgs, "\n"))
			wrote = true
		}
	}
	if len(f.Picked) > 0 {
		fmt.Fprintf(&b, "### Fixes on %s\n\n", f.Branch)
		for _, c := range f.Picked {
			fmt.Fprintf(&b, "- %s (`%s`", c.Subject, gitx.Short(c.Hash))
			if c.From != "" {
				fmt.Fprintf(&b, ", cherry-picked from `%s`", gitx.Short(c.From))
			}
			b.WriteString(")\n")
		}
		b.WriteString("\n")
		wrote = true
	}
	if !wrote {
		b.WriteString("No chart, image or fix changed.\n\n")
	}
	b.WriteString("## Charts\n\n| Chart | Path | Version |\n|---|---|---|\n")
	for _, c := range f.Charts {
		fmt.Fprintf(&b, "| %s | `%s` | %s |\n", c.Name, c.Dir, c.Version)
	}
	b.WriteString("\n## Images\n\n| Image | Tag | Charts |\n|---|---|---|\n")
	for _, im := range f.Images {
		name := "`" + im.Name + "`"
		if im.Component != "" {
			name += " (" + im.Component + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, strings.Join(im.Tags, ", "), strings.Join(im.Charts, ", "))
	}
	fmt.Fprintf(&b, "\n<!-- %s -->\n", endMarker)
	return b.String()
}

// takenNote marks a component release taken as it was (-use).
func takenNote(c ComponentFact) string {
	if !c.Taken {
		return ""
	}
	return " (an existing release, shipped as it is: every change listed comes with it)"
}

func rstTitle(b *strings.Builder, title string, ch byte) {
	fmt.Fprintf(b, "%s\n%s\n\n", title, strings.Repeat(string(ch), len([]rune(title))))
}

func rstTable(b *strings.Builder, header []string, rows [][]string) {
	b.WriteString(".. list-table::\n   :header-rows: 1\n\n")
	for _, row := range append([][]string{header}, rows...) {
		for i, cell := range row {
			lead := "     - "
			if i == 0 {
				lead = "   * - "
			}
			if cell == "" {
				cell = " "
			}
			fmt.Fprintf(b, "%s%s\n", lead, cell)
		}
	}
	b.WriteString("\n")
}

func renderRST(f *Facts) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".. %s: written by relkit release:point; what is between these markers is rewritten\n\n", beginMarker)
	fmt.Fprintf(&b, "%s\n\n", intro(f))
	rstTitle(&b, changesTitle(f), '-')
	wrote := false
	if f.Prev != "" {
		var rows [][]string
		for _, c := range f.Charts {
			if c.Changed() {
				rows = append(rows, []string{c.Name, versionOr(c.Prev, "(new)"), c.Version})
			}
		}
		if len(rows) > 0 {
			rstTitle(&b, "Chart versions", '~')
			rstTable(&b, []string{"Chart", f.Prev, f.Version}, rows)
			wrote = true
		}
		if len(f.Components) > 0 {
			rstTitle(&b, "Component releases", '~')
			for _, c := range f.Components {
				fmt.Fprintf(&b, "- **%s** %s → %s%s\n", c.Name, c.Old, c.New, takenNote(c))
				if len(c.Commits) > 0 {
					b.WriteString("\n")
					for _, s := range c.Commits {
						fmt.Fprintf(&b, "  - %s\n", s)
					}
					b.WriteString("\n")
				}
			}
			b.WriteString("\n")
			wrote = true
		}
		var imgs []string
		for _, im := range f.Images {
			if im.Changed() && im.Component == "" {
				imgs = append(imgs, fmt.Sprintf("- ``%s`` %s → %s", im.Name, versionOr(strings.Join(im.Prev, ", "), "(new)"), strings.Join(im.Tags, ", ")))
			}
		}
		if len(imgs) > 0 {
			rstTitle(&b, "Other image updates", '~')
			fmt.Fprintf(&b, "%s\n\n", strings.Join(imgs, "\n"))
			wrote = true
		}
	}
	if len(f.Picked) > 0 {
		rstTitle(&b, "Fixes on "+f.Branch, '~')
		for _, c := range f.Picked {
			fmt.Fprintf(&b, "- %s (``%s``", c.Subject, gitx.Short(c.Hash))
			if c.From != "" {
				fmt.Fprintf(&b, ", cherry-picked from ``%s``", gitx.Short(c.From))
			}
			b.WriteString(")\n")
		}
		b.WriteString("\n")
		wrote = true
	}
	if !wrote {
		b.WriteString("No chart, image or fix changed.\n\n")
	}
	rstTitle(&b, "Charts", '-')
	var rows [][]string
	for _, c := range f.Charts {
		rows = append(rows, []string{c.Name, "``" + c.Dir + "``", c.Version})
	}
	rstTable(&b, []string{"Chart", "Path", "Version"}, rows)
	rstTitle(&b, "Images", '-')
	rows = nil
	for _, im := range f.Images {
		name := "``" + im.Name + "``"
		if im.Component != "" {
			name += " (" + im.Component + ")"
		}
		rows = append(rows, []string{name, strings.Join(im.Tags, ", "), strings.Join(im.Charts, ", ")})
	}
	rstTable(&b, []string{"Image", "Tag", "Charts"}, rows)
	fmt.Fprintf(&b, ".. %s\n", endMarker)
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
