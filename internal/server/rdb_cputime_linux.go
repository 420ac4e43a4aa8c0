package server

import "syscall"

// threadCPUTime is the CPU time the calling thread has used (RUSAGE_THREAD), to tell how
// long a snapshot step computed apart from how long the machine let it wait.
func threadCPUTime() (usec int64, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1, &ru); err != nil { // 1 is RUSAGE_THREAD
		return 0, false
	}
	return ru.Utime.Sec*1e6 + int64(ru.Utime.Usec) + ru.Stime.Sec*1e6 + int64(ru.Stime.Usec), true
}

// threadSleep sleeps the calling thread, as usleep does: the runtime's timers can oversleep
// short waits many times over on a busy machine.
func threadSleep(usec int64) {
	ts := syscall.NsecToTimespec(usec * 1000)
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
