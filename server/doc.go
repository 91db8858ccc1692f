// Package server serves an IP Insights model over HTTP as a drop-in
// replacement for a SageMaker IP Insights endpoint: code written for
// SageMaker (the AWS SDKs' sagemakerruntime clients, the AWS CLI's
// "sagemaker-runtime invoke-endpoint", batch transform containers' callers)
// works when pointed at it.
//
// A Server answers the SageMaker container contract (GET /ping, POST
// /invocations, GET /execution-parameters) and the SageMaker Runtime API
// path POST /endpoints/{name}/invocations, with the request and response
// formats of package inference: text/csv, application/json and
// application/jsonlines requests; application/json and
// application/jsonlines responses (text/csv too, as an extension), with
// Accept parameters verbose=True (embeddings) and seen=True (our
// entity_seen flag, given only to those who ask).
//
// Errors have SageMaker's status codes and a JSON body {"code", "message"},
// the code also in the X-Amzn-ErrorType header that the AWS SDKs read: 400
// ValidationError for a malformed body (the message names the record and
// why), 413 PayloadTooLarge beyond the payload limit (the body is never read
// past it), 413 ResponseTooLarge when the response would pass its limit
// (the response is never built past it; the message says how many records
// fit), 415 for an unsupported Content-Type or a Content-Encoding, 406 for
// an unsupported Accept, 405 for a wrong method, 503 while no model is
// loaded or when every invocation slot stayed taken for the queue timeout.
//
// Memory is bounded by default: a request body by Options.MaxPayloadBytes
// (SageMaker's 6 MB), a response by Options.MaxResponseBytes (4 times the
// payload limit, which a verbose response of a hundred times its request
// passes), and the invocations handled at once by Options.MaxConcurrent
// (twice GOMAXPROCS, at least 4). The records of one invocation are scored
// over at most Options.ScoreWorkers goroutines: by default GOMAXPROCS
// shared among the MaxConcurrent invocations, so that invocations scoring
// at once do not queue for the same cores.
//
// The model can be replaced while serving (SetModel, Reload): requests under
// way finish with the model they started with. Every request is logged as a
// structured log/slog line, and GET /metrics exposes request, error,
// row and latency counters in the Prometheus text format.
//
// The scoring path reuses its buffers across requests. Beyond net/http's
// own allocations, a request allocates its Content-Length header and, when
// it outgrows them, larger request and response buffers; nothing per
// record, verbose responses included.
package server
