package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/inference"
	"github.com/ipinsights/ipinsights-go/server"
	"github.com/ipinsights/ipinsights-go/sigv4"
)

// Keys of the credentials files of these tests.
var (
	credsKept    = sigv4.Key{AccessKeyID: "AKIDKEPT", SecretAccessKey: "kept-secret"}
	credsRemoved = sigv4.Key{AccessKeyID: "AKIDREMOVED", SecretAccessKey: "removed-secret"}
	credsAdded   = sigv4.Key{AccessKeyID: "AKIDADDED", SecretAccessKey: "added-secret"}
)

// writeCredentials writes keys to path, one a line, with mode perm.
func writeCredentials(t *testing.T, path string, perm os.FileMode, keys ...sigv4.Key) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# test keys\n")
	for _, k := range keys {
		b.WriteString(k.AccessKeyID + " " + k.SecretAccessKey + "\n")
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), perm))
	require.NoError(t, os.Chmod(path, perm)) // WriteFile keeps the mode of a file that exists
}

// invokeAs invokes the endpoint at url with the SDK's client signing with
// k, and returns the error code it gets, "" for a success.
func invokeAs(t *testing.T, url string, k sigv4.Key) string {
	t.Helper()
	client := sagemakerruntime.New(sagemakerruntime.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}, nil
		}),
	})
	body, err := inference.AppendRequest(nil, inference.CSV, serveRecords)
	require.NoError(t, err)
	_, err = client.InvokeEndpoint(context.Background(), &sagemakerruntime.InvokeEndpointInput{
		EndpointName: aws.String("local"), ContentType: aws.String("text/csv"), Body: body})
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "%v", err)
	return ae.ErrorCode()
}

// reloadCredentials applies the credentials file to a serving server, with
// the rules of startup: a key removed from the file stops working, an added
// one starts working, and a file that is refused keeps the keys in use and
// logs one line that says why.
func TestReloadCredentials(t *testing.T) {
	a, _ := trainedModels(t)
	path := filepath.Join(t.TempDir(), "keys.txt")
	writeCredentials(t, path, 0o600, credsKept, credsRemoved)
	keys, err := readCredentials(path)
	require.NoError(t, err)
	v, err := sigv4.NewVerifier(keys, sigv4.Options{Region: "us-east-1", Service: "sagemaker"})
	require.NoError(t, err)
	srv, err := server.New(a, server.Options{SigV4: v})
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))

	require.Equal(t, "", invokeAs(t, ts.URL, credsKept))
	require.Equal(t, "", invokeAs(t, ts.URL, credsRemoved))
	require.Equal(t, sigv4.UnrecognizedClient, invokeAs(t, ts.URL, credsAdded))

	writeCredentials(t, path, 0o600, credsKept, credsAdded)
	require.NoError(t, reloadCredentials(v, path, logger))
	assert.Equal(t, "", invokeAs(t, ts.URL, credsKept))
	assert.Equal(t, sigv4.UnrecognizedClient, invokeAs(t, ts.URL, credsRemoved), "removed from the file")
	assert.Equal(t, "", invokeAs(t, ts.URL, credsAdded), "added to the file")
	assert.Contains(t, logs.String(), `"msg":"credentials reloaded","credentials":"`+path+`","access_keys":2`)

	for _, tc := range []struct {
		name  string
		write func()
		want  string
	}{
		{"group-readable", func() { writeCredentials(t, path, 0o640, credsRemoved) }, "group or others may read or write it (mode 0640)"},
		{"world-readable", func() { writeCredentials(t, path, 0o604, credsRemoved) }, "(mode 0604)"},
		{"malformed", func() {
			require.NoError(t, os.WriteFile(path, []byte("AKIDREMOVED removed-secret extra\n"), 0o600))
			require.NoError(t, os.Chmod(path, 0o600))
		}, "line 1: 3 fields"},
		{"no keys", func() { writeCredentials(t, path, 0o600) }, "no access keys"},
		{"duplicate", func() { writeCredentials(t, path, 0o600, credsRemoved, credsRemoved) }, "already on line 2"},
		{"missing", func() { require.NoError(t, os.Remove(path)) }, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			tc.write()
			err := reloadCredentials(v, path, logger)
			assert.ErrorContains(t, err, tc.want)
			assert.Equal(t, "", invokeAs(t, ts.URL, credsKept), "the keys in use stay")
			assert.Equal(t, "", invokeAs(t, ts.URL, credsAdded), "the keys in use stay")
			assert.Equal(t, sigv4.UnrecognizedClient, invokeAs(t, ts.URL, credsRemoved), "the refused file is not applied")
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			require.Len(t, lines, 1, "one line")
			assert.Contains(t, lines[0], `"level":"ERROR","msg":"credentials reload failed; serving the previous keys"`)
			assert.Contains(t, lines[0], tc.want)
			for _, k := range []sigv4.Key{credsKept, credsRemoved, credsAdded} {
				assert.NotContains(t, lines[0], k.SecretAccessKey, "the log never shows a secret")
			}
		})
	}
}

// TestServeSIGHUPReloadsCredentials runs "ipinsights serve --auth sigv4"
// as a real process: SIGHUP reloads --credentials with the model.
func TestServeSIGHUPReloadsCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a child process")
	}
	a, _ := trainedModels(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.bin")
	saveModel(t, a, path)
	creds := filepath.Join(dir, "keys.txt")
	writeCredentials(t, creds, 0o600, credsKept, credsRemoved)
	cmd, logs := startServeProcess(t, "serve", "--model", path, "--addr", "127.0.0.1:0", "--log-format", "json",
		"--auth", "sigv4", "--credentials", creds, "--region", "us-east-1")
	url := "http://" + listenAddr(t, logs.String)
	require.Equal(t, "", invokeAs(t, url, credsRemoved))
	require.Equal(t, sigv4.UnrecognizedClient, invokeAs(t, url, credsAdded))

	writeCredentials(t, creds, 0o600, credsKept, credsAdded)
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `"msg":"credentials reloaded"`) }, 20*time.Second, 10*time.Millisecond)
	assert.Equal(t, sigv4.UnrecognizedClient, invokeAs(t, url, credsRemoved))
	assert.Equal(t, "", invokeAs(t, url, credsAdded))

	writeCredentials(t, creds, 0o644, credsRemoved)
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "credentials reload failed") }, 20*time.Second, 10*time.Millisecond)
	assert.Equal(t, "", invokeAs(t, url, credsAdded))
	assert.Equal(t, sigv4.UnrecognizedClient, invokeAs(t, url, credsRemoved))
}
