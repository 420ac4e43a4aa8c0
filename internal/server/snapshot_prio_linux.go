package server

import "syscall"

// lowerThreadPriority makes the calling thread yield the CPU to the server's other threads
// when they compete for it (a higher nice value, which applies per thread on Linux). An
// unprivileged thread cannot raise its priority again: only a thread that ends with its
// goroutine may call this.
func lowerThreadPriority(nice int) {
	syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}
