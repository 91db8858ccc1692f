package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/inference"
	"github.com/ipinsights/ipinsights-go/internal/test/testmodel"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// TestSoakReloadUnderLoad is a soak test (IPINSIGHTS_SOAK=1; length:
// IPINSIGHTS_SOAK_DURATION, default 30s): "ipinsights serve" runs as a
// real process and gets 1,000 requests a second while its model file is
// replaced (SaveFile) and reloaded (SIGHUP) every second, alternating two
// models of vector_dim 128. No request may fail, and every answer must be
// one model's or the other's.
func TestSoakReloadUnderLoad(t *testing.T) {
	if os.Getenv("IPINSIGHTS_SOAK") == "" {
		t.Skip("soak test: set IPINSIGHTS_SOAK=1")
	}
	duration := 30 * time.Second
	if v := os.Getenv("IPINSIGHTS_SOAK_DURATION"); v != "" {
		var err error
		duration, err = time.ParseDuration(v)
		require.NoError(t, err)
	}
	var models [2]*ipinsights.Model
	for i := range models {
		var err error
		models[i], err = testmodel.Train(uint64(i+10), 128, 3000)
		require.NoError(t, err)
	}
	want := [2][]float64{scoresFor(models[0]), scoresFor(models[1])}
	require.NotEqual(t, want[0], want[1])
	path := filepath.Join(t.TempDir(), "m.bin")
	saveModel(t, models[0], path)
	cmd, logs := startServeProcess(t, "serve", "--model", path, "--addr", "127.0.0.1:0", "--log-format", "json")
	addr := listenAddr(t, logs.String)
	body, err := inference.AppendRequest(nil, inference.CSV, serveRecords)
	require.NoError(t, err)

	// Reloads: every second, the other model, saved over the file, then SIGHUP.
	stop := make(chan struct{})
	var reloads atomic.Int64
	reloaderDone := make(chan struct{})
	go func() {
		defer close(reloaderDone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if err := models[i%2].SaveFile(path); err != nil {
				t.Error(err)
				return
			}
			if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Error(err)
				return
			}
			reloads.Add(1)
		}
	}()

	// Load: 1,000 requests a second on a fixed schedule, from 64 workers.
	const rate = 1000
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	n := int(duration.Seconds() * rate)
	jobs := make(chan struct{}, n)
	var ok, failed, seenA, seenB atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				got, err := scoresOfClient(client, addr, body)
				switch {
				case err != nil:
					failed.Add(1)
					firstErr.Do(func() { t.Errorf("a request failed: %v", err) })
				case slices.Equal(got, want[0]):
					ok.Add(1)
					seenA.Add(1)
				case slices.Equal(got, want[1]):
					ok.Add(1)
					seenB.Add(1)
				default:
					failed.Add(1)
					firstErr.Do(func() { t.Errorf("scores %v are neither model's", got) })
				}
			}
		}()
	}
	start := time.Now()
	for i := range n {
		if d := time.Until(start.Add(time.Duration(i) * time.Second / rate)); d > 0 {
			time.Sleep(d)
		}
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	<-reloaderDone
	l := logs.String()
	t.Logf("%d requests in %s (%.0f/s): %d answered (%d by one model, %d by the other), %d failed; %d SIGHUPs, %d reloads, %d reload failures",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), ok.Load(), seenA.Load(), seenB.Load(), failed.Load(),
		reloads.Load(), strings.Count(l, `"msg":"model reloaded"`), strings.Count(l, "model reload failed"))
	assert.Equal(t, int64(0), failed.Load())
	assert.Equal(t, int64(n), ok.Load())
	assert.GreaterOrEqual(t, reloads.Load(), int64(duration/time.Second)-1)
	assert.NotContains(t, l, "model reload failed")
	assert.GreaterOrEqual(t, int64(strings.Count(l, `"msg":"model reloaded"`)), reloads.Load()-1, "each SIGHUP reloaded (the last may still be under way)")
	assert.Positive(t, seenA.Load())
	assert.Positive(t, seenB.Load())
}

// scoresOfClient posts body and returns the dot products.
func scoresOfClient(c *http.Client, addr string, body []byte) ([]float64, error) {
	resp, err := c.Post("http://"+addr+"/invocations", "text/csv", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, &statusError{resp.StatusCode, string(out)}
	}
	preds, err := inference.DecodeResponse(inference.JSON, out)
	if err != nil {
		return nil, err
	}
	s := make([]float64, len(preds))
	for i, p := range preds {
		s[i] = p.DotProduct
	}
	return s, nil
}

type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return http.StatusText(e.status) + ": " + e.body }
