//go:build !linux

package sqlite

import "errors"

// watchInotify is Linux only; elsewhere Changes polls data_version.
func watchInotify(string, func()) (func(), error) {
	return nil, errors.New("inotify is Linux only")
}
