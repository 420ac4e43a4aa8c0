package server

// Error replies shared by many commands, byte for byte as Redis 7.0 sends them (without the
// leading '-').
const (
	errSyntax          = "ERR syntax error"
	errWrongType       = "WRONGTYPE Operation against a key holding the wrong kind of value"
	errNotInt          = "ERR value is not an integer or out of range"
	errNotFloat        = "ERR value is not a valid float"
	errOverflow        = "ERR increment or decrement would overflow"
	errNoSuchKey       = "ERR no such key"
	errDBIndex         = "ERR DB index is out of range"
	errInvalidDBIndex  = "ERR invalid DB index"
	errNoAuth          = "NOAUTH Authentication required."
	errWrongPass       = "WRONGPASS invalid username-password pair or user is disabled."
	errAuthNotSet      = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	errInvalidExpire   = "ERR invalid expire time in '%s' command"
	errStringTooLong   = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	errOffsetRange     = "ERR offset is out of range"
	errNaNOrInf        = "ERR increment would produce NaN or Infinity"
	errSameObject      = "ERR source and destination objects are the same"
	errNoPermission    = "NOPERM this user has no permissions to run one of the commands"
	errBusyKey         = "BUSYKEY Target key name already exists."
	errNotSupportedNX  = "ERR NX and XX, GT or LT options at the same time are not compatible"
	errGTLTNX          = "ERR GT, LT, and/or NX options at the same time are not compatible"
	errUnknownSubcmd   = "ERR unknown subcommand '%s'. Try %s HELP."
	errWrongArgs       = "ERR wrong number of arguments for '%s' command"
	errUnknownCommand  = "ERR unknown command '%s', with args beginning with: %s"
	errPositiveTimeout = "ERR timeout is not an integer or out of range"
	errMultiNested     = "ERR MULTI calls can not be nested"
	errLoading         = "LOADING Redis is loading the dataset in memory"
	errNotBusy         = "NOTBUSY No scripts in execution right now."
	errDebugDisabled   = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."
)
