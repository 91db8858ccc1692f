package main

import (
	"context"
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

	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/server"
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
SIGHUP: reload --model; requests are not dropped, a bad file keeps the old model.
SAGEMAKER_BATCH, SAGEMAKER_MAX_PAYLOAD_IN_MB, SAGEMAKER_BATCH_STRATEGY and
SAGEMAKER_MAX_CONCURRENT_TRANSFORMS are read as in a SageMaker container; flags win.

Limits, which bound the memory the server takes:
  request body   --max-payload-mb (6 MB, SageMaker's default): larger gets 413 PayloadTooLarge
  response body  --max-response-mb (4 × --max-payload-mb): larger gets 413 ResponseTooLarge,
                 saying how many records fit. A verbose=True response carries 2×vector_dim
                 numbers per record (~130 times its request at vector_dim 128): send
                 fewer records per request.
                 (SageMaker's real-time endpoints refuse responses over 6 MB.)
  at once        --max-concurrent invocations (2 × GOMAXPROCS, at least 4); others wait
                 up to --queue-timeout (10s), then get 503 ServiceUnavailable with
                 Retry-After: 1, which the AWS SDKs retry.
The log line of a request refused by a limit names the flag that sets it (flag=...);
the error body the client reads does not.`,
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
	maxConcurrent := fs.Int("max-concurrent", 0, fmt.Sprintf("most invocations handled at once, -1 for no bound (default 2 × GOMAXPROCS, at least 4: %d here); SAGEMAKER_MAX_CONCURRENT_TRANSFORMS sets the default", server.DefaultMaxConcurrent()))
	queueTimeout := fs.Duration("queue-timeout", server.DefaultQueueTimeout, "how long an invocation waits for one of the --max-concurrent slots before a 503; 0 answers 503 at once (keep it well under the 60s the server gives a request to arrive)")
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
	opts.Logger = slog.New(flagHints{logger.Handler()})

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
	logger.Info("serving", "addr", ln.Addr().String(), "model", *modelPath,
		"vector_dim", cfg.VectorDim, "num_entity_vectors", cfg.NumEntityVectors, "seen_entities", m.SeenEntities(),
		"max_payload_mb", o.MaxPayloadBytes/server.MiB, "max_response_mb", o.MaxResponseBytes/server.MiB, "max_concurrent", o.MaxConcurrent,
		"queue_timeout", max(o.QueueTimeout, 0), "batch", o.Batch, "score_workers", o.ScoreWorkers)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	for {
		select {
		case <-hup:
			srv.Reload(*modelPath) // logs the outcome; a bad file keeps the old model
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
