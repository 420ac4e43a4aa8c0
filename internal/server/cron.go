package server

import (
	"math/rand/v2"
	"time"

	"github.com/sard-kv/sard/internal/keyspace"
	"github.com/sard-kv/sard/internal/num"
)

// Active expiry parameters, Redis's: sample 20 keys with a TTL per loop, keep going while
// more than 10% of a sample was expired, and spend at most 25% of each tick doing it.
const (
	expireKeysPerLoop   = 20
	expireAcceptStale   = 10
	expireCycleCPUPerc  = 25
	maxClientsPerTick   = 200 // dynamic-hz raises hz by one step per this many clients
	rehashStepsPerCron  = 100
	compactPagesPerCron = 4
)

func isCanonicalInt(b []byte) bool {
	_, ok := num.ParseInt64(b)
	return ok
}

// cronLoop is serverCron: it runs hz times a second (more with dynamic-hz and many clients).
func (s *Server) cronLoop() {
	for {
		s.mu.Lock()
		hz := s.hz
		if s.cfgBool("dynamic-hz") {
			for n := len(s.clients) / maxClientsPerTick; n > 0 && hz < 500; n-- {
				hz *= 2
			}
			hz = min(hz, 500)
		}
		s.mu.Unlock()
		select {
		case <-s.done:
			return
		case <-time.After(time.Second / time.Duration(hz)):
		}
		s.mu.Lock()
		if s.scripts.busy { // a slow script lent the lock: the dataset must not change under it
			s.mu.Unlock()
			continue
		}
		s.now = time.Now().UnixMilli()
		s.activeExpireCycle(hz)
		s.serveReadyKeys() // a stream removed by expiry answers its blocked XREADGROUP clients
		for _, db := range s.dbs {
			db.ks.RehashStep(rehashStepsPerCron)
			db.ks.Compact(compactPagesPerCron)
		}
		s.closeTimedOutClients()
		if !s.persist.load.active {
			// Redis's cron does not run while it loads: no save or rewrite (nor, in
			// replicationCron, full sync) starts from a half-loaded dataset.
			s.persistenceCron()
			s.aofCron()
		}
		s.replicationCron()
		s.TrackInstantaneousMetrics()
		s.afterCommands()
		s.mu.Unlock()
	}
}

// activeExpireCycle removes expired keys nobody asks for, sampling keys with a TTL.
func (s *Server) activeExpireCycle(hz int) {
	if !s.activeExpireEnabled() || s.writesPaused() {
		return // CLIENT PAUSE WRITE also pauses expiry, so the dataset does not change
	}
	start := time.Now()
	budget := time.Second / time.Duration(hz) * expireCycleCPUPerc / 100
	var sampled, expired int64
	for _, db := range s.dbs {
		for db.ks.ExpiresLen() > 0 {
			n, e := s.expireSample(db)
			sampled += int64(n)
			expired += int64(e)
			if time.Since(start) > budget {
				s.stats.expiredTimeCapped++
				break
			}
			if n == 0 || e*100/n <= expireAcceptStale {
				break
			}
		}
		if time.Since(start) > budget {
			break
		}
	}
	if sampled > 0 {
		// exponential moving average of the stale share, as INFO's expired_stale_perc
		s.stats.expiredStalePerc = float64(expired)/float64(sampled)*0.05 + s.stats.expiredStalePerc*0.95
	}
	s.stats.expireCycleTime += time.Since(start).Microseconds()
}

// expireSample checks one sample of keys with a TTL and deletes the expired ones.
func (s *Server) expireSample(db *DB) (sampled, expired int) {
	var victims []keyspace.Ref
	var ttlSum, ttlCount int64
	db.ks.SampleExpiring(expireKeysPerLoop, rand.IntN, func(r keyspace.Ref) {
		sampled++
		if db.expired(r) {
			victims = append(victims, r)
		} else {
			ttlSum += db.ks.ExpireAt(r) - s.now
			ttlCount++
		}
	})
	// Sampling is random, so the same key can be drawn twice; delete each one once. Deleting
	// a key can invalidate the other Refs of the sample, so each victim is found again by name.
	var keys [][]byte
	seen := make(map[keyspace.Ref]bool, len(victims))
	for _, r := range victims {
		if !seen[r] {
			seen[r] = true
			keys = append(keys, append([]byte(nil), db.ks.Key(r)...))
		}
	}
	for _, key := range keys {
		if r, ok := db.ks.Lookup(key); ok && db.expired(r) {
			db.deleteExpired(key, r)
			expired++
		}
	}
	if ttlCount > 0 {
		avg := ttlSum / ttlCount
		if db.avgTTL == 0 {
			db.avgTTL = avg
		} else {
			db.avgTTL = (db.avgTTL/50)*49 + avg/50
		}
	}
	return sampled, expired
}

// activeExpireEnabled is false after DEBUG SET-ACTIVE-EXPIRE 0.
// A replica leaves expiry to its master, which sends DEL (Redis's iAmMaster check).
func (s *Server) activeExpireEnabled() bool {
	return !s.activeExpireOff && s.repl.masterHost == "" && !s.persist.load.active // rdb_load.go
}

// closeTimedOutClients drops clients idle for longer than the timeout directive.
func (s *Server) closeTimedOutClients() {
	timeout := s.cfgInt("timeout")
	if timeout <= 0 {
		return
	}
	limit := time.Now().UnixMilli() - timeout*1000
	for _, c := range s.clients {
		if c.flags&(flagPubSub|flagMonitor|flagBlocked|flagReplica|flagMaster) != 0 {
			continue
		}
		if c.lastInteraction.Load() < limit {
			s.log.Verbosef("Closing idle client")
			c.close()
		}
	}
}
