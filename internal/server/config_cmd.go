package server

import (
	"net"
	"strings"
)

// CONFIG GET, SET, RESETSTAT, REWRITE and HELP, over package config.

func configGetCommand(c *Client) {
	patterns := make([]string, len(c.argv)-2)
	for i, a := range c.argv[2:] {
		patterns[i] = string(a)
	}
	kvs := c.srv.cfg.Get(patterns...)
	c.w.Map(len(kvs))
	for _, kv := range kvs {
		c.w.BulkString(kv.Name)
		c.w.BulkString(kv.Value)
	}
}

func configSetCommand(c *Client) {
	args := c.argv[2:]
	if len(args)%2 != 0 {
		c.w.Error(errSyntax)
		return
	}
	pairs := make([][2]string, 0, len(args)/2)
	for i := 0; i < len(args); i += 2 {
		pairs = append(pairs, [2]string{string(args[i]), string(args[i+1])})
	}
	if err := c.srv.cfg.SetAs(pairs, fromLocalhost(c)); err != nil {
		c.w.Error(err.Error())
		return
	}
	c.w.OK()
}

func configResetStatCommand(c *Client) {
	c.srv.resetStats()
	c.w.OK()
}

func configRewriteCommand(c *Client) {
	if err := c.srv.cfg.Rewrite(); err != nil {
		msg := err.Error()
		if !strings.Contains(msg, "without a config file") {
			c.srv.log.Warningf("CONFIG REWRITE failed: %s", strings.TrimPrefix(msg, "ERR "))
		}
		c.w.Error(msg)
		return
	}
	c.srv.log.Noticef("CONFIG REWRITE executed with success.")
	c.w.OK()
}

var configHelp = []string{
	"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GET <pattern>",
	"    Return parameters matching the glob-like <pattern> and their values.",
	"SET <directive> <value>",
	"    Set the configuration <directive> to <value>.",
	"RESETSTAT",
	"    Reset statistics reported by the INFO command.",
	"REWRITE",
	"    Rewrite the configuration file.",
	"HELP",
	"    Prints this help.",
}

func configHelpCommand(c *Client) { writeHelp(c, configHelp) }

// writeHelp replies a HELP text as an array of status lines, Redis's shape.
func writeHelp(c *Client, lines []string) {
	c.w.Array(len(lines))
	for _, l := range lines {
		c.w.Status(l)
	}
}

// fromLocalhost reports whether c connected over a unix socket or from a loopback address:
// the "local" of enable-debug-command and enable-protected-configs.
func fromLocalhost(c *Client) bool {
	if c.flags&flagUnixSocket != 0 {
		return true
	}
	if c.conn == nil {
		return false
	}
	host, _, err := net.SplitHostPort(c.conn.RemoteAddr().String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func init() {
	register(map[string]func(*Client){
		"config|get":       configGetCommand,
		"config|set":       configSetCommand,
		"config|resetstat": configResetStatCommand,
		"config|rewrite":   configRewriteCommand,
		"config|help":      configHelpCommand,
	})
}
