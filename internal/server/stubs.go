package server

// Placeholders for subsystems that later issues fill in; each keeps its real signature so
// callers are already wired.

