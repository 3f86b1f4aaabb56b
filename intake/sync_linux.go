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

// lockDir takes an exclusive lock on dir (a LOCK file in it) that another
// process holding it makes fail at once; closing the file releases it.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir+"/LOCK", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if err == unix.EWOULDBLOCK {
			return nil, errSpoolInUse
		}
		return nil, err
	}
	return f, nil
}
