package server

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdatasync is what Redis calls on Linux for the AOF: the data and the size, not the times.
func fdatasync(f *os.File) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return f.Sync()
	}
	var serr error
	if err := sc.Control(func(fd uintptr) { serr = syscall.Fdatasync(int(fd)) }); err != nil {
		return err
	}
	return serr
}

// The group commits of appendfsync always write and fdatasync with raw system calls, which
// keep the writer's P. Through the runtime's blocking-syscall path every fsync (hundreds of
// µs, back to back under load) has sysmon take the P away and hand it to another thread,
// and keeps sysmon polling every 20 µs: measured, that thread traffic cost more CPU than
// the fsyncs did. Holding the P through the fsync matters to the rest of the process only
// at a stop-the-world, which then waits for the disk, as Redis's main thread waits for
// every fsync under always.

// writeFileRaw writes all of b to f as write(2) calls that keep the P.
func writeFileRaw(f *os.File, b []byte) (n int, err error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return f.Write(b)
	}
	if cerr := sc.Control(func(fd uintptr) {
		for n < len(b) {
			m, _, e := unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n))
			switch {
			case e == unix.EINTR:
			case e != 0:
				err = e
				return
			case m == 0:
				err = syscall.EIO
				return
			default:
				n += int(m)
			}
		}
	}); cerr != nil {
		return n, cerr
	}
	return n, err
}

// fdatasyncRaw is fdatasync as a system call that keeps the P.
func fdatasyncRaw(f *os.File) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return f.Sync()
	}
	var serr error
	if err := sc.Control(func(fd uintptr) {
		for {
			_, _, e := unix.RawSyscall(unix.SYS_FDATASYNC, fd, 0, 0)
			if e != unix.EINTR {
				if e != 0 {
					serr = e
				}
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}
