package server

import (
	"fmt"
	"strings"
)

// Banner is sard's start-up logo: a shard of glass. It carries the facts Redis's logo
// carries (version, mode, port, PID), so scripts that scrape " PID: " still find it.
func Banner(mode string, port, pid int) string {
	art := []string{
		`            /\            `,
		`           /  \           `,
		`          / /\ \          `,
		`         / /  \ \         `,
		`        /_/ /\ \_\        `,
		`        \ \ \/ / /        `,
		`         \ \  / /         `,
		`          \ \/ /          `,
		`           \  /           `,
		`            \/            `,
	}
	info := map[int]string{
		2: fmt.Sprintf("sard %s (Redis %s compatible) 64 bit", Version, VersionCompat),
		4: fmt.Sprintf("Running in %s mode", mode),
		5: fmt.Sprintf("Port: %d", port),
		6: fmt.Sprintf("PID: %d", pid),
	}
	var b strings.Builder
	b.WriteString("\n")
	for i, line := range art {
		b.WriteString(line)
		if s, ok := info[i]; ok {
			b.WriteString("     ")
			b.WriteString(s)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	return b.String()
}

// ShutdownFromSignal is what SIGTERM and SIGINT do: the same shutdown as SHUTDOWN with no
// arguments, run with the command lock so no command is half done.
func (s *Server) ShutdownFromSignal() {
	s.mu.Lock()
	err := s.prepareForShutdown(0)
	s.mu.Unlock()
	if err != nil {
		s.log.Warningf("%v", err)
		return
	}
	s.Shutdown(0)
}
