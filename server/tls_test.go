package server

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/inference"
	"github.com/ipinsights/ipinsights-go/internal/test/testcert"
)

// serveTLS serves s over TLS with kp, as "ipinsights serve --tls-cert
// --tls-key" does, and returns its address.
func serveTLS(t *testing.T, s *Server, kp *KeyPair) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := s.HTTPServer(ln.Addr().String())
	go hs.Serve(s.Listener(ln, kp.TLSConfig()))
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// tlsClient trusts p, and would speak HTTP/2 if the server offered it.
func tlsClient(p testcert.Pair) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.Pool()}, ForceAttemptHTTP2: true}}
}

// certSerial returns the serial number of the certificate that addr
// serves to a new connection.
func certSerial(t *testing.T, addr string, p testcert.Pair) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: p.Pool()})
	require.NoError(t, err)
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// The SDK's client, signing, over HTTPS (the signature covers the host of
// an https URL); the pair reloads for new connections; TLS 1.1 and HTTP/2
// are not offered.
func TestTLS(t *testing.T) {
	m, _, recs := models(t)
	dir := t.TempDir()
	first := testcert.Write(t, dir, "server", 1)
	kp, err := LoadKeyPair(first.CertFile, first.KeyFile)
	require.NoError(t, err)
	assert.WithinDuration(t, first.Cert.NotAfter, kp.NotAfter(), time.Second)
	s, err := New(m, Options{SigV4: newVerifier(t)})
	require.NoError(t, err)
	addr := serveTLS(t, s, kp)
	url := "https://" + addr

	client := tlsClient(first)
	c := sagemakerruntime.New(sagemakerruntime.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url), HTTPClient: client, RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: sdkKey.AccessKeyID, SecretAccessKey: sdkKey.SecretAccessKey}, nil
		}),
	})
	out, err := invoke(c, "text/csv", "", csvBody(t, recs))
	require.NoError(t, err)
	got, err := inference.DecodeResponse(inference.JSON, out.Body)
	require.NoError(t, err)
	assert.Equal(t, wantPredictions(m, recs, inference.ResponseFormat{}), got)

	resp, err := client.Get(url + "/ping")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "HTTP/1.1", resp.Proto, "no HTTP/2")
	assert.Equal(t, uint16(tls.VersionTLS13), resp.TLS.Version, "a modern client gets TLS 1.3: the server caps no version")

	_, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: first.Pool(), MaxVersion: tls.VersionTLS11})
	assert.Error(t, err, "TLS 1.1 is refused")

	// A new pair in the same files: new connections get it once reloaded.
	second := testcert.Write(t, dir, "server", 2)
	assert.Equal(t, int64(1), certSerial(t, addr, first))
	require.NoError(t, kp.Reload())
	assert.Equal(t, int64(2), certSerial(t, addr, second))

	// Files that do not load keep the pair in use.
	other := testcert.Write(t, t.TempDir(), "other", 3)
	require.NoError(t, os.Rename(other.KeyFile, second.KeyFile))
	err = kp.Reload()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "private key does not match public key")
	assert.Equal(t, int64(2), certSerial(t, addr, second))
}

// A key that does not match its certificate, and files that are not PEM,
// are one-line errors naming the files.
func TestLoadKeyPairErrors(t *testing.T) {
	dir := t.TempDir()
	a := testcert.Write(t, dir, "a", 1)
	b := testcert.Write(t, dir, "b", 2)
	_, err := LoadKeyPair(a.CertFile, b.KeyFile)
	require.Error(t, err)
	assert.Equal(t, "server: TLS certificate "+a.CertFile+" and key "+b.KeyFile+": tls: private key does not match public key", err.Error())

	garbage := dir + "/garbage.pem"
	require.NoError(t, os.WriteFile(garbage, []byte("not PEM\n"), 0o600))
	for _, files := range [][2]string{{garbage, a.KeyFile}, {a.CertFile, garbage}, {a.CertFile, dir + "/missing.key"}, {a.KeyFile, a.CertFile}} {
		_, err := LoadKeyPair(files[0], files[1])
		require.Error(t, err, files)
		assert.NotContains(t, err.Error(), "\n", files)
		assert.Contains(t, err.Error(), files[0], files)
	}
}

// Over MaxConnections, a TLS client gets its 503 over TLS.
func TestTLSConnectionLimit(t *testing.T) {
	m, _, _ := models(t)
	p := testcert.Write(t, t.TempDir(), "server", 1)
	kp, err := LoadKeyPair(p.CertFile, p.KeyFile)
	require.NoError(t, err)
	s, err := New(m, Options{MaxConnections: 1})
	require.NoError(t, err)
	addr := serveTLS(t, s, kp)
	held, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: p.Pool()})
	require.NoError(t, err)
	defer held.Close()
	require.Eventually(t, func() bool { return s.metrics.connsOpen.Load() == 1 }, 10*time.Second, time.Millisecond)
	client := tlsClient(p)
	client.Transport.(*http.Transport).DisableKeepAlives = true
	resp, err := client.Get("https://" + addr + "/ping")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.True(t, strings.HasPrefix(string(body), `{"code":"ServiceUnavailable"`), "%s", body)
}
