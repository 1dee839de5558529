package imagepush

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/term"
)

// reporter prints progress: a live status line on a terminal, and one line
// per finished target everywhere.
type reporter struct {
	mu        sync.Mutex
	w         io.Writer
	tty       bool
	ch        chan v1.Update
	done      chan struct{}
	last      v1.Update
	nfinished int
	status    bool // a status line is on screen
	drawn     time.Time
}

func newReporter(w io.Writer) *reporter {
	r := &reporter{w: w}
	if w == nil {
		r.w = io.Discard
		return r
	}
	if f, ok := w.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(f.Fd())) {
		r.tty = true
		r.ch = make(chan v1.Update, 256)
		r.done = make(chan struct{})
		go r.run()
	}
	return r
}

// updates is the channel for remote.WithProgress, nil when not a terminal.
func (r *reporter) updates() chan<- v1.Update {
	if r.ch == nil {
		return nil
	}
	return r.ch
}

func (r *reporter) run() {
	defer close(r.done)
	for u := range r.ch {
		if u.Error != nil {
			continue
		}
		r.mu.Lock()
		r.last = u
		if time.Since(r.drawn) > 100*time.Millisecond {
			r.draw()
		}
		r.mu.Unlock()
	}
}

// draw writes the status line; r.mu is held.
func (r *reporter) draw() {
	r.drawn = time.Now()
	r.status = true
	fmt.Fprintf(r.w, "\r\033[Kpushing: %s of %s, %d targets done", mib(r.last.Complete), mib(r.last.Total), r.nfinished)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// linef prints a line above the status line.
func (r *reporter) linef(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status {
		fmt.Fprint(r.w, "\r\033[K")
	}
	fmt.Fprintf(r.w, format+"\n", args...)
	if r.status {
		r.draw()
	}
}

// warn prints a warning; with no progress writer it goes to stderr, since
// the warnings Push gives must be seen.
func (r *reporter) warn(msg string) {
	if r.w == io.Discard {
		fmt.Fprintln(os.Stderr, msg)
		return
	}
	r.linef("%s", msg)
}

func (r *reporter) finished(t Target) {
	r.mu.Lock()
	r.nfinished++
	r.mu.Unlock()
	r.linef("%s", t.String())
}

// close stops the status line. All pushes using the channel are over.
func (r *reporter) close() {
	if r.ch == nil {
		return
	}
	close(r.ch)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status {
		fmt.Fprint(r.w, "\r\033[K")
		r.status = false
	}
}
