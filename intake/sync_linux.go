package intake

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncData makes f's data durable with fdatasync: the bytes and the size
// that reading them back needs, without the file's times.
func syncData(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
