package checks

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relkit/relkit/checks/report"
	"github.com/relkit/relkit/release/gitx"
	"github.com/relkit/relkit/release/gitx/gitxtest"
	"github.com/relkit/relkit/release/workspace"
)

var dfDigest = "sha256:" + strings.Repeat("c", 64)

// dfWorkspace builds real git repos under a temp root (a charts repo and
// the components, each a map of files committed on master) and parses the
// config text, which names them.
func dfWorkspace(t testing.TB, comps map[string]map[string]string, config string) *workspace.Config {
	t.Helper()
	root := t.TempDir()
	comps["charts"] = map[string]string{"VERSION": "2.1.0-dev\n"}
	for name, files := range comps {
		newRepo(t, filepath.Join(root, name), files)
	}
	ws, err := parseWithoutVersion(t, root, config, slices.Collect(maps.Keys(comps))...)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// dfOne is dfWorkspace with one component, name, holding files.
func dfOne(t testing.TB, name string, files map[string]string) *workspace.Config {
	t.Helper()
	return dfWorkspace(t, map[string]map[string]string{name: files},
		"charts:\n  path: charts\ncomponents:\n  - name: "+name+"\n    path: "+name+"\n")
}

// dfLines renders findings as "repo file:line rule severity subject".
func dfLines(rep *report.Report) []string {
	var out []string
	for _, f := range rep.Findings() {
		out = append(out, fmt.Sprintf("%s %s %s %s %s", f.Repo, f.Location(), f.Rule, f.Severity, f.Subject))
	}
	return out
}

func dfWant(t *testing.T, rep *report.Report, want ...string) {
	t.Helper()
	if err := rep.Err(); err != nil {
		t.Fatalf("undecided: %v", err)
	}
	got := dfLines(rep)
	slices.Sort(want)
	slices.Sort(got)
	wantExactly(t, got, want)
}

func dfMessage(t *testing.T, rep *report.Report, repo, loc, rule string) string {
	t.Helper()
	for _, f := range rep.Findings() {
		if f.Repo == repo && f.Location() == loc && f.Rule == rule {
			return f.Message
		}
	}
	t.Fatalf("no %s finding at %s %s", rule, repo, loc)
	return ""
}

const dfConfig = `charts:
  path: charts
components:
  - name: api
    path: api
    buildArgs: {TAG: "3.20"}
  - name: web
    path: web
  - name: nover
    path: nover
images:
  releaseTagForms: ["rel-{version}"]
  waivers:
    - image: gcr.io/distroless/static
      tag: nonroot
      reason: distroless publishes no version tags
      expires: 2999-12-31
    - image: ubuntu
      tag: "master-*"
      reason: old habit
      expires: 2020-01-01
dockerfiles:
  buildArgs: {TAG: latest, REG: "registry:5000"}
`

// dfComponents are the repos every end-to-end test starts from: every
// Dockerfile shape of the field notes, in a release repo (api), a
// pre-release repo (web) and a repo without VERSION (nover).
func dfComponents() map[string]map[string]string {
	return map[string]map[string]string{
		"api": {
			"VERSION": "1.2.3\n",
			// Multi-stage, lowercase as, stage references, platform, global
			// ARG default, a waived distroless tag.
			"Dockerfile": "# syntax=docker/dockerfile:1\nARG GO=1.22.5\nFROM --platform=$BUILDPLATFORM golang:${GO}-alpine as build\nRUN go build\n" +
				"FROM build AS test\nRUN go test\nfrom Build\n  FROM gcr.io/distroless/static:nonroot\nCOPY --from=build /app /app\n",
			"Dockerfile.dev":                "FROM ubuntu:latest\n",
			"Dockerfile.dockerignore":       "FROM ubuntu:latest\n*.md\n",
			"build/ci.Dockerfile":           "ARG REG\nFROM ${REG}/team/app:1.0.0\nFROM \\\n  alpine\n",
			"docker/Dockerfile.args":        "ARG BASE\nARG TAG\nFROM ${BASE}\nFROM alpine:${TAG}\nFROM scratch\n",
			"docker/Dockerfile.late":        "FROM alpine:3.20\nARG V=3.19\nFROM alpine:$V\n",
			"docker/Dockerfile.pinned":      "FROM alpine:latest@" + dfDigest + "\nFROM ubuntu:16.04\nFROM postgres:10.3-alpine\nFROM app:rel-1.2.3\nFROM alpine@" + dfDigest + "\n",
			"docker/Dockerfile.master":      "FROM ubuntu:master-1.2\nFROM golang:${GO:-1.22}\n",
			"docker/Dockerfile.broken":      "FROM alpine:3.20\nFORM ubuntu\n",
			"vendor/x/Dockerfile":           "FROM ubuntu:latest\n",
			"testdata/Dockerfile":           "FROM ubuntu:latest\n",
			"web/node_modules/y/Dockerfile": "FROM ubuntu:latest\n",
			"sub/vendor/z/Dockerfile.inner": "FROM ubuntu:latest\n",
			"Dockerfiles.md":                "FROM ubuntu:latest\n",
			"docs/Dockerfile-guide.txt":     "FROM ubuntu:latest\n",
		},
		"web": {
			"VERSION":           "2.0.0-dev\n",
			"Dockerfile":        "FROM ubuntu:latest\nFROM alpine\nFROM debian:stable-slim\n",
			"Dockerfile.broken": "FROM\n",
		},
		"nover": {
			"Dockerfile": "FROM node:22\n",
		},
	}
}

func TestDockerfilesEndToEnd(t *testing.T) {
	t.Parallel()
	ws := dfWorkspace(t, dfComponents(), dfConfig)
	rep := checkDockerfiles(context.Background(), ws, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), false)
	dfWant(t, rep,
		// api: VERSION 1.2.3 is a release, so policy findings are errors.
		"api Dockerfile:8 image-waived warning gcr.io/distroless/static:nonroot",
		"api Dockerfile.dev:1 parent-moving-tag error ubuntu:latest",
		"api build/ci.Dockerfile:3 parent-untagged error alpine",
		"api docker/Dockerfile.args:3 parent-unresolved-arg error ${BASE}",
		"api docker/Dockerfile.late:3 parent-unresolved-arg error alpine:$V",
		"api docker/Dockerfile.pinned:1 parent-moving-tag warning alpine:latest@"+dfDigest,
		"api docker/Dockerfile.master:1 parent-not-pinned error ubuntu:master-1.2",
		"api docker/Dockerfile.master:1 waiver-expired error ubuntu:master-1.2",
		"api docker/Dockerfile.broken:2 dockerfile-syntax error ",
		// web: 2.0.0-dev is a pre-release: warnings, but syntax stays an error.
		"web Dockerfile:1 parent-moving-tag warning ubuntu:latest",
		"web Dockerfile:2 parent-untagged warning alpine",
		"web Dockerfile:3 parent-not-pinned warning debian:stable-slim",
		"web Dockerfile.broken:1 dockerfile-syntax error ",
		// nover: no VERSION counts as not released.
		"nover Dockerfile:1 parent-not-pinned warning node:22",
	)

	// Messages say what was found and what was expected.
	for _, c := range []struct {
		repo, loc, rule string
		parts           []string
	}{
		{"api", "Dockerfile.dev:1", "parent-moving-tag", []string{`"latest" is a moving tag`, "expected a digest, a SemVer tag"}},
		{"api", "docker/Dockerfile.args:3", "parent-unresolved-arg", []string{"ARG BASE (line 1) has no default", "buildArgs"}},
		{"api", "docker/Dockerfile.late:3", "parent-unresolved-arg", []string{"declared on line 2, inside a stage", "before the first FROM"}},
		{"api", "docker/Dockerfile.master:1", "parent-not-pinned", []string{`moving word "master"`}},
		{"api", "docker/Dockerfile.master:1", "waiver-expired", []string{"relkit.yaml:", "expired on 2020-01-01", "old habit"}},
		{"api", "Dockerfile:8", "image-waived", []string{"waived until 2999-12-31", "distroless publishes no version tags"}},
		{"api", "docker/Dockerfile.broken:2", "dockerfile-syntax", []string{"unknown instruction", "FORM"}},
		{"web", "Dockerfile:1", "parent-moving-tag", []string{"VERSION 2.0.0-dev is a pre-release", "RELKIT_STRICT=1"}},
		{"nover", "Dockerfile:1", "parent-not-pinned", []string{"VERSION is missing", "FROM node:22", `tag "22" names no version`}},
	} {
		msg := dfMessage(t, rep, c.repo, c.loc, c.rule)
		for _, p := range c.parts {
			if !strings.Contains(msg, p) {
				t.Errorf("%s %s %s message %q lacks %q", c.repo, c.loc, c.rule, msg, p)
			}
		}
	}
	// Expansion: the subject is the expanded reference and the message
	// names both.
	msg := dfMessage(t, rep, "api", "build/ci.Dockerfile:3", "parent-untagged")
	if !strings.Contains(msg, "FROM alpine") {
		t.Errorf("message %q does not quote the FROM", msg)
	}
	if got := rep.ExitCode(); got != report.ExitFindings {
		t.Errorf("exit code %d; want %d", got, report.ExitFindings)
	}
}

func TestDockerfilesExpandedSubject(t *testing.T) {
	t.Parallel()
	ws := dfOne(t, "app", map[string]string{"VERSION": "1.0.0\n", "Dockerfile": "ARG BASE=ubuntu\nARG T=latest\nFROM ${BASE}:${T}\n"})
	rep := checkDockerfiles(context.Background(), ws, time.Now(), false)
	dfWant(t, rep, "app Dockerfile:3 parent-moving-tag error ubuntu:latest")
	msg := dfMessage(t, rep, "app", "Dockerfile:3", "parent-moving-tag")
	if !strings.Contains(msg, "FROM ${BASE}:${T} (expands to ubuntu:latest)") {
		t.Errorf("message %q should name the FROM as written and as expanded", msg)
	}
}

func TestDockerfilesStrict(t *testing.T) {
	t.Parallel()
	ws := dfWorkspace(t, dfComponents(), dfConfig)
	rep := Dockerfiles(context.Background(), ws, Options{Strict: true})
	if rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	var warnings []string
	for _, f := range rep.Findings() {
		if f.Severity == report.Warning {
			warnings = append(warnings, f.Repo+" "+f.Location()+" "+f.Rule)
		}
		if strings.Contains(f.Message, "a warning while") {
			t.Errorf("strict finding still says it is a warning: %s", f.Message)
		}
	}
	// Only the two findings that are warnings by nature stay warnings.
	want := []string{"api Dockerfile:8 image-waived", "api docker/Dockerfile.pinned:1 parent-moving-tag"}
	slices.Sort(warnings)
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings when strict: %q; want %q", warnings, want)
	}
	errs, _ := rep.Counts()
	if errs != 12 {
		t.Errorf("%d errors when strict; want 12: %q", errs, dfLines(rep))
	}
}

func TestDockerfilesStrictOff(t *testing.T) {
	t.Parallel()
	ws := dfOne(t, "app", map[string]string{"VERSION": "1.1.0-rc1\n", "Dockerfile": "FROM ubuntu:latest\n"})
	rep := Dockerfiles(context.Background(), ws, Options{})
	dfWant(t, rep, "app Dockerfile:1 parent-moving-tag warning ubuntu:latest")
	if rep.ExitCode() != report.ExitOK {
		t.Errorf("not strict: exit %d; warnings only should exit 0", rep.ExitCode())
	}
}

func TestDockerfilesBuildArgOverrides(t *testing.T) {
	t.Parallel()
	comps := map[string]map[string]string{
		"a": {"VERSION": "1.0.0\n", "Dockerfile": "ARG BASE=ubuntu:latest\nFROM ${BASE}\n"},
		"b": {"VERSION": "1.0.0\n", "Dockerfile": "ARG BASE=ubuntu:latest\nFROM ${BASE}\n"},
	}
	ws := dfWorkspace(t, comps, `charts:
  path: charts
components:
  - name: a
    path: a
  - name: b
    path: b
    buildArgs: {BASE: "ubuntu:24.04"}
dockerfiles:
  buildArgs: {BASE: "alpine:edge"}
`)
	rep := checkDockerfiles(context.Background(), ws, time.Now(), false)
	// a takes the workspace build arg; b's own wins.
	dfWant(t, rep, "a Dockerfile:2 parent-moving-tag error alpine:edge")
}

func TestDockerfilesUnreadableRepoIsUndecided(t *testing.T) {
	t.Parallel()
	ws := dfWorkspace(t, map[string]map[string]string{
		"gone": {"VERSION": "1.0.0\n", "Dockerfile": "FROM ubuntu:latest\n"},
		"here": {"VERSION": "1.0.0\n", "Dockerfile": "FROM ubuntu:latest\n"},
	}, "charts:\n  path: charts\ncomponents:\n  - name: gone\n    path: gone\n  - name: here\n    path: here\n")
	gone, _ := ws.Component("gone")
	if err := os.RemoveAll(gone.Dir); err != nil {
		t.Fatal(err)
	}
	rep := checkDockerfiles(context.Background(), ws, time.Now(), false)
	if err := rep.Err(); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("Err() = %v; want an error naming repo gone", err)
	}
	if rep.ExitCode() != report.ExitUndecided {
		t.Errorf("exit %d; want %d", rep.ExitCode(), report.ExitUndecided)
	}
	// The other repo is still checked.
	if got := dfLines(rep); !slices.Equal(got, []string{"here Dockerfile:1 parent-moving-tag error ubuntu:latest"}) {
		t.Errorf("findings %q; want the readable repo's finding", got)
	}
}

func TestDockerfilesCancelled(t *testing.T) {
	t.Parallel()
	ws := dfWorkspace(t, dfComponents(), dfConfig)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep := checkDockerfiles(ctx, ws, time.Now(), false)
	if rep.ExitCode() != report.ExitUndecided {
		t.Errorf("cancelled run exit %d; want %d (could not decide)", rep.ExitCode(), report.ExitUndecided)
	}
}

func TestDockerfilesRegisteredAndRun(t *testing.T) {
	t.Parallel()
	if !slices.Contains(Names(), "dockerfiles") {
		t.Fatalf("dockerfiles not in %v", Names())
	}
	ws := dfOne(t, "app", map[string]string{"VERSION": "1.0.0\n", "Dockerfile": "FROM alpine:3.20 AS b\nFROM b\n"})
	var out strings.Builder
	code, _ := NewRunner(func() (*workspace.Config, error) { return ws, nil }, Options{}).Run(context.Background(), &out, report.Options{Format: report.JSON}, "dockerfiles")
	if code != report.ExitOK {
		t.Errorf("clean workspace: exit %d; output %s", code, out.String())
	}
}

// BenchmarkDockerfiles runs the check over 600 Dockerfiles in 6 repos.
func BenchmarkDockerfiles(b *testing.B) {
	shapes := []string{
		"ARG GO=1.22.5\nFROM --platform=$BUILDPLATFORM golang:${GO}-alpine AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /app ./cmd/%[1]d\n" +
			"FROM build AS test\nRUN go test ./...\nFROM gcr.io/distroless/static:nonroot\nCOPY --from=build /app /app\nENTRYPOINT [\"/app\"]\n",
		"FROM ubuntu:22.04\nRUN apt-get update && \\\n    apt-get install -y \\\n      curl ca-certificates && \\\n    rm -rf /var/lib/apt/lists/*\nCMD [\"svc-%[1]d\"]\n",
		"ARG BASE\nARG TAG=3.20\nFROM ${BASE}\nFROM alpine:${TAG}\nRUN <<EOF\necho %[1]d\nEOF\nFROM registry:5000/team/app:1.0.%[1]d\n",
		"FROM node:22-alpine AS web\nCOPY package.json .\nRUN npm ci\nFROM nginx:latest\nCOPY --from=web /dist /usr/share/nginx/html\n# %[1]d\n",
	}
	comps := map[string]map[string]string{}
	for r := range 6 {
		files := map[string]string{"VERSION": "1.2.3\n"}
		for i := range 100 {
			name := fmt.Sprintf("svc%02d/Dockerfile", i)
			if i%3 == 1 {
				name = fmt.Sprintf("docker/Dockerfile.v%02d", i)
			}
			files[name] = fmt.Sprintf(shapes[i%len(shapes)], r*100+i)
		}
		comps[fmt.Sprintf("repo%d", r)] = files
	}
	var cfg strings.Builder
	cfg.WriteString("charts:\n  path: charts\ncomponents:\n")
	for r := range 6 {
		fmt.Fprintf(&cfg, "  - name: repo%d\n    path: repo%d\n", r, r)
	}
	ws := dfWorkspace(b, comps, cfg.String())
	b.ResetTimer()
	for b.Loop() {
		rep := checkDockerfiles(context.Background(), ws, time.Now(), false)
		if rep.Err() != nil {
			b.Fatal(rep.Err())
		}
		if errs, _ := rep.Counts(); errs == 0 {
			b.Fatal("no findings over 600 Dockerfiles with moving parents")
		}
	}
	b.ReportMetric(600, "dockerfiles/op")
}

func TestDockerfilesInvalidVersionAndReference(t *testing.T) {
	t.Parallel()
	ws := dfOne(t, "odd", map[string]string{"VERSION": "v1.0.0\n", "Dockerfile": "FROM Ubuntu:22.04\nFROM ubuntu:jammy\n"})
	rep := checkDockerfiles(context.Background(), ws, time.Now(), false)
	// An invalid VERSION is not a release: policy findings are warnings;
	// a reference docker cannot pull is an error whatever the version.
	dfWant(t, rep,
		"odd Dockerfile:1 dockerfile-syntax error Ubuntu:22.04",
		"odd Dockerfile:2 parent-not-pinned warning ubuntu:jammy")
	if msg := dfMessage(t, rep, "odd", "Dockerfile:2", "parent-not-pinned"); !strings.Contains(msg, "VERSION is not a valid version") {
		t.Errorf("message %q does not say why it is only a warning", msg)
	}
}

// doublingDockerfile is ARG A0=x followed by 38 ARGs that each double the
// one before, and a FROM using the last: 2^38 bytes if expanded.
func doublingDockerfile() string {
	var b strings.Builder
	b.WriteString("ARG A0=x\n")
	for k := 1; k < 39; k++ {
		fmt.Fprintf(&b, "ARG A%d=$A%d$A%d\n", k, k-1, k-1)
	}
	b.WriteString("FROM alpine:$A38\n")
	return b.String()
}

func TestDockerfilesDiscoveryAndSources(t *testing.T) {
	t.Parallel()
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("FROM ubuntu:latest\nAWS_SECRET=hunter2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ws := dfOne(t, "app", map[string]string{
		"VERSION":              "1.0.0\n",
		"Containerfile":        "FROM ubuntu:latest\n",
		"sub/dockerfile":       "FROM alpine\n",
		"app.Dockerfile":       "FROM debian:stable-slim\n",
		"Dockerfile.prod":      "FROM node:latest\n",
		"build.containerfile":  "FROM golang:1.22\n",
		"DOCKERFILE.CI":        "FROM redis:edge\n",
		"docker/real":          "FROM nginx:latest\n", // the target of the symlink below
		"pkg/dockerfile.go":    "package dockerfile // not a build file\n",
		"vendor/Containerfile": "FROM ubuntu:latest\n",
		"Dockerfile": strings.Join([]string{
			"FROM golang:1.22.5 AS builder",
			"FROM alpine:3.20",
			"COPY --from=builder /app /app",
			"COPY --from=0 /app /app2",
			"COPY --from=alpine /etc/x /etc/x",
			"RUN --mount=from=golang:latest,target=/go true",
			"RUN --mount=type=cache,from=busybox:1.36,target=/c true",
			"COPY --from=registry:5000/team/base@" + dfDigest + " / /",
		}, "\n") + "\n",
		"big/Dockerfile": doublingDockerfile(),
	})
	app, _ := ws.Component("app")
	// Symlinks committed like any file: one inside the repo, one leaving it,
	// one into .git, one dangling; and a FIFO left in the worktree.
	for link, target := range map[string]string{
		"link/Dockerfile":     "../docker/real",
		"escape.Dockerfile":   outside,
		"git.Dockerfile":      ".git/config",
		"dangling.Dockerfile": "nowhere",
	} {
		gitxtest.Symlink(t, target, filepath.Join(app.Dir, filepath.FromSlash(link)))
	}
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "Add build file symlinks"}} {
		if _, err := gitx.Git(context.Background(), app.Dir, args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(app.Dir, "Dockerfile.fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := checkDockerfiles(context.Background(), ws, time.Now(), false)
	dfWant(t, rep,
		"app Containerfile:1 parent-moving-tag error ubuntu:latest",
		"app sub/dockerfile:1 parent-untagged error alpine",
		"app app.Dockerfile:1 parent-not-pinned error debian:stable-slim",
		"app Dockerfile.prod:1 parent-moving-tag error node:latest",
		"app DOCKERFILE.CI:1 parent-moving-tag error redis:edge",
		"app link/Dockerfile:1 parent-moving-tag error nginx:latest",
		"app escape.Dockerfile file-not-regular error ",
		"app git.Dockerfile file-not-regular error ",
		"app dangling.Dockerfile file-not-regular error ",
		"app Dockerfile.fifo file-not-regular error ",
		"app Dockerfile:5 parent-untagged error alpine",
		"app Dockerfile:6 parent-moving-tag error golang:latest",
		"app big/Dockerfile:21 dockerfile-arg-too-large error ",
		"app big/Dockerfile:40 parent-unresolved-arg error alpine:$A38",
	)
	for _, c := range []struct{ loc, rule, want string }{
		{"escape.Dockerfile", "file-not-regular", "leads outside the repository"},
		{"git.Dockerfile", "file-not-regular", "into .git"},
		{"dangling.Dockerfile", "file-not-regular", "resolves to nothing"},
		{"Dockerfile.fifo", "file-not-regular", "a named pipe"},
		{"Dockerfile:5", "parent-untagged", "COPY --from=alpine: no tag"},
		{"Dockerfile:6", "parent-moving-tag", "RUN --mount=from=golang:latest: "},
		{"big/Dockerfile:21", "dockerfile-arg-too-large", "ARG A20: it would expand to more than 1048576 bytes"},
		{"big/Dockerfile:40", "parent-unresolved-arg", "ARG A20 (line 21) is too large to expand"},
	} {
		if msg := dfMessage(t, rep, "app", c.loc, c.rule); !strings.Contains(msg, c.want) {
			t.Errorf("%s %s message %q lacks %q", c.loc, c.rule, msg, c.want)
		}
	}
	// A refused file is named, never read or quoted.
	for _, f := range rep.Findings() {
		if strings.Contains(f.Message, "hunter2") || strings.Contains(f.Message, outside) || strings.Contains(f.Message, "[core]") {
			t.Errorf("finding %s %s quotes what a refused symlink points to: %s", f.Location(), f.Rule, f.Message)
		}
	}
}
