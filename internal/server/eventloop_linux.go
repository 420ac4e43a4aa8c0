//go:build linux

package server

import (
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The event loops serve client sockets the way Redis's ae loop does, instead of one goroutine
// per connection parked in Go's poller. Each loop owns an epoll instance in which client
// sockets are registered edge-triggered. One goroutine at a time acts as the loop: it waits
// until the epoll instance has events (through Go's poller, since an epoll fd is itself
// pollable, so the wait parks a goroutine rather than a thread), then for each ready socket
// reads once, executes the batch under the command lock and writes the replies. A request
// thus costs one read, not a read plus a read that fails with EAGAIN, and no goroutine
// switch.
//
// A client whose processing must wait — a pause, a blocking command, WAIT, a slow script
// lending the lock, an fsync to wait for, a socket that cannot take more output — calls
// detach first: another goroutine becomes the loop (taking over the events not yet handled)
// and the current one stays with the client, waits, finishes the client's input, and ends.
// Exactly one goroutine runs a client at a time (Client.sched); an event for a client that
// is running marks it pending and its runner goes round once more.
//
// The wait for an fsync under appendfsync always is the exception: it happens on every write
// batch, so it does not cost a goroutine. The loop parks the client (it stays the client's
// runner) in its list of clients whose replies wait for durability and serves the others,
// whose batches join the next group commit. The AOF writer, after each fsync, signals the
// loops with parked clients through an eventfd in their epoll sets; a loop, before each
// wait for events, writes the replies of the parked clients the fsyncs so far cover and
// carries on with their input.

const (
	loopEvents   = 256 // events taken per wait
	loopMaxReads = 8   // full-buffer reads in a row before a client yields to the others
)

// loopCount, when not negative, overrides io-threads as the number of event loops:
// SARD_EVENTLOOPS=0 serves every client with a goroutine of its own, as before the loops
// existed (for comparisons).
var loopCount = func() int {
	if v, err := strconv.Atoi(os.Getenv("SARD_EVENTLOOPS")); err == nil && v >= 0 {
		return v
	}
	return -1
}()

type loopSet struct {
	once  sync.Once
	loops []*eventLoop
	next  atomic.Uint32
}

type eventLoop struct {
	s    *Server
	epfd int
	file *os.File // epfd, so Go's poller can wait for it
	raw  syscall.RawConn

	mu    sync.Mutex
	table []*Client // registered clients by socket fd
	seq   uint32    // registration counter, to tell a reused fd from its previous owner

	// wake is an eventfd in the epoll set: the AOF writer writes to it after an fsync when
	// clients are parked waiting for one (parked > 0).
	wake   *os.File
	wakefd int
	parked atomic.Int32
}

// start makes c's connection served: by an event loop when there is one and the socket is a
// plain fd, else by a goroutine of its own.
func (c *Client) start() {
	s := c.srv
	s.io.loops.once.Do(func() { s.io.loops.start(s) })
	if n := len(s.io.loops.loops); n > 0 {
		l := s.io.loops.loops[int(s.io.loops.next.Add(1))%n]
		// under the lock, ordered with CLIENT KILL and the other closers, which read c.loop
		s.mu.Lock()
		ok := false
		if !c.closed.Load() {
			if lc, err := newLoopConn(c.conn); err == nil {
				c.conn, c.lconn = lc, lc
				ok = l.add(c)
			}
		}
		s.mu.Unlock()
		if ok {
			return
		}
	}
	go c.serve() // a loopConn works there too, through its poller-backed duplicate
}

// start opens the event loops: io-threads of them (1 by default, as Redis runs one event
// loop), each a goroutine at a time.
func (ls *loopSet) start(s *Server) {
	n := loopCount
	if n < 0 {
		n = int(s.cfgInt("io-threads"))
	}
	for range n {
		l, err := newEventLoop(s)
		if err != nil {
			s.log.Warningf("Event loop unavailable, serving each client with its own goroutine: %v", err)
			return
		}
		ls.loops = append(ls.loops, l)
		r := loopRuns.Get().(*loopRun)
		r.l = l
		go r.run()
	}
	wake := ls.wakeParked
	s.aof.wakeLoops.Store(&wake)
	go func() {
		<-s.done
		for _, l := range ls.loops {
			l.file.Close() // the loop goroutine's wait fails and it ends
			l.wake.Close()
		}
	}()
}

// wakeParked signals the loops that have clients waiting for an fsync: one just completed.
// It runs on the AOF writer's goroutine (or under s.mu when the AOF is switched off).
func (ls *loopSet) wakeParked() {
	one := [8]byte{1}
	for _, l := range ls.loops {
		if l.parked.Load() > 0 {
			l.wake.Write(one[:]) // a failure means the server is shutting down
		}
	}
}

func newEventLoop(s *Server) (*eventLoop, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	l := &eventLoop{s: s, epfd: fd, file: os.NewFile(uintptr(fd), "epoll")}
	if l.raw, err = l.file.SyscallConn(); err != nil {
		l.file.Close()
		return nil, err
	}
	// A blocking eventfd, so the os.File stays out of Go's poller (only the loop's epoll
	// watches it); a write cannot block, as nothing comes near the counter's limit. Edge
	// triggered, every write is a new event without the loop reading the counter.
	wfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		l.file.Close()
		return nil, err
	}
	l.wake, l.wakefd = os.NewFile(uintptr(wfd), "eventfd"), wfd
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(wfd)}
	if err := unix.EpollCtl(fd, unix.EPOLL_CTL_ADD, wfd, &ev); err != nil {
		l.file.Close()
		l.wake.Close()
		return nil, err
	}
	return l, nil
}

// add registers c's socket. Events may arrive at once, so c must be ready to run.
func (l *eventLoop) add(c *Client) bool {
	fd := c.lconn.fd
	c.fd, c.loop = fd, l
	l.mu.Lock()
	if fd >= len(l.table) {
		l.table = append(l.table, make([]*Client, fd+1-len(l.table)+64)...)
	}
	l.seq++
	c.loopSeq = l.seq
	l.table[fd] = c
	l.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd), Pad: int32(c.loopSeq)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.remove(c)
		c.fd, c.loop = -1, nil
		return false
	}
	return true
}

// remove forgets c before its socket is closed; the kernel drops the registration with the
// socket.
func (l *eventLoop) remove(c *Client) {
	l.mu.Lock()
	if c.fd < len(l.table) && l.table[c.fd] == c {
		l.table[c.fd] = nil
	}
	l.mu.Unlock()
}

// loopRun is the state of the goroutine acting as a loop: its events, the clients that
// yielded with input left to read, and the clients parked until an fsync covers their
// replies. A hand-over passes all of them on.
type loopRun struct {
	l         *eventLoop
	events    []unix.EpollEvent
	clients   []*Client // events[pos:n] resolved to clients
	pos, n    int
	again     []*Client
	durable   []parkedClient // waiting for an fsync (appendfsync always)
	resume    []parkedClient // resume[rpos:]: their fsync is done, replies to write
	rpos      int
	inRound   bool // between the events of one wait and the next wait (aofState.rounds)
	handedOff bool
}

// parkedClient is a client whose replies wait for an fsync, with what its runner must do
// once they are written.
type parkedClient struct {
	c    *Client
	end  bool // the input failed (a protocol error): end the connection after the replies
	more bool // the socket may hold more input that no new event will announce
}

// loopRuns recycles the loop states of goroutines that handed their loop over (one per
// blocking command that waits).
var loopRuns = sync.Pool{New: func() any {
	return &loopRun{events: make([]unix.EpollEvent, loopEvents), clients: make([]*Client, 0, loopEvents)}
}}

func (r *loopRun) run() {
	r.beginRound()
	for {
		for r.pos < r.n {
			c := r.clients[r.pos]
			r.clients[r.pos] = nil
			r.pos++
			if c != nil {
				r.dispatch(c)
				if r.handedOff {
					r.recycle()
					return
				}
			}
		}
		// Parked clients whose fsync is done get their replies before the loop waits again
		// (as Redis writes replies after beforeSleep's fsync).
		if len(r.durable) > 0 {
			r.collectDurable()
		}
		for r.rpos < len(r.resume) {
			p := r.resume[r.rpos]
			r.resume[r.rpos] = parkedClient{}
			r.rpos++
			p.c.runFrom(r, &p)
			if r.handedOff {
				r.recycle()
				return
			}
		}
		r.resume, r.rpos = r.resume[:0], 0
		r.endRound()
		// Clients that yielded with input left run again after the events that came
		// meanwhile, so the wait must not block. Parked clients need not stop it: the
		// writer's signal ends the wait.
		if !r.poll(len(r.again) == 0) {
			return // the server shut down
		}
		r.beginRound()
		if len(r.again) > 0 {
			r.clients = append(r.clients[:r.n], r.again...)
			r.n = len(r.clients)
			r.again = r.again[:0]
		}
	}
}

// beginRound and endRound bracket a turn of the loop: the AOF writer is woken once at its
// end for the batches the turn fed, so that under appendfsync always they share one fsync.
func (r *loopRun) beginRound() {
	r.inRound = true
	r.l.s.aof.beginRound()
}

func (r *loopRun) endRound() {
	if r.inRound {
		r.inRound = false
		r.l.s.aof.endRound()
	}
}

// recycle returns the state of a goroutine that handed its loop over to the pool.
func (r *loopRun) recycle() {
	clear(r.clients[r.pos:r.n])
	clear(r.resume)
	*r = loopRun{events: r.events, clients: r.clients[:0], resume: r.resume[:0]}
	loopRuns.Put(r)
}

// park holds c, whose replies wait for an fsync, until the AOF writer reports one that
// covers them; the loop goes on meanwhile. The count is raised before the loop next looks
// at synced, so either the loop sees the fsync or the writer sees the count and signals.
func (r *loopRun) park(c *Client, end, more bool) {
	r.durable = append(r.durable, parkedClient{c: c, end: end, more: more})
	r.l.parked.Add(1)
}

// collectDurable moves the parked clients whose replies are now durable to resume.
func (r *loopRun) collectDurable() {
	synced := r.l.s.aof.synced.Load()
	kept := r.durable[:0]
	for _, p := range r.durable {
		if p.c.syncTarget.Load() <= synced {
			r.resume = append(r.resume, p)
			r.l.parked.Add(-1)
		} else {
			kept = append(kept, p)
		}
	}
	clear(r.durable[len(kept):])
	r.durable = kept
}

// poll takes the next events: it waits for them when block is set, through Go's poller.
func (r *loopRun) poll(block bool) bool {
	var n int
	var werr error
	wait := func(fd uintptr) bool {
		n, werr = epollPoll(int(fd), r.events)
		return n > 0 || (werr != nil && werr != unix.EINTR) || !block
	}
	if err := r.l.raw.Read(wait); err != nil || werr != nil {
		return false
	}
	return r.resolve(n)
}

// resolve finds the clients of the n events taken.
func (r *loopRun) resolve(n int) bool {
	r.pos, r.n = 0, n
	if cap(r.clients) < n {
		r.clients = make([]*Client, len(r.events))
	}
	r.clients = r.clients[:n]
	l := r.l
	l.mu.Lock()
	for i := range n {
		ev := &r.events[i]
		var c *Client
		if fd := int(ev.Fd); fd == l.wakefd {
			// the AOF writer's signal: the loop looks at its parked clients after the events
		} else if fd < len(l.table) {
			if c = l.table[fd]; c != nil && c.loopSeq != uint32(ev.Pad) {
				c = nil // an event for the fd's previous connection
			}
		}
		if c != nil && ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			c.hup.Store(true) // no event will follow the end of the stream: read up to it
		}
		r.clients[i] = c
	}
	l.mu.Unlock()
	return true
}

// dispatch runs c if nobody else is running it.
func (r *loopRun) dispatch(c *Client) {
	if c.acquire() {
		c.runReady(r)
	}
}

// runReady serves c, its caller being its runner, and again as long as events for it came
// meanwhile; r is the loop goroutine's state, nil on another goroutine.
func (c *Client) runReady(r *loopRun) { c.runFrom(r, nil) }

// runFrom is runReady, starting with the replies of a parked client (p) when p is not nil.
// A client that parks stays running: its runner is the loop, which resumes it here.
func (c *Client) runFrom(r *loopRun, p *parkedClient) {
	for {
		if r != nil && !r.handedOff {
			c.run = r
		}
		parked := false
		if p != nil {
			c.drainOutput(true)
			if c.continueAfterReplies(!p.end, p.more, 1) {
				parked = c.serveReady()
			}
			p = nil
		} else {
			parked = c.serveReady()
		}
		c.run = nil
		if parked {
			return
		}
		if (r == nil || r.handedOff) && !c.unlinked {
			c.lconn.dropSlow() // back to the loop only
		}
		if !c.release() {
			return
		}
	}
}

// detach hands the loop over to a new goroutine when c is being run by the loop goroutine,
// so that the current goroutine may wait on c's behalf. Called before anything that may
// wait; a no-op when c already runs on a goroutine of its own.
func (c *Client) detach() {
	r := c.run
	if r == nil {
		return
	}
	c.run = nil
	r.handedOff = true
	r.endRound() // this goroutine may now wait; the next one starts a turn of its own
	next := loopRuns.Get().(*loopRun)
	next.l = r.l
	next.clients = append(next.clients[:0], r.clients[r.pos:r.n]...)
	next.n = len(next.clients)
	next.again, r.again = r.again, nil
	next.durable, r.durable = r.durable, nil
	next.resume = append(next.resume[:0], r.resume[r.rpos:]...)
	clear(r.resume[r.rpos:])
	r.resume = r.resume[:r.rpos]
	go next.run()
}

// Scheduling states of a loop client.
const (
	schedRunning = 1 << iota
	schedPending
)

// acquire makes the caller c's runner, or records that c has new events for its runner.
func (c *Client) acquire() bool {
	for {
		old := c.sched.Load()
		if old&schedRunning == 0 {
			if c.sched.CompareAndSwap(old, schedRunning) {
				return true
			}
			continue
		}
		if old&schedPending != 0 || c.sched.CompareAndSwap(old, old|schedPending) {
			return false
		}
	}
}

// release gives c up, unless events came while it ran: then the caller stays its runner
// and must run it again.
func (c *Client) release() bool {
	for {
		old := c.sched.Load()
		if old&schedPending != 0 {
			if c.sched.CompareAndSwap(old, schedRunning) {
				return true
			}
			continue
		}
		if c.sched.CompareAndSwap(old, 0) {
			return false
		}
	}
}

// poke makes sure c is looked at soon (it was closed by another client): by its runner
// when it has one, else by a goroutine started for it.
func (c *Client) poke() {
	if c.acquire() {
		go c.runReady(nil)
	}
}

// serveReady reads what c's socket holds, executes it and writes the replies. With
// edge-triggered events a read that fills the buffer may leave more behind: it reads on, up
// to loopMaxReads times before yielding to the other clients. It returns true when c was
// parked until an fsync: the loop then stays its runner and resumes it (runFrom).
func (c *Client) serveReady() (parked bool) {
	if c.unlinked {
		return false
	}
	for reads := 1; ; reads++ {
		if c.closed.Load() {
			c.finish()
			return false
		}
		if c.rend == len(c.rbuf) && !c.growReadBuffer() {
			c.finish()
			return false
		}
		space := len(c.rbuf) - c.rend
		n, err := rawRead(c.fd, c.rbuf[c.rend:])
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			if err != unix.EAGAIN {
				c.finish() // end of stream or a socket error
			}
			return false
		}
		c.rend += n
		c.srv.stats.netInput.Add(int64(n))
		c.lastInteraction.Store(unixMs())
		ok := c.processInput()
		more := n == space || c.hup.Load()
		if c.run != nil && c.waitsForSync() {
			c.run.park(c, !ok, more)
			return true
		}
		c.flushReady()
		if !c.continueAfterReplies(ok, more, reads) {
			return false
		}
	}
}

// continueAfterReplies decides, once a batch's replies are written, whether c's runner reads
// its socket again: not when the connection ends (it is finished here), when the socket is
// drained, or when c has had its share of reads (it queues for another turn).
func (c *Client) continueAfterReplies(ok, more bool, reads int) bool {
	if !ok || c.flags&(flagCloseAfterReply|flagCloseASAP) != 0 || c.closed.Load() {
		c.finish()
		return false
	}
	if !more {
		return false // the socket is drained; the next data brings a new event
	}
	if reads >= loopMaxReads && c.run != nil {
		c.run.again = append(c.run.again, c)
		return false
	}
	return true
}

// flushReady writes c's pending output without blocking the loop: a client on the loop
// waits for an fsync parked (serveReady), and for room in the socket after a detach; one
// on a goroutine of its own waits here.
func (c *Client) flushReady() {
	if c.waitsForSync() {
		c.detach()
		c.waitDurable()
	}
	c.drainOutput(true)
}

// writeOut writes buf to the socket. From a loop it writes what the socket takes without
// blocking, then detaches and waits for the peer to read the rest on this goroutine.
func (c *Client) writeOut(buf []byte, fromLoop bool) (int, error) {
	if !fromLoop {
		return c.conn.Write(buf)
	}
	n, err := writeNonblock(c.fd, buf)
	if err == unix.EAGAIN {
		c.detach()
		var m int
		m, err = c.conn.Write(buf[n:])
		n += m
	}
	return n, err
}

// writeNonblock writes as much of b as the socket takes; err is EAGAIN when it took less.
func writeNonblock(fd int, b []byte) (int, error) {
	done := 0
	for done < len(b) {
		n, err := rawWrite(fd, b[done:])
		if n > 0 {
			done += n
		}
		switch {
		case err == unix.EINTR:
		case err != nil:
			return done, err
		case n == 0:
			return done, unix.EAGAIN
		}
	}
	return done, nil
}

// finish ends a loop client's connection; only its runner calls it.
func (c *Client) finish() {
	if c.unlinked {
		return
	}
	c.unlinked = true
	c.srv.unlinkClient(c)
	c.loop.remove(c)
	c.conn.Close()
}

// shutdownSocket ends the connection without freeing the fd, which only the runner does: the
// peer sees the close, and goroutines blocked reading or writing it return.
func (c *Client) shutdownSocket() { c.lconn.shutdown() }

// The loop's system calls never block (the sockets are non-blocking and the epoll wait has a
// zero timeout), so they skip the runtime's syscall bookkeeping: entering a syscall the
// normal way also wakes the runtime's monitor thread whenever the process was idle, which at
// pipeline depth 1 cost more CPU than the calls themselves.

func rawRead(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

func rawWrite(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// epollPoll takes the events ready now, without waiting.
func epollPoll(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
