package workspace

import (
	"strings"

	"github.com/relkit/relkit/release/version"
)

// The pair below is the one place where a component's release version and
// its docker tag are turned into each other: image:tags and image:push
// write tags with ImageTag, the release manifest and the image checks read
// them back with ImageTagVersion. Keeping both here means a push and the
// charts can never disagree on the form.

// ImageTag is the docker tag of release version v (no git tag prefix, such
// as "1.2.3") in the component's ImageTagForm: "1.2.3", "v1.2.3" or
// "rel-1.2.3". Docker tags have no '+', so build metadata goes after '_'
// (1.2.3+b1 -> 1.2.3_b1), as Helm does for OCI chart tags.
func (r *Repo) ImageTag(v string) string {
	pre, suf := r.imageTagAffixes()
	return pre + strings.ReplaceAll(v, "+", "_") + suf
}

// ImageTagVersion reads docker tag tag back as a release version of the
// component: the tag must be in the component's ImageTagForm around a
// SemVer release ("rel-1.2.3" -> "1.2.3" for "rel-{version}";
// "1.2.3_b1" -> "1.2.3+b1"). ok is false for any other tag, including a
// release in another form ("v1.2.3" when the form is "{version}") and a
// pre-release ("1.2.3-rc1"): only ImageTag's output reads back.
func (r *Repo) ImageTagVersion(tag string) (v string, ok bool) {
	pre, suf := r.imageTagAffixes()
	if len(tag) < len(pre)+len(suf) || !strings.HasPrefix(tag, pre) || !strings.HasSuffix(tag, suf) {
		return "", false
	}
	mid := tag[len(pre) : len(tag)-len(suf)]
	// SemVer identifiers have no '_', so every '_' stood for the '+'.
	v = strings.ReplaceAll(mid, "_", "+")
	if !version.IsRelease(v) {
		return "", false
	}
	return v, true
}

// imageTagAffixes splits the form around {version}.
func (r *Repo) imageTagAffixes() (pre, suf string) {
	form := r.ImageTagForm
	if !strings.Contains(form, "{version}") {
		form = DefaultImageTagForm
	}
	pre, suf, _ = strings.Cut(form, "{version}")
	return pre, suf
}
