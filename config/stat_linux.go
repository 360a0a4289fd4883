package config

import (
	"io/fs"
	"syscall"
)

// statOf returns the status that tells versions of a file apart (see fileStat).
func statOf(fi fs.FileInfo) (fileStat, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStat{}, false
	}
	return fileStat{
		size:  fi.Size(),
		mtime: fi.ModTime().UnixNano(),
		ctime: st.Ctim.Nano(),
		ino:   st.Ino,
		dev:   uint64(st.Dev), // uint32 on some architectures
	}, true
}
