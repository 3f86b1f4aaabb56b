//go:build !linux

package intake

import "os"

// syncData makes f's data durable (fsync where there is no fdatasync).
func syncData(f *os.File) error { return f.Sync() }
