package dockerfile

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// got is the part of a From a table row compares.
type got struct {
	Line     int
	Kind     Kind
	Expanded string
	Missing  string
}

func summarize(fs []From) []got {
	out := make([]got, len(fs))
	for i, f := range fs {
		out[i] = got{f.Line, f.Kind, f.Expanded, strings.Join(f.Missing, ",")}
	}
	return out
}

func TestAnalyzeShapes(t *testing.T) {
	tests := []struct {
		name string
		file string
		args map[string]string
		want []got
	}{
		{
			name: "multi-stage with stage references and lowercase as",
			file: "FROM golang:1.22.5 as build\nRUN go build\nFROM build AS test\nRUN go test\nFROM gcr.io/distroless/static:nonroot\nCOPY --from=build /app /app\n",
			want: []got{{1, Image, "golang:1.22.5", ""}, {3, Stage, "build", ""}, {5, Image, "gcr.io/distroless/static:nonroot", ""}},
		},
		{
			name: "stage reference is case-insensitive",
			file: "FROM alpine:3.20 AS Builder\nFROM BUILDER\n",
			want: []got{{1, Image, "alpine:3.20", ""}, {2, Stage, "BUILDER", ""}},
		},
		{
			name: "a later stage is not an earlier stage",
			file: "FROM base\nFROM alpine:3.20 AS base\n",
			want: []got{{1, Image, "base", ""}, {2, Image, "alpine:3.20", ""}},
		},
		{
			name: "scratch",
			file: "FROM golang:1.22 AS b\nFROM scratch\nCOPY --from=b /x /x\n",
			want: []got{{1, Image, "golang:1.22", ""}, {2, Scratch, "scratch", ""}},
		},
		{
			name: "platform from the built-in BUILDPLATFORM",
			file: "FROM --platform=$BUILDPLATFORM golang:1.22-alpine3.20 AS build\nARG TARGETARCH\nFROM --platform=${TARGETPLATFORM} alpine:3.20\n",
			want: []got{{1, Image, "golang:1.22-alpine3.20", ""}, {3, Image, "alpine:3.20", ""}},
		},
		{
			name: "built-in TARGETARCH in the image name",
			file: "FROM ${TARGETARCH}/alpine:3.20\n",
			want: []got{{1, Image, "amd64/alpine:3.20", ""}},
		},
		{
			name: "global ARG default used in FROM",
			file: "ARG GO=1.22.5\nARG BASE=golang\nFROM ${BASE}:${GO}-alpine\n",
			want: []got{{3, Image, "golang:1.22.5-alpine", ""}},
		},
		{
			name: "ARG default built from an earlier ARG",
			file: "ARG MAJOR=3\nARG ALPINE=${MAJOR}.20\nFROM alpine:$ALPINE\n",
			want: []got{{3, Image, "alpine:3.20", ""}},
		},
		{
			name: "ARG after the first FROM does not apply to later FROMs",
			file: "FROM alpine:3.20\nARG TAG=3.19\nFROM alpine:${TAG}\n",
			want: []got{{1, Image, "alpine:3.20", ""}, {3, Unresolved, "alpine:", "TAG"}},
		},
		{
			name: "default in the substitution",
			file: "ARG GO\nFROM golang:${GO:-1.22.5}\n",
			want: []got{{2, Image, "golang:1.22.5", ""}},
		},
		{
			name: "default in the substitution without colon",
			file: "FROM golang:${GO-1.22.5}\n",
			want: []got{{1, Image, "golang:1.22.5", ""}},
		},
		{
			name: "empty default leaves it unresolved",
			file: "ARG GO\nFROM golang:${GO:-}\n",
			want: []got{{2, Unresolved, "golang:", "GO"}},
		},
		{
			name: "ARG without default",
			file: "ARG GO\nFROM golang:${GO}\n",
			want: []got{{2, Unresolved, "golang:", "GO"}},
		},
		{
			name: "bare $VAR without default",
			file: "ARG GO\nFROM golang:$GO\n",
			want: []got{{2, Unresolved, "golang:", "GO"}},
		},
		{
			name: "ARG default from an ARG without default",
			file: "ARG V\nARG TAG=$V\nFROM alpine:${TAG}\n",
			want: []got{{3, Unresolved, "alpine:", "V"}},
		},
		{
			name: "undeclared variable",
			file: "FROM golang:${GO}\n",
			want: []got{{1, Unresolved, "golang:", "GO"}},
		},
		{
			name: "required variable ${X:?}",
			file: "ARG GO\nFROM golang:${GO:?GO_is_required}\n",
			want: []got{{2, Unresolved, "", "GO"}},
		},
		{
			name: "build arg overrides the default",
			file: "ARG GO=1.21\nFROM golang:${GO}\n",
			args: map[string]string{"GO": "1.22.5"},
			want: []got{{2, Image, "golang:1.22.5", ""}},
		},
		{
			name: "build arg gives a value to an ARG without default",
			file: "ARG GO\nFROM golang:${GO}\n",
			args: map[string]string{"GO": "1.22.5"},
			want: []got{{2, Image, "golang:1.22.5", ""}},
		},
		{
			name: "build arg for an undeclared ARG does not apply",
			file: "FROM golang:${GO}\n",
			args: map[string]string{"GO": "1.22.5"},
			want: []got{{1, Unresolved, "golang:", "GO"}},
		},
		{
			name: "ARG re-declared without default keeps the value",
			file: "ARG GO=1.22\nARG GO\nFROM golang:$GO\n",
			want: []got{{3, Image, "golang:1.22", ""}},
		},
		{
			name: "ARG naming a stage",
			file: "ARG BASE=build\nFROM alpine:3.20 AS build\nFROM ${BASE}\n",
			want: []got{{2, Image, "alpine:3.20", ""}, {3, Stage, "build", ""}},
		},
		{
			name: "alternative value ${X:+alt} of an unset ARG",
			file: "ARG SUFFIX\nFROM alpine:3.20${SUFFIX:+-$SUFFIX}\n",
			want: []got{{2, Image, "alpine:3.20", ""}},
		},
		{
			name: "digest only and tag plus digest",
			file: "FROM alpine@sha256:" + strings.Repeat("a", 64) + "\nFROM alpine:latest@sha256:" + strings.Repeat("b", 64) + "\n",
			want: []got{{1, Image, "alpine@sha256:" + strings.Repeat("a", 64), ""}, {2, Image, "alpine:latest@sha256:" + strings.Repeat("b", 64), ""}},
		},
		{
			name: "registry with a port",
			file: "FROM registry:5000/team/app:1.0.0\nFROM localhost:5000/app\n",
			want: []got{{1, Image, "registry:5000/team/app:1.0.0", ""}, {2, Image, "localhost:5000/app", ""}},
		},
		{
			name: "lowercase and indented from",
			file: "  from ubuntu:22.04\n\tfrom alpine:3.20 as x\n",
			want: []got{{1, Image, "ubuntu:22.04", ""}, {2, Image, "alpine:3.20", ""}},
		},
		{
			name: "continuation lines",
			file: "FROM \\\n  golang:1.22 \\\n  AS build\nRUN echo a \\\n  b\nFROM \\\n  ubuntu:latest\n",
			want: []got{{1, Image, "golang:1.22", ""}, {6, Image, "ubuntu:latest", ""}},
		},
		{
			name: "escape directive",
			file: "# escape=`\nFROM `\n  mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir `\n  c:\\\n",
			want: []got{{2, Image, "mcr.microsoft.com/windows/servercore:ltsc2022", ""}},
		},
		{
			name: "heredoc does not hide the next FROM",
			file: "FROM alpine:3.20 AS a\nRUN <<EOF\nFROM ubuntu:latest\nEOF\nFROM debian:bookworm\n",
			want: []got{{1, Image, "alpine:3.20", ""}, {5, Image, "debian:bookworm", ""}},
		},
		{
			name: "comments and blank lines",
			file: "# syntax=docker/dockerfile:1\n\n# FROM ubuntu:latest\nFROM alpine:3.20\n",
			want: []got{{4, Image, "alpine:3.20", ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := Analyze([]byte(tt.file), Options{BuildArgs: tt.args})
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			if g := summarize(fs); !slices.Equal(g, tt.want) {
				t.Errorf("Analyze:\n got  %+v\n want %+v", g, tt.want)
			}
		})
	}
}

func TestAnalyzeExplainsMissingArgs(t *testing.T) {
	tests := []struct {
		name, file string
		args       map[string]string
		want       string
	}{
		{"no default", "ARG GO\nFROM golang:${GO}\n", nil, "ARG GO (line 1) has no default"},
		{"inside a stage", "FROM alpine:3.20\nARG TAG=3.19\nFROM alpine:${TAG}\n", nil, "declared on line 2, inside a stage"},
		{"undeclared", "FROM golang:${GO}\n", nil, "GO is not declared by an ARG before the first FROM"},
		{"undeclared with build arg", "FROM golang:${GO}\n", map[string]string{"GO": "1"}, "applies build args only to declared ARGs"},
		{"required", "ARG GO\nFROM golang:${GO:?GO_is_required}\n", nil, "GO_is_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := Analyze([]byte(tt.file), Options{BuildArgs: tt.args})
			if err != nil {
				t.Fatal(err)
			}
			last := fs[len(fs)-1]
			if last.Kind != Unresolved || !strings.Contains(last.Reason, tt.want) {
				t.Errorf("got kind %v reason %q; want unresolved with %q", last.Kind, last.Reason, tt.want)
			}
		})
	}
}

func TestAnalyzeStageFields(t *testing.T) {
	fs, err := Analyze([]byte("FROM --platform=$BUILDPLATFORM golang:1.22 \\\n  AS Build\nFROM scratch\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 {
		t.Fatalf("got %d FROMs, want 2", len(fs))
	}
	f := fs[0]
	if f.Line != 1 || f.EndLine != 2 || f.Index != 0 || f.Name != "build" || f.Platform != "$BUILDPLATFORM" || f.Written != "golang:1.22" {
		t.Errorf("first FROM = %+v; want lines 1-2, index 0, name build, platform $BUILDPLATFORM, written golang:1.22", f)
	}
	if fs[1].Index != 1 || fs[1].Name != "" {
		t.Errorf("second FROM = %+v; want index 1, no name", fs[1])
	}
}

func TestAnalyzeSyntaxErrors(t *testing.T) {
	tests := []struct {
		name, file string
		line       int
		msg        string
		froms      int // FROMs still resolved
	}{
		{"unknown instruction", "FROM alpine:3.20\nFORM ubuntu\n", 2, "unknown instruction", 1},
		{"FROM with two words", "FROM alpine:3.20 build\n", 1, "FROM requires either one or three arguments", 0},
		{"bad stage name", "FROM alpine:3.20 AS 1st\n", 1, "invalid name for build stage", 0},
		{"unknown FROM flag", "FROM --pull alpine:3.20\n", 1, "unknown flag", 0},
		{"bad substitution", "FROM alpine:${}\n", 1, "bad substitution", 0},
		{"blank base", "ARG B=\nFROM ${B}\n", 2, "expands to nothing", 0},
		{"empty file", "", 0, "", 0},
		{"instruction before FROM", "RUN echo hi\nFROM alpine:3.20\n", 1, "before the first FROM", 1},
		{"only comments", "# nothing\n", 1, "no instructions", 0},
		{"bad ARG default", "ARG A=${\nFROM alpine:3.20\n", 1, "ARG A", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := Analyze([]byte(tt.file), Options{})
			var se SyntaxErrors
			if !errors.As(err, &se) || len(se) == 0 {
				t.Fatalf("Analyze(%q) error = %v; want SyntaxErrors", tt.file, err)
			}
			if se[0].Line != tt.line || !strings.Contains(se[0].Msg, tt.msg) {
				t.Errorf("first error = line %d %q; want line %d containing %q", se[0].Line, se[0].Msg, tt.line, tt.msg)
			}
			if len(fs) != tt.froms {
				t.Errorf("got %d FROMs (%+v), want %d", len(fs), fs, tt.froms)
			}
		})
	}
}

func TestAnalyzeFailedFromKeepsStageName(t *testing.T) {
	fs, err := Analyze([]byte("FROM --pull alpine:3.20 AS build\nFROM golang:1.22 AS build2\nFROM build\n"), Options{})
	if err == nil {
		t.Fatal("want a syntax error for the first FROM")
	}
	if len(fs) != 2 || fs[1].Kind != Stage {
		t.Errorf("got %+v; want the FROM build on line 3 to be a stage reference", fs)
	}
}

func TestAnalyzeTooLarge(t *testing.T) {
	_, err := Analyze(make([]byte, MaxSize+1), Options{})
	var se SyntaxErrors
	if !errors.As(err, &se) || !strings.Contains(se.Error(), "at most") {
		t.Errorf("got %v; want a size error", err)
	}
}

func TestBuiltinPlatformOption(t *testing.T) {
	fs, err := Analyze([]byte("FROM ${TARGETARCH}${TARGETVARIANT}/alpine:3.20\n"), Options{Platform: "linux/arm/v7"})
	if err != nil {
		t.Fatal(err)
	}
	if fs[0].Expanded != "armv7/alpine:3.20" {
		t.Errorf("expanded %q; want armv7/alpine:3.20", fs[0].Expanded)
	}
}
