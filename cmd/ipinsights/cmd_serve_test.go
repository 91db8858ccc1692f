package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipinsights/ipinsights-go/inference"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/internal/test/testcert"
	"github.com/ipinsights/ipinsights-go/internal/test/testmodel"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

var (
	serveModelsOnce sync.Once
	serveModels     [2]*ipinsights.Model
	serveModelsErr  error
)

// trainedModels returns two tiny models that score differently.
func trainedModels(t *testing.T) (*ipinsights.Model, *ipinsights.Model) {
	t.Helper()
	serveModelsOnce.Do(func() {
		for i := range serveModels {
			if serveModels[i], serveModelsErr = testmodel.Train(uint64(i+1), 8, 3000); serveModelsErr != nil {
				return
			}
		}
	})
	require.NoError(t, serveModelsErr)
	return serveModels[0], serveModels[1]
}

func saveModel(t *testing.T, m *ipinsights.Model, path string) {
	t.Helper()
	require.NoError(t, m.SaveFile(path))
}

// lockedBuffer is a bytes.Buffer safe for a writing server and a reading test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// listenAddr waits for the "serving" log line and returns its address.
func listenAddr(t *testing.T, logs func() string) string {
	t.Helper()
	var addr string
	require.Eventually(t, func() bool {
		for _, line := range strings.Split(logs(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				addr = rec.Addr
				return true
			}
		}
		return false
	}, 20*time.Second, 10*time.Millisecond, "no serving line in %s", logs())
	return addr
}

var serveRecords = []ipinsights.Pair{
	{Entity: testmodel.Entity(3), IP: testmodel.Pairs(1, 100, 1)[0].IP},
	{Entity: "stranger", IP: testmodel.Pairs(1, 100, 1)[0].IP},
}

// scoresOf posts serveRecords as CSV and returns the dot products.
func scoresOf(t *testing.T, addr string) []float64 {
	t.Helper()
	body, err := inference.AppendRequest(nil, inference.CSV, serveRecords)
	require.NoError(t, err)
	resp, err := http.Post("http://"+addr+"/invocations", "text/csv", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, "%s", out)
	preds, err := inference.DecodeResponse(inference.JSON, out)
	require.NoError(t, err)
	var s []float64
	for _, p := range preds {
		s = append(s, p.DotProduct)
	}
	return s
}

func scoresFor(m *ipinsights.Model) []float64 {
	var s []float64
	for _, r := range serveRecords {
		s = append(s, m.Score(r.Entity, r.IP).DotProduct)
	}
	return s
}

func TestServeFlagErrors(t *testing.T) {
	a, _ := trainedModels(t)
	path := filepath.Join(t.TempDir(), "m.bin")
	saveModel(t, a, path)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"serve"}, exitUsage, "--model is required"},
		{[]string{"serve", "--model", path, "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"serve", "--model", path, "--max-payload-mb", "0"}, exitUsage, "--max-payload-mb 0: want a whole number of MB from 1 to 1048576"},
		{[]string{"serve", "--model", path, "--max-payload-mb", "-3"}, exitUsage, "--max-payload-mb -3: want a whole number of MB from 1 to 1048576"},
		{[]string{"serve", "--model", path, "--max-payload-mb", "1048577"}, exitUsage, "--max-payload-mb 1048577: want a whole number of MB from 1 to 1048576"},
		// 2^44 MB overflows int64 bytes (to 0, which once meant the default).
		{[]string{"serve", "--model", path, "--max-payload-mb", "17592186044416"}, exitUsage, "--max-payload-mb 17592186044416: want"},
		{[]string{"serve", "--model", path, "--max-response-mb", "0"}, exitUsage, "--max-response-mb 0: want a whole number of MB from 1 to 1048576"},
		{[]string{"serve", "--model", path, "--max-response-mb", "-1"}, exitUsage, "--max-response-mb -1"},
		{[]string{"serve", "--model", path, "--max-response-mb", "1048577"}, exitUsage, "--max-response-mb 1048577"},
		{[]string{"serve", "--model", path, "--max-concurrent", "-2"}, exitUsage, "--max-concurrent -2: want 1 or more, or -1 for no bound"},
		{[]string{"serve", "--model", path, "--max-concurrent", "0"}, exitUsage, "0 no longer means no bound"},
		{[]string{"serve", "--model", path, "--queue-timeout", "-1s"}, exitUsage, "--queue-timeout -1s"},
		{[]string{"serve", "--model", path, "--log-level", "loud"}, exitUsage, `--log-level "loud"`},
		{[]string{"serve", "--model", path, "--log-format", "xml"}, exitUsage, `--log-format "xml"`},
		{[]string{"serve", "--model", path, "--shutdown-timeout", "0s"}, exitUsage, "--shutdown-timeout"},
		{[]string{"serve", "--model", path, "--max-buffered-mb", "0"}, exitUsage, "--max-buffered-mb 0: want"},
		{[]string{"serve", "--model", path, "--max-buffered-mb", "6"}, exitUsage, "--max-buffered-mb 6: want more than the largest request body (6 MB)"},
		{[]string{"serve", "--model", path, "--max-connections", "0"}, exitUsage, "--max-connections 0: want 1 or more, or -1"},
		{[]string{"serve", "--model", path, "--transfer-timeout", "0s"}, exitUsage, "--transfer-timeout 0s"},
		{[]string{"serve", "--model", path, "--min-transfer-rate", "0"}, exitUsage, "--min-transfer-rate 0"},
		{[]string{"serve", "--model", path, "--auth", "basic"}, exitUsage, `--auth "basic": want none or sigv4`},
		{[]string{"serve", "--model", path, "--auth", "sigv4"}, exitUsage, "--auth sigv4 needs --credentials FILE"},
		{[]string{"serve", "--model", path, "--credentials", "keys.txt"}, exitUsage, "--credentials is for --auth sigv4"},
		{[]string{"serve", "--model", path, "--tls-cert", "a.crt"}, exitUsage, "--tls-cert and --tls-key go together"},
		{[]string{"serve", "--model", filepath.Join(t.TempDir(), "missing.bin")}, exitData, "missing.bin"},
		{[]string{"serve", "--model", path, "--addr", "256.0.0.1:http"}, exitData, "256.0.0.1"},
	} {
		code, _, stderr := runCLI(t, "", tc.args...)
		assert.Equal(t, tc.code, code, "%v: %s", tc.args, stderr)
		assert.Contains(t, stderr, tc.msg, tc.args)
	}

	// A model file that is not one: exit 1 naming the file.
	bad := filepath.Join(t.TempDir(), "bad.bin")
	require.NoError(t, os.WriteFile(bad, []byte("not a model"), 0o644))
	code, _, stderr := runCLI(t, "", "serve", "--model", bad)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, bad)

	// Bad credentials files and TLS pairs: a one-line error, exit 1.
	dir := t.TempDir()
	creds := func(name, text string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		require.NoError(t, os.Chmod(p, mode))
		return p
	}
	ca := testcert.Write(t, dir, "a", 1)
	cb := testcert.Write(t, dir, "b", 2)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--auth", "sigv4", "--credentials", creds("world.txt", "AKID1 secret1\n", 0o644)}, "group or others may read or write it (mode 0644)"},
		{[]string{"--auth", "sigv4", "--credentials", creds("group.txt", "AKID1 secret1\n", 0o640)}, "(mode 0640)"},
		{[]string{"--auth", "sigv4", "--credentials", creds("malformed.txt", "AKID1 secret1\nAKID2\n", 0o600)}, "malformed.txt: sigv4: line 2: 1 fields: want ACCESS_KEY_ID SECRET_ACCESS_KEY"},
		{[]string{"--auth", "sigv4", "--credentials", creds("empty.txt", "# no keys yet\n", 0o600)}, "sigv4: no access keys"},
		{[]string{"--auth", "sigv4", "--credentials", filepath.Join(dir, "missing.txt")}, "missing.txt"},
		{[]string{"--auth", "sigv4", "--credentials", creds("ok.txt", "AKID1 secret1\n", 0o600), "--region", ""}, `--region: sigv4: region ""`},
		{[]string{"--tls-cert", ca.CertFile, "--tls-key", cb.KeyFile}, "tls: private key does not match public key"},
		{[]string{"--tls-cert", ca.KeyFile, "--tls-key", ca.KeyFile}, "server: TLS certificate"},
		{[]string{"--asn-db", filepath.Join(dir, "missing-asn.tsv")}, "--asn-db: "},
		{[]string{"--asn-db", creds("bad-asn.tsv", "1.0.0.0\t1.0.0.255\tx13335\tUS\tX\n", 0o644)}, "bad-asn.tsv"},
	} {
		code, _, stderr := runCLI(t, "", append([]string{"serve", "--model", path, "--addr", "127.0.0.1:0"}, tc.args...)...)
		assert.Equal(t, exitData, code, "%v: %s", tc.args, stderr)
		assert.Contains(t, stderr, tc.msg, tc.args)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %s", stderr)
		assert.NotContains(t, stderr, "secret1", "never a secret")
	}

	t.Setenv("SAGEMAKER_MAX_PAYLOAD_IN_MB", "lots")
	code, _, stderr = runCLI(t, "", "serve", "--model", path)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "SAGEMAKER_MAX_PAYLOAD_IN_MB")
}

func TestServeInProcessEnvAndFlags(t *testing.T) {
	a, _ := trainedModels(t)
	path := filepath.Join(t.TempDir(), "m.bin")
	saveModel(t, a, path)
	t.Setenv("SAGEMAKER_BATCH", "true")
	t.Setenv("SAGEMAKER_MAX_PAYLOAD_IN_MB", "2")
	t.Setenv("SAGEMAKER_BATCH_STRATEGY", "SINGLE_RECORD")
	t.Setenv("SAGEMAKER_MAX_CONCURRENT_TRANSFORMS", "5")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	done := make(chan int)
	go func() {
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr}
		done <- runMain(ctx, e, []string{"serve", "--model", path, "--addr", "127.0.0.1:0", "--log-format", "json",
			"--max-concurrent", "3", "--max-response-mb", "1", "--queue-timeout", "0"})
	}()
	addr := listenAddr(t, stderr.String)
	assert.Equal(t, scoresFor(a), scoresOf(t, addr))

	// --max-response-mb: a verbose response of about 1.5 MB, for a request
	// of a tenth of that, is refused; without verbose=True it is sent.
	var recs []ipinsights.Pair
	for len(recs) < 8000 {
		recs = append(recs, serveRecords...)
	}
	reqBody, err := inference.AppendRequest(nil, inference.CSV, recs)
	require.NoError(t, err)
	for accept, want := range map[string]int{"application/json;verbose=True": 413, "application/json": 200} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/invocations", bytes.NewReader(reqBody))
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, "%s: %.300s", accept, out)
		if want == 413 {
			assert.Contains(t, string(out), "larger than the 1048576-byte limit")
			assert.NotContains(t, string(out), "--max-response-mb", "clients are not told the server's flags")
		}
	}

	resp, err := http.Get("http://" + addr + "/execution-parameters")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The flag wins over SAGEMAKER_MAX_CONCURRENT_TRANSFORMS; the rest comes from the environment.
	assert.JSONEq(t, `{"MaxConcurrentTransforms":3,"BatchStrategy":"SINGLE_RECORD","MaxPayloadInMB":2}`, string(body))

	cancel() // what SIGTERM does through main's context
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	logs := stderr.String()
	assert.Contains(t, logs, `"batch":true`)
	assert.Contains(t, logs, `"max_payload_mb":2,"max_response_mb":1,"max_concurrent":3,"queue_timeout":0,"batch":true,"score_workers":1`)
	// The operator is: the line of the refused request names the flag.
	assert.Contains(t, logs, `"limit":"MaxResponseBytes","flag":"--max-response-mb"`)
	assert.Contains(t, logs, `"msg":"stopped"`)
}

// TestServeProcess is not a test: it runs the command line in a child
// process for TestServeSignals.
func TestServeProcess(t *testing.T) {
	args := os.Getenv("IPINSIGHTS_SERVE_ARGS")
	if args == "" {
		t.Skip("helper process for TestServeSignals")
	}
	var list []string
	if err := json.Unmarshal([]byte(args), &list); err != nil {
		t.Fatal(err)
	}
	os.Args = append([]string{"ipinsights"}, list...)
	main()
}

// TestServeSignals runs "ipinsights serve" as a real process: SIGHUP
// reloads the model file (a bad file keeps the old model), and SIGTERM
// lets a request under way finish before the process exits 0.
func TestServeSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a child process")
	}
	a, b := trainedModels(t)
	require.NotEqual(t, scoresFor(a), scoresFor(b), "the two models must tell a reload apart")
	path := filepath.Join(t.TempDir(), "m.bin")
	saveModel(t, a, path)
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^TestServeProcess$")
	args, err := json.Marshal([]string{"serve", "--model", path, "--addr", "127.0.0.1:0", "--log-format", "json"})
	require.NoError(t, err)
	cmd.Env = append(os.Environ(), "IPINSIGHTS_SERVE_ARGS="+string(args))
	stderrPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var logs lockedBuffer
	copied := make(chan struct{})
	go func() { io.Copy(&logs, stderrPipe); close(copied) }()
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	addr := listenAddr(t, logs.String)
	assert.Equal(t, scoresFor(a), scoresOf(t, addr))

	// SIGHUP with a new model file: new requests get the new model.
	saveModel(t, b, path)
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `"msg":"model reloaded"`) }, 20*time.Second, 10*time.Millisecond)
	assert.Equal(t, scoresFor(b), scoresOf(t, addr))

	// SIGHUP with a damaged file: the old model stays.
	require.NoError(t, os.WriteFile(path, []byte("IPINSGO\x00 truncated"), 0o644))
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "model reload failed") }, 20*time.Second, 10*time.Millisecond)
	assert.Equal(t, scoresFor(b), scoresOf(t, addr))

	// A request under way when SIGTERM arrives: headers and half a body sent.
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	body, err := inference.AppendRequest(nil, inference.CSV, serveRecords)
	require.NoError(t, err)
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /invocations HTTP/1.1\r\nHost: %s\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n", addr, len(body))
	_, err = conn.Write(body[:half])
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		m, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(m), "ipinsights_in_flight_requests 2")
	}, 20*time.Second, 10*time.Millisecond, "the slow request never reached the handler")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "shutting down") }, 20*time.Second, 10*time.Millisecond)
	_, err = conn.Write(body[half:])
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "the request under way was dropped")
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, "%s", out)
	preds, err := inference.DecodeResponse(inference.JSON, out)
	require.NoError(t, err)
	assert.Len(t, preds, len(serveRecords))

	// Read stderr to its end before Wait: Wait closes the pipe, and the
	// last lines ("stopped") would be lost if it ran first.
	select {
	case <-copied:
	case <-time.After(30 * time.Second):
		t.Fatalf("the server did not exit after SIGTERM; logs:\n%s", logs.String())
	}
	err = cmd.Wait()
	exited = true
	assert.NoError(t, err, "exit status; logs:\n%s", logs.String())
	assert.Equal(t, 0, cmd.ProcessState.ExitCode())
	assert.Contains(t, logs.String(), `"msg":"stopped"`)
}

// startServe runs "ipinsights serve" in-process with args (and --addr
// 127.0.0.1:0 --log-format json unless args set them) until the test
// ends, and returns its address and logs.
func startServe(t *testing.T, args ...string) (string, *lockedBuffer) {
	t.Helper()
	if !slices.Contains(args, "--addr") {
		args = append(args, "--addr", "127.0.0.1:0")
	}
	args = append([]string{"serve", "--log-format", "json"}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	stderr := new(lockedBuffer)
	done := make(chan int, 1)
	go func() {
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr}
		done <- runMain(ctx, e, args)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			assert.Equal(t, exitOK, code, stderr.String())
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	return listenAddr(t, stderr.String), stderr
}

// --auth sigv4 with --tls-cert: the SDK's client with a key of the file
// scores over HTTPS; an unsigned request gets 403; /ping stays open.
func TestServeAuthAndTLS(t *testing.T) {
	a, _ := trainedModels(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.bin")
	saveModel(t, a, path)
	keys := filepath.Join(dir, "keys.txt")
	require.NoError(t, os.WriteFile(keys, []byte("# local endpoint\nAKIDLOCAL wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n"), 0o600))
	pair := testcert.Write(t, dir, "server", 1)
	addr, logs := startServe(t, "--model", path, "--auth", "sigv4", "--credentials", keys, "--region", "eu-west-1",
		"--tls-cert", pair.CertFile, "--tls-key", pair.KeyFile)
	httpClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pair.Pool()}}}
	client := sagemakerruntime.New(sagemakerruntime.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String("https://" + addr), HTTPClient: httpClient, RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}, nil
		}),
	})
	body, err := inference.AppendRequest(nil, inference.CSV, serveRecords)
	require.NoError(t, err)
	out, err := client.InvokeEndpoint(context.Background(), &sagemakerruntime.InvokeEndpointInput{
		EndpointName: aws.String("local"), ContentType: aws.String("text/csv"), Body: body})
	require.NoError(t, err)
	preds, err := inference.DecodeResponse(inference.JSON, out.Body)
	require.NoError(t, err)
	require.Len(t, preds, len(serveRecords))
	assert.Equal(t, scoresFor(a)[0], preds[0].DotProduct)

	resp, err := httpClient.Post("https://"+addr+"/invocations", "text/csv", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, "MissingAuthenticationTokenException", resp.Header.Get("X-Amzn-ErrorType"))
	resp, err = httpClient.Get("https://" + addr + "/ping")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)

	// A request's line is logged once its response is sent.
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `"access_key_id":"AKIDLOCAL"`) }, 10*time.Second, time.Millisecond)
	l := logs.String()
	assert.Contains(t, l, `"scheme":"https","auth":"sigv4"`)
	assert.Contains(t, l, `"region":"eu-west-1","service":"sagemaker"`)
	assert.NotContains(t, l, "wJalrXUtnFEMI", "the log never shows a secret")
	assert.NotContains(t, l, "without authentication")
}

// Binding an address that other hosts can reach without --auth logs a
// warning; a loopback address does not.
func TestServeWarnsWithoutAuthOffLoopback(t *testing.T) {
	a, _ := trainedModels(t)
	path := filepath.Join(t.TempDir(), "m.bin")
	saveModel(t, a, path)
	_, logs := startServe(t, "--model", path, "--addr", "0.0.0.0:0")
	require.Eventually(t, func() bool {
		return strings.Contains(logs.String(), `"level":"WARN","msg":"serving without authentication on an address other hosts can reach`)
	}, 10*time.Second, time.Millisecond)
	addr, logs := startServe(t, "--model", path)
	// The warning would come before the serve loop, so before any request's line.
	resp, err := http.Post("http://"+addr+"/invocations", "application/xml", strings.NewReader("<x/>"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `"status":415`) }, 10*time.Second, time.Millisecond)
	assert.NotContains(t, logs.String(), "without authentication")
}

// TestServeSIGHUPReloadsTLS runs "ipinsights serve --tls-cert --tls-key"
// as a real process: SIGHUP reloads the pair with the model, for new
// connections; a pair that does not load keeps the one in use.
func TestServeSIGHUPReloadsTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a child process")
	}
	a, _ := trainedModels(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.bin")
	saveModel(t, a, path)
	first := testcert.Write(t, dir, "server", 1)
	cmd, logs := startServeProcess(t, "serve", "--model", path, "--addr", "127.0.0.1:0", "--log-format", "json",
		"--tls-cert", first.CertFile, "--tls-key", first.KeyFile)
	addr := listenAddr(t, logs.String)
	serial := func(p testcert.Pair) int64 {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: p.Pool()})
		require.NoError(t, err)
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	assert.Equal(t, int64(1), serial(first))

	second := testcert.Write(t, dir, "server", 2)
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `"msg":"TLS certificate reloaded"`) }, 20*time.Second, 10*time.Millisecond)
	assert.Equal(t, int64(2), serial(second))

	other := testcert.Write(t, t.TempDir(), "other", 3)
	require.NoError(t, os.Rename(other.KeyFile, second.KeyFile))
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "TLS certificate reload failed") }, 20*time.Second, 10*time.Millisecond)
	assert.Equal(t, int64(2), serial(second))
	assert.Contains(t, logs.String(), "private key does not match public key")
}

// startServeProcess runs the command line args in a child process (the
// test binary, through TestServeProcess), killed when the test ends, and
// returns it with its standard error.
func startServeProcess(t *testing.T, args ...string) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^TestServeProcess$")
	list, err := json.Marshal(args)
	require.NoError(t, err)
	cmd.Env = append(os.Environ(), "IPINSIGHTS_SERVE_ARGS="+string(list))
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	logs := new(lockedBuffer)
	copied := make(chan struct{})
	go func() { io.Copy(logs, stderr); close(copied) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-copied
		cmd.Wait()
	})
	return cmd, logs
}
