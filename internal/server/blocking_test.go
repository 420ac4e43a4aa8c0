package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sard-kv/sard/internal/testutil"
)

// blockedCount polls INFO clients until blocked_clients is n.
func blockedCount(t *testing.T, rc *testutil.RawConn, n int) {
	t.Helper()
	want := fmt.Sprintf("blocked_clients:%d\r\n", n)
	ok := testutil.Poll(3*time.Second, func() bool {
		r, err := rc.Do("INFO", "clients")
		return err == nil && bytes.Contains(r, []byte(want))
	})
	if !ok {
		t.Fatalf("blocked_clients never reached %d", n)
	}
}

// blockingScenario runs on one server what a user sees of CLIENT UNBLOCK, timeouts and
// disconnects, and returns the replies in order; timing checks fail the test directly.
func blockingScenario(t *testing.T, srv *testutil.Server) []string {
	var seen []string
	note := func(what string, r []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s %s: %v", srv.Name, what, err)
		}
		seen = append(seen, what+" -> "+string(r))
	}
	ctl := srv.Raw()
	defer ctl.Close()
	a := srv.Raw()
	defer a.Close()
	idReply, err := a.Do("CLIENT", "ID")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(string(idReply[1:]))
	send := func(args ...string) {
		t.Helper()
		if err := a.Send(testutil.EncodeCommand(args...)); err != nil {
			t.Fatal(err)
		}
	}

	// CLIENT UNBLOCK: TIMEOUT answers as a timeout, ERROR with -UNBLOCKED
	for _, cmd := range [][]string{
		{"BLPOP", "k", "0"},
		{"BLMOVE", "k", "d", "LEFT", "LEFT", "0"},
		{"BZMPOP", "0", "1", "z", "MIN"},
		{"XREAD", "BLOCK", "0", "STREAMS", "s", "$"},
	} {
		for _, how := range []string{"TIMEOUT", "ERROR"} {
			send(cmd...)
			blockedCount(t, ctl, 1)
			r, err := ctl.Do("CLIENT", "LIST", "ID", id)
			note("flags", []byte(strconv.FormatBool(bytes.Contains(r, []byte(" flags=b ")))), err)
			r, err = ctl.Do("CLIENT", "UNBLOCK", id, how)
			note("unblock "+how, r, err)
			r, err = a.ReadReply()
			note(strings.Join(cmd, " "), r, err)
			r, err = ctl.Do("CLIENT", "UNBLOCK", id)
			note("unblock again", r, err)
		}
	}
	for _, args := range [][]string{{"CLIENT", "UNBLOCK", id, "bogus"}, {"CLIENT", "UNBLOCK", "abc"}, {"CLIENT", "UNBLOCK", "999999"}} {
		r, err := ctl.Do(args...)
		note(strings.Join(args[3:], " "), r, err)
	}

	// timeouts, with sub-second precision
	for _, cmd := range [][]string{
		{"BLPOP", "k", "0.1"},
		{"BZPOPMAX", "z", "0.15"},
		{"XREAD", "BLOCK", "100", "STREAMS", "s", "0"},
	} {
		start := time.Now()
		r, err := a.Do(cmd...)
		el := time.Since(start)
		note(strings.Join(cmd, " "), r, err)
		if el < 90*time.Millisecond || el > 900*time.Millisecond {
			t.Errorf("%s: %v timed out after %v", srv.Name, cmd, el)
		}
	}

	// a client that disconnects while blocked is forgotten and consumes nothing
	gone := srv.Raw()
	gone.Send(testutil.EncodeCommand("BLPOP", "gone", "0"))
	blockedCount(t, ctl, 1)
	gone.Close()
	blockedCount(t, ctl, 0)
	r, err := ctl.Do("RPUSH", "gone", "v")
	note("rpush gone", r, err)
	r, err = ctl.Do("LLEN", "gone")
	note("llen gone", r, err)

	// the served forms that reach the AOF
	send("BLPOP", "p", "0")
	blockedCount(t, ctl, 1)
	ctl.Do("RPUSH", "p", "a", "b", "c")
	r, err = a.ReadReply()
	note("blpop p", r, err)
	r, err = a.Do("BLMOVE", "p", "q", "LEFT", "right", "0")
	note("blmove p q", r, err)
	r, err = a.Do("BRPOPLPUSH", "p", "q", "0")
	note("brpoplpush p q", r, err)
	send("BZMPOP", "0", "1", "z", "MIN", "COUNT", "5")
	blockedCount(t, ctl, 1)
	ctl.Do("ZADD", "z", "1", "a", "2", "b")
	r, err = a.ReadReply()
	note("bzmpop z", r, err)
	send("BLMPOP", "0", "2", "m", "n", "RIGHT", "COUNT", "3")
	blockedCount(t, ctl, 1)
	ctl.Do("RPUSH", "n", "1", "2")
	r, err = a.ReadReply()
	note("blmpop n", r, err)
	send("BLMOVE", "src", "dst", "RIGHT", "LEFT", "0")
	blockedCount(t, ctl, 1)
	ctl.Do("RPUSH", "src", "x")
	r, err = a.ReadReply()
	note("blmove src", r, err)
	send("BZPOPMIN", "zz", "0")
	blockedCount(t, ctl, 1)
	ctl.Do("ZADD", "zz", "3", "c")
	r, err = a.ReadReply()
	note("bzpopmin zz", r, err)
	r, err = a.Do("BZMPOP", "0", "1", "q", "MAX", "COUNT", "9")
	note("bzmpop wrongtype", r, err)
	ctl.Do("ZADD", "zw", "1", "a", "2", "b")
	r, err = a.Do("BZMPOP", "0", "1", "zw", "MAX", "COUNT", "9")
	note("bzmpop zw", r, err)
	return seen
}

// aofCommands reads the commands of a server's incremental AOF, as argument lists.
func aofCommands(t *testing.T, dir string) []string {
	t.Helper()
	var incr string
	testutil.Poll(2*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "*.incr.aof"))
		if len(m) == 1 {
			incr = m[0]
		}
		return incr != ""
	})
	data, err := os.ReadFile(incr)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	r := bufio.NewReader(bytes.NewReader(data))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		args := make([]string, n)
		for i := range args {
			hdr, _ := r.ReadString('\n')
			l, _ := strconv.Atoi(strings.TrimSpace(hdr[1:]))
			b := make([]byte, l+2)
			if _, err := io.ReadFull(r, b); err != nil {
				t.Fatal(err)
			}
			args[i] = string(b[:l])
		}
		out = append(out, strings.Join(args, " "))
	}
	return out
}

// TestBlockingMatchesRedis runs the same blocking scenario on sard and redis-server and
// compares what the clients saw and what each server wrote to its AOF (the propagated
// forms: LPOP, LMOVE, RPOPLPUSH, ZPOPMIN/ZPOPMAX with the count popped...).
func TestBlockingMatchesRedis(t *testing.T) {
	args := []string{"--appendonly", "yes", "--appendfsync", "always"}
	redisSrv := testutil.StartRedis(t, args...)
	sard := testutil.StartSard(t, args...)
	want := blockingScenario(t, redisSrv)
	got := blockingScenario(t, sard)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("replies differ\nsard:\n%s\nredis:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantAOF := aofCommands(t, redisSrv.Dir)
	gotAOF := aofCommands(t, sard.Dir)
	if strings.Join(gotAOF, "\n") != strings.Join(wantAOF, "\n") {
		t.Errorf("AOF differs\nsard:\n%s\nredis:\n%s", strings.Join(gotAOF, "\n"), strings.Join(wantAOF, "\n"))
	}
}

// TestBlockingGoRedis: several go-redis clients blocked on one list are served in the
// order they arrived, and a pipelined client's later commands wait for its BLPOP.
func TestBlockingGoRedis(t *testing.T) {
	sard := testutil.StartSard(t)
	ctx := context.Background()
	ctl := sard.Client()
	defer ctl.Close()
	raw := sard.Raw()
	defer raw.Close()
	type res struct {
		i   int
		val []string
		err error
	}
	results := make(chan res, 3)
	for i := range 3 {
		c := sard.Client()
		defer c.Close()
		go func() {
			v, err := c.BLPop(ctx, 5*time.Second, "jobs").Result()
			results <- res{i, v, err}
		}()
		blockedCount(t, raw, i+1)
	}
	if err := ctl.RPush(ctx, "jobs", "j0", "j1", "j2").Err(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		r := <-results
		if r.err != nil || len(r.val) != 2 || r.val[0] != "jobs" || r.val[1] != fmt.Sprintf("j%d", r.i) {
			t.Errorf("client %d got %v, %v", r.i, r.val, r.err)
		}
	}

	pc := sard.Client()
	defer pc.Close()
	done := make(chan []redis.Cmder, 1)
	go func() {
		cmds, _ := pc.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.BLPop(ctx, 5*time.Second, "pq")
			p.Set(ctx, "after", "1", 0)
			return nil
		})
		done <- cmds
	}()
	blockedCount(t, raw, 1)
	if n, _ := ctl.Exists(ctx, "after").Result(); n != 0 {
		t.Fatal("a command pipelined after BLPOP ran while it was blocked")
	}
	ctl.RPush(ctx, "pq", "v")
	select {
	case cmds := <-done:
		if v, err := cmds[0].(*redis.StringSliceCmd).Result(); err != nil || v[1] != "v" {
			t.Errorf("pipelined BLPOP: %v %v", v, err)
		}
		if err := cmds[1].Err(); err != nil {
			t.Errorf("pipelined SET: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pipeline never completed")
	}
}
