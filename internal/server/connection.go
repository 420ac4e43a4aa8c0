package server

import (
	"crypto/subtle"
	"strconv"
	"strings"

	"github.com/sard-kv/sard/internal/num"
)

// Connection commands: PING, ECHO, AUTH, HELLO, SELECT, QUIT, RESET.

func pingCommand(c *Client) {
	if len(c.argv) > 2 {
		c.w.Error("ERR wrong number of arguments for 'ping' command")
		return
	}
	if c.flags&flagPubSub != 0 && c.w.Proto == 2 {
		// a subscribed RESP2 client gets PING as a pub/sub-style message
		c.w.Array(2)
		c.w.BulkString("pong")
		if len(c.argv) == 2 {
			c.w.Bulk(c.argv[1])
		} else {
			c.w.BulkString("")
		}
		return
	}
	if len(c.argv) == 2 {
		c.w.Bulk(c.argv[1])
		return
	}
	c.w.Status("PONG")
}

func echoCommand(c *Client) { c.w.Bulk(c.argv[1]) }

// checkPassword validates credentials for the default user, the only user until ACLs land.
func (s *Server) checkPassword(user, pass []byte) bool {
	if string(user) != "default" {
		return false
	}
	want := s.cfgStr("requirepass")
	if want == "" {
		return true // the default user has nopass
	}
	return subtle.ConstantTimeCompare([]byte(want), pass) == 1
}

func authCommand(c *Client) {
	if len(c.argv) > 3 {
		c.w.Error(errSyntax)
		return
	}
	user, pass := []byte("default"), c.argv[1]
	if len(c.argv) == 3 {
		user, pass = c.argv[1], c.argv[2]
	} else if !c.srv.requirePassSet() {
		c.w.Error(errAuthNotSet)
		return
	}
	if !c.srv.checkPassword(user, pass) {
		c.srv.log.Verbosef("Client id=%d addr=%s failed authentication", c.id, c.addr)
		c.w.Error(errWrongPass)
		return
	}
	c.authed = true
	c.user = string(user)
	c.w.OK()
}

func helloCommand(c *Client) {
	proto := int64(c.w.Proto)
	i := 1
	if len(c.argv) >= 2 {
		v, ok := num.ParseInt64(c.argv[1])
		if !ok {
			c.w.Error("ERR Protocol version is not an integer or out of range")
			return
		}
		if v < 2 || v > 3 {
			c.w.Error("NOPROTO unsupported protocol version")
			return
		}
		proto = v
		i = 2
	}
	var setName []byte
	for ; i < len(c.argv); i++ {
		more := len(c.argv) - i - 1
		switch opt := strings.ToLower(string(c.argv[i])); {
		case opt == "auth" && more >= 2:
			if !c.srv.checkPassword(c.argv[i+1], c.argv[i+2]) {
				c.w.Error(errWrongPass)
				return
			}
			c.authed = true
			c.user = string(c.argv[i+1])
			i += 2
		case opt == "setname" && more >= 1:
			if msg := validClientName(c.argv[i+1]); msg != "" {
				c.w.Error(msg)
				return
			}
			setName = c.argv[i+1]
			i++
		default:
			c.w.Error("ERR Syntax error in HELLO option '" + string(c.argv[i]) + "'")
			return
		}
	}
	if !c.authed {
		c.w.Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	if setName != nil {
		c.name = string(setName)
	}
	c.w.Proto = int(proto)
	c.w.Map(7)
	c.w.BulkString("server")
	c.w.BulkString("redis")
	c.w.BulkString("version")
	c.w.BulkString(VersionCompat)
	c.w.BulkString("proto")
	c.w.Int(proto)
	c.w.BulkString("id")
	c.w.Int(c.id)
	c.w.BulkString("mode")
	if c.srv.cfgBool("cluster-enabled") {
		c.w.BulkString("cluster")
	} else {
		c.w.BulkString("standalone")
	}
	c.w.BulkString("role")
	if c.srv.isReplica() {
		c.w.BulkString("replica")
	} else {
		c.w.BulkString("master")
	}
	c.w.BulkString("modules")
	c.w.Array(0)
}

// validClientName returns Redis's error for names with spaces or special characters.
func validClientName(name []byte) string {
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			return "ERR Client names cannot contain spaces, newlines or special characters."
		}
	}
	return ""
}

func selectCommand(c *Client) {
	id32, ok := parseInt32(c, c.argv[1], "")
	if !ok {
		return
	}
	id := int64(id32)
	if c.srv.cfgBool("cluster-enabled") && id != 0 {
		c.w.Error("ERR SELECT is not allowed in cluster mode")
		return
	}
	if id < 0 || id >= int64(len(c.srv.dbs)) {
		c.w.Error(errDBIndex)
		return
	}
	c.db = c.srv.dbs[id]
	c.w.OK()
}

func quitCommand(c *Client) {
	c.w.OK()
	c.flags |= flagCloseAfterReply
}

// resetCommand returns the connection to its initial state, as Redis 7.0's RESET does.
func resetCommand(c *Client) {
	s := c.srv
	c.multiQ = nil
	c.multiErr = false
	c.flags &^= flagMulti | flagReplyOff | flagReplySkip | flagReplySkipNext | flagNoEvict
	if c.flags&flagMonitor != 0 {
		s.removeMonitor(c)
	}
	s.unwatchAll(c)
	s.unsubscribeAll(c)
	s.disableTracking(c)
	c.db = s.dbs[0]
	c.name = ""
	c.w.Proto = 2
	c.authed = !s.requirePassSet()
	c.user = "default"
	c.w.Status("RESET")
}

// aclWhoamiCommand names the connection's user; ACLs beyond the default user arrive with
// the ACL issue.
func aclWhoamiCommand(c *Client) { c.w.BulkString(c.user) }

func init() {
	register(map[string]func(*Client){
		"acl|whoami": aclWhoamiCommand,
		"ping":       pingCommand,
		"echo":       echoCommand,
		"auth":       authCommand,
		"hello":      helloCommand,
		"select":     selectCommand,
		"quit":       quitCommand,
		"reset":      resetCommand,
	})
}

var _ = strconv.Itoa
