//go:build !linux

package intake

import "os"

// syncData makes f's data durable (fsync where there is no fdatasync).
func syncData(f *os.File) error { return f.Sync() }

// lockDir does not lock here; the spool directory must not be shared.
func lockDir(dir string) (*os.File, error) { return nil, nil }
