package main

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

const daemonEnv = "SARD_DAEMONIZED"

// argvMemory holds the runtime's original argument strings, which alias the argv block.
var argvMemory []string

func goVersion() string { return runtime.Version() }

// daemonize starts this program again detached from the terminal (a new session, standard
// streams on /dev/null) and returns in the parent, which then exits: Go cannot fork a
// running runtime, so the child re-reads its configuration instead.
func daemonize() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// setProcTitle rewrites the process title seen by ps: the thread name (15 bytes, what
// `ps -o comm` shows) and the original argv area (what `ps -o args` shows), within its size.
func setProcTitle(title string) {
	name := title
	if len(name) > 15 {
		name = name[:15]
	}
	unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(unsafe.StringData(name+"\x00"))), 0, 0, 0)
	if len(argvMemory) == 0 || len(argvMemory[0]) == 0 {
		return
	}
	// The runtime's original os.Args point into the kernel-provided argv block, which is
	// contiguous; nothing else reads those strings once main has copied them.
	start := unsafe.Pointer(unsafe.StringData(argvMemory[0]))
	// The area ends with the last non-empty argument (an empty one, like --save '', has no
	// bytes of its own to point at).
	end := uintptr(start)
	for _, a := range argvMemory {
		if len(a) > 0 {
			end = uintptr(unsafe.Pointer(unsafe.StringData(a))) + uintptr(len(a))
		}
	}
	size := int(end - uintptr(start))
	if size <= 0 || size > 1<<16 {
		return
	}
	area := unsafe.Slice((*byte)(start), size)
	n := copy(area, title)
	for i := n; i < size; i++ {
		area[i] = 0
	}
}
