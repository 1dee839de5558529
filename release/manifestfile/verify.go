package manifestfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/plan"
	"github.com/relkit/relkit/release/safetext"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

// Verdict is the outcome of re-checking one recorded fact.
type Verdict string

const (
	// OK: the registry (or git) still has exactly what was recorded.
	OK Verdict = "ok"
	// Moved: the tag now names different content.
	Moved Verdict = "moved"
	// Vanished: the registry no longer has the image.
	Vanished Verdict = "vanished"
	// Absent: the component repo has no such git tag locally (not fetched?);
	// a note, not a failure.
	Absent Verdict = "absent"
	// Unknown: the registry could not be asked.
	Unknown Verdict = "unknown"
)

// ImageCheck is one image of the manifest, resolved again.
type ImageCheck struct {
	Ref    string   `json:"ref"`
	Charts []string `json:"charts"`
	// Recorded is the digest in the manifest; Current what the registry
	// serves now ("" when vanished or unknown).
	Recorded  string  `json:"recorded"`
	Current   string  `json:"current,omitempty"`
	Verdict   Verdict `json:"verdict"`
	Contacted string  `json:"contacted,omitempty"`
	Error     string  `json:"error,omitempty"`
}

// TagCheck is one component git tag of the manifest, resolved again in
// the component repo.
type TagCheck struct {
	Component string  `json:"component"`
	GitTag    string  `json:"gitTag"`
	Recorded  string  `json:"recorded"`
	Current   string  `json:"current,omitempty"`
	Verdict   Verdict `json:"verdict"`
}

// Verification is the result of release:verify.
type Verification struct {
	Release string `json:"release"`
	Path    string `json:"path"`
	// Source says where the manifest was read ("tag 2.1.0", "branch
	// aether-2.1", "origin/aether-2.1") and Commit the commit.
	Source string       `json:"source"`
	Commit string       `json:"commit"`
	Notes  []string     `json:"notes,omitempty"`
	Images []ImageCheck `json:"images"`
	Tags   []TagCheck   `json:"tags,omitempty"`
	// Verdict is ok, failed (something moved or vanished) or unknown.
	Verdict  string    `json:"verdict"`
	Manifest *Manifest `json:"-"`
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Rev reads the manifest from this revision of the charts repo instead
	// of the release tag or branch.
	Rev string
	// Remote whose tracking branch is the last place looked (default
	// origin).
	Remote string
	// Checker asks the registries (default: one honouring the mirrors).
	Checker *imageref.Checker
}

// Load reads releases/<release>.yaml from the charts repo without touching
// its checkout: from the release tag (in any prefix form) when it holds the
// manifest, else from the local release branch, else from the remote's
// tracking branch (or only from o.Rev when set). It returns the manifest,
// where it was found, the commit, and notes on places that had none.
func Load(ctx context.Context, ws *workspace.Config, release string, o VerifyOptions) (*Manifest, string, string, []string, error) {
	if ws.Charts == nil {
		return nil, "", "", nil, errors.New("the workspace has no charts repo")
	}
	if o.Remote == "" {
		o.Remote = "origin"
	}
	dir, p := ws.Charts.Dir, Path(release)
	maj, rest, _ := strings.Cut(release, ".")
	branch := ws.ReleaseBranch(maj + "." + strings.SplitN(rest, ".", 2)[0])
	type place struct{ rev, desc string }
	// The release tag in whatever prefix form it was made.
	tag := ws.Charts.Tag(release)
	if rel, ok, err := gitx.FindRelease(dir, ws.Charts.TagPrefix, release); err != nil {
		return nil, "", "", nil, &plan.Undecided{Err: fmt.Errorf("%s: %w", ws.Charts.Name, err)}
	} else if ok {
		tag = rel.Tag
	}
	places := []place{
		{"refs/tags/" + tag, "tag " + tag},
		{"refs/heads/" + branch, "branch " + branch},
		{"refs/remotes/" + o.Remote + "/" + branch, o.Remote + "/" + branch},
	}
	if o.Rev != "" {
		places = []place{{o.Rev, o.Rev}}
	}
	var notes, looked []string
	for _, pl := range places {
		commit, ok, err := gitx.RevCommit(ctx, dir, pl.rev)
		if err != nil {
			return nil, "", "", notes, &plan.Undecided{Err: fmt.Errorf("%s: %w", ws.Charts.Name, err)}
		}
		looked = append(looked, pl.desc)
		if !ok {
			if strings.HasPrefix(pl.rev, "refs/tags/") {
				notes = append(notes, fmt.Sprintf("%s is not tagged yet (no %s)", release, pl.desc))
			}
			continue
		}
		data, err := gitx.Git(ctx, dir, "cat-file", "blob", commit+":"+p)
		if err != nil {
			var ce *gitx.CmdError
			if errors.As(err, &ce) && ce.ExitCode() == 128 {
				notes = append(notes, fmt.Sprintf("%s (%s) has no %s", pl.desc, gitx.Short(commit), p))
				continue
			}
			return nil, "", "", notes, &plan.Undecided{Err: fmt.Errorf("%s: reading %s at %s: %w", ws.Charts.Name, p, pl.desc, err)}
		}
		m, err := Read(fmt.Sprintf("%s at %s", p, pl.desc), []byte(data))
		if err != nil {
			return nil, pl.desc, commit, notes, err
		}
		if m.Release != release {
			return nil, pl.desc, commit, notes, fmt.Errorf("%s at %s says release %q; expected %s", p, pl.desc, m.Release, release)
		}
		return m, pl.desc, commit, notes, nil
	}
	return nil, "", "", notes, fmt.Errorf("%s (%s) has no %s in %s; write it with release:manifest %s.%s",
		ws.Charts.Name, dir, p, strings.Join(looked, ", "), maj, strings.SplitN(rest, ".", 2)[0])
}

// Verify is release:verify X.Y.Z: it reads the release manifest (see Load)
// and asks the registry again for every image. An image whose tag now
// names another digest, or that the registry no longer has, fails the
// verification: the release is no longer what it was. Component git tags
// are re-read as well; a tag that now names another commit fails too. The
// error is nil when everything holds, a *plan.Undecided when some registry
// could not be asked (and nothing failed), else a plain error.
func Verify(ctx context.Context, ws *workspace.Config, release string, o VerifyOptions) (*Verification, error) {
	if !version.IsRelease(release) {
		return nil, fmt.Errorf("release %q: expected a release version X.Y.Z, such as 2.1.0", release)
	}
	m, src, commit, notes, err := Load(ctx, ws, release, o)
	if err != nil {
		return nil, err
	}
	return VerifyManifest(ctx, ws, m, src, commit, notes, o.Checker)
}

// VerifyManifest re-checks a manifest read elsewhere (source and commit
// only label the result).
func VerifyManifest(ctx context.Context, ws *workspace.Config, m *Manifest, source, commit string, notes []string, checker *imageref.Checker) (*Verification, error) {
	v := &Verification{Release: m.Release, Path: Path(m.Release), Source: source, Commit: commit, Notes: notes, Manifest: m}
	if checker == nil {
		var err error
		if checker, err = NewChecker(ws); err != nil {
			return v, err
		}
	}
	refs := make([]imageref.Ref, 0, len(m.Images))
	for _, im := range m.Images {
		r, err := imageref.Parse(im.Ref)
		if err != nil {
			return v, fmt.Errorf("%s: %w", v.Path, err)
		}
		refs = append(refs, r)
	}
	byRef := map[string]imageref.Result{}
	for _, res := range checker.CheckAll(ctx, refs) {
		byRef[res.Ref] = res
	}
	for _, im := range m.Images {
		res := byRef[im.Ref]
		c := ImageCheck{Ref: im.Ref, Charts: im.Charts, Recorded: im.Digest, Contacted: res.Contacted}
		switch res.Status {
		case imageref.Exists:
			c.Current = res.Digest
			c.Verdict = OK
			if res.Digest != im.Digest {
				c.Verdict = Moved
			}
		case imageref.Missing:
			c.Verdict = Vanished
		default:
			c.Verdict = Unknown
		}
		if res.Err != nil && c.Verdict != OK && c.Verdict != Moved {
			c.Error = res.Err.Error()
		}
		v.Images = append(v.Images, c)
	}
	seen := map[string]bool{}
	for _, im := range m.Images {
		if im.GitTag == "" || seen[im.Component+"\x00"+im.GitTag] {
			continue
		}
		seen[im.Component+"\x00"+im.GitTag] = true
		t := TagCheck{Component: im.Component, GitTag: im.GitTag, Recorded: im.GitCommit, Verdict: Absent}
		if comp, ok := ws.Component(im.Component); ok {
			h, found, err := gitx.RevCommit(ctx, comp.Dir, "refs/tags/"+im.GitTag)
			switch {
			case err != nil:
				t.Verdict = Unknown
			case found:
				t.Current, t.Verdict = h, OK
				if h != im.GitCommit {
					t.Verdict = Moved
				}
			}
		}
		v.Tags = append(v.Tags, t)
	}
	if err := ctx.Err(); err != nil {
		return v, err
	}
	return v, v.Err()
}

// Failures lists what no longer holds, one line each, naming the image
// (or tag) with the recorded and the current value.
func (v *Verification) Failures() []string {
	var out []string
	for _, c := range v.Images {
		switch c.Verdict {
		case Moved:
			out = append(out, fmt.Sprintf("image %s moved: the manifest records %s, the registry now serves %s", c.Ref, c.Recorded, c.Current))
		case Vanished:
			out = append(out, fmt.Sprintf("image %s vanished: the manifest records %s, the registry no longer has the tag", c.Ref, c.Recorded))
		}
	}
	for _, t := range v.Tags {
		if t.Verdict == Moved {
			out = append(out, fmt.Sprintf("git tag %s of %s moved: the manifest records commit %s, the tag now names %s", t.GitTag, t.Component, t.Recorded, t.Current))
		}
	}
	return out
}

// Err is nil when everything holds; a plain error listing the failures;
// else, when some image could not be checked, a *plan.Undecided.
func (v *Verification) Err() error {
	fails := v.Failures()
	var probs []Problem
	for _, c := range v.Images {
		if c.Verdict == Unknown {
			probs = append(probs, Problem{c.Ref, c.Error})
		}
	}
	unknown := Group("image", probs)
	for _, t := range v.Tags {
		if t.Verdict == Unknown {
			unknown = append(unknown, fmt.Sprintf("git tag %s of %s could not be read", t.GitTag, t.Component))
		}
	}
	switch {
	case len(fails) > 0:
		v.Verdict = "failed"
		msg := fmt.Sprintf("release %s is no longer what its manifest records:\n  %s", v.Release, strings.Join(fails, "\n  "))
		if len(unknown) > 0 {
			msg += fmt.Sprintf("\nand %d more could not be checked:\n  %s", len(unknown), strings.Join(unknown, "\n  "))
		}
		return errors.New(msg)
	case len(unknown) > 0:
		v.Verdict = "unknown"
		return &plan.Undecided{Err: fmt.Errorf("release %s: %d item(s) could not be checked:\n  %s", v.Release, len(unknown), strings.Join(unknown, "\n  "))}
	}
	v.Verdict = "ok"
	return nil
}

// ExitCode is 0 when the release holds, 1 when something moved or
// vanished, 3 when something could not be checked and nothing failed.
func (v *Verification) ExitCode() int { return plan.ExitCode(v.Err()) }

func shortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

// WriteText writes the verification for people: one line per image, the
// full digests of anything that changed, then a verdict.
func (v *Verification) WriteText(w io.Writer) error {
	_ = v.Err() // sets Verdict
	var b bytes.Buffer
	fmt.Fprintf(&b, "Release %s: %s from %s (%s), %d image(s)\n", v.Release, v.Path, v.Source, gitx.Short(v.Commit), len(v.Images))
	for _, n := range v.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	width := 0
	for _, c := range v.Images {
		width = max(width, len(c.Ref))
	}
	for _, c := range v.Images {
		switch c.Verdict {
		case OK:
			fmt.Fprintf(&b, "  ok        %-*s  %s\n", width, c.Ref, shortDigest(c.Current))
		case Moved:
			fmt.Fprintf(&b, "  MOVED     %s\n            recorded %s\n            now      %s\n", c.Ref, c.Recorded, c.Current)
		case Vanished:
			fmt.Fprintf(&b, "  VANISHED  %s\n            recorded %s\n            now      not in the registry\n", c.Ref, c.Recorded)
		default:
			fmt.Fprintf(&b, "  UNKNOWN   %s\n", c.Ref)
		}
	}
	if len(v.Tags) > 0 {
		ok := 0
		for _, t := range v.Tags {
			switch t.Verdict {
			case OK:
				ok++
			case Moved:
				fmt.Fprintf(&b, "  MOVED     git tag %s of %s: recorded %s, now %s\n", t.GitTag, t.Component, t.Recorded, t.Current)
			case Absent:
				fmt.Fprintf(&b, "  note      git tag %s of %s is not in the local clone (fetch its tags to check it)\n", t.GitTag, t.Component)
			default:
				fmt.Fprintf(&b, "  UNKNOWN   git tag %s of %s could not be read\n", t.GitTag, t.Component)
			}
		}
		fmt.Fprintf(&b, "  %d of %d component git tag(s) still name the recorded commit\n", ok, len(v.Tags))
	}
	switch v.Verdict {
	case "ok":
		fmt.Fprintf(&b, "OK: every image of %s still resolves to the recorded digest.\n", v.Release)
	case "failed":
		fmt.Fprintf(&b, "FAILED: %d item(s) of %s no longer match the manifest.\n", len(v.Failures()), v.Release)
	default:
		var probs []Problem
		for _, c := range v.Images {
			if c.Verdict == Unknown {
				probs = append(probs, Problem{c.Ref, c.Error})
			}
		}
		for _, line := range Group("image", probs) {
			fmt.Fprintf(&b, "  %s\n", line)
		}
		fmt.Fprintf(&b, "UNKNOWN: some images could not be checked; the release is not proven.\n")
	}
	_, err := io.WriteString(w, safetext.Clean(b.String()))
	return err
}

// WriteJSON writes the verification as one JSON document.
func (v *Verification) WriteJSON(w io.Writer) error {
	_ = v.Err()
	return safetext.WriteJSON(w, v)
}

// Write writes the result in format f: JSON, else text.
func (v *Verification) Write(w io.Writer, f plan.Format) error {
	if f == plan.JSON {
		return v.WriteJSON(w)
	}
	return v.WriteText(w)
}
