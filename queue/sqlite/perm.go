package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// DefaultFileMode is the permission of the database file and its -wal and
// -shm files when Options.FileMode is zero: owner read and write only, as
// rows hold DM text, user ids and names.
const DefaultFileMode fs.FileMode = 0o600

// secureFiles creates the database file with mode when it does not exist,
// so it is never readable by others even for a moment (SQLite would create
// it 0644 and give the same mode to -wal and -shm), and narrows the mode of
// an existing file and its -wal and -shm to mode (it never widens one). A
// file that cannot be opened for writing gives ErrReadOnly. A mode that
// cannot be narrowed (the file belongs to another user) is logged, not
// fatal: the processes sharing a file may run as different users.
func secureFiles(path string, mode fs.FileMode, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, mode)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w: %w", path, ErrReadOnly, err)
	}
	defer f.Close()
	narrow(f.Name(), f.Stat, f.Chmod, mode, log)
	for _, side := range []string{path + "-wal", path + "-shm"} {
		narrow(side, func() (fs.FileInfo, error) { return os.Stat(side) },
			func(m fs.FileMode) error { return os.Chmod(side, m) }, mode, log)
	}
	return nil
}

func narrow(name string, stat func() (fs.FileInfo, error), chmod func(fs.FileMode) error, mode fs.FileMode, log *slog.Logger) {
	fi, err := stat()
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		log.Warn("sqlite: cannot check file mode", "path", name, "err", err)
		return
	}
	perm := fi.Mode().Perm()
	if perm&^mode == 0 {
		return
	}
	if err := chmod(perm & mode); err != nil {
		log.Warn("sqlite: cannot narrow file mode", "path", name, "mode", fmt.Sprintf("%#o", perm), "want", fmt.Sprintf("%#o", perm&mode), "err", err)
		return
	}
	log.Info("sqlite: narrowed file mode", "path", name, "from", fmt.Sprintf("%#o", perm), "to", fmt.Sprintf("%#o", perm&mode))
}
