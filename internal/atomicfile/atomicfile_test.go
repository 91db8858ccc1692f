package atomicfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestCommitReplacesAbortKeeps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	require.NoError(t, os.WriteFile(path, []byte("previous\n"), 0o644))

	f, err := Create(path)
	require.NoError(t, err)
	_, err = f.WriteString("partial")
	require.NoError(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "previous\n", string(b), "the destination is untouched while writing")
	f.Abort()
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "previous\n", string(b))
	assert.Equal(t, []string{"out.csv"}, entries(t, dir), "no temporary file is left")
	assert.NoError(t, f.Close(), "closing after Abort does nothing")

	f, err = Create(path)
	require.NoError(t, err)
	_, err = f.WriteString("new\n")
	require.NoError(t, err)
	require.NoError(t, f.Commit())
	f.Abort() // a deferred Abort after Commit does nothing
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "new\n", string(b))
	assert.Equal(t, []string{"out.csv"}, entries(t, dir))
	assert.Error(t, f.Commit(), "a second Commit is a mistake")
}

// Close discards, so that handing the File to code that closes it on an
// error path never puts a partial file in place.
func TestCloseDiscards(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new.csv")
	f, err := Create(path)
	require.NoError(t, err)
	f.WriteString("x")
	require.NoError(t, f.Close())
	assert.Empty(t, entries(t, dir))
}

// A symbolic link keeps pointing at the file it names, which gets the
// new content.
func TestSymlinkTargetReplaced(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "target.csv"), filepath.Join(dir, "link.csv")
	require.NoError(t, os.WriteFile(target, []byte("old"), 0o644))
	require.NoError(t, os.Symlink(target, link))
	f, err := Create(link)
	require.NoError(t, err)
	f.WriteString("new")
	require.NoError(t, f.Commit())
	st, err := os.Lstat(link)
	require.NoError(t, err)
	assert.Equal(t, os.ModeSymlink, st.Mode().Type())
	b, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "new", string(b))
}

func TestCreateInMissingDirectory(t *testing.T) {
	_, err := Create(filepath.Join(t.TempDir(), "missing", "out.csv"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
