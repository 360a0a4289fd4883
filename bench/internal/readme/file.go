package readme

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// Update replaces the block of section in the Markdown file at path (see Replace). The new
// content goes to a temporary file in the same directory, which is synced and then renamed
// over the old one, so readers and crashes see the old file or the new one, never a mix.
// The file keeps its permissions; if nothing changes it is not written at all.
func Update(path, section, block string) error {
	real, err := filepath.EvalSymlinks(path) // replace the file a link points to, not the link
	if err != nil {
		return err
	}
	fi, err := os.Stat(real)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(real)
	if err != nil {
		return err
	}
	doc, err := Replace(old, section, block)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal(doc, old) {
		return nil
	}
	return writeAtomically(real, doc, fi.Mode().Perm())
}

// writeAtomically writes data to path by way of a temporary file and a rename.
func writeAtomically(path string, data []byte, perm os.FileMode) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
