package server

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// lockGate lets a background walk (BGSAVE, AOF rewrite, socket full sync) give the command
// lock to client batches as soon as they want it. Go's sync.Mutex is not fair: a goroutine
// that releases the lock and asks for it again usually gets it back before a woken waiter
// runs, and a waiter is only given priority after it has waited 1 ms. So a client batch
// that finds the lock taken says so (waiters), a walk step that sees it ends after its
// current few keys, and the walk does not ask for the lock again until no batch is waiting.
//
// While a walk runs (watching), the waits of client batches are also recorded, for the
// walk's log line and the latency benchmarks.
type lockGate struct {
	waiters atomic.Int32
	parked  atomic.Bool   // the walk is waiting for waiters to drop to zero
	wake    chan struct{} // made once, under s.mu, before parked is first set

	watching atomic.Bool
	maxWait  atomic.Int64                          // ns
	hist     [len(gateWaitBounds) + 1]atomic.Int64 // waits by gateWaitBounds
}

// gateWaitBounds are the upper bounds of the wait histogram's buckets.
var gateWaitBounds = [...]time.Duration{50 * time.Microsecond, 100 * time.Microsecond,
	250 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond}

// lockBatch takes the command lock for a client batch, announcing the wait when the lock
// is taken. The uncontended path is one compare-and-swap, as Lock's own.
func (s *Server) lockBatch() {
	if s.mu.TryLock() {
		return
	}
	g := &s.persist.gate
	g.waiters.Add(1)
	watching := g.watching.Load()
	var t0 time.Duration
	if watching {
		t0 = monoNow()
	}
	s.mu.Lock()
	if g.waiters.Add(-1) == 0 && g.parked.Load() {
		select {
		case g.wake <- struct{}{}:
		default:
		}
	}
	if watching {
		g.record(monoNow() - t0)
	}
}

func (g *lockGate) record(d time.Duration) {
	i := 0
	for i < len(gateWaitBounds) && d > gateWaitBounds[i] {
		i++
	}
	g.hist[i].Add(1)
	for {
		m := g.maxWait.Load()
		if int64(d) <= m || g.maxWait.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// watch starts recording the waits of client batches (a walk begins). Called with s.mu
// held.
func (g *lockGate) watch() {
	if g.wake == nil {
		g.wake = make(chan struct{}, 1)
	}
	g.maxWait.Store(0)
	for i := range g.hist {
		g.hist[i].Store(0)
	}
	g.watching.Store(true)
}

// unwatch stops recording and returns the figures for the log.
func (g *lockGate) unwatch() string {
	g.watching.Store(false)
	var n int64
	for i := range g.hist {
		n += g.hist[i].Load()
	}
	if n == 0 {
		return "no client batch waited for it"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "client batches waited at most %.3f ms for it", float64(g.maxWait.Load())/1e6)
	var parts []string
	for i := range g.hist {
		n := g.hist[i].Load()
		if n == 0 {
			continue
		}
		if i < len(gateWaitBounds) {
			parts = append(parts, fmt.Sprintf("<=%v: %d", gateWaitBounds[i], n))
		} else {
			parts = append(parts, fmt.Sprintf(">%v: %d", gateWaitBounds[i-1], n))
		}
	}
	if len(parts) > 0 {
		b.WriteString(" (waits " + strings.Join(parts, ", ") + ")")
	}
	return b.String()
}

// busy reports whether a client batch waits for the lock.
func (g *lockGate) busy() bool { return g.waiters.Load() > 0 }

// waitIdle returns once no client batch waits for the lock, or after limit (a server whose
// batches follow one another without pause must still let the walk progress), and then
// reports whether batches were still waiting. Called without s.mu.
func (g *lockGate) waitIdle(limit time.Duration, t *time.Timer) (timedOut bool) {
	if !g.busy() {
		return false
	}
	g.parked.Store(true)
	// Drain a stale wake-up from an earlier round.
	select {
	case <-g.wake:
	default:
	}
	if g.busy() {
		t.Reset(limit)
		select {
		case <-g.wake:
		case <-t.C:
			timedOut = g.busy()
		}
		t.Stop()
	}
	g.parked.Store(false)
	return timedOut
}

// snapWriterNice is the nice value of the thread that writes a background walk's bytes out.
const snapWriterNice = 10

// lowPrioWorker runs functions, one at a time, on a thread of its own at a lower scheduling
// priority: the part of a background walk done without the command lock (compressing,
// checksumming and writing the bytes out) is as much CPU time again as the steps, and on a
// machine with few cores it would otherwise delay the event loop's thread, as Redis's fork
// child competes with its parent. The steps themselves, under the lock, stay at the
// server's priority so that a client batch never waits for a starved lock holder.
type lowPrioWorker struct {
	in  chan func()
	out chan struct{}
}

func startLowPrioWorker() *lowPrioWorker {
	w := &lowPrioWorker{in: make(chan func()), out: make(chan struct{})}
	go func() {
		// The thread keeps its lower priority to its end: the goroutine exits locked to it,
		// so the runtime ends the thread rather than reuse it.
		runtime.LockOSThread()
		lowerThreadPriority(snapWriterNice)
		for fn := range w.in {
			fn()
			w.out <- struct{}{}
		}
	}()
	return w
}

// run runs fn on the worker's thread and returns when it is done.
func (w *lowPrioWorker) run(fn func()) {
	w.in <- fn
	<-w.out
}

// stop ends the worker and its thread.
func (w *lowPrioWorker) stop() { close(w.in) }
