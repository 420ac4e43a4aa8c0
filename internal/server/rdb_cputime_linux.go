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
