// Package integration holds black-box tests that run the built sard-server binary and check what
// a user sees through the network, the process and real clients (redis-cli, redis-benchmark,
// go-redis), with the real redis-server as the oracle where replies must match byte for byte.
package integration
