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
SAGEMAKER_MAX_CONCURRENT_TRANSFORMS are read as in a SageMaker container; flags win.`,
		run: runServe,
	})
}

func runServe(ctx context.Context, e *env, args []string) error {
	c := commands["serve"]
	fs := newFlagSet(c, e)
	modelPath := fs.String("model", "", "model file to serve (required)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (SageMaker containers use port 8080; :8080 listens on every interface)")
	maxPayloadMB := fs.Int64("max-payload-mb", server.DefaultMaxPayloadBytes/server.MiB, "largest request body in MB (MiB), larger ones get 413; SAGEMAKER_MAX_PAYLOAD_IN_MB sets the default")
	maxConcurrent := fs.Int("max-concurrent", 0, "most invocations handled at once, 0 for no bound; SAGEMAKER_MAX_CONCURRENT_TRANSFORMS sets the default")
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
	case *maxPayloadMB < 1:
		return usagef("--max-payload-mb %d: want 1 or more", *maxPayloadMB)
	case *maxConcurrent < 0:
		return usagef("--max-concurrent %d: want 0 or more", *maxConcurrent)
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
	opts.Logger = logger

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
	payload := opts.MaxPayloadBytes
	if payload == 0 {
		payload = server.DefaultMaxPayloadBytes
	}
	logger.Info("serving", "addr", ln.Addr().String(), "model", *modelPath,
		"vector_dim", cfg.VectorDim, "num_entity_vectors", cfg.NumEntityVectors, "seen_entities", m.SeenEntities(),
		"max_payload_mb", payload/server.MiB, "max_concurrent", opts.MaxConcurrent, "batch", opts.Batch)

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
