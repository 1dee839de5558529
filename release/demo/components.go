package demo

import (
	"fmt"
	"strings"
)

// Component describes one component repo of the demo workspace.
type Component struct {
	Name, Path, TagPrefix string
	// Version is the VERSION on master after Build ("1.5.0-dev").
	Version string
	// Images are the image repositories the component builds.
	Images []string
	// Releases are the released versions, oldest first, without the tag
	// prefix; each has the git tag TagPrefix+version and the image tag
	// version.
	Releases []string
	// Charted is the release the master charts use.
	Charted string
	// BuildArgs are the component's build args in relkit.yaml.
	BuildArgs map[string]string
}

// Tag is the git tag of release version v.
func (c Component) Tag(v string) string { return c.TagPrefix + v }

type componentDef struct {
	Component
	build func(r *Repo, c *Component)
}

// release sets VERSION to v, tags it (annotated when msg is set) and
// records the release.
func release(r *Repo, c *Component, v, msg string) string {
	h := r.SetVersion(v + "\n")
	r.Tag(c.Tag(v), msg, "")
	c.Releases = append(c.Releases, v)
	return h
}

const goMain = `// SPDX-License-Identifier: Apache-2.0

package main

import (
	"log"
	"os"
)

func main() {
	log.SetFlags(0)
	if err := run(os.Args[1:]); err != nil {
		log.Fatal(err)
	}
}
`

func goFile(pkg, fn, body string) string {
	return fmt.Sprintf("// SPDX-License-Identifier: Apache-2.0\n\npackage %s\n\nfunc %s {\n%s}\n", pkg, fn, body)
}

func readme(name, what string) string {
	return fmt.Sprintf("# %s\n\n%s\n\nThe version is in `VERSION`; a merge that sets a release version is tagged\nand its image is published by CI.\n", name, what)
}

var componentDefs = []componentDef{
	{Component: Component{Name: "amf", Path: "amf", TagPrefix: "v",
		Images: []string{"registry.aetherproject.org/omecproject/5gc-amf"}}, build: buildAMF},
	{Component: Component{Name: "smf", Path: "smf", TagPrefix: "v",
		Images:    []string{"registry.aetherproject.org/omecproject/5gc-smf"},
		BuildArgs: map[string]string{"GO_VERSION": "1.22.5"}}, build: buildSMF},
	{Component: Component{Name: "upf", Path: "upf", TagPrefix: "",
		Images: []string{"ghcr.io/omec-project/upf", "ghcr.io/omec-project/upf-pfcpiface"}}, build: buildUPF},
	{Component: Component{Name: "roc-api", Path: "roc-api", TagPrefix: "",
		Images: []string{"registry.aetherproject.org/onosproject/aether-roc-api"}}, build: buildROCAPI},
}

// amfDockerfile: a cross-compiling multi-stage build with a stage reference
// written in lower case.
const amfDockerfile = `# SPDX-License-Identifier: Apache-2.0
# Compile on the build host's platform, run on the target's.
FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS builder
ARG TARGETOS
ARG TARGETARCH
WORKDIR /go/src/amf
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -mod=vendor -o /out/amf .

from builder as unit-test
RUN go test -mod=vendor ./...

FROM alpine:3.20 AS amf
RUN apk add --no-cache ca-certificates
COPY --from=builder /out/amf /usr/local/bin/amf
ENTRYPOINT ["amf"]
`

// A vendored module's Dockerfile: unpinned on purpose; relkit must not
// look under vendor/.
const vendoredDockerfile = `FROM golang
RUN go build ./...
FROM ubuntu:latest
`

func buildAMF(r *Repo, c *Component) {
	r.Commit("Initial import of the AMF", map[string]string{
		"VERSION":    "1.2.0-dev\n",
		"go.mod":     "module github.com/omec-project/amf\n\ngo 1.22\n\nrequire github.com/omec-project/openapi v1.1.0\n",
		"main.go":    goMain,
		"run.go":     goFile("main", "run(args []string) error", "\treturn serveNGAP(args)\n"),
		"ngap.go":    goFile("main", "serveNGAP(args []string) error", "\t_ = args\n\treturn nil\n"),
		"Dockerfile": amfDockerfile,
		"Makefile":   "DOCKER_TAG ?= $(shell cat VERSION)\n\ndocker-build:\n\tdocker build -t omecproject/5gc-amf:$(DOCKER_TAG) .\n",
		"README.md":  readme("AMF", "Access and Mobility Management Function of the OMEC 5G core."),
		"vendor/modules.txt": "# github.com/omec-project/openapi v1.1.0\n## explicit; go 1.21\n" +
			"github.com/omec-project/openapi\n",
		"vendor/github.com/omec-project/openapi/Dockerfile": vendoredDockerfile,
		"vendor/github.com/omec-project/openapi/openapi.go": "package openapi\n",
	})
	r.Commit("Handle NG setup requests", map[string]string{
		"ngap.go": goFile("main", "serveNGAP(args []string) error", "\tif len(args) > 0 {\n\t\treturn nil\n\t}\n\treturn nil\n"),
	})
	release(r, c, "1.2.0", "AMF 1.2.0")
	r.SetVersion("1.2.1-dev\n")
	r.Commit("Fix the T3512 registration timer", map[string]string{
		"timers.go": goFile("main", "t3512() int", "\treturn 54 * 60\n"),
	})
	release(r, c, "1.2.1", "")
	r.Tag("aether-1.6", "Aether 1.6 platform release", "")
	r.SetVersion("1.3.0-dev\n")
	// A hole: 1.3 is skipped to follow the SD-Core numbering.
	r.Commit("Skip 1.3: align with SD-Core numbering", map[string]string{"VERSION": "1.4.0-dev\n"})
	r.Checkout("feature/n2-handover", "HEAD")
	r.Commit("Add N2 handover preparation", map[string]string{
		"handover.go": goFile("main", "prepareHandover() error", "\treturn nil\n"),
	})
	r.Commit("Handle handover cancel", map[string]string{
		"handover.go": goFile("main", "prepareHandover() error", "\treturn cancelHandover()\n") +
			"\nfunc cancelHandover() error {\n\treturn nil\n}\n",
	})
	r.Checkout("master", "")
	r.Commit("Document the NGAP port", map[string]string{
		"README.md": readme("AMF", "Access and Mobility Management Function of the OMEC 5G core.\nNGAP listens on SCTP port 38412."),
	})
	// A date-stamp tag someone pushed by hand onto a dev commit.
	r.Tag("2024-01-10", "", "")
	r.Merge("feature/n2-handover", "Merge branch 'feature/n2-handover'")
	release(r, c, "1.4.0", "AMF 1.4.0")
	r.SetVersion("1.4.1-dev\n")
	r.Commit("Retry AUSF requests on 503", map[string]string{
		"ausf.go": goFile("main", "ausfRetries() int", "\treturn 3\n"),
	})
	release(r, c, "1.4.1", "AMF 1.4.1")
	r.SetVersion("1.5.0-dev\n")
	r.Commit("Add NSSF slice selection", map[string]string{
		"nssf.go": goFile("main", "selectSlice(sst int) int", "\treturn sst\n"),
	})
	c.Charted = "1.4.1"
}

// smfDockerfile: global ARGs used in FROM (one without a default, filled
// with ${X:-default}); GO_VERSION is overridden by relkit.yaml buildArgs.
const smfDockerfile = `# SPDX-License-Identifier: Apache-2.0
ARG GO_VERSION=1.22
ARG RUNTIME_IMAGE

FROM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
COPY . .
RUN go build -o /out/smf ./cmd/smf

FROM ${RUNTIME_IMAGE:-alpine:3.20}
COPY --from=build /out/smf /usr/local/bin/smf
ENTRYPOINT ["smf"]
`

// smfScratch is a Dockerfile.<suffix> variant ending in scratch.
const smfScratch = `# Static build for minimal deployments.
ARG GO_VERSION=1.22.5
FROM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/smf ./cmd/smf

FROM scratch
COPY --from=build /out/smf /smf
ENTRYPOINT ["/smf"]
`

func buildSMF(r *Repo, c *Component) {
	r.Commit("Initial import of the SMF", map[string]string{
		"VERSION":            "1.3.0-dev\n",
		"go.mod":             "module github.com/omec-project/smf\n\ngo 1.22\n",
		"cmd/smf/main.go":    goMain,
		"cmd/smf/run.go":     goFile("main", "run(args []string) error", "\t_ = args\n\treturn nil\n"),
		"Dockerfile":         smfDockerfile,
		"Dockerfile.scratch": smfScratch,
		"README.md":          readme("SMF", "Session Management Function of the OMEC 5G core."),
	})
	r.Commit("Add PFCP association setup", map[string]string{
		"pfcp/assoc.go": goFile("pfcp", "Associate(node string) error", "\t_ = node\n\treturn nil\n"),
	})
	release(r, c, "1.3.0", "SMF 1.3.0")
	r.SetVersion("1.4.0-dev\n")
	r.Commit("Fix a PFCP session leak on release", map[string]string{
		"pfcp/session.go": goFile("pfcp", "Release(id uint64) error", "\t_ = id\n\treturn nil\n"),
	})
	// A patch release done on master: the version goes back to 1.3.1.
	release(r, c, "1.3.1", "")
	r.SetVersion("1.4.0-dev\n")
	r.Commit("Support multiple DNNs per slice", map[string]string{
		"context/dnn.go": goFile("context", "DNNs() []string", "\treturn []string{\"internet\"}\n"),
	})
	c.Charted = "1.3.1"
}

// upfDockerfile: C/P4 datapath; UBUNTU_VERSION comes from the workspace
// build args; later stages pin by tag plus digest and by digest alone.
func upfDockerfile() string {
	return `# SPDX-License-Identifier: Apache-2.0
# syntax=docker/dockerfile:1
ARG UBUNTU_VERSION
ARG CPU=haswell

FROM ubuntu:${UBUNTU_VERSION} AS bess-build
ARG CPU
RUN apt-get update && apt-get install -y --no-install-recommends build-essential
WORKDIR /bess
COPY core/ core/
RUN make -C core CPU=$CPU

FROM bess-build AS pfcpiface-build
COPY pfcpiface/ pfcpiface/
RUN make -C pfcpiface

FROM ` + imgUbuntu + `@` + mustDigest(imgUbuntu) + ` AS bess
COPY --from=bess-build /bess/core/bessd /bin/bessd
ENTRYPOINT ["bessd", "-f"]

FROM alpine@` + mustDigest(imgAlpine) + ` AS pfcpiface
COPY --from=pfcpiface-build /bess/pfcpiface/pfcpiface /bin/pfcpiface
ENTRYPOINT ["/bin/pfcpiface"]
`
}

// upfDevDockerfile builds a debug image on a codename tag: acceptable while
// VERSION is a dev version, flagged otherwise.
const upfDevDockerfile = `# Developer image with debugging tools.
FROM ubuntu:jammy
RUN apt-get update && apt-get install -y gdb tcpdump
COPY . /src
`

func buildUPF(r *Repo, c *Component) {
	r.Commit("Initial import of the UPF", map[string]string{
		"VERSION":              "2.0.0-dev\n",
		"Dockerfile":           upfDockerfile(),
		"Dockerfile.dev":       upfDevDockerfile,
		"Makefile":             "DOCKER_TAG ?= $(shell cat VERSION)\n\ndocker-build:\n\tdocker build --target bess -t ghcr.io/omec-project/upf:$(DOCKER_TAG) .\n\tdocker build --target pfcpiface -t ghcr.io/omec-project/upf-pfcpiface:$(DOCKER_TAG) .\n",
		"core/main.cc":         "// SPDX-License-Identifier: Apache-2.0\nint main(int argc, char **argv) { return 0; }\n",
		"core/Makefile":        "bessd: main.cc\n\t$(CXX) -O2 -o $@ $<\n",
		"p4/upf.p4":            "// SPDX-License-Identifier: Apache-2.0\n#include <core.p4>\n#include <v1model.p4>\n",
		"pfcpiface/main.go":    goMain,
		"pfcpiface/run.go":     goFile("main", "run(args []string) error", "\t_ = args\n\treturn nil\n"),
		"pfcpiface/Makefile":   "pfcpiface:\n\tgo build -o pfcpiface .\n",
		"README.md":            readme("UPF", "User Plane Function: BESS datapath, P4 pipeline and PFCP agent."),
		"conf/upf.jsonc":       "{\n  // access and core interfaces\n  \"access\": {\"ifname\": \"access\"},\n  \"core\": {\"ifname\": \"core\"}\n}\n",
		"scripts/run-tests.sh": "#!/bin/sh\nset -e\nmake -C core test\n",
	})
	release(r, c, "2.0.0", "UPF 2.0.0")
	r.SetVersion("2.1.0-dev\n")
	r.Commit("Add GTP-U extension header parsing", map[string]string{
		"core/gtpu.cc": "// SPDX-License-Identifier: Apache-2.0\nint gtpu_ext(int h) { return h; }\n",
	})
	r.Commit("P4: count dropped packets per session", map[string]string{
		"p4/upf.p4": "// SPDX-License-Identifier: Apache-2.0\n#include <core.p4>\n#include <v1model.p4>\ncounter(1024, CounterType.packets) drops;\n",
	})
	rel210 := release(r, c, "2.1.0", "UPF 2.1.0")
	r.SetVersion("2.2.0-dev\n")
	fix := r.Commit("Answer GTP-U echo requests on every interface", map[string]string{
		"core/echo.cc": "// SPDX-License-Identifier: Apache-2.0\nint echo_reply(int ifc) { return ifc; }\n",
	})
	// Patch for the 2.0 platform release, on a lazily created branch.
	r.Checkout("aether-2.0", rel210)
	r.SetVersion("2.1.1-dev\n")
	r.CherryPick(fix)
	release(r, c, "2.1.1", "UPF 2.1.1")
	r.Checkout("master", "")
	r.Commit("Add QoS flow enforcement", map[string]string{
		"core/qos.cc": "// SPDX-License-Identifier: Apache-2.0\nint qfi(int f) { return f & 0x3f; }\n",
	})
	c.Charted = "2.1.1"
}

// rocAPIDockerfile: a builder image from a registry with a port, and a
// FROM split over a continuation line.
const rocAPIDockerfile = `# SPDX-License-Identifier: Apache-2.0
FROM registry:5000/aether/go-builder:1.22.5 AS build
WORKDIR /go/src/aether-roc-api
COPY . .
RUN go build -o /out/aether-roc-api ./cmd/aether-roc-api

FROM \
    alpine:3.20
COPY --from=build /out/aether-roc-api /usr/local/bin/aether-roc-api
ENTRYPOINT ["aether-roc-api"]
`

func buildROCAPI(r *Repo, c *Component) {
	r.Commit("Initial import of the ROC API", map[string]string{
		"VERSION":                        "1.1.0-dev\n",
		"go.mod":                         "module github.com/onosproject/aether-roc-api\n\ngo 1.22\n",
		"cmd/aether-roc-api/main.go":     goMain,
		"cmd/aether-roc-api/run.go":      goFile("main", "run(args []string) error", "\t_ = args\n\treturn nil\n"),
		"api/aether-2.1.0-openapi3.yaml": "openapi: 3.0.0\ninfo:\n  title: Aether ROC API\n  version: 2.1.0\npaths: {}\n",
		"Dockerfile":                     rocAPIDockerfile,
		"README.md":                      readme("aether-roc-api", "REST API of the Aether Runtime Operational Control."),
	})
	release(r, c, "1.1.0", "aether-roc-api 1.1.0")
	r.SetVersion("1.1.1-dev\n")
	r.Commit("Return 404 for unknown sites", map[string]string{
		"pkg/sites.go": goFile("pkg", "SiteStatus(found bool) int", "\tif !found {\n\t\treturn 404\n\t}\n\treturn 200\n"),
	})
	// A manual tag on a dev commit, made for a test deployment.
	r.Tag("1.1.1-rc1", "", "")
	release(r, c, "1.1.1", "")
	bump := r.SetVersion("1.2.0-dev\n")
	// Revert flip-flop: the bump is reverted, then applied again.
	r.Revert(bump)
	r.Commit("Reapply \"Set version to 1.2.0-dev\"", map[string]string{"VERSION": "1.2.0-dev\n"})
	r.Commit("Add the slice QoS endpoint", map[string]string{
		"pkg/qos.go": goFile("pkg", "QoSPath() string", "\treturn \"/aether/v2.1.x/{enterprise}/slice/{slice}/qos\"\n"),
	})
	release(r, c, "1.2.0", "aether-roc-api 1.2.0")
	r.SetVersion("1.3.0-dev\n")
	c.Charted = "1.2.0"
}

// versionOf returns the first line of VERSION content.
func versionOf(content string) string {
	v, _, _ := strings.Cut(content, "\n")
	return v
}
