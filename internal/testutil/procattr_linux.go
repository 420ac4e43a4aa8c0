package testutil

import "syscall"

// childAttr makes the kernel kill a server if the test binary dies without
// cleaning up (a timeout panic, a ^C), so no stray servers keep ports.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
