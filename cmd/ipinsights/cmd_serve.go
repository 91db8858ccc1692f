package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ipinsights/ipinsights-go/asn"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/server"
	"github.com/ipinsights/ipinsights-go/sigv4"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "serve a model as a drop-in local SageMaker endpoint",
		usage:   "--model FILE [--addr 127.0.0.1:8080] [flags]",
		example: `ipinsights serve --model model.bin
aws sagemaker-runtime invoke-endpoint --endpoint-url http://127.0.0.1:8080 \
    --endpoint-name local --content-type text/csv --body fileb://pairs.csv out.json

The server answers GET /ping, POST /invocations, POST /endpoints/{name}/invocations
(the SageMaker Runtime API path), GET /execution-parameters and GET /metrics.
SIGTERM or SIGINT: finish the requests under way, then exit 0.
SIGHUP: reload --model (and --tls-cert, --tls-key, and --credentials with --auth sigv4);
requests are not dropped, a bad file keeps the old one. --asn-db is not reloaded: restart
the server for a new ASN database.
SAGEMAKER_BATCH, SAGEMAKER_MAX_PAYLOAD_IN_MB, SAGEMAKER_BATCH_STRATEGY and
SAGEMAKER_MAX_CONCURRENT_TRANSFORMS are read as in a SageMaker container; flags win.

Limits, which bound the memory the server takes:
  request body   --max-payload-mb (6 MB, SageMaker's default): larger gets 413 PayloadTooLarge
  response body  --max-response-mb (4 × --max-payload-mb): larger gets 413 ResponseTooLarge,
                 saying how many records fit. A verbose=True response carries 2×vector_dim
                 numbers per record (~130 times its request at vector_dim 128): send
                 fewer records per request.
                 (SageMaker's real-time endpoints refuse responses over 6 MB.)
  scoring        --max-concurrent invocations at once (2 × GOMAXPROCS, at least 4), once
                 their bodies are in; others wait up to --queue-timeout (10s), then get
                 503 ServiceUnavailable with Retry-After: 1, which the AWS SDKs retry.
  buffered       --max-buffered-mb of request and response bodies under way (2 × (payload
                 + response limits)); a body takes room as it arrives, and waits up to
                 --queue-timeout for it, then gets 503.
  slow clients   headers within --transfer-timeout (10s); a body must keep arriving at
                 --min-transfer-rate bytes/s (65536) after that, or gets 408 RequestTimeout;
                 a response must be taken as fast, or the connection is closed.
  connections    --max-connections open at once (1024); the next takes the place of the
                 keep-alive connection idle longest, or with none idle is answered 503 and closed.
The log line of a request refused by a limit names the flag that sets it (flag=...);
the error body the client reads does not.

Authentication (--auth sigv4 --credentials FILE): every request but GET /ping must be
signed with AWS Signature Version 4, as SageMaker Runtime requests are, by a key of FILE
(one "ACCESS_KEY_ID SECRET_ACCESS_KEY" a line, # comments, readable by its owner only),
for service sagemaker in --region: the AWS CLI, boto3 and the AWS SDKs configured with
such a key work unchanged; others get 403 with AWS's error type
(MissingAuthenticationTokenException, UnrecognizedClientException,
InvalidSignatureException, IncompleteSignatureException).
  ipinsights serve --model model.bin --addr :8443 --auth sigv4 --credentials keys.txt \
      --region eu-west-1 --tls-cert server.crt --tls-key server.key`,
		run: runServe,
	})
}

func runServe(ctx context.Context, e *env, args []string) error {
	c := commands["serve"]
	fs := newFlagSet(c, e)
	modelPath := fs.String("model", "", "model file to serve (required)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (SageMaker containers use port 8080; :8080 listens on every interface)")
	maxPayloadMB := fs.Int64("max-payload-mb", server.DefaultMaxPayloadBytes/server.MiB, fmt.Sprintf("largest request body in MB (MiB), 1 to %d; larger ones get 413; SAGEMAKER_MAX_PAYLOAD_IN_MB sets the default", server.MaxLimitMB))
	maxResponseMB := fs.Int64("max-response-mb", 0, fmt.Sprintf("largest response body in MB (MiB), 1 to %d; larger ones get 413 (default %d × --max-payload-mb)", server.MaxLimitMB, server.DefaultResponseFactor))
	maxConcurrent := fs.Int("max-concurrent", 0, fmt.Sprintf("most invocations scoring at once, -1 for no bound (default 2 × GOMAXPROCS, at least 4: %d here); SAGEMAKER_MAX_CONCURRENT_TRANSFORMS sets the default", server.DefaultMaxConcurrent()))
	queueTimeout := fs.Duration("queue-timeout", server.DefaultQueueTimeout, "how long an invocation waits for one of the --max-concurrent slots, or for room in --max-buffered-mb, before a 503; 0 answers 503 at once")
	maxBufferedMB := fs.Int64("max-buffered-mb", 0, "most MB (MiB) of request and response bodies held at once, -1 for no bound (default 2 × (--max-payload-mb + --max-response-mb))")
	maxConnections := fs.Int("max-connections", server.DefaultMaxConnections, "most connections open at once, -1 for no bound; one more closes the connection idle longest, or with none idle is answered 503 and closed")
	transferTimeout := fs.Duration("transfer-timeout", server.DefaultTransferTimeout, "time a client has to send its headers, and to start sending a body or taking a response")
	minTransferRate := fs.Int64("min-transfer-rate", server.DefaultMinTransferRate, "slowest a body may arrive, or a response be taken, after --transfer-timeout, in bytes per second; -1: no rate, the whole body within --transfer-timeout")
	auth := fs.String("auth", "none", "authentication: none, or sigv4 (AWS Signature Version 4 with the keys of --credentials)")
	credentials := fs.String("credentials", "", "with --auth sigv4: file of access keys, one \"ACCESS_KEY_ID SECRET_ACCESS_KEY\" a line (# comments), readable by its owner only")
	region := fs.String("region", defaultRegion(), "with --auth sigv4: the region that signatures are scoped to, as the clients are configured ($AWS_REGION or $AWS_DEFAULT_REGION when set)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this PEM certificate chain (with --tls-key; TLS 1.2 or later)")
	tlsKey := fs.String("tls-key", "", "PEM private key of --tls-cert")
	asnDB := fs.String("asn-db", "", "an ASN database (MaxMind/DB-IP .mmdb, ip2asn TSV or start,end,asn[,org] CSV): explain=True responses\nthen carry asn and as_org of the address and of each usual network, as score --explain --asn-db writes them\n(opened at startup; not reloaded on SIGHUP)")
	logFormat := fs.String("log-format", "text", "request log format: text or json")
	logLevel := fs.String("log-level", "info", "least log level: debug, info, warn or error (request lines are info; warn shows only failures)")
	shutdownTimeout := fs.Duration("shutdown-timeout", 30*time.Second, "how long SIGTERM waits for requests under way")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("unexpected argument %q", fs.Arg(0))
	case *modelPath == "":
		return usagef("--model is required")
	case *maxPayloadMB < 1 || *maxPayloadMB > server.MaxLimitMB:
		return usagef("--max-payload-mb %d: want a whole number of MB from 1 to %d", *maxPayloadMB, server.MaxLimitMB)
	case *maxResponseMB < 0 || *maxResponseMB > server.MaxLimitMB || (*maxResponseMB == 0 && isSet(fs, "max-response-mb")):
		return usagef("--max-response-mb %d: want a whole number of MB from 1 to %d", *maxResponseMB, server.MaxLimitMB)
	case *maxConcurrent < -1 || (*maxConcurrent == 0 && isSet(fs, "max-concurrent")):
		return usagef("--max-concurrent %d: want 1 or more, or -1 for no bound (0 no longer means no bound)", *maxConcurrent)
	case *queueTimeout < 0:
		return usagef("--queue-timeout %s: want 0 or a positive duration", *queueTimeout)
	case *shutdownTimeout <= 0:
		return usagef("--shutdown-timeout %s: want a positive duration", *shutdownTimeout)
	case *maxBufferedMB < -1 || *maxBufferedMB > server.MaxLimitMB || (*maxBufferedMB == 0 && isSet(fs, "max-buffered-mb")):
		return usagef("--max-buffered-mb %d: want a whole number of MB from 1 to %d, or -1 for no bound", *maxBufferedMB, server.MaxLimitMB)
	case *maxConnections < -1 || *maxConnections == 0:
		return usagef("--max-connections %d: want 1 or more, or -1 for no bound", *maxConnections)
	case *transferTimeout <= 0:
		return usagef("--transfer-timeout %s: want a positive duration", *transferTimeout)
	case *minTransferRate < -1 || *minTransferRate == 0:
		return usagef("--min-transfer-rate %d: want bytes per second, 1 or more, or -1 for no rate", *minTransferRate)
	case *auth != "none" && *auth != "sigv4":
		return usagef("--auth %q: want none or sigv4", *auth)
	case *auth == "sigv4" && *credentials == "":
		return usagef("--auth sigv4 needs --credentials FILE")
	case *auth == "none" && *credentials != "":
		return usagef("--credentials is for --auth sigv4")
	case (*tlsCert == "") != (*tlsKey == ""):
		return usagef("--tls-cert and --tls-key go together")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	hopts := &slog.HandlerOptions{Level: level}
	var logger *slog.Logger
	switch *logFormat {
	case "text":
		logger = slog.New(slog.NewTextHandler(e.stderr, hopts))
	case "json":
		logger = slog.New(slog.NewJSONHandler(e.stderr, hopts))
	default:
		return usagef("--log-format %q: want text or json", *logFormat)
	}

	opts, err := server.Options{}.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "max-payload-mb":
			opts.MaxPayloadBytes = *maxPayloadMB * server.MiB
		case "max-concurrent":
			opts.MaxConcurrent = *maxConcurrent
		}
	})
	opts.MaxResponseBytes = *maxResponseMB * server.MiB // 0: the default, from MaxPayloadBytes
	opts.QueueTimeout = *queueTimeout
	if opts.QueueTimeout == 0 {
		opts.QueueTimeout = -1 // server.Options: no wait
	}
	opts.MaxBufferedBytes = *maxBufferedMB * server.MiB // 0: the default; -1 MB: no bound
	if payload := cmp.Or(opts.MaxPayloadBytes, server.DefaultMaxPayloadBytes); opts.MaxBufferedBytes > 0 && opts.MaxBufferedBytes <= payload {
		return usagef("--max-buffered-mb %d: want more than the largest request body (%d MB)", *maxBufferedMB, payload/server.MiB)
	}
	opts.MaxConnections = *maxConnections
	opts.TransferTimeout = *transferTimeout
	opts.MinTransferRate = *minTransferRate
	opts.Logger = slog.New(flagHints{logger.Handler()})
	if *auth == "sigv4" {
		keys, err := readCredentials(*credentials)
		if err != nil {
			return err
		}
		if opts.SigV4, err = sigv4.NewVerifier(keys, sigv4.Options{Region: *region, Service: "sagemaker"}); err != nil {
			return fmt.Errorf("--region: %w", err)
		}
	}
	var kp *server.KeyPair
	var tlsConfig *tls.Config
	if *tlsCert != "" {
		if kp, err = server.LoadKeyPair(*tlsCert, *tlsKey); err != nil {
			return err
		}
		tlsConfig = kp.TLSConfig()
	}

	if *asnDB != "" {
		db, err := asn.Open(*asnDB) // before the model: a wrong file fails at once
		if err != nil {
			return fmt.Errorf("--asn-db: %w", err)
		}
		defer db.Close()
		opts.ASLookup = db
	}

	m, err := ipinsights.LoadFile(*modelPath)
	if err != nil {
		return err
	}
	srv, err := server.New(m, opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := srv.HTTPServer(*addr)
	cfg := m.Config()
	o := srv.Options()
	scheme := "http"
	if kp != nil {
		scheme = "https"
	}
	logger.Info("serving", "addr", ln.Addr().String(), "scheme", scheme, "auth", *auth, "model", *modelPath,
		"vector_dim", cfg.VectorDim, "num_entity_vectors", cfg.NumEntityVectors, "seen_entities", m.SeenEntities(),
		"max_payload_mb", o.MaxPayloadBytes/server.MiB, "max_response_mb", o.MaxResponseBytes/server.MiB, "max_concurrent", o.MaxConcurrent,
		"queue_timeout", max(o.QueueTimeout, 0), "batch", o.Batch, "score_workers", o.ScoreWorkers,
		"max_buffered_mb", mbOrNone(o.MaxBufferedBytes), "max_connections", o.MaxConnections,
		"transfer_timeout", o.TransferTimeout, "min_transfer_rate", o.MinTransferRate)
	if opts.SigV4 != nil {
		logger.Info("requests must be signed (AWS Signature Version 4)", "credentials", *credentials, "region", *region, "service", "sagemaker")
	} else if !isLoopback(ln.Addr()) {
		logger.Warn("serving without authentication on an address other hosts can reach: anyone who reaches it can score and read /metrics; add --auth sigv4 --credentials FILE", "addr", ln.Addr().String())
	}
	if *asnDB != "" {
		logger.Info("explain=True responses carry the AS of addresses and networks", "asn_db", *asnDB)
	}
	if kp != nil {
		logger.Info("serving HTTPS", "tls_cert", *tlsCert, "not_after", kp.NotAfter())
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(srv.Listener(ln, tlsConfig)) }()
	for {
		select {
		case <-hup:
			srv.Reload(*modelPath) // logs the outcome; a bad file keeps the old model
			if opts.SigV4 != nil {
				reloadCredentials(opts.SigV4, *credentials, logger) // logs the outcome; a bad file keeps the old keys
			}
			if kp != nil {
				if err := kp.Reload(); err != nil {
					logger.Error("TLS certificate reload failed; serving the previous one", "error", err.Error())
				} else {
					logger.Info("TLS certificate reloaded", "tls_cert", *tlsCert, "not_after", kp.NotAfter())
				}
			}
		case err := <-served:
			return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
		case <-ctx.Done():
			return shutdown(hs, served, logger, *shutdownTimeout)
		}
	}
}

// shutdown stops accepting connections and waits up to timeout for the
// requests under way.
func shutdown(hs *http.Server, served <-chan error, logger *slog.Logger, timeout time.Duration) error {
	logger.Info("shutting down: finishing requests under way", "timeout", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		hs.Close()
		return fmt.Errorf("shutdown: requests still running after %s: %w", timeout, err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// limitFlags are the flags that set the server's limits, by the name of
// the server.Options field that a refused request's log line gives in its
// "limit" attribute.
var limitFlags = map[string]string{
	"MaxPayloadBytes":  "--max-payload-mb",
	"MaxResponseBytes": "--max-response-mb",
	"MaxConcurrent":    "--max-concurrent, --queue-timeout",
	"MaxBufferedBytes": "--max-buffered-mb, --queue-timeout",
	"TransferTimeout":  "--transfer-timeout, --min-transfer-rate",
	"MaxConnections":   "--max-connections",
}

// flagHints is a slog.Handler that adds to the log line of a request
// refused by a server limit the flags that set the limit ("flag"), for
// the operator: the error bodies that clients read name no flag.
type flagHints struct{ slog.Handler }

func (h flagHints) Handle(ctx context.Context, r slog.Record) error {
	flag := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "limit" {
			flag = limitFlags[a.Value.String()]
			return false
		}
		return true
	})
	if flag != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("flag", flag))
	}
	return h.Handler.Handle(ctx, r)
}

func (h flagHints) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flagHints{h.Handler.WithAttrs(attrs)}
}

func (h flagHints) WithGroup(name string) slog.Handler { return flagHints{h.Handler.WithGroup(name)} }

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// readCredentials reads the access keys of an --auth sigv4 credentials
// file, which only its owner may read or write.
func readCredentials(path string) ([]sigv4.Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--credentials: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("--credentials: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("--credentials %s: group or others may read or write it (mode %04o): its secrets must be its owner's alone (chmod 600 %s)", path, perm, path)
	}
	keys, err := sigv4.ParseKeys(f)
	if err != nil {
		return nil, fmt.Errorf("--credentials %s: %w", path, err)
	}
	return keys, nil
}

// reloadCredentials reads the --auth sigv4 credentials file at path again,
// with the rules of startup (readCredentials), and makes its keys the ones
// v verifies against: requests signed by a key no longer in the file are
// refused from then on. When the file is refused, v keeps the keys it has
// and the error is logged, in one line, and returned.
func reloadCredentials(v *sigv4.Verifier, path string, logger *slog.Logger) error {
	keys, err := readCredentials(path)
	if err == nil {
		if err = v.SetKeys(keys); err != nil {
			err = fmt.Errorf("--credentials %s: %w", path, err)
		}
	}
	if err != nil {
		logger.Error("credentials reload failed; serving the previous keys", "credentials", path, "error", err.Error())
		return err
	}
	logger.Info("credentials reloaded", "credentials", path, "access_keys", len(keys))
	return nil
}

// defaultRegion is the region of the AWS CLI's and SDKs' environment, or
// us-east-1.
func defaultRegion() string {
	for _, v := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if r := os.Getenv(v); r != "" {
			return r
		}
	}
	return "us-east-1"
}

// isLoopback reports whether only this host can reach addr.
func isLoopback(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// mbOrNone writes a byte bound in MB, or -1 for no bound.
func mbOrNone(n int64) int64 {
	if n < 0 {
		return -1
	}
	return n / server.MiB
}
