// Command bench is the helper of bench.sh: it seeds a staging registry with
// random images and pushes them with imagepush, so that the script can time
// imagepush against one `crane copy` per image. Not part of relkit.
//
//	bench freeport                       print a free loopback port
//	bench serve ADDR                     serve an in-memory registry (go-containerregistry's) on ADDR
//	bench seed HOST N LAYERS BYTES       push N random images of LAYERS layers of BYTES each to HOST/staging/img-NN:build
//	bench push FROM TO N JOBS [PREFIX]   copy FROM/staging/img-NN:build to TO/PREFIX/img-NN:1.0.0 in one imagepush run (PREFIX: release)
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/logs"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/relkit/relkit/release/imagepush"
	"github.com/relkit/relkit/release/imagepush/imagepushtest"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "-debug" { // go-containerregistry's warnings on stderr
		logs.Warn.SetOutput(os.Stderr)
		args = args[1:]
	}
	if err := run(args); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: bench [-debug] freeport | serve ADDR | seed HOST N LAYERS BYTES | push FROM TO N JOBS [PREFIX]")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	// nums reads the numeric arguments at positions at, in that order.
	nums := func(at ...int) ([]int, error) {
		out := make([]int, len(at))
		for k, i := range at {
			if i >= len(args) {
				return nil, fmt.Errorf("%s: missing argument %d", args[0], i)
			}
			v, err := strconv.Atoi(args[i])
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	}
	switch args[0] {
	case "freeport":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer l.Close()
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
		return nil
	case "serve":
		if len(args) < 2 {
			return fmt.Errorf("serve ADDR")
		}
		srv := &http.Server{Addr: args[1], Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
		return srv.ListenAndServe()
	case "seed":
		v, err := nums(2, 3, 4) // N LAYERS BYTES
		if err != nil {
			return err
		}
		_, err = imagepushtest.SeedStaging(ctx, args[1], v[0], v[1], int64(v[2]))
		return err
	case "push":
		if len(args) < 3 {
			return fmt.Errorf("push FROM TO N JOBS")
		}
		v, err := nums(3, 4) // N JOBS
		if err != nil {
			return err
		}
		n, jobs := v[0], v[1]
		prefix := "release"
		if len(args) > 5 {
			prefix = args[5]
		}
		req := imagepush.Request{
			Jobs:     jobs,
			Keychain: authn.NewMultiKeychain(),
			// The test-only override (it prints its warning): a benchmark
			// is not CI.
			Environ: []string{imagepush.AllowLocalEnv + "=1"},
		}
		for i := range n {
			req.Images = append(req.Images, imagepush.Image{
				Source: imagepushtest.StagingRef(args[1], i),
				Repos:  []string{fmt.Sprintf("%s/%s/img-%02d", args[2], prefix, i)},
				Tags:   []string{"1.0.0"},
			})
		}
		res, err := imagepush.Push(ctx, req)
		if err != nil {
			return err
		}
		if got := len(res.With(imagepush.StatusPushed)); got != n {
			return fmt.Errorf("%d of %d pushed:\n%s", got, n, res)
		}
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}
