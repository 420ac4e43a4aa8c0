package integration

import "syscall"

// childAttr kills a server we started if the test binary dies first (timeout panic, ^C).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
