package server

import (
	"strings"
	"time"

	"github.com/sard-kv/sard/internal/num"
)

// Server commands: SHUTDOWN, TIME, LASTSAVE, ROLE, LOLWUT.

// SHUTDOWN flags, also given to prepareForShutdown (0 for a signal).
const (
	shutdownNoSave = 1 << iota
	shutdownSave
	shutdownNow   // do not wait for replicas to catch up
	shutdownForce // ignore errors that would otherwise stop the shutdown
)

func shutdownCommand(c *Client) {
	s := c.srv
	flags, abort := 0, false
	for _, a := range c.argv[1:] {
		switch strings.ToLower(string(a)) {
		case "nosave":
			flags |= shutdownNoSave
		case "save":
			flags |= shutdownSave
		case "now":
			flags |= shutdownNow
		case "force":
			flags |= shutdownForce
		case "abort":
			abort = true
		default:
			c.w.Error(errSyntax)
			return
		}
	}
	if (abort && flags != 0) || (flags&shutdownNoSave != 0 && flags&shutdownSave != 0) {
		c.w.Error(errSyntax)
		return
	}
	if abort {
		// Shutdowns do not wait for replicas yet, so none is ever left to abort.
		if !s.intro.shutdownAsked {
			c.w.Error("ERR No shutdown in progress.")
			return
		}
		s.intro.shutdownAsked = false
		s.log.Warningf("Shutdown manually aborted.")
		c.w.OK()
		return
	}
	if err := s.prepareForShutdown(flags); err != nil {
		s.log.Warningf("%v", err)
		c.w.Error("ERR Errors trying to SHUTDOWN. Check logs.")
		return
	}
	// Like Redis, the client gets no reply: the connection just closes as the server exits.
	c.flags |= flagCloseASAP
	s.Shutdown(0)
}

// prepareForShutdown runs everything that must happen before the process exits. It logs
// Redis's line so log-scraping tools see the shutdown; the persistence milestone adds the
// final save (unless shutdownNoSave) and the AOF fsync here, returning an error (unless
// shutdownForce) when they fail, which keeps the server running.
func (s *Server) prepareForShutdown(flags int) error {
	s.log.Warningf("User requested shutdown...")
	s.aofShutdown()
	return s.shutdownSave(flags)
}

func timeCommand(c *Client) {
	now := time.Now()
	c.w.Array(2)
	c.w.BulkInt(now.Unix())
	c.w.BulkInt(int64(now.Nanosecond() / 1000))
}

func lastsaveCommand(c *Client) { c.w.Int(c.srv.lastSaveTime()) }

// lolwutArt is sard's own LOLWUT: a shard, as in the start-up banner. The last line keeps
// Redis's "Redis ver." text, which test suites look for.
var lolwutArt = strings.Join([]string{
	"     /\\",
	"    /  \\      sard",
	"   / /\\ \\     a shard of a key-value store",
	"   \\ \\/ /",
	"    \\  /",
	"     \\/",
	"",
	"sard ver. " + Version + ", Redis ver. " + VersionCompat,
	"",
}, "\n")

func lolwutCommand(c *Client) {
	if len(c.argv) >= 3 && strings.EqualFold(string(c.argv[1]), "version") {
		if _, ok := num.ParseInt64(c.argv[2]); !ok {
			c.w.Error(errNotInt)
			return
		}
	}
	c.w.Verbatim("txt", lolwutArt)
}

func init() {
	register(map[string]func(*Client){
		"shutdown": shutdownCommand,
		"time":     timeCommand,
		"lastsave": lastsaveCommand,
		"lolwut":   lolwutCommand,
	})
}
