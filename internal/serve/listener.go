package serve

import (
	"net"
	"sync"
)

// Listener is a server's listener: given, or opened by Listen before Run
// so that Addr reports the real address (port 0) first.
type Listener struct {
	mu sync.Mutex
	ln net.Listener
}

// Set makes ln the listener (one a caller opened early); Listen then opens
// nothing.
func (l *Listener) Set(ln net.Listener) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ln = ln
}

// Listen opens a TCP listener on addr unless l has one.
func (l *Listener) Listen(addr string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	l.ln = ln
	return nil
}

// Get returns the listener, nil before Set or Listen.
func (l *Listener) Get() net.Listener {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ln
}

// Addr is the listener's address, nil before Set or Listen.
func (l *Listener) Addr() net.Addr {
	if ln := l.Get(); ln != nil {
		return ln.Addr()
	}
	return nil
}

// Close closes the listener, if there is one; Listen does not open it
// again.
func (l *Listener) Close() {
	if ln := l.Get(); ln != nil {
		ln.Close()
	}
}
