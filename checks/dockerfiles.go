package checks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/relkit/relkit/checks/dockerfile"
	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/repofs"
	"github.com/relkit/relkit/release/version"
	"github.com/relkit/relkit/release/workspace"
)

const dockerfilesCheck = "dockerfiles"

// Rules of check:dockerfiles.
const (
	ruleDockerfileSyntax = "dockerfile-syntax"
	ruleArgTooLarge      = "dockerfile-arg-too-large"
	ruleUnresolvedArg    = "parent-unresolved-arg"
	ruleUntagged         = "parent-untagged"
	ruleMovingTag        = "parent-moving-tag"
	ruleNotPinned        = "parent-not-pinned"
	ruleWaiverExpired    = "waiver-expired"
	ruleImageWaived      = "image-waived"
)

// skippedDirs are never searched for Dockerfiles.
var skippedDirs = map[string]bool{"vendor": true, ".git": true, "testdata": true, "node_modules": true}

// Dockerfiles checks every parent image of every component's build files
// (Dockerfile, Containerfile and their variants, see
// dockerfile.IsDockerfile): the base of each FROM and the image a COPY
// --from or RUN --mount=from pulls must be pinned (a digest, a SemVer tag
// or a tag leading with a MAJOR.MINOR version), not moving, and known
// without build args. The policy binds released versions: findings are
// warnings while the repo's VERSION is a pre-release, unless o.Strict
// (RELKIT_STRICT=1). A build file that is a symlink leaving the repo, or not
// a regular file, is not read (file-not-regular); an ARG too large to
// expand stops the expansion (dockerfile-arg-too-large).
func Dockerfiles(ctx context.Context, ws *workspace.Config, o Options) *report.Report {
	return checkDockerfiles(ctx, ws, o.now(), o.Strict)
}

func checkDockerfiles(ctx context.Context, ws *workspace.Config, now time.Time, strict bool) *report.Report {
	rep := report.New(dockerfilesCheck)
	parallel(ctx, ws.Components, func(ctx context.Context, r *workspace.Repo) {
		findings, err := dockerfilesOf(ctx, ws, r, now, strict)
		rep.Add(findings...)
		rep.Undecided(err)
	})
	if err := ctx.Err(); err != nil {
		rep.Undecided(err)
	}
	return rep
}

// dockerfileEntry is a build file found in a repo.
type dockerfileEntry struct {
	// path is slash-separated, relative to the repo.
	path string
	// refused says why the file is not read ("" when it is read).
	refused string
}

// findDockerfiles lists the repo's build files (see dockerfile.IsDockerfile),
// skipping vendor/, .git/, testdata/ and node_modules/ at any depth.
// A build file that is a symlink is read only when it resolves to a regular
// file inside the repo (and not under .git/); one leaving the repo, dangling,
// or resolving to anything but a regular file (a FIFO, a device) is listed
// as refused, as is a build file that is not a regular file itself.
func findDockerfiles(ctx context.Context, dir string) ([]dockerfileEntry, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	var out []dockerfileEntry
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && skippedDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if !dockerfile.IsDockerfile(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out = append(out, dockerfileEntry{path: filepath.ToSlash(rel), refused: refuseBuildFile(root, p, d.Type())})
		return nil
	})
	return out, err
}

// refuseBuildFile says why the build file at p (a walk entry of type typ
// under the resolved repo root) is not read, or "". dockerfilesOf reads
// the others through repofs, which refuses the same escapes; this check
// adds what repofs allows: a symlink into .git (a build file is never
// git's own data), and messages that never name a symlink's target.
func refuseBuildFile(root, p string, typ fs.FileMode) string {
	switch {
	case typ.IsRegular():
		return ""
	case typ&fs.ModeSymlink == 0:
		return "it is " + fileKind(typ) + ", not a regular file; relkit reads only regular files from a repo"
	}
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "it is a symlink that resolves to nothing readable; expected a regular file or a symlink to one inside the repo"
	}
	rel, err := filepath.Rel(root, target)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "it is a symlink that leads outside the repository, and relkit does not follow it; expected a regular file or a symlink to one inside the repo"
	}
	if first, _, _ := strings.Cut(filepath.ToSlash(rel), "/"); first == ".git" {
		return "it is a symlink into .git, and relkit does not follow it; expected a regular file or a symlink to one inside the repo"
	}
	if fi, err := os.Stat(target); err != nil || !fi.Mode().IsRegular() {
		return "it is a symlink to something that is not a regular file; relkit reads only regular files from a repo"
	}
	return ""
}

// fileKind names a file type that is not a regular file or a directory.
func fileKind(typ fs.FileMode) string {
	switch {
	case typ&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case typ&fs.ModeSocket != 0:
		return "a socket"
	case typ&fs.ModeCharDevice != 0:
		return "a character device"
	case typ&fs.ModeDevice != 0:
		return "a device"
	}
	return "an irregular file"
}

// dfRepo is what the findings of one repo share.
type dfRepo struct {
	ws     *workspace.Config
	repo   *workspace.Repo
	now    time.Time
	sev    report.Severity // of policy findings
	why    string          // said after a warning that would be an error on a release
	images dockerfile.Policy
	opts   dockerfile.Options
}

func dockerfilesOf(ctx context.Context, ws *workspace.Config, r *workspace.Repo, now time.Time, strict bool) ([]report.Finding, error) {
	if _, err := os.Stat(r.Dir); err != nil {
		return nil, fmt.Errorf("%s: cannot read the repo: %w", r.Name, err)
	}
	files, err := findDockerfiles(ctx, r.Dir)
	if err != nil {
		return nil, fmt.Errorf("%s: listing Dockerfiles: %w", r.Name, err)
	}
	if len(files) == 0 {
		return nil, nil
	}
	d := &dfRepo{ws: ws, repo: r, now: now,
		images: dockerfile.Policy{IsMoving: ws.Images.IsMoving, ReleaseTagForms: ws.Images.ReleaseTagForms}}
	var out []report.Finding
	d.sev, d.why, err = releaseSeverity(r, strict)
	if refused := refusedFindings(dockerfilesCheck, r.Name, err); refused != nil {
		// Unknown whether this is a release: judge it as one.
		out, d.sev, d.why = refused, report.Error, ""
	} else if err != nil {
		return nil, err
	}
	args := maps.Clone(ws.BuildArgs)
	if args == nil {
		args = map[string]string{}
	}
	maps.Copy(args, r.BuildArgs)
	d.opts = dockerfile.Options{BuildArgs: args}

	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if f.refused != "" {
			// The path only, never what it points to or holds.
			out = append(out, d.finding(f.path, 0, ruleFileNotRegular, report.Error, "",
				fmt.Sprintf("%s was not read: %s", f.path, f.refused)))
			continue
		}
		data, err := repofs.Read(r.Dir, f.path, repofs.MaxDockerfile)
		if refused := refusedFindings(dockerfilesCheck, r.Name, err); refused != nil {
			out = append(out, refused...)
			continue
		}
		if err != nil {
			return out, fmt.Errorf("%s: reading %s: %w", r.Name, f.path, err)
		}
		out = append(out, d.file(f.path, data)...)
	}
	return out, nil
}

// releaseSeverity is Error when the repo's VERSION is a release (or in
// strict mode), else Warning with the reason.
func releaseSeverity(r *workspace.Repo, strict bool) (report.Severity, string, error) {
	if strict {
		return report.Error, "", nil
	}
	if r.VersionFile == "" {
		return report.Warning, "the repo has no VERSION file", nil
	}
	data, err := repofs.Read(r.Dir, r.VersionFile, repofs.MaxVersion)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return report.Warning, r.VersionFile + " is missing", nil
	case err != nil:
		return "", "", fmt.Errorf("%s: reading %s: %w", r.Name, r.VersionFile, err)
	}
	vf, prob := version.Parse(data)
	switch {
	case prob != nil:
		return report.Warning, r.VersionFile + " is not a valid version", nil
	case vf.IsRelease():
		return report.Error, "", nil
	}
	return report.Warning, fmt.Sprintf("%s %s is a pre-release", r.VersionFile, vf.Raw), nil
}

// policy is a finding of the release policy: an error on a release (or in
// strict mode), else a warning that says why.
func (d *dfRepo) policy(file string, line int, rule, subject, msg string) report.Finding {
	if d.sev == report.Warning {
		msg += fmt.Sprintf(" (a warning while %s; an error on a release or with RELKIT_STRICT=1)", d.why)
	}
	return d.finding(file, line, rule, d.sev, subject, msg)
}

func (d *dfRepo) finding(file string, line int, rule string, sev report.Severity, subject, msg string) report.Finding {
	return report.Finding{Check: dockerfilesCheck, Rule: rule, Severity: sev, Repo: d.repo.Name, File: file,
		Line: line, Subject: subject, Message: msg}
}

func (d *dfRepo) file(file string, data []byte) []report.Finding {
	froms, err := dockerfile.Analyze(data, d.opts)
	var out []report.Finding
	if err != nil {
		var se dockerfile.SyntaxErrors
		if !errors.As(err, &se) {
			se = dockerfile.SyntaxErrors{{Msg: err.Error()}}
		}
		for _, e := range se {
			if e.TooLarge {
				out = append(out, d.finding(file, e.Line, ruleArgTooLarge, report.Error, "",
					fmt.Sprintf("relkit stopped expanding here: %s", e.Msg)))
				continue
			}
			out = append(out, d.finding(file, e.Line, ruleDockerfileSyntax, report.Error, "",
				fmt.Sprintf("docker build would stop here: %s", e.Msg)))
		}
	}
	for _, f := range froms {
		out = append(out, d.from(file, f)...)
	}
	return out
}

// from judges one parent image: of a FROM, a COPY --from or a RUN
// --mount=from.
func (d *dfRepo) from(file string, f dockerfile.From) []report.Finding {
	subject := f.Written
	as := f.Via.Describe(f.Written)
	if f.Expanded != f.Written && f.Kind != dockerfile.Unresolved {
		subject = f.Expanded
		as = fmt.Sprintf("%s (expands to %s)", as, f.Expanded)
	}
	switch f.Kind {
	case dockerfile.Stage, dockerfile.Scratch:
		return nil
	case dockerfile.Unresolved:
		return []report.Finding{d.policy(file, f.Line, ruleUnresolvedArg, subject, fmt.Sprintf(
			"%s: the parent image is unknown: %s; expected every variable in FROM to have a value (an ARG default before the first FROM, or dockerfiles.buildArgs / components[].buildArgs in %s)",
			as, f.Reason, filepath.Base(d.ws.File)))}
	}
	v := dockerfile.Classify(f.Expanded, d.images)
	const expect = "expected a digest, a SemVer tag (1.2.3, v1.2.3) or a tag leading with a version (16.04, 10.3-alpine)"
	switch v.Class {
	case dockerfile.Invalid:
		return []report.Finding{d.finding(file, f.Line, ruleDockerfileSyntax, report.Error, subject,
			fmt.Sprintf("%s is not an image reference docker build can pull: %s", as, v.Detail))}
	case dockerfile.Untagged:
		return []report.Finding{d.policy(file, f.Line, ruleUntagged, subject,
			fmt.Sprintf("%s: %s; %s", as, v.Detail, expect))}
	case dockerfile.MovingDigested:
		return []report.Finding{d.finding(file, f.Line, ruleMovingTag, report.Warning, subject,
			fmt.Sprintf("%s: %s; expected the version tag the digest belongs to", as, v.Detail))}
	case dockerfile.Moving:
		return d.waivable(file, f.Line, ruleMovingTag, subject, v.Ref, fmt.Sprintf("%s: %s; %s", as, v.Detail, expect))
	case dockerfile.Unversioned:
		return d.waivable(file, f.Line, ruleNotPinned, subject, v.Ref, fmt.Sprintf("%s: %s; %s", as, v.Detail, expect))
	}
	return nil // pinned
}

// waivable reports a tag problem unless a waiver covers the image and tag:
// a waiver in force turns it into an image-waived warning; an expired one
// does not apply and is itself reported.
func (d *dfRepo) waivable(file string, line int, rule, subject string, ref dockerfile.Ref, msg string) []report.Finding {
	var expired []workspace.Waiver
	for _, w := range d.ws.Images.Waivers {
		if !matchesAny(w, ref) {
			continue
		}
		if w.Expired(d.now) {
			expired = append(expired, w)
			continue
		}
		return []report.Finding{d.finding(file, line, ruleImageWaived, report.Warning, subject,
			fmt.Sprintf("%s; waived until %s by %s:%d (image %s, tag %s): %s",
				msg, w.Expires.Format(time.DateOnly), filepath.Base(d.ws.File), w.Line, w.Image, w.Tag, w.Reason))}
	}
	out := []report.Finding{d.policy(file, line, rule, subject, msg)}
	for _, w := range expired {
		out = append(out, d.policy(file, line, ruleWaiverExpired, subject,
			fmt.Sprintf("the waiver at %s:%d (image %s, tag %s: %s) expired on %s and no longer applies; expected the parent pinned, or a new expiry date if the exception still holds",
				filepath.Base(d.ws.File), w.Line, w.Image, w.Tag, w.Reason, w.Expires.Format(time.DateOnly))))
	}
	return out
}

func matchesAny(w workspace.Waiver, ref dockerfile.Ref) bool {
	for _, n := range ref.Names() {
		if w.Matches(n, ref.Tag) {
			return true
		}
	}
	return false
}
