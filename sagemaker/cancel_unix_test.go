//go:build unix

package sagemaker_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/internal/test/smemu"
	"github.com/ipinsights/ipinsights-go/sagemaker"
)

// endless returns a named pipe that yields entity,ip rows for ever (until
// the test ends or its reader goes away), and a channel that is closed
// once n rows were written to it (and, the pipe's buffer being small, most
// of them read).
func endless(t *testing.T, n int) (string, <-chan struct{}) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "endless.csv")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	done := make(chan struct{})
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := fmt.Fprintf(w, "user-%d,10.%d.%d.%d\n", i%100, i>>16&255, i>>8&255, i&255); err != nil {
				return // the reader closed the pipe
			}
			if i == n {
				close(done)
			}
		}
	}()
	return path, done
}

// Preparing reads the local files through; a cancelled context stops the
// scan of an input that would never end, and nothing is created.
func TestPrepareStopsScanningWhenCancelled(t *testing.T) {
	env, c, _ := newClient(t, smemu.Options{}, nil)
	for name, prepare := range map[string]func(ctx context.Context, path string) error{
		"training": func(ctx context.Context, path string) error {
			_, err := c.PrepareTraining(ctx, sagemaker.TrainingSpec{Train: path, Hyperparameters: tinyHP})
			return err
		},
		"transform": func(ctx context.Context, path string) error {
			_, err := c.PrepareTransform(ctx, sagemaker.TransformSpec{Input: sagemaker.RowsFile{Path: path}, ModelData: "s3://b/m.tar.gz"})
			return err
		},
	} {
		path, read := endless(t, 50_000)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-read
			cancel()
		}()
		errc := make(chan error, 1)
		go func() { errc <- prepare(ctx, path) }()
		select {
		case err := <-errc:
			assert.ErrorIs(t, err, context.Canceled, name)
			assert.ErrorContains(t, err, path+":", name+": the error says where the scan stopped")
		case <-time.After(time.Minute):
			t.Fatalf("%s: the scan did not stop after cancellation", name)
		}
		cancel()
	}
	assert.Empty(t, env.Emulator.Calls())
}
