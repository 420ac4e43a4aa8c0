//go:build linux

package server

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// loopConn is the connection of an event-loop client. Its socket is a duplicate of the
// accepted one, whose net.Conn is closed at once: that takes the socket out of Go's poller,
// so a packet wakes only the event loop, not also a thread parked in the runtime's poller.
//
// The loop reads and writes the fd directly. The rare operations that must block — the
// reads of a client parked in a blocking command, the writes to a peer that does not read
// fast enough — go through slow, a net.Conn on another duplicate made on demand and
// registered with Go's poller; Go's deadlines and wake-ups then work as usual.
type loopConn struct {
	fd            int
	local, remote net.Addr

	mu           sync.RWMutex // held shared by operations on fd from goroutines other than the runner, exclusively by close
	slowMu       sync.Mutex
	slow         net.Conn
	slowUsers    int       // operations in progress on slow
	readDeadline time.Time // applied to slow when it is made
	closed       bool
}

var errLoopConnClosed = errors.New("use of closed network connection")

// newLoopConn takes over conn's socket: on success conn is closed and the result owns a
// duplicate of its fd.
func newLoopConn(conn net.Conn) (*loopConn, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("not a socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var derr error
	if err := raw.Control(func(f uintptr) { fd, derr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	lc := &loopConn{fd: fd, local: conn.LocalAddr(), remote: conn.RemoteAddr()}
	conn.Close() // O_NONBLOCK belongs to the shared file description, so fd stays non-blocking
	return lc, nil
}

// useSlow returns the poller-backed duplicate, making it on first use; doneSlow must follow.
func (lc *loopConn) useSlow() (net.Conn, error) {
	lc.slowMu.Lock()
	defer lc.slowMu.Unlock()
	if lc.slow == nil {
		fd, err := unix.FcntlInt(uintptr(lc.fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		f := os.NewFile(uintptr(fd), "client")
		conn, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		if !lc.readDeadline.IsZero() {
			conn.SetReadDeadline(lc.readDeadline)
		}
		lc.slow = conn
	}
	lc.slowUsers++
	return lc.slow, nil
}

func (lc *loopConn) doneSlow() {
	lc.slowMu.Lock()
	lc.slowUsers--
	lc.slowMu.Unlock()
}

// dropSlow closes the duplicate when nothing uses it, so the socket leaves Go's poller
// again; the runner calls it when it hands the client back to the loop.
func (lc *loopConn) dropSlow() {
	lc.slowMu.Lock()
	if lc.slow != nil && lc.slowUsers == 0 {
		lc.slow.Close()
		lc.slow = nil
	}
	lc.slowMu.Unlock()
}

func (lc *loopConn) Read(b []byte) (int, error) {
	lc.mu.RLock()
	defer lc.mu.RUnlock()
	if lc.closed {
		return 0, errLoopConnClosed
	}
	conn, err := lc.useSlow()
	if err != nil {
		return 0, err
	}
	defer lc.doneSlow()
	return conn.Read(b)
}

// Write writes all of b: directly while the socket takes it, then through the poller.
func (lc *loopConn) Write(b []byte) (int, error) {
	lc.mu.RLock()
	defer lc.mu.RUnlock()
	if lc.closed {
		return 0, errLoopConnClosed
	}
	n, err := writeNonblock(lc.fd, b)
	if err != unix.EAGAIN {
		return n, err
	}
	conn, err := lc.useSlow()
	if err != nil {
		return n, err
	}
	defer lc.doneSlow()
	m, err := conn.Write(b[n:])
	return n + m, err
}

// shutdown ends the connection for the peer and wakes any blocked operation, leaving the fd
// allocated.
func (lc *loopConn) shutdown() {
	lc.mu.RLock()
	if !lc.closed {
		unix.Shutdown(lc.fd, unix.SHUT_RDWR)
	}
	lc.mu.RUnlock()
}

func (lc *loopConn) Close() error {
	lc.shutdown()
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.closed {
		return errLoopConnClosed
	}
	lc.closed = true
	lc.slowMu.Lock()
	if lc.slow != nil {
		lc.slow.Close()
		lc.slow = nil
	}
	lc.slowMu.Unlock()
	return unix.Close(lc.fd)
}

func (lc *loopConn) LocalAddr() net.Addr  { return lc.local }
func (lc *loopConn) RemoteAddr() net.Addr { return lc.remote }

func (lc *loopConn) SetDeadline(t time.Time) error { return lc.SetReadDeadline(t) }

func (lc *loopConn) SetReadDeadline(t time.Time) error {
	lc.slowMu.Lock()
	defer lc.slowMu.Unlock()
	lc.readDeadline = t
	if lc.slow != nil {
		return lc.slow.SetReadDeadline(t)
	}
	return nil
}

func (lc *loopConn) SetWriteDeadline(time.Time) error { return nil }

// SyscallConn gives the fd to CLIENT LIST.
func (lc *loopConn) SyscallConn() (syscall.RawConn, error) { return loopRawConn{lc}, nil }

type loopRawConn struct{ lc *loopConn }

func (r loopRawConn) Control(f func(fd uintptr)) error {
	r.lc.mu.RLock()
	defer r.lc.mu.RUnlock()
	if r.lc.closed {
		return errLoopConnClosed
	}
	f(uintptr(r.lc.fd))
	return nil
}

func (loopRawConn) Read(func(fd uintptr) bool) error  { return errors.ErrUnsupported }
func (loopRawConn) Write(func(fd uintptr) bool) error { return errors.ErrUnsupported }
