package server

import (
	"fmt"
	"strings"

	"github.com/sard-kv/sard/internal/commands"
	"github.com/sard-kv/sard/internal/glob"
)

// COMMAND and its subcommands. The replies come from the declarative table in package
// commands, filtered down to the commands this server has handlers for, so clients that
// discover commands (redis-cli hints, cluster clients routing by key specs) see exactly what
// sard can run.

// implemented is the filter: a full name ("get", "config|get") this server can execute.
func (s *Server) implemented(name string) bool {
	parent, sub, isSub := strings.Cut(name, "|")
	cmd := s.commands[parent]
	if cmd == nil {
		return false
	}
	if !isSub {
		return true
	}
	return cmd.Subs[sub] != nil
}

func commandCommand(c *Client) {
	commands.WriteCommand(&c.w, c.srv.implemented)
}

func commandCountCommand(c *Client) {
	c.w.Int(int64(commands.Count(c.srv.implemented)))
}

func commandInfoCommand(c *Client) {
	commands.WriteCommandInfo(&c.w, c.argv[2:], c.srv.implemented)
}

func commandDocsCommand(c *Client) {
	commands.WriteCommandDocs(&c.w, c.argv[2:], c.srv.implemented)
}

func commandListCommand(c *Client) {
	var lf commands.ListFilter
	switch len(c.argv) {
	case 2:
	case 5:
		if !strings.EqualFold(string(c.argv[2]), "filterby") {
			c.w.Error(errSyntax)
			return
		}
		lf.Arg = string(c.argv[4])
		switch strings.ToLower(string(c.argv[3])) {
		case "module":
			lf.Kind = commands.ListByModule
		case "aclcat":
			lf.Kind = commands.ListByACLCat
		case "pattern":
			lf.Kind = commands.ListByPattern
			lf.Match = func(pattern, name string) bool { return glob.MatchString(pattern, name, true) }
		default:
			c.w.Error(errSyntax)
			return
		}
	default:
		c.w.Error(errSyntax)
		return
	}
	commands.WriteList(&c.w, c.srv.implemented, lf)
}

func commandGetKeysCommand(c *Client) {
	keys, err := commands.CommandGetKeys(c.argv[2:])
	if err != nil {
		c.w.Error(err.Error())
		return
	}
	c.w.Array(len(keys))
	for _, pos := range keys {
		c.w.Bulk(c.argv[2+pos])
	}
}

func commandGetKeysAndFlagsCommand(c *Client) {
	refs, err := commands.CommandGetKeysAndFlags(c.argv[2:])
	if err == commands.ErrGetKeysNoCommand {
		c.w.Error(fmt.Sprintf(errWrongArgs, "command|getkeysandflags"))
		return
	}
	if err != nil {
		c.w.Error(err.Error())
		return
	}
	c.w.Array(len(refs))
	for _, r := range refs {
		c.w.Array(2)
		c.w.Bulk(c.argv[2+r.Pos])
		names := r.Flags.Names()
		c.w.Set(len(names))
		for _, n := range names {
			c.w.Status(n)
		}
	}
}

var commandHelp = []string{
	"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"(no subcommand)",
	"    Return details about all Redis commands.",
	"COUNT",
	"    Return the total number of commands in this Redis server.",
	"LIST",
	"    Return a list of all commands in this Redis server.",
	"INFO [<command-name> ...]",
	"    Return details about multiple Redis commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"DOCS [<command-name> ...]",
	"    Return documentation details about multiple Redis commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"GETKEYS <full-command>",
	"    Return the keys from a full Redis command.",
	"GETKEYSANDFLAGS <full-command>",
	"    Return the keys and the access flags from a full Redis command.",
	"HELP",
	"    Prints this help.",
}

func commandHelpCommand(c *Client) { writeHelp(c, commandHelp) }

func init() {
	register(map[string]func(*Client){
		"command":                 commandCommand,
		"command|count":           commandCountCommand,
		"command|info":            commandInfoCommand,
		"command|docs":            commandDocsCommand,
		"command|list":            commandListCommand,
		"command|getkeys":         commandGetKeysCommand,
		"command|getkeysandflags": commandGetKeysAndFlagsCommand,
		"command|help":            commandHelpCommand,
	})
}
