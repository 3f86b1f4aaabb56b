//go:build linux

package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// watchInotify calls notify after writes to path's -wal file (by any
// process), coalescing the events of one read. It watches the directory,
// not the file, so that a -wal file deleted (the last connection closed)
// and created again is still seen. The watch is in place when it returns.
func watchInotify(path string, notify func()) (stop func(), err error) {
	dir, base := filepath.Dir(path), filepath.Base(path)+"-wal"
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_MODIFY|syscall.IN_CREATE|syscall.IN_MOVED_TO); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("inotify_add_watch %s: %w", dir, err)
	}
	// A non-blocking descriptor given to os.NewFile is read through the
	// netpoller: Read parks the goroutine, and Close wakes it.
	f := os.NewFile(uintptr(fd), "inotify:"+dir)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 16<<10) // room for 60 events with the longest names
		for {
			n, err := f.Read(buf)
			if err != nil {
				if !errors.Is(err, os.ErrClosed) {
					notify() // the consumer's polls go on; say once that something may have changed
				}
				return
			}
			if walWritten(buf[:n], base) {
				notify()
			}
		}
	}()
	return func() { f.Close(); <-done }, nil
}

// walWritten reports whether the inotify events in b name the file base,
// or overflowed (events were lost, so one may have).
func walWritten(b []byte, base string) bool {
	for len(b) >= syscall.SizeofInotifyEvent {
		mask := binary.NativeEndian.Uint32(b[4:8])
		n := int(binary.NativeEndian.Uint32(b[12:16]))
		end := syscall.SizeofInotifyEvent + n
		if end > len(b) {
			return true
		}
		if mask&syscall.IN_Q_OVERFLOW != 0 {
			return true
		}
		name := b[syscall.SizeofInotifyEvent:end]
		for len(name) > 0 && name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		if string(name) == base {
			return true
		}
		b = b[end:]
	}
	return false
}
