package review

import (
	"context"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/gitx"
)

func TestParseRepoURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/acme/charts.git":                       "acme/charts",
		"https://github.com/acme/charts":                           "acme/charts",
		"https://github.com/acme/charts/":                          "acme/charts",
		"https://x-access-token:s3cret@github.com/acme/charts.git": "acme/charts",
		"http://127.0.0.1:3000/acme/charts.git":                    "acme/charts",
		"https://gitea.example.org/git/acme/charts.git":            "acme/charts",
		"ssh://git@github.com/acme/charts.git":                     "acme/charts",
		"ssh://git@gitea.example.org:2222/acme/charts":             "acme/charts",
		"git://example.org/acme/charts.git":                        "acme/charts",
		"git@github.com:acme/charts.git":                           "acme/charts",
		"github.com:acme/charts":                                   "acme/charts",
		"git@github.com:/acme/charts.git":                          "acme/charts",
		"/srv/git/acme/charts.git":                                 "acme/charts",
		"file:///srv/git/acme/charts.git":                          "acme/charts",
		"../acme/charts.git":                                       "acme/charts",
		"https://github.com/acme/my.charts.git":                    "acme/my.charts",
		"https://github.com/acme/charts.git.git":                   "acme/charts.git",
		"https://github.com/acme%20co/charts":                      "acme co/charts",
		"  https://github.com/acme/charts.git\n":                   "acme/charts",
	} {
		got, err := ParseRepoURL(in)
		if err != nil {
			t.Errorf("ParseRepoURL(%q): %v", in, err)
			continue
		}
		if got.String() != want {
			t.Errorf("ParseRepoURL(%q) = %s, want %s", in, got, want)
		}
	}
	for _, in := range []string{"", "https://github.com/charts.git", "git@github.com:charts", "https://github.com/", "charts", "https://user:s3cret@github.com/x", "https://github.com/acme/.git"} {
		_, err := ParseRepoURL(in)
		if err == nil {
			t.Errorf("ParseRepoURL(%q) = ok, want an error", in)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseRepoURL(%q): the error shows the password: %v", in, err)
		}
	}
}

func TestRemoteRepoReadsThePushURL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"init", "-q", "--template="},
		{"remote", "add", "origin", "https://github.com/acme/fetch-only.git"},
		{"remote", "set-url", "--push", "origin", "git@github.com:acme/charts.git"},
	} {
		if _, err := gitx.Git(ctx, dir, args...); err != nil {
			t.Fatal(err)
		}
	}
	if id, err := remoteRepo(ctx, dir, "origin"); err != nil || id.String() != "acme/charts" {
		t.Errorf("remoteRepo(origin) = %v, %v; want acme/charts from the push URL", id, err)
	}
	if id, err := remoteRepo(ctx, dir, "https://example.org/o/r.git"); err != nil || id.String() != "o/r" {
		t.Errorf("remoteRepo(URL) = %v, %v", id, err)
	}
}
