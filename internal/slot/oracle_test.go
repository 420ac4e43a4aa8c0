package slot

// A minimal harness that runs a real redis-server (the compatibility oracle)
// and talks raw RESP to it, so replies can be compared byte for byte.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

type oracle struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

// startOracle starts redis-server on a free loopback port with persistence
// off and returns a connection to it; it is stopped when the test ends.
func startOracle(t testing.TB, extra ...string) *oracle {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed; differential test against the oracle skipped")
	}
	for attempt := 0; attempt < 5; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		dir := t.TempDir()
		args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", filepath.Join(dir, "log")}
		args = append(args, extra...)
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() {
			cmd.Process.Kill()
			<-exited
		}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				deadline = time.Time{}
				continue
			default:
			}
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
			if err != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			o := &oracle{conn: c, r: bufio.NewReaderSize(c, 1<<16), w: bufio.NewWriterSize(c, 1<<16)}
			if reply := o.do("PING"); string(reply) != "+PONG\r\n" {
				// Still loading or not ours; try again shortly.
				c.Close()
				time.Sleep(20 * time.Millisecond)
				continue
			}
			t.Cleanup(func() { c.Close(); stop() })
			return o
		}
		stop()
		if log, err := os.ReadFile(filepath.Join(dir, "log")); err == nil {
			t.Logf("redis-server on port %d did not come up:\n%s", port, log)
		}
	}
	t.Fatal("could not start redis-server")
	return nil
}

// do sends one command and returns its raw reply bytes.
func (o *oracle) do(args ...any) []byte {
	return o.pipeline([][]any{args})[0]
}

// pipeline sends all commands at once and then reads every reply.
func (o *oracle) pipeline(cmds [][]any) [][]byte {
	o.conn.SetDeadline(time.Now().Add(60 * time.Second))
	for _, args := range cmds {
		fmt.Fprintf(o.w, "*%d\r\n", len(args))
		for _, a := range args {
			var b []byte
			switch v := a.(type) {
			case string:
				b = []byte(v)
			case []byte:
				b = v
			default:
				b = fmt.Append(nil, v)
			}
			fmt.Fprintf(o.w, "$%d\r\n", len(b))
			o.w.Write(b)
			o.w.WriteString("\r\n")
		}
	}
	if err := o.w.Flush(); err != nil {
		panic(err)
	}
	out := make([][]byte, len(cmds))
	for i := range cmds {
		var buf bytes.Buffer
		if err := readReply(o.r, &buf); err != nil {
			panic(err)
		}
		out[i] = buf.Bytes()
	}
	return out
}

// readReply copies exactly one RESP2/RESP3 reply from r to buf.
func readReply(r *bufio.Reader, buf *bytes.Buffer) error {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return err
	}
	buf.Write(line)
	if len(line) < 3 {
		return fmt.Errorf("short reply line %q", line)
	}
	n, _ := strconv.Atoi(string(line[1 : len(line)-2]))
	switch line[0] {
	case '$', '=', '!':
		if n < 0 {
			return nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return err
		}
		buf.Write(b)
	case '*', '~', '>':
		for i := 0; i < n; i++ {
			if err := readReply(r, buf); err != nil {
				return err
			}
		}
	case '%', '|':
		for i := 0; i < 2*n; i++ {
			if err := readReply(r, buf); err != nil {
				return err
			}
		}
	}
	return nil
}

// bulk decodes a RESP bulk string reply; ok is false for anything else.
func bulk(reply []byte) (s []byte, ok bool) {
	if len(reply) < 4 || reply[0] != '$' {
		return nil, false
	}
	i := bytes.IndexByte(reply, '\n')
	n, err := strconv.Atoi(string(reply[1 : i-1]))
	if err != nil || n < 0 || i+1+n+2 != len(reply) {
		return nil, false
	}
	return reply[i+1 : i+1+n], true
}
