package server

import (
	"syscall"
	"testing"
)

// TestLowPrioWorkerNice checks that the bytes of a background walk are written by a thread
// at a lower priority, and that the caller's thread keeps its own.
func TestLowPrioWorkerNice(t *testing.T) {
	nice := func() int {
		// The raw system call returns 20 - nice.
		p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
		if err != nil {
			t.Fatal(err)
		}
		return 20 - p
	}
	before := nice()
	w := startLowPrioWorker()
	defer w.stop()
	var got int
	w.run(func() { got = nice() })
	if got != snapWriterNice {
		t.Errorf("the writer thread runs at nice %d, want %d", got, snapWriterNice)
	}
	if n := nice(); n != before {
		t.Errorf("the caller's thread went from nice %d to %d", before, n)
	}
}
