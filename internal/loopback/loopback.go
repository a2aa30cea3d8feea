// Package loopback hands out 127.0.0.1 TCP ports for tests that must name a
// node's address before the node exists (a seed started late, a node
// restarted on the same port).
package loopback

import (
	"fmt"
	"net"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	return port, nil
}
