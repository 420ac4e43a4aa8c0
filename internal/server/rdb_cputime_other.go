//go:build !linux

package server

import "time"

func threadCPUTime() (usec int64, ok bool) { return 0, false }

func threadSleep(usec int64) { time.Sleep(time.Duration(usec) * time.Microsecond) }
