package safetext

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	cases := map[string]string{
		"plain text, ünïcödé and 中文":          "plain text, ünïcödé and 中文",
		"two\nlines\tand a tab":               "two\nlines\tand a tab",
		"FROM \x1b[2J\x1b[31mubuntu":          `FROM \x1b[2J\x1b[31mubuntu`,
		"fix\rDONE: all good":                 `fix\rDONE: all good`,
		"bell\a back\b nul\x00 del\x7f":       `bell\x07 back\x08 nul\x00 del\x7f`,
		"c1 \u009b31m csi":                    `c1 \u009b31m csi`,
		"bidi \u202eevil\u202c \u2066x\u2069": `bidi \u202eevil\u202c \u2066x\u2069`,
		"bad utf8 \xff\x9b end":               `bad utf8 \xff\x9b end`,
		"osc \x1b]0;title\x07 set":            `osc \x1b]0;title\x07 set`,
	}
	for in, want := range cases {
		got := Escape(in)
		if got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
		for _, c := range got {
			if c != '\n' && c != '\t' && (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f)) {
				t.Errorf("Escape(%q) still holds control %U", in, c)
			}
		}
	}
}

func TestRedact(t *testing.T) {
	cases := map[string]string{
		"https://user:s3cret@git.example.org/org/repo.git":                                "https://***@git.example.org/org/repo.git",
		"fatal: unable to access 'https://x-access-token:ghp_TOKEN@github.com/o/r/': 403": "fatal: unable to access 'https://***@github.com/o/r/': 403",
		"https://ghp_TOKENASUSER@github.com/o/r":                                          "https://***@github.com/o/r",
		"oci://robot:pa@ss@registry.example.org/charts":                                   "oci://***@registry.example.org/charts",
		"mirror docker.io: user:hunter2@mirror.example.org:5000/proxy":                    "mirror docker.io: ***@mirror.example.org:5000/proxy",
		"ghcr.io=bot:tok@mirror.local":                                                    "ghcr.io=***@mirror.local",
		// Left alone: no credentials.
		"https://github.com/o/r@main":                             "https://github.com/o/r@main",
		"git@github.com:org/repo.git":                             "git@github.com:org/repo.git",
		"ubuntu:22.04@sha256:" + strings.Repeat("ab", 32):         "ubuntu:22.04@sha256:" + strings.Repeat("ab", 32),
		"registry:5000/app:1.0@sha256:" + strings.Repeat("0", 64): "registry:5000/app:1.0@sha256:" + strings.Repeat("0", 64),
		"Jane Doe <jane@example.org>":                             "Jane Doe <jane@example.org>",
		"no at sign at all":                                       "no at sign at all",
	}
	for in, want := range cases {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	for _, secret := range []string{"s3cret", "ghp_TOKEN", "hunter2", "pa@ss"} {
		for in := range cases {
			if strings.Contains(in, secret) && strings.Contains(Redact(in), secret) {
				t.Errorf("Redact(%q) kept %s", in, secret)
			}
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	v := map[string]string{"remote": "https://u:topsecret@host/r.git", "subject": "fix \x1b[31mred"}
	if err := WriteJSON(&b, v); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "topsecret") || strings.Contains(b.String(), "\x1b") {
		t.Errorf("JSON output leaks: %s", b.String())
	}
	var back map[string]string
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back["subject"] != v["subject"] {
		t.Errorf("JSON output does not decode to the same subject: %v %q", err, back["subject"])
	}
}
