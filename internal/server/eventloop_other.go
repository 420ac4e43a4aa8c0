//go:build !linux

package server

// Without epoll every client is served by a goroutine of its own.

type loopSet struct{}

type eventLoop struct{}

type loopRun struct{}

type loopConn struct{}

func (c *Client) start() { go c.serve() }

func (c *Client) detach() {}

func (c *Client) poke() {}

func (c *Client) shutdownSocket() {}

func (c *Client) writeOut(buf []byte, _ bool) (int, error) { return c.conn.Write(buf) }
