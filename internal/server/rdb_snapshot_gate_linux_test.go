package server

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sard-kv/sard/internal/testutil"
)

// snapshotTestData fills an in-process server with strings on both sides of every encoding
// boundary (integers, 20/21 bytes, compressible or not, 64 KB shared strings), keys with
// TTLs, and collections small and large enough to be written across steps.
func snapshotTestData(t *testing.T, addr string) {
	t.Helper()
	rc := testutil.DialRaw(t, addr)
	rng := rand.New(rand.NewSource(1))
	var cmds [][]string
	flush := func() {
		if _, err := rc.Pipeline(cmds...); err != nil {
			t.Fatal(err)
		}
		cmds = cmds[:0]
	}
	randBytes := func(n int) string {
		b := make([]byte, n)
		rng.Read(b)
		return string(b)
	}
	for i := 0; i < 20000; i++ {
		k := "k:" + strconv.Itoa(i)
		var v string
		switch i % 8 {
		case 0:
			v = strconv.Itoa(i * 37) // int encoded
		case 1:
			v = strings.Repeat("a", i%40) // around the 20-byte boundary, compressible
		case 2:
			v = randBytes(15 + i%20) // around the boundary, incompressible
		case 3:
			v = fmt.Sprintf("value:%d", i) + strings.Repeat("\x00", 100)
		case 4:
			v = randBytes(200)
		case 5:
			v = strings.Repeat("xyz", 400+i%700)
		case 6:
			v = "-" + strconv.Itoa(i) // an integer that is not canonical in 32 bits? still an int
		default:
			v = randBytes(21)
		}
		cmds = append(cmds, []string{"SET", k, v})
		if i%5 == 0 {
			cmds = append(cmds, []string{"PEXPIRE", k, strconv.Itoa(3600000 + i)})
		}
		if len(cmds) >= 1000 {
			flush()
		}
	}
	cmds = append(cmds, []string{"SET", "big:compressible", strings.Repeat("0123456789", 10000)})
	cmds = append(cmds, []string{"SET", "big:random", randBytes(100000)})
	for i := 0; i < 3000; i++ {
		cmds = append(cmds, []string{"HSET", "hash:big", "f" + strconv.Itoa(i), strings.Repeat("v", 30)})
		cmds = append(cmds, []string{"RPUSH", "list:big", strings.Repeat("e", 25) + strconv.Itoa(i)})
		cmds = append(cmds, []string{"ZADD", "zset:big", strconv.Itoa(i), "member:" + strconv.Itoa(i)})
		cmds = append(cmds, []string{"SADD", "set:big", "member:" + strconv.Itoa(i)})
		if len(cmds) >= 1000 {
			flush()
		}
	}
	cmds = append(cmds, []string{"HSET", "hash:small", "f", strings.Repeat("v", 40)})
	cmds = append(cmds, []string{"SELECT", "3"}, []string{"SET", "db3:key", strings.Repeat("q", 50)})
	flush()
}

// TestSnapshotBackgroundEncodingMatchesSave checks that a background snapshot, which copies
// string values under the lock and compresses them on the file side, in steps of every
// length, writes the same bytes after the header as a snapshot encoded in one go (SAVE).
func TestSnapshotBackgroundEncodingMatchesSave(t *testing.T) {
	s, addr := startLoopServer(t)
	snapshotTestData(t, addr)
	dir := t.TempDir()

	s.mu.Lock()
	defer s.mu.Unlock()
	// The reference: everything encoded under the lock, as SAVE does.
	ref := s.newSnapshot()
	refHead := len(ref.enc.Buf)
	var want []byte
	for !ref.step(0) {
		want = append(want, ref.take()...)
	}
	want = append(want, ref.take()...)

	for _, budget := range []time.Duration{time.Nanosecond, 20 * time.Microsecond, snapStepBudget, time.Hour} {
		sn := s.newSnapshot()
		head := len(sn.enc.Buf)
		sn.background()
		sn.attach()
		name := filepath.Join(dir, "bg"+budget.String()+".rdb")
		if err := sn.open(name + ".tmp"); err != nil {
			t.Fatal(err)
		}
		steps := 0
		for {
			done := sn.step(budget)
			sn.ioMu.Lock()
			sn.outSegs(sn.takeSegs())
			sn.ioMu.Unlock()
			steps++
			if done {
				break
			}
		}
		sn.detach()
		if err := sn.finish(name); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		body := got[head : len(got)-8] // the header (ctime, used-mem) and checksum differ
		if !bytes.Equal(body, want[refHead:]) {
			i := 0
			for i < len(body) && i < len(want)-refHead && body[i] == want[refHead+i] {
				i++
			}
			t.Fatalf("budget %v (%d steps): background body of %d bytes differs from SAVE's %d bytes at offset %d",
				budget, steps, len(body), len(want)-refHead, i)
		}
		if budget == time.Nanosecond && steps < 100 {
			t.Errorf("budget %v: only %d steps, the test meant to cut the walk often", budget, steps)
		}
	}
}

// TestSnapshotStepYieldsToWaitingBatch checks the lock gate: a background step ends after a
// few keys once a client batch waits for the lock, and runs to its budget otherwise.
func TestSnapshotStepYieldsToWaitingBatch(t *testing.T) {
	s, addr := startLoopServer(t)
	rc := testutil.DialRaw(t, addr)
	var cmds [][]string
	for i := 0; i < 5000; i++ {
		cmds = append(cmds, []string{"SET", "key:" + strconv.Itoa(i), "v"})
	}
	if _, err := rc.Pipeline(cmds...); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &s.persist.gate
	sn := s.newSnapshot()
	sn.background()
	sn.gate = g
	sn.attach()
	defer sn.detach()
	g.waiters.Add(1) // a batch waits
	if sn.step(time.Hour) {
		t.Fatal("the walk ran to its end with a client batch waiting")
	}
	if c := sn.dbs[0].cursor; c == 0 || c > 2*snapCheckWork {
		t.Errorf("with a batch waiting the step wrote %d keys, want 1..%d", c, 2*snapCheckWork)
	}
	// After waiting snapYieldMax for the batches in vain, the walk takes a step regardless.
	sn.forced = true
	if sn.step(time.Millisecond); sn.dbs[0].cursor <= 2*snapCheckWork {
		t.Errorf("a forced step stopped at key %d with a batch waiting", sn.dbs[0].cursor)
	}
	sn.forced = false
	g.waiters.Add(-1)
	if !sn.step(time.Hour) {
		t.Errorf("with no batch waiting the step stopped at key %d of 5000", sn.dbs[0].cursor)
	}
}

// TestLockGateWaitIdle checks how the walk waits for client batches to get the lock: it
// goes on once the last waiter has it, and after the limit when batches keep waiting.
func TestLockGateWaitIdle(t *testing.T) {
	var g lockGate
	g.wake = make(chan struct{}, 1)
	tm := time.NewTimer(time.Hour)
	tm.Stop()

	t0 := time.Now()
	if g.waitIdle(time.Hour, tm) { // nobody waits
		t.Error("waitIdle with no waiter reported a time-out")
	}
	if d := time.Since(t0); d > 100*time.Millisecond {
		t.Errorf("waitIdle with no waiter took %v", d)
	}

	g.waiters.Add(1)
	go func() {
		time.Sleep(20 * time.Millisecond)
		// What lockBatch does once it holds the lock.
		if g.waiters.Add(-1) == 0 && g.parked.Load() {
			select {
			case g.wake <- struct{}{}:
			default:
			}
		}
	}()
	t0 = time.Now()
	if g.waitIdle(time.Hour, tm) {
		t.Error("waitIdle reported a time-out when the waiter got the lock")
	}
	if d := time.Since(t0); d < 10*time.Millisecond || d > 10*time.Second {
		t.Errorf("waitIdle returned after %v, want when the waiter got the lock (20 ms)", d)
	}
	if g.busy() {
		t.Error("waitIdle returned while a batch waits")
	}

	g.waiters.Add(1) // a waiter that never gets the lock
	t0 = time.Now()
	if !g.waitIdle(30*time.Millisecond, tm) {
		t.Error("waitIdle with a stuck waiter did not report the time-out")
	}
	if d := time.Since(t0); d < 25*time.Millisecond || d > 10*time.Second {
		t.Errorf("waitIdle with a stuck waiter returned after %v, want the 30 ms limit", d)
	}
}

// TestSnapshotBgsaveInProcessUnderWrites runs a BGSAVE in process while clients overwrite,
// delete and create keys, so the race detector sees the walk, the lock gate and the event
// loop together; the file must hold the dataset as it was when the save began.
func TestSnapshotBgsaveInProcessUnderWrites(t *testing.T) {
	t.Chdir(t.TempDir()) // dbfilename is relative to the working directory
	s, addr := startLoopServer(t, "enable-debug-command", "yes")
	rc := testutil.DialRaw(t, addr)
	const n = 100000
	if r, err := rc.Do("DEBUG", "POPULATE", strconv.Itoa(n), "key", "100"); err != nil || string(r) != "+OK\r\n" {
		t.Fatalf("DEBUG POPULATE: %q %v", r, err)
	}
	want, err := rc.Do("DEBUG", "DIGEST")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := rc.Do("BGSAVE"); err != nil || !strings.HasPrefix(string(r), "+Background saving started") {
		t.Fatalf("BGSAVE: %q %v", r, err)
	}
	stop := make(chan struct{})
	done := make(chan error, 4)
	for w := 0; w < 4; w++ {
		go func(w int) {
			c := testutil.DialRaw(t, addr)
			for i := 0; ; i++ {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				k := strconv.Itoa((i*4 + w) % n)
				var err error
				switch i % 3 {
				case 0:
					_, err = c.Do("SET", "key:"+k, strings.Repeat("w", 90))
				case 1:
					_, err = c.Do("DEL", "key:"+k)
				default:
					_, err = c.Do("SET", "new:"+k, "x")
				}
				if err != nil {
					done <- err
					return
				}
			}
		}(w)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := rc.Do("INFO", "persistence")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(r), "rdb_bgsave_in_progress:0") {
			if !strings.Contains(string(r), "rdb_last_bgsave_status:ok") {
				t.Fatal("BGSAVE failed")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("BGSAVE did not finish in 60 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	for w := 0; w < 4; w++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if r, err := rc.Do("DEBUG", "RELOAD", "NOSAVE"); err != nil || string(r) != "+OK\r\n" {
		t.Fatalf("DEBUG RELOAD NOSAVE: %q %v", r, err)
	}
	if got, _ := rc.Do("DEBUG", "DIGEST"); !bytes.Equal(got, want) {
		t.Errorf("the saved file digests %q, want the dataset at BGSAVE time %q", got, want)
	}
	s.mu.Lock()
	watching := s.persist.gate.watching.Load()
	s.mu.Unlock()
	if watching {
		t.Error("the lock gate still records waits after the save")
	}
}
