package dockerfile

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// sourceGot is the part of a From the source tests compare.
type sourceGot struct {
	Line     int
	Via      Via
	Kind     Kind
	Expanded string
	Index    int
}

func TestAnalyzeCopyAndMountSources(t *testing.T) {
	file := strings.Join([]string{
		"FROM golang:1.22.5 AS builder",                         // 1
		"FROM alpine:3.20",                                      // 2
		"COPY --from=builder /app /app",                         // 3: a stage
		"COPY --from=alpine /etc/x /etc/x",                      // 4: an image
		"COPY --from=0 /app /app2",                              // 5: stage index
		"RUN --mount=from=golang:latest,target=/go true",        // 6: an image
		"RUN --mount=type=bind,from=Builder,target=/b true",     // 7: a stage, any case
		"RUN --mount=type=cache,from=redis:7.2,target=/c \\",    // 8: an image, continued
		"    --mount=type=tmpfs,target=/t true",                 // 9
		"COPY --from=scratch / /",                               // 10
		"COPY --link --from=registry:5000/team/app:1.0.0 /a /a", // 11: registry with a port
		"RUN --mount=from=0,target=/z true",                     // 12: mounts name no index: image "0"
	}, "\n") + "\n"
	fs, err := Analyze([]byte(file), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []sourceGot
	for _, f := range fs {
		got = append(got, sourceGot{f.Line, f.Via, f.Kind, f.Expanded, f.Index})
	}
	want := []sourceGot{
		{1, ViaFrom, Image, "golang:1.22.5", 0},
		{2, ViaFrom, Image, "alpine:3.20", 1},
		{4, ViaCopy, Image, "alpine", 1},
		{6, ViaMount, Image, "golang:latest", 1},
		{8, ViaMount, Image, "redis:7.2", 1},
		{10, ViaCopy, Scratch, "scratch", 1},
		{11, ViaCopy, Image, "registry:5000/team/app:1.0.0", 1},
		{12, ViaMount, Image, "0", 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Analyze:\n got  %+v\n want %+v", got, want)
	}
	if fs[3].EndLine != 6 || fs[4].EndLine != 9 {
		t.Errorf("end lines %d and %d; want 6 (one line) and 9 (continued)", fs[3].EndLine, fs[4].EndLine)
	}
	for _, f := range fs {
		checkFrom(t, f)
	}
}

func TestAnalyzeSourceErrors(t *testing.T) {
	tests := []struct {
		name, file string
		line       int
		msg        string
	}{
		{"variable in COPY --from", "ARG IMG=alpine:3.20\nFROM alpine:3.20\nCOPY --from=$IMG /a /a\n", 3, "variable expansion is not supported"},
		{"variable in RUN --mount from", "FROM alpine:3.20\nRUN --mount=from=${IMG}x,target=/a true\n", 2, "doesn't support variable expansion"},
		{"index past the last stage", "FROM alpine:3.20\nCOPY --from=3 /a /a\n", 2, "invalid stage index 3"},
		{"negative index", "FROM alpine:3.20\nCOPY --from=-1 /a /a\n", 2, "invalid stage index -1"},
		{"own stage by index", "FROM alpine:3.20\nCOPY --from=0 /a /a\n", 2, "not defined before the current stage"},
		{"later stage by name", "FROM alpine:3.20 AS first\nCOPY --from=second /a /a\nFROM alpine:3.20 AS second\n", 2, `stage "second" is not defined before`},
		{"own stage by name in a mount", "FROM alpine:3.20 AS me\nRUN --mount=from=me,target=/a true\n", 2, `stage "me" is not defined before`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := Analyze([]byte(tt.file), Options{})
			var se SyntaxErrors
			if !errors.As(err, &se) || len(se) != 1 {
				t.Fatalf("error = %v; want one syntax error", err)
			}
			if se[0].Line != tt.line || !strings.Contains(se[0].Msg, tt.msg) || se[0].TooLarge {
				t.Errorf("error = line %d %q (too large %v); want line %d containing %q", se[0].Line, se[0].Msg, se[0].TooLarge, tt.line, tt.msg)
			}
			for _, f := range fs {
				if f.Via != ViaFrom {
					t.Errorf("the refused source came back as %+v", f)
				}
			}
		})
	}
}

func TestViaDescribe(t *testing.T) {
	for v, want := range map[Via]string{ViaFrom: "FROM x:1", ViaCopy: "COPY --from=x:1", ViaMount: "RUN --mount=from=x:1"} {
		if got := v.Describe("x:1"); got != want {
			t.Errorf("%d.Describe = %q; want %q", v, got, want)
		}
	}
}
