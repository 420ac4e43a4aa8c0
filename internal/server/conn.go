package server

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sard-kv/sard/internal/resp"
)

// Client flags.
const (
	flagCloseAfterReply = 1 << iota // QUIT, protocol errors
	flagCloseASAP                   // killed or over a limit: close without flushing more
	flagMonitor
	flagPubSub
	flagMulti
	flagReplySkipNext // CLIENT REPLY SKIP applies to the next command
	flagReplySkip     // ... and is now applying to this one
	flagReplyOff
	flagNoEvict
	flagUnixSocket
	flagBlocked
	flagReplica // a replica's link (replication sets it; client.go reads it)
	flagMaster  // our link to the master
)

// Client is one connection. Its goroutine reads and parses requests; commands run with the
// server lock held; replies accumulate in out and are flushed once per batch.
type Client struct {
	srv  *Server
	conn net.Conn
	id   int64

	// Fields below are touched only by the client's own goroutine or under srv.mu.
	parser        resp.Parser
	rbuf          []byte
	rstart        int
	rend          int
	argPool       [][]byte
	batch         []int // end index into argPool of each parsed request
	argv          [][]byte
	cmd           *Command
	lastCmd       *Command
	w             resp.Writer // replies of the command being executed
	db            *DB
	authed        bool
	user          string
	name          string
	flags         int
	addr          string
	laddr         string
	ctime         time.Time
	argvMem       int
	multiQ        []queuedCmd
	multiErr      bool
	prefetch      [][]byte        // scratch for prefetchBatch
	propArgv      [][]byte        // set by a handler that propagates a rewritten form of its command
	obufSoftSince int64           // unix s when the soft output buffer limit was first passed (client.go)
	trk           *clientTracking // CLIENT TRACKING state, nil until first enabled (tracking.go)
	bstate        *blockState     // non-nil while blocked in BLPOP, XREAD BLOCK... (blocking.go)

	lastInteraction atomic.Int64 // unix ms, read by the cron without the lock

	// Output: the client's own goroutine and anyone pushing to it (MONITOR, pub/sub) append
	// under outMu; one flusher at a time writes to the socket.
	outMu    sync.Mutex
	out      []byte
	spare    []byte
	flushing bool
	wake     chan struct{} // non-nil once an async writer goroutine exists
	closed   atomic.Bool

	syncTarget atomic.Int64 // stream offset that must be fsynced before replies leave (aof.go)

	// Event-loop clients (eventloop_linux.go); loop is nil for a client served by a
	// goroutine of its own (serve). Set under srv.mu before the loop may see the client.
	loop     *eventLoop
	lconn    *loopConn // c.conn as the loop's connection, nil for other clients
	fd       int
	loopSeq  uint32
	sched    atomic.Uint32 // schedRunning, schedPending: one runner at a time
	hup      atomic.Bool   // the peer ended its side: read until the end, not just once
	run      *loopRun      // the loop goroutine running the client, nil on a detached goroutine
	unlinked bool          // the runner has ended the connection
}

type queuedCmd struct {
	cmd  *Command
	argv [][]byte
}

const (
	readChunk     = 16 * 1024
	maxBatch      = 1024 // commands executed per lock acquisition
	shrinkBufSize = 64 * 1024
)

func newClient(s *Server, conn net.Conn, id int64) *Client {
	c := &Client{
		srv:   s,
		conn:  conn,
		id:    id,
		rbuf:  make([]byte, readChunk),
		ctime: time.Now(),
		user:  "default",
	}
	c.w.Proto = 2
	c.addr = conn.RemoteAddr().String()
	c.laddr = conn.LocalAddr().String()
	if _, ok := conn.(*net.UnixConn); ok {
		c.flags |= flagUnixSocket
		c.addr = conn.LocalAddr().String() + ":0"
	}
	c.lastInteraction.Store(unixMs())
	return c
}

// serve runs the client's read-execute-flush loop until the connection ends.
func (c *Client) serve() {
	defer c.srv.unlinkClient(c)
	for {
		if c.rend == len(c.rbuf) {
			if !c.growReadBuffer() {
				return
			}
		}
		n, err := c.conn.Read(c.rbuf[c.rend:])
		if n > 0 {
			c.rend += n
			c.srv.stats.netInput.Add(int64(n))
			c.lastInteraction.Store(unixMs())
			if !c.processInput() {
				c.flush()
				return
			}
			c.flush()
			if c.flags&(flagCloseAfterReply|flagCloseASAP) != 0 || c.closed.Load() {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// growReadBuffer makes room for more input: it moves pending bytes to the front, or grows the
// buffer when one request is larger than it. It returns false when the client exceeded
// client-query-buffer-limit.
func (c *Client) growReadBuffer() bool {
	pending := c.rend - c.rstart
	if c.rstart > 0 {
		copy(c.rbuf, c.rbuf[c.rstart:c.rend])
		c.rstart, c.rend = 0, pending
		if pending < len(c.rbuf) {
			return true
		}
	}
	limit := c.srv.queryBufLimit.Load()
	if int64(pending) >= limit {
		c.srv.log.Warningf("Closing client that reached max query buffer length: id=%d addr=%s (qbuf initial bytes: %q)", c.id, c.addr, truncate(c.rbuf[:min(pending, 64)]))
		return false
	}
	size := 2 * len(c.rbuf)
	if need := c.parser.Need(); need > pending && need < 1<<31 {
		// one big argument: allocate it whole instead of doubling repeatedly
		size = max(size, need)
	}
	if int64(size) > limit {
		size = int(limit) + 1
	}
	nb := make([]byte, size)
	copy(nb, c.rbuf[:pending])
	c.rbuf = nb
	return true
}

func truncate(b []byte) string { return string(b) }

// processInput parses every complete request in the buffer and executes them in batches.
// It returns false when the connection must be closed now.
func (c *Client) processInput() bool {
	c.parser.MaxBulkLen = c.srv.maxBulkLen.Load()
	for {
		c.argPool = c.argPool[:0]
		c.batch = c.batch[:0]
		var perr error
		for len(c.batch) < maxBatch && c.rstart < c.rend {
			c.parser.Unauth = !c.authed && c.srv.requirePassSet()
			args, n, err := c.parser.Parse(c.rbuf[c.rstart:c.rend], c.argPool)
			if err != nil {
				if !errors.Is(err, resp.ErrIncomplete) {
					perr = err
				}
				break
			}
			c.rstart += n
			if len(args) > len(c.argPool) {
				c.argPool = args
				c.batch = append(c.batch, len(args))
			}
			if c.flags&flagMulti == 0 && len(c.batch) > 0 && c.srv.mustExecuteAlone() {
				break // commands that may block or change connection state run alone
			}
		}
		if len(c.batch) > 0 {
			c.srv.executeBatch(c)
			if c.flags&(flagCloseAfterReply|flagCloseASAP) != 0 {
				return true
			}
		}
		if perr != nil {
			c.protocolError(perr)
			return false
		}
		if c.rstart == c.rend {
			c.rstart, c.rend = 0, 0
			if len(c.rbuf) > shrinkBufSize {
				c.rbuf = make([]byte, readChunk)
			}
			return true
		}
		if len(c.batch) == 0 {
			return true // incomplete request: read more
		}
	}
}

func batchStart(batch []int) int {
	if len(batch) < 2 {
		return 0
	}
	return batch[len(batch)-2]
}

func (c *Client) protocolError(err error) {
	c.srv.log.Verbosef("Protocol error (%s) from client: id=%d addr=%s", err.Error(), c.id, c.addr)
	w := resp.Writer{Buf: c.w.Buf[:0]}
	w.Error("ERR " + err.Error())
	c.outMu.Lock()
	c.out = append(c.out, w.Buf...)
	c.outMu.Unlock()
	c.flags |= flagCloseAfterReply
}

// emit moves the replies of the batch just executed into the output buffer. Called with
// srv.mu held, so nobody else appends to out meanwhile; outMu only orders it against a
// concurrent flush.
func (c *Client) emit() {
	if len(c.w.Buf) == 0 {
		return
	}
	c.outMu.Lock()
	c.out = append(c.out, c.w.Buf...)
	over := c.srv.overOutputLimit(c, len(c.out))
	c.outMu.Unlock()
	c.w.Buf = c.w.Buf[:0]
	if over {
		c.srv.closeOverLimit(c)
	}
}

// push appends bytes produced for this client by another client's command (MONITOR,
// pub/sub) and wakes its writer. Called with srv.mu held; never blocks on the socket.
func (c *Client) push(b []byte) {
	if c.closed.Load() {
		return
	}
	c.outMu.Lock()
	c.out = append(c.out, b...)
	over := c.srv.overOutputLimit(c, len(c.out))
	if c.wake == nil {
		c.wake = make(chan struct{}, 1)
		go c.asyncWriter(c.wake)
	}
	c.outMu.Unlock()
	if over {
		c.srv.log.Warningf("Client id=%d addr=%s scheduled to be closed ASAP for overcoming of output buffer limits.", c.id, c.addr)
		c.close()
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Client) asyncWriter(wake chan struct{}) {
	for range wake {
		if c.closed.Load() {
			return
		}
		c.flush()
	}
}

// flush writes pending output. Only one goroutine writes at a time; one that finds another
// writing leaves its bytes for that one.
func (c *Client) flush() {
	c.waitDurable()
	c.drainOutput(false)
}

// drainOutput writes c.out until it is empty; fromLoop says the caller is an event loop,
// which must not block on the socket (writeOut). Only one goroutine writes at a time.
func (c *Client) drainOutput(fromLoop bool) {
	c.outMu.Lock()
	if c.flushing {
		c.outMu.Unlock()
		return
	}
	c.flushing = true
	for len(c.out) > 0 && !c.closed.Load() {
		buf := c.out
		c.out = c.spare
		c.spare = nil
		c.outMu.Unlock()
		n, err := c.writeOut(buf, fromLoop)
		c.srv.stats.netOutput.Add(int64(n))
		c.outMu.Lock()
		if err != nil {
			c.flushing = false
			c.outMu.Unlock()
			c.close()
			return
		}
		if cap(buf) <= shrinkBufSize {
			c.spare = buf[:0]
		}
	}
	c.flushing = false
	c.outMu.Unlock()
}

// outputLen is the size of pending output, for CLIENT LIST's omem/obl.
func (c *Client) outputLen() int {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return len(c.out)
}

// close closes the connection; the client's goroutine, or for an event-loop client its
// next runner, notices and unlinks it. An event-loop client's socket is only shut down here:
// the fd is freed by the runner, so it cannot be reused under a read in progress.
func (c *Client) close() {
	if c.closed.Swap(true) {
		return
	}
	if c.loop != nil {
		c.shutdownSocket()
		c.poke()
	} else {
		c.conn.Close()
	}
	c.outMu.Lock()
	if c.wake != nil {
		close(c.wake)
		c.wake = nil
	}
	c.outMu.Unlock()
}
