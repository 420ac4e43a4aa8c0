package server

import (
	"sort"
	"strconv"

	"github.com/sard-kv/sard/internal/glob"
)

// Pub/Sub: SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE with their UNSUBSCRIBE counterparts,
// PUBLISH, SPUBLISH and PUBSUB. Messages for other clients go through Client.push, which
// enforces the pubsub output buffer limit and never blocks the publisher.

// Subscription kinds. Shard channels are a namespace of their own; without cluster mode
// they behave like plain channels.
const (
	subChannel = iota
	subPattern
	subShard
	numSubKinds
)

// subKindInfo holds the reply words of each kind.
var subKindInfo = [numSubKinds]struct{ sub, unsub, msg string }{
	{"subscribe", "unsubscribe", "message"},
	{"psubscribe", "punsubscribe", "pmessage"},
	{"ssubscribe", "sunsubscribe", "smessage"},
}

// pubsubState is the server-wide subscription index, under the server lock.
type pubsubState struct {
	// by kind: channel or pattern -> subscribers
	subs [numSubKinds]map[string]map[*Client]struct{}
	// per client: by kind, name -> sequence number, so that UNSUBSCRIBE without arguments
	// answers in subscription order
	clients map[*Client]*[numSubKinds]map[string]uint64
	seq     uint64
	// scratch encodings of one message, per protocol
	buf2, buf3 []byte
	// kept: the ranges of the running client's reply buffer that hold pushes written while
	// its replies are off (CLIENT REPLY OFF/SKIP), which dropReply keeps
	kept [][2]int
}

func (p *pubsubState) clientSubs(c *Client) *[numSubKinds]map[string]uint64 {
	if p.clients == nil {
		return nil
	}
	return p.clients[c]
}

// count is what the confirmations report: channels plus patterns, or shard channels alone.
func (p *pubsubState) count(c *Client, kind int) int {
	cs := p.clientSubs(c)
	if cs == nil {
		return 0
	}
	if kind == subShard {
		return len(cs[subShard])
	}
	return len(cs[subChannel]) + len(cs[subPattern])
}

func (p *pubsubState) total(c *Client) int {
	cs := p.clientSubs(c)
	if cs == nil {
		return 0
	}
	return len(cs[subChannel]) + len(cs[subPattern]) + len(cs[subShard])
}

// add subscribes c; it reports false when c already was.
func (p *pubsubState) add(c *Client, kind int, name []byte) bool {
	if p.clients == nil {
		p.clients = make(map[*Client]*[numSubKinds]map[string]uint64)
	}
	cs := p.clients[c]
	if cs == nil {
		cs = new([numSubKinds]map[string]uint64)
		p.clients[c] = cs
	}
	if cs[kind] == nil {
		cs[kind] = make(map[string]uint64)
	}
	if _, ok := cs[kind][string(name)]; ok {
		return false
	}
	key := string(name)
	p.seq++
	cs[kind][key] = p.seq
	if p.subs[kind] == nil {
		p.subs[kind] = make(map[string]map[*Client]struct{})
	}
	set := p.subs[kind][key]
	if set == nil {
		set = make(map[*Client]struct{})
		p.subs[kind][key] = set
	}
	set[c] = struct{}{}
	return true
}

// remove unsubscribes c; it reports false when c was not subscribed.
func (p *pubsubState) remove(c *Client, kind int, name string) bool {
	cs := p.clientSubs(c)
	if cs == nil {
		return false
	}
	if _, ok := cs[kind][name]; !ok {
		return false
	}
	delete(cs[kind], name)
	if set := p.subs[kind][name]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(p.subs[kind], name)
		}
	}
	if len(cs[subChannel])+len(cs[subPattern])+len(cs[subShard]) == 0 {
		delete(p.clients, c)
	}
	return true
}

// ordered lists c's subscriptions of one kind in the order they were made.
func (p *pubsubState) ordered(c *Client, kind int) []string {
	cs := p.clientSubs(c)
	if cs == nil || len(cs[kind]) == 0 {
		return nil
	}
	names := make([]string, 0, len(cs[kind]))
	for n := range cs[kind] {
		names = append(names, n)
	}
	m := cs[kind]
	sort.Slice(names, func(i, j int) bool { return m[names[i]] < m[names[j]] })
	return names
}

// setPubSubFlag keeps flagPubSub in step with whether c has any subscription left.
func (s *Server) setPubSubFlag(c *Client) {
	if s.pubsub.total(c) > 0 {
		c.flags |= flagPubSub
	} else {
		c.flags &^= flagPubSub
	}
}

func (s *Server) replySubscription(c *Client, word string, name []byte, nullName bool, count int) {
	start := len(c.w.Buf)
	c.w.Push(3)
	c.w.BulkString(word)
	if nullName {
		c.w.Null()
	} else {
		c.w.Bulk(name)
	}
	c.w.Int(int64(count))
	s.notePush(c, start)
}

// notePush marks c.w.Buf[start:] as a push written to c while its command runs. Redis delivers pushes
// (subscription confirmations, messages, invalidations) even while CLIENT REPLY OFF or
// SKIP drops the client's replies.
func (s *Server) notePush(c *Client, start int) {
	if c.flags&(flagReplyOff|flagReplySkip) == 0 {
		return
	}
	s.pubsub.kept = append(s.pubsub.kept, [2]int{start, len(c.w.Buf)})
}

// dropReply removes what c's command wrote after mark, its reply, for CLIENT REPLY OFF and
// SKIP, but keeps the pushes among it.
func (s *Server) dropReply(c *Client, mark int) {
	buf := c.w.Buf
	end := mark
	for _, r := range s.pubsub.kept {
		if r[0] >= end && r[1] <= len(buf) {
			end += copy(buf[end:], buf[r[0]:r[1]])
		}
	}
	c.w.Buf = buf[:end]
	s.pubsub.kept = s.pubsub.kept[:0]
}

func subscribeGeneric(c *Client, kind int) {
	s := c.srv
	for _, name := range c.argv[1:] {
		s.pubsub.add(c, kind, name)
		s.replySubscription(c, subKindInfo[kind].sub, name, false, s.pubsub.count(c, kind))
	}
	s.setPubSubFlag(c)
}

func unsubscribeGeneric(c *Client, kind int) {
	s := c.srv
	word := subKindInfo[kind].unsub
	if len(c.argv) == 1 {
		names := s.pubsub.ordered(c, kind)
		if len(names) == 0 {
			s.replySubscription(c, word, nil, true, s.pubsub.count(c, kind))
		}
		for _, n := range names {
			s.pubsub.remove(c, kind, n)
			s.replySubscription(c, word, []byte(n), false, s.pubsub.count(c, kind))
		}
	} else {
		for _, name := range c.argv[1:] {
			s.pubsub.remove(c, kind, string(name))
			s.replySubscription(c, word, name, false, s.pubsub.count(c, kind))
		}
	}
	s.setPubSubFlag(c)
}

func subscribeCommand(c *Client)    { subscribeGeneric(c, subChannel) }
func psubscribeCommand(c *Client)   { subscribeGeneric(c, subPattern) }
func unsubscribeCommand(c *Client)  { unsubscribeGeneric(c, subChannel) }
func punsubscribeCommand(c *Client) { unsubscribeGeneric(c, subPattern) }
func sunsubscribeCommand(c *Client) { unsubscribeGeneric(c, subShard) }

func ssubscribeCommand(c *Client) {
	if c.flags&flagMulti != 0 {
		// Redis 7.0 refuses SSUBSCRIBE inside EXEC, unlike SUBSCRIBE and PSUBSCRIBE.
		c.w.Error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
		return
	}
	subscribeGeneric(c, subShard)
}

// unsubscribeAll drops every subscription of c without replying (RESET, disconnection).
func (s *Server) unsubscribeAll(c *Client) {
	p := &s.pubsub
	if cs := p.clientSubs(c); cs != nil {
		for kind := range cs {
			for name := range cs[kind] {
				p.remove(c, kind, name)
			}
		}
	}
	c.flags &^= flagPubSub
}

// appendMessage encodes a message push: kind word, then the pattern (pmessage only), the
// channel and the payload.
func appendMessage(b []byte, proto int, word string, pattern, channel, payload []byte) []byte {
	n := 3
	if pattern != nil {
		n = 4
	}
	if proto >= 3 {
		b = append(b, '>')
	} else {
		b = append(b, '*')
	}
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, '\r', '\n')
	b = appendBulk(b, []byte(word))
	if pattern != nil {
		b = appendBulk(b, pattern)
	}
	b = appendBulk(b, channel)
	return appendBulk(b, payload)
}

func appendBulk(b, v []byte) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(v)), 10)
	b = append(b, '\r', '\n')
	b = append(b, v...)
	return append(b, '\r', '\n')
}

// deliver hands a message to a subscriber. The client whose command is running gets it
// among its own replies, where Redis puts it (before the reply of that command).
func (s *Server) deliver(sub *Client, msg []byte) {
	if sub == s.curClient {
		start := len(sub.w.Buf)
		sub.w.Raw(msg)
		s.notePush(sub, start)
		return
	}
	sub.push(msg)
}

// publish sends payload to the subscribers of channel (and, for plain channels, of every
// matching pattern) and returns how many received it.
func (s *Server) publish(kind int, channel, payload []byte) int64 {
	p := &s.pubsub
	var n int64
	if set := p.subs[kind][string(channel)]; len(set) > 0 {
		word := subKindInfo[kind].msg
		p.buf2 = p.buf2[:0]
		p.buf3 = p.buf3[:0]
		for sub := range set {
			s.deliver(sub, p.encoded(sub.w.Proto, word, nil, channel, payload))
			n++
		}
	}
	if kind != subChannel {
		return n
	}
	for pattern, set := range p.subs[subPattern] {
		if !glob.MatchString(pattern, string(channel), false) {
			continue
		}
		p.buf2 = p.buf2[:0]
		p.buf3 = p.buf3[:0]
		pat := []byte(pattern)
		for sub := range set {
			s.deliver(sub, p.encoded(sub.w.Proto, "pmessage", pat, channel, payload))
			n++
		}
	}
	return n
}

// encoded returns the message in proto's encoding, encoding it on first use.
func (p *pubsubState) encoded(proto int, word string, pattern, channel, payload []byte) []byte {
	if proto >= 3 {
		if len(p.buf3) == 0 {
			p.buf3 = appendMessage(p.buf3, 3, word, pattern, channel, payload)
		}
		return p.buf3
	}
	if len(p.buf2) == 0 {
		p.buf2 = appendMessage(p.buf2, 2, word, pattern, channel, payload)
	}
	return p.buf2
}

func publishCommand(c *Client) {
	c.w.Int(c.srv.publish(subChannel, c.argv[1], c.argv[2]))
	c.srv.propagatePublish(c)
}

func spublishCommand(c *Client) {
	c.w.Int(c.srv.publish(subShard, c.argv[1], c.argv[2]))
	c.srv.propagatePublish(c)
}

// propagatePublish sends PUBLISH and SPUBLISH to the replicas, whose subscribers get the
// message too, but not to the AOF, as Redis 7.0 outside cluster mode (a cluster spreads
// messages over its bus instead).
func (s *Server) propagatePublish(c *Client) {
	if s.propagating() && !s.cfg.ClusterEnabled {
		s.prop.commandExcept(targetAOF, c.db.id, c.argv, nil)
	}
}

// pubsubChannelsGeneric answers PUBSUB CHANNELS and SHARDCHANNELS: active channels, those
// matching the optional pattern.
func pubsubChannelsGeneric(c *Client, kind int) {
	var pattern []byte
	if len(c.argv) > 2 {
		pattern = c.argv[2]
	}
	names := make([]string, 0, len(c.srv.pubsub.subs[kind]))
	for name := range c.srv.pubsub.subs[kind] {
		if pattern == nil || glob.Match(pattern, []byte(name), false) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	c.w.Array(len(names))
	for _, n := range names {
		c.w.BulkString(n)
	}
}

// pubsubNumsubGeneric answers PUBSUB NUMSUB and SHARDNUMSUB: a flat array of channel,
// count pairs, an array (not a map) in RESP3 too, as Redis 7.0 replies.
func pubsubNumsubGeneric(c *Client, kind int) {
	c.w.Array(2 * (len(c.argv) - 2))
	for _, name := range c.argv[2:] {
		c.w.Bulk(name)
		c.w.Int(int64(len(c.srv.pubsub.subs[kind][string(name)])))
	}
}

func pubsubChannelsCommand(c *Client)      { pubsubChannelsGeneric(c, subChannel) }
func pubsubShardChannelsCommand(c *Client) { pubsubChannelsGeneric(c, subShard) }
func pubsubNumsubCommand(c *Client)        { pubsubNumsubGeneric(c, subChannel) }
func pubsubShardNumsubCommand(c *Client)   { pubsubNumsubGeneric(c, subShard) }

func pubsubNumpatCommand(c *Client) {
	c.w.Int(int64(len(c.srv.pubsub.subs[subPattern])))
}

func pubsubHelpCommand(c *Client) {
	lines := []string{
		"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CHANNELS [<pattern>]",
		"    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT",
		"    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]",
		"    Return the number of subscribers for the specified channels, excluding",
		"    pattern subscriptions(default: no channels).",
		"SHARDCHANNELS [<pattern>]",
		"    Return the currently active shard level channels matching a <pattern> (default: '*').",
		"SHARDNUMSUB [<shardchannel> ...]",
		"    Return the number of subscribers for the specified shard level channel(s)",
		"HELP",
		"    Prints this help.",
	}
	c.w.Array(len(lines))
	for _, l := range lines {
		c.w.Status(l)
	}
}

func init() {
	register(map[string]func(*Client){
		"subscribe":            subscribeCommand,
		"unsubscribe":          unsubscribeCommand,
		"psubscribe":           psubscribeCommand,
		"punsubscribe":         punsubscribeCommand,
		"ssubscribe":           ssubscribeCommand,
		"sunsubscribe":         sunsubscribeCommand,
		"publish":              publishCommand,
		"spublish":             spublishCommand,
		"pubsub|channels":      pubsubChannelsCommand,
		"pubsub|numsub":        pubsubNumsubCommand,
		"pubsub|numpat":        pubsubNumpatCommand,
		"pubsub|shardchannels": pubsubShardChannelsCommand,
		"pubsub|shardnumsub":   pubsubShardNumsubCommand,
		"pubsub|help":          pubsubHelpCommand,
	})
}

// subscriptionCounts is what CLIENT LIST reports as sub, psub and ssub.
func (s *Server) subscriptionCounts(c *Client) (sub, psub, ssub int) {
	cs := s.pubsub.clientSubs(c)
	if cs == nil {
		return 0, 0, 0
	}
	return len(cs[subChannel]), len(cs[subPattern]), len(cs[subShard])
}
