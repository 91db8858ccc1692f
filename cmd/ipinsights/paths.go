package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// file is a file a command reads or writes, with the flag that names it
// (for positional arguments, a word such as "input"). The paths "" and "-"
// name no file: nothing, or standard input or output.
type file struct{ flag, path string }

func (f file) none() bool { return f.path == "" || f.path == "-" }

func (f file) String() string { return f.flag + " " + f.path }

// inputs names positional input paths.
func inputs(paths []string) []file {
	files := make([]file, len(paths))
	for i, p := range paths {
		files[i] = file{"input", p}
	}
	return files
}

// checkFiles checks the files a command will write before it reads or
// computes anything, so that a bad output path fails at once rather than
// after the long work, and so that an output never truncates an input.
//
// An output that is the same file as an input (through a symbolic or hard
// link too) or as another output is a usage error. An output that cannot be
// created is an error (exit 1, as a missing input is): its directory must
// exist and accept new files, and it must not itself be a directory.
// Nothing is left behind.
func checkFiles(ins []file, outs ...file) error {
	for i, o := range outs {
		if o.none() {
			continue
		}
		ost, oerr := os.Stat(o.path)
		for _, in := range ins {
			if in.none() || oerr != nil {
				continue
			}
			if ist, err := os.Stat(in.path); err == nil && os.SameFile(ost, ist) {
				return usagef("%s is the same file as %s: writing it would destroy the input", o, in)
			}
		}
		for _, o2 := range outs[:i] {
			if !o2.none() && sameOutput(o, o2) {
				return usagef("%s and %s name the same file", o2, o)
			}
		}
	}
	for _, o := range outs {
		if o.none() {
			continue
		}
		if err := checkCreatable(o); err != nil {
			return err
		}
	}
	return nil
}

// sameOutput reports whether two outputs name the same file, existing or
// not yet.
func sameOutput(a, b file) bool {
	ast, aerr := os.Stat(a.path)
	bst, berr := os.Stat(b.path)
	if aerr == nil && berr == nil {
		return os.SameFile(ast, bst)
	}
	aa, aerr := filepath.Abs(a.path)
	ba, berr := filepath.Abs(b.path)
	return aerr == nil && berr == nil && aa == ba
}

// checkCreatable reports why the file o cannot be created or replaced.
func checkCreatable(o file) error {
	if st, err := os.Stat(o.path); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory", o)
	}
	return checkDir(o, filepath.Dir(o.path), false)
}

// checkOutputDir reports why files cannot be written to the directory o,
// which is created when missing (so its nearest existing parent must accept
// new entries).
func checkOutputDir(o file) error {
	return checkDir(o, filepath.Clean(o.path), true)
}

// checkDir checks that dir is a directory that accepts new files; when
// mayCreate, a missing dir is fine if its nearest existing ancestor does.
func checkDir(o file, dir string, mayCreate bool) error {
	for {
		st, err := os.Stat(dir)
		switch {
		case err == nil && !st.IsDir():
			return fmt.Errorf("%s: %s is not a directory", o, dir)
		case err == nil:
			return probeDir(o, dir)
		case (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) && mayCreate:
			// ENOTDIR: a file on the way, which the next step up reports.
			parent := filepath.Dir(dir)
			if parent == dir {
				return fmt.Errorf("%s: %w", o, err)
			}
			dir = parent
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("%s: directory %s does not exist", o, dir)
		default:
			return fmt.Errorf("%s: %w", o, err)
		}
	}
}

// probeDir creates and removes a file in dir: the one sure test that the
// command's output can be created there (permissions, read-only file
// systems, ACLs).
func probeDir(o file, dir string) error {
	f, err := os.CreateTemp(dir, ".ipinsights-check-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%s: cannot create files in %s: %w", o, dir, err)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}
