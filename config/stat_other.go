//go:build !linux

package config

import "io/fs"

// statOf reports false where the change time and inode are not known: a Loader then reads
// every included file on every Load.
func statOf(fs.FileInfo) (fileStat, bool) { return fileStat{}, false }
