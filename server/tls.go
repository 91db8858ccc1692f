package server

import (
	"crypto/tls"
	"fmt"
	"sync/atomic"
	"time"
)

// KeyPair is a TLS certificate chain and its private key, read from PEM
// files, which Reload reads again while serving: connections made after a
// reload get the new pair. It is safe for concurrent use.
type KeyPair struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

// LoadKeyPair reads a certificate chain and its private key from PEM
// files. A key that does not match the certificate is an error, as is a
// file that holds no PEM block of the right kind.
func LoadKeyPair(certFile, keyFile string) (*KeyPair, error) {
	k := &KeyPair{certFile: certFile, keyFile: keyFile}
	if err := k.Reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// Reload reads the files again. When they do not load, the pair in use
// stays and the error is returned.
func (k *KeyPair) Reload() error {
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		return fmt.Errorf("server: TLS certificate %s and key %s: %w", k.certFile, k.keyFile, err)
	}
	k.cert.Store(&cert)
	return nil
}

// NotAfter returns when the certificate in use expires.
func (k *KeyPair) NotAfter() time.Time {
	if leaf := k.cert.Load().Leaf; leaf != nil {
		return leaf.NotAfter
	}
	return time.Time{}
}

// TLSConfig returns a TLS configuration that serves the pair in use:
// TLS 1.2 or later, with Go's default (modern) cipher suites and curves,
// and HTTP/1.1 only (see HTTPServer).
func (k *KeyPair) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return k.cert.Load(), nil
		},
	}
}
