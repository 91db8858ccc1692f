// Package atomicfile writes a file that appears complete or not at all:
// the data goes to a temporary file in the same directory, which Commit
// syncs and renames into place. Until then, and for ever when the writer
// gives up (Abort), a previous file of that name is left as it was.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
)

// File is a file being written. Write to it as to an *os.File, then call
// Commit to put it in place, or Abort to discard it. Abort after Commit
// does nothing, so that a deferred Abort covers every early return.
type File struct {
	*os.File
	path string // the destination
	tmp  string // the temporary file; "" when writing the destination itself
	done bool
}

// Create starts writing the named file. The data is written to a
// temporary file next to it, created with mode 0666 less the process's
// umask (what os.Create gives a new file). When path is a symbolic link,
// its target is replaced, not the link. When path exists and is not a
// regular file (a named pipe, a device), there is nothing to protect and
// nowhere to rename to: it is opened for writing directly.
func Create(path string) (*File, error) {
	dst := path
	if target, err := filepath.EvalSymlinks(path); err == nil {
		dst = target
	}
	if st, err := os.Stat(dst); err == nil && !st.Mode().IsRegular() {
		f, err := os.OpenFile(dst, os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		return &File{File: f, path: dst}, nil
	}
	for range 100 {
		// os.CreateTemp would create the file with mode 0600 whatever the
		// umask; OpenFile with 0666 lets the umask decide.
		tmp := fmt.Sprintf("%s.%d.tmp", dst, rand.Uint32())
		f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			return &File{File: f, path: dst, tmp: tmp}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%s: could not create a temporary file next to it", path)
}

// Commit syncs the data to disk, closes the file, renames it into place
// and syncs the directory, so that after a crash the path holds either the
// previous file or the whole new one. On error before the rename the
// temporary file is removed and a previous file is left as it was.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: " + f.path + " already committed or aborted")
	}
	f.done = true
	if f.tmp == "" {
		return f.File.Close()
	}
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.tmp, f.path)
	}
	if err != nil {
		os.Remove(f.tmp)
		return err
	}
	if err := syncDir(filepath.Dir(f.path)); err != nil {
		return fmt.Errorf("%s is in place, but syncing its directory failed: %w", f.path, err)
	}
	return nil
}

// syncDir makes a rename in dir durable. Where a directory cannot be synced
// (Windows, some file systems) it does nothing.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// Abort closes and removes the temporary file, leaving a previous file as
// it was. After Commit or Abort it does nothing.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	if f.tmp != "" {
		os.Remove(f.tmp)
	}
}

// Close is Abort: a File is put in place only by Commit.
func (f *File) Close() error {
	f.Abort()
	return nil
}
