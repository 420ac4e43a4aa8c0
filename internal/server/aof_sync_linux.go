package server

import (
	"os"
	"syscall"
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
