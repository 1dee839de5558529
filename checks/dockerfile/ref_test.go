package dockerfile

import (
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/release/workspace"
)

var (
	dgA = "sha256:" + strings.Repeat("a", 64)
	// defaultPolicy is the workspace default: the built-in moving tags and
	// one extra release form.
	defaultPolicy = Policy{
		IsMoving:        workspace.ImagePolicy{MovingTags: workspace.DefaultMovingTags}.IsMoving,
		ReleaseTagForms: []string{"rel-{version}"},
	}
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in                string
		repo, tag, digest string
		wantErr           string
	}{
		{in: "ubuntu", repo: "ubuntu"},
		{in: "ubuntu:16.04", repo: "ubuntu", tag: "16.04"},
		{in: "library/ubuntu:22.04", repo: "library/ubuntu", tag: "22.04"},
		{in: "registry:5000/team/app:1.0.0", repo: "registry:5000/team/app", tag: "1.0.0"},
		{in: "registry:5000/team/app", repo: "registry:5000/team/app"},
		{in: "localhost:5000/app@" + dgA, repo: "localhost:5000/app", digest: dgA},
		{in: "alpine:latest@" + dgA, repo: "alpine", tag: "latest", digest: dgA},
		{in: "registry.example.org:443/proxy/omec/hss:1.2.3@" + dgA, repo: "registry.example.org:443/proxy/omec/hss", tag: "1.2.3", digest: dgA},
		{in: "", wantErr: "empty"},
		{in: "ubuntu:", wantErr: "tag \"\" is not valid"},
		{in: "ubuntu:-x", wantErr: "is not valid"},
		{in: "Ubuntu:22.04", wantErr: "repository \"Ubuntu\""},
		{in: "alpine@sha256:abc", wantErr: "digest"},
		{in: "alpine@" + dgA + "@" + dgA, wantErr: "more than one '@'"},
		{in: ":1.0", wantErr: "no repository"},
		{in: "a b:1.0", wantErr: "repository"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseRef(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRef(%q) = %+v, %v; want error containing %q", tt.in, r, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRef(%q): %v", tt.in, err)
			}
			if r.Repository != tt.repo || r.Tag != tt.tag || r.Digest != tt.digest {
				t.Errorf("ParseRef(%q) = %+v; want repo %q tag %q digest %q", tt.in, r, tt.repo, tt.tag, tt.digest)
			}
			if r.String() != tt.in {
				t.Errorf("String() = %q; want %q back", r.String(), tt.in)
			}
		})
	}
}

func TestRefNames(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"golang:1.22", []string{"golang", "docker.io/library/golang", "index.docker.io/library/golang"}},
		{"bitnami/redis:7.2", []string{"bitnami/redis", "docker.io/bitnami/redis", "index.docker.io/bitnami/redis"}},
		{"registry:5000/team/app:1.0.0", []string{"registry:5000/team/app"}},
	}
	for _, tt := range tests {
		r, err := ParseRef(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Names(); !slices.Equal(got, tt.want) {
			t.Errorf("Names(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		ref    string
		class  Class
		detail string // part of the detail, for classes that are not pinned
	}{
		// The old script's accepted shapes.
		{"ubuntu:16.04", Versioned, ""},
		{"postgres:10.3-alpine", Versioned, ""},
		{"golang:1.22-alpine3.20", Versioned, ""},
		{"golang:1.22", Versioned, ""},
		{"mcr.microsoft.com/dotnet/sdk:8.0", Versioned, ""},
		{"amazonlinux:2023.3.20240117.0", Versioned, ""},
		{"registry:5000/team/app:1.0.0", Release, ""},
		{"envoyproxy/envoy:v1.29.1", Release, ""},
		{"app:1.2.3-alpine", Release, ""},
		{"app:rel-1.2.3", Release, ""},
		{"alpine@" + dgA, Digested, ""},
		{"gcr.io/distroless/static:nonroot@" + dgA, Digested, ""},
		{"ubuntu:master-1.2@" + dgA, Digested, ""},
		// Moving.
		{"ubuntu", Untagged, "no tag and no digest"},
		{"registry:5000/team/app", Untagged, "no tag"},
		{"ubuntu:latest", Moving, "moving tag"},
		{"onos:MASTER", Moving, "moving tag"},
		{"alpine:latest@" + dgA, MovingDigested, "digest pins"},
		// Tags that name no version.
		{"debian:stable", Moving, "moving"},
		{"gcr.io/distroless/static:nonroot", Unversioned, "names no version"},
		{"ubuntu:jammy", Unversioned, "names no version"},
		{"node:22", Unversioned, "names no version"},
		{"ubuntu:master-1.2", Unversioned, "moving word \"master\""},
		{"app:1.2-latest", Unversioned, "moving word \"latest\""},
		{"app:1.3.0-dev", Unversioned, "moving word \"dev\""},
		{"app:1.2-SNAPSHOT", Unversioned, "moving word \"SNAPSHOT\""},
		{"golang:alpine3.20", Unversioned, "\"3.20\" comes after \"alpine\""},
		{"app:build-1.2.3", Unversioned, "does not lead with a version"},
		{"app:rel-1.2.3-dev", Unversioned, "moving word"},
		{"app:rel-1.2", Unversioned, "does not lead"},
		{"ubuntu:jammy-20240111", Unversioned, "names no version"},
		// Not references at all.
		{"Ubuntu:22.04", Invalid, "repository"},
		{"ubuntu:", Invalid, "tag"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			v := Classify(tt.ref, defaultPolicy)
			if v.Class != tt.class {
				t.Fatalf("Classify(%q) = %v (%s); want %v", tt.ref, v.Class, v.Detail, tt.class)
			}
			if !strings.Contains(v.Detail, tt.detail) {
				t.Errorf("Classify(%q) detail %q; want it to contain %q", tt.ref, v.Detail, tt.detail)
			}
			if v.Class.Pinned() != (tt.class == Versioned || tt.class == Release || tt.class == Digested || tt.class == MovingDigested) {
				t.Errorf("%v.Pinned() = %v", v.Class, v.Class.Pinned())
			}
		})
	}
}

func TestClassifyNilPolicy(t *testing.T) {
	// With no moving list nothing is a moving tag, but a word still names no
	// version.
	if v := Classify("ubuntu:latest", Policy{}); v.Class != Unversioned {
		t.Errorf("Classify(ubuntu:latest, no policy) = %v; want unversioned", v.Class)
	}
	if v := Classify("app:rel-1.2.3", Policy{}); v.Class != Unversioned {
		t.Errorf("Classify(app:rel-1.2.3, no forms) = %v; want unversioned", v.Class)
	}
}

func TestClassString(t *testing.T) {
	if Digested.String() != "digest" || Class(99).String() != "Class(99)" || Unresolved.String() != "unresolved" || Kind(9).String() != "Kind(9)" {
		t.Errorf("unexpected String(): %v %v %v %v", Digested, Class(99), Unresolved, Kind(9))
	}
}

func TestIsDockerfile(t *testing.T) {
	for name, want := range map[string]bool{
		"Dockerfile": true, "Dockerfile.dev": true, "Dockerfile.arm64": true, "build.Dockerfile": true,
		"Dockerfile.dockerignore": false, "build.Dockerfile.dockerignore": false, ".dockerignore": false,
		"Dockerfile.": false, ".Dockerfile": false, "Dockerfiles": false, "Dockerfile-old": false,
		"README.md": false,
		// any letter case, and podman's Containerfile
		"dockerfile": true, "DOCKERFILE": true, "Dockerfile.PROD": true, "app.dockerfile": true,
		"Containerfile": true, "containerfile": true, "Containerfile.arm64": true, "build.Containerfile": true,
		"app.containerfile": true, "Containerfile.containerignore": false, ".containerignore": false,
		"Containerfiles": false, "Containerfile.": false, ".containerfile": false,
		"Dockerfile.DockerIgnore": false,
		// code and prose about Dockerfiles
		"dockerfile.go": false, "Dockerfile.md": false, "containerfile.py": false, "dockerfile_test.go": false,
		"Dockerfile.orig": false,
	} {
		if got := IsDockerfile(name); got != want {
			t.Errorf("IsDockerfile(%q) = %v; want %v", name, got, want)
		}
	}
}
