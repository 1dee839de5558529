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
	chans     []chan v1.Update // one per pusher (per registry)
	last      []v1.Update      // the latest update of each
	wg        sync.WaitGroup
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
	}
	return r
}

// updates returns a new channel for one pusher's remote.WithProgress, or
// nil when not on a terminal. Each pusher counts its own bytes; the status
// line shows the sum.
func (r *reporter) updates() chan<- v1.Update {
	if !r.tty {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan v1.Update, 256)
	i := len(r.chans)
	r.chans = append(r.chans, ch)
	r.last = append(r.last, v1.Update{})
	r.wg.Add(1)
	go r.run(i, ch)
	return ch
}

func (r *reporter) run(i int, ch chan v1.Update) {
	defer r.wg.Done()
	for u := range ch {
		if u.Error != nil {
			continue
		}
		r.mu.Lock()
		r.last[i] = u
		if time.Since(r.drawn) > 100*time.Millisecond {
			r.draw()
		}
		r.mu.Unlock()
	}
}

// draw writes the status line; r.mu is held.
func (r *reporter) draw() {
	var done, total int64
	for _, u := range r.last {
		done, total = done+u.Complete, total+u.Total
	}
	r.drawn = time.Now()
	r.status = true
	fmt.Fprintf(r.w, "\r\033[Kpushing: %s of %s, %d targets done", mib(done), mib(total), r.nfinished)
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
	r.mu.Lock()
	chans := r.chans
	r.chans = nil
	r.mu.Unlock()
	for _, ch := range chans {
		close(ch)
	}
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status {
		fmt.Fprint(r.w, "\r\033[K")
		r.status = false
	}
}
