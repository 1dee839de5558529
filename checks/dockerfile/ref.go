package dockerfile

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/opencontainers/go-digest"

	"github.com/relkit/relkit/release/version"
)

// Ref is an image reference split the way Docker splits it:
// repository[:tag][@digest]. The tag is what follows the last ':' only when
// that colon comes after the last '/', so registry:5000/team/app has no tag.
type Ref struct {
	// Repository is registry and path as written, without tag or digest
	// ("golang", "registry:5000/team/app").
	Repository string
	Tag        string
	Digest     string
}

// String reassembles the reference.
func (r Ref) String() string {
	s := r.Repository
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Names lists the names a waiver may use for the repository: as written and
// the fully qualified forms ("golang", "docker.io/library/golang",
// "index.docker.io/library/golang").
func (r Ref) Names() []string {
	out := []string{r.Repository}
	repo, err := name.NewRepository(r.Repository)
	if err != nil {
		return out
	}
	add := func(s string) {
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	reg := repo.RegistryStr()
	if reg == name.DefaultRegistry {
		add("docker.io/" + repo.RepositoryStr())
	}
	add(repo.Name())
	return out
}

var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// ParseRef splits and validates an image reference. It accepts what docker
// pull accepts (the repository validated by go-containerregistry, the tag by
// Docker's tag grammar, the digest by go-digest).
func ParseRef(s string) (Ref, error) {
	if s == "" {
		return Ref{}, errors.New("empty image reference")
	}
	var r Ref
	base := s
	if at := strings.IndexByte(s, '@'); at >= 0 {
		base, r.Digest = s[:at], s[at+1:]
		if strings.IndexByte(r.Digest, '@') >= 0 {
			return Ref{}, fmt.Errorf("%q has more than one '@'; expected repository[:tag][@digest]", s)
		}
		if err := digest.Digest(r.Digest).Validate(); err != nil {
			return Ref{}, fmt.Errorf("%q: digest %q is not valid (%v); expected algorithm:hex such as sha256:<64 hex digits>", s, r.Digest, err)
		}
	}
	if colon := strings.LastIndexByte(base, ':'); colon > strings.LastIndexByte(base, '/') {
		base, r.Tag = base[:colon], base[colon+1:]
		if !tagRE.MatchString(r.Tag) {
			return Ref{}, fmt.Errorf("%q: tag %q is not valid; expected up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'", s, r.Tag)
		}
	}
	if base == "" {
		return Ref{}, fmt.Errorf("%q has no repository name", s)
	}
	if _, err := name.NewRepository(base); err != nil {
		return Ref{}, fmt.Errorf("%q: repository %q is not valid: %v", s, base, err)
	}
	r.Repository = base
	return r, nil
}

// Class says how firmly a reference names its content.
type Class int

const (
	// Invalid: the reference does not parse.
	Invalid Class = iota
	// Digested: pinned by a digest (with no tag, or a tag that is not moving).
	Digested
	// Release: a SemVer tag (1.2.3, v1.2.3, 1.2.3-alpine) or a configured
	// release tag form (rel-1.2.3).
	Release
	// Versioned: a tag that leads with a MAJOR.MINOR version (16.04,
	// 10.3-alpine, 1.22-alpine3.20).
	Versioned
	// Untagged: neither tag nor digest (Docker pulls latest).
	Untagged
	// Moving: a tag in the moving list (latest, master...), no digest.
	Moving
	// MovingDigested: a moving tag followed by a digest; the digest pins it.
	MovingDigested
	// Unversioned: a tag that names no version (stable-slim, nonroot,
	// jammy, master-1.2).
	Unversioned
)

var classNames = [...]string{"invalid", "digest", "release", "versioned", "untagged", "moving", "moving+digest", "unversioned"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Pinned reports whether the class names fixed content (or content fixed by
// a version, which is what the release policy asks for).
func (c Class) Pinned() bool {
	return c == Digested || c == Release || c == Versioned || c == MovingDigested
}

// Policy is what the classifier needs of the workspace image policy.
type Policy struct {
	// IsMoving reports whether a tag (or a part of one) is a moving tag;
	// nil means no tag is.
	IsMoving func(tag string) bool
	// ReleaseTagForms are extra release tag forms with {version} standing
	// for a SemVer release ("rel-{version}").
	ReleaseTagForms []string
}

func (p Policy) moving(s string) bool { return p.IsMoving != nil && p.IsMoving(s) }

// Verdict is the classification of one reference.
type Verdict struct {
	Ref   Ref
	Class Class
	// Detail explains a class that is not pinned (what was found, what was
	// expected), or the parse error for Invalid.
	Detail string
}

// Classify parses and classifies an expanded image reference.
func Classify(ref string, p Policy) Verdict {
	r, err := ParseRef(ref)
	if err != nil {
		return Verdict{Class: Invalid, Detail: err.Error()}
	}
	v := Verdict{Ref: r}
	switch {
	case r.Tag == "" && r.Digest == "":
		v.Class = Untagged
		v.Detail = "no tag and no digest: Docker pulls latest, which moves"
	case r.Tag != "" && p.moving(r.Tag):
		if r.Digest != "" {
			v.Class = MovingDigested
			v.Detail = fmt.Sprintf("tag %q is a moving tag; the digest pins the content but the tag misleads readers", r.Tag)
		} else {
			v.Class = Moving
			v.Detail = fmt.Sprintf("tag %q is a moving tag: it names different content over time", r.Tag)
		}
	case r.Digest != "":
		v.Class = Digested
	default:
		v.Class, v.Detail = ClassifyTag(r.Tag, p)
	}
	return v
}

var (
	leadingVersionRE = regexp.MustCompile(`^[vV]?\d+\.\d+`)
	anyVersionRE     = regexp.MustCompile(`\d+\.\d+`)
	tagPartSep       = func(r rune) bool { return r == '-' || r == '_' || r == '.' }
)

// ClassifyTag classifies a tag without digest (Release, Versioned, Moving or
// Unversioned) and, for the last two, says why.
//
// A tag names a version when it is SemVer (with or without a leading v),
// matches a release tag form, or leads with MAJOR.MINOR (16.04, 10.3-alpine).
// The version must lead: master-1.2 or alpine3.20 name a build of something
// else (a branch, a base distribution) that is rebuilt under the same tag. A
// tag with a moving word as one of its '-', '_' or '.' separated parts
// (1.2-latest, 1.3.0-dev) does not name a version either.
func ClassifyTag(tag string, p Policy) (Class, string) {
	if p.moving(tag) {
		return Moving, fmt.Sprintf("tag %q is a moving tag: it names different content over time", tag)
	}
	for part := range strings.FieldsFuncSeq(tag, tagPartSep) {
		if p.moving(part) {
			return Unversioned, fmt.Sprintf("tag %q contains the moving word %q: it is rebuilt under the same name", tag, part)
		}
	}
	if bare := strings.TrimPrefix(strings.TrimPrefix(tag, "v"), "V"); version.Valid(bare) {
		return Release, ""
	}
	for _, f := range p.ReleaseTagForms {
		pre, suf, ok := strings.Cut(f, "{version}")
		if ok && len(tag) > len(pre)+len(suf) && strings.HasPrefix(tag, pre) && strings.HasSuffix(tag, suf) &&
			version.IsRelease(tag[len(pre):len(tag)-len(suf)]) {
			return Release, ""
		}
	}
	if leadingVersionRE.MatchString(tag) {
		return Versioned, ""
	}
	if loc := anyVersionRE.FindStringIndex(tag); loc != nil {
		return Unversioned, fmt.Sprintf("tag %q does not lead with a version: %q comes after %q, so the tag names a build of something else", tag, tag[loc[0]:loc[1]], tag[:loc[0]])
	}
	return Unversioned, fmt.Sprintf("tag %q names no version", tag)
}
