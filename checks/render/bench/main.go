// Command bench is the Go half of checks/render/bench/bench.sh: it
// generates the benchmark charts repo, runs check:images over it, serves an
// in-process registry seeded with tags, and checks those tags, printing
// timings the script compares with the helm and crane CLIs.
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/relkit/relkit/checks"
	"github.com/relkit/relkit/checks/imageref"
	"github.com/relkit/relkit/checks/imageref/imagereftest"
	"github.com/relkit/relkit/checks/render"
	"github.com/relkit/relkit/checks/render/rendertest"
	"github.com/relkit/relkit/release/workspace"
)

const usage = `usage:
  bench gen DIR N               write N generated charts under DIR, print their directories
  bench images DIR              run check:images (no registry) over the charts repo at DIR
  bench count DIR               count the image references rendered from the charts at DIR
  bench serve-registry N FILE   serve a registry on 127.0.0.1 seeded with N tags, write the
                                references to FILE, serve until interrupted
  bench check-refs FILE         check every reference of FILE with one registry client`

func main() {
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		log.Fatalf("bench: %v", err)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("no command\n%s", usage)
	}
	switch cmd, rest := args[0], args[1:]; {
	case cmd == "gen" && len(rest) == 2:
		n, err := strconv.Atoi(rest[1])
		if err != nil {
			return err
		}
		dirs, err := rendertest.GenerateCharts(rest[0], n)
		if err != nil {
			return err
		}
		fmt.Println(strings.Join(dirs, "\n"))
		return nil
	case cmd == "images" && len(rest) == 1:
		return images(ctx, rest[0])
	case cmd == "count" && len(rest) == 1:
		return count(ctx, rest[0])
	case cmd == "serve-registry" && len(rest) == 2:
		n, err := strconv.Atoi(rest[0])
		if err != nil {
			return err
		}
		return serve(ctx, n, rest[1])
	case cmd == "check-refs" && len(rest) == 1:
		return checkRefs(ctx, rest[0])
	}
	return fmt.Errorf("bad arguments %q\n%s", args, usage)
}

func benchWorkspace(dir string) *workspace.Config {
	return &workspace.Config{
		Charts: &workspace.Repo{Name: "charts", Dir: dir},
		Images: workspace.ImagePolicy{MovingTags: workspace.DefaultMovingTags},
		Render: workspace.Render{KubeVersion: workspace.DefaultKubeVersion, APIVersions: []string{"batch/v1/CronJob"}},
	}
}

// images runs check:images once, as the mage target would.
func images(ctx context.Context, dir string) error {
	start := time.Now()
	rep := checks.Images(ctx, benchWorkspace(dir), checks.Options{})
	took := time.Since(start)
	if err := rep.Err(); err != nil {
		return err
	}
	errs, warns := rep.Counts()
	fmt.Printf("check:images: %d errors, %d warnings in %s (in process)\n", errs, warns, took.Round(time.Millisecond))
	return nil
}

// count renders the charts and counts the image references found.
func count(ctx context.Context, dir string) error {
	res, err := render.All(ctx, dir, render.OptionsFrom(benchWorkspace(dir).Render))
	if err != nil {
		return err
	}
	n := 0
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("%s: %w", r.Chart.Dir, r.Err)
		}
		n += len(r.Images)
	}
	fmt.Printf("%d charts, %d image references\n", len(res), n)
	return nil
}

func serve(ctx context.Context, n int, file string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	refs, err := imagereftest.SeedRegistry(ctx, l.Addr().String(), n)
	if err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(refs, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		return err
	}
	fmt.Printf("registry on %s with %d tags; references in %s\n", l.Addr(), n, file)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func checkRefs(ctx context.Context, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var refs []imageref.Ref
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			r, err := imageref.Parse(s)
			if err != nil {
				return err
			}
			refs = append(refs, r)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	start := time.Now()
	c, err := imageref.NewChecker(imageref.Options{})
	if err != nil {
		return err
	}
	counts := map[imageref.Status]int{}
	for _, r := range c.CheckAll(ctx, refs) {
		counts[r.Status]++
	}
	fmt.Printf("registry check: %d references (%d exist, %d missing, %d unknown) in %s\n",
		len(refs), counts[imageref.Exists], counts[imageref.Missing], counts[imageref.Unknown], time.Since(start).Round(time.Millisecond))
	if counts[imageref.Exists] != len(refs) {
		return fmt.Errorf("expected every reference to exist")
	}
	return nil
}
