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
// Two more parameters of ours, in JSON and JSONLines responses, give the
// fields that the command line's JSON lines give (package alert writes
// both): percentile=True adds each record's percentile among the model's
// calibration pairs (low = unusual), and explain=True adds the percentile
// and the explanation: entity_pairs, network, network_seen,
// usual_networks, nearest_usual_network and nearest_similarity (see
// ipinsights.Explanation). Without them a response has exactly
// SageMaker's fields, byte for byte. A model without a calibration, or
// for explain=True without a network history, can not give them: the
// request is refused with 406 NotAcceptable, saying what the model lacks,
// rather than answered without the fields asked for; a value other than
// True or False, or either parameter with text/csv, is a 406 as for seen.
// With Options.ASLookup (an *asn.DB, say), explain=True also adds the AS
// members that the command line's JSON lines give with an AS database,
// written by the same alert.Annotator and encoder: asn and as_org of the
// address and of each usual network (null when unknown). Other responses
// do not change.
// An explained record takes about 200 bytes of response, plus 40 per
// usual network of its entity (and about 40 more per network, and for the
// address, with AS members), so large explained requests meet
// MaxResponseBytes sooner.
//
// Errors have SageMaker's status codes and a JSON body {"code", "message"},
// the code also in the X-Amzn-ErrorType header that the AWS SDKs read: 400
// ValidationError for a malformed body (the message names the record and
// why), 413 PayloadTooLarge beyond the payload limit (the body is never read
// past it), 413 ResponseTooLarge when the response would pass its limit
// (the response is never built past it; the message says how many records
// fit), 415 for an unsupported Content-Type or a Content-Encoding, 406 for
// an unsupported Accept, 405 for a wrong method, 408 RequestTimeout for a
// body that arrives too slowly, 403 for a request that is not signed as
// Options.SigV4 requires, 503 while no model is loaded or when every
// invocation slot, or the room for bodies, stayed taken for the queue
// timeout.
//
// Memory is bounded by default, whatever clients do. A request body is
// bounded by Options.MaxPayloadBytes (SageMaker's 6 MB) and a response by
// Options.MaxResponseBytes (4 times the payload limit, which a verbose
// response of a hundred times its request passes). Bodies are read before
// an invocation takes one of its Options.MaxConcurrent scoring slots
// (twice GOMAXPROCS, at least 4), and responses are sent after it gave the
// slot back, so that slow clients hold no slot: the bytes they hold are
// bounded by Options.MaxBufferedBytes, a body taking its room as it
// arrives. Clients must send and take data in time
// (Options.TransferTimeout, MinTransferRate), and Listener bounds the
// open connections (Options.MaxConnections): at the bound, a new one takes
// the place of the keep-alive connection idle longest, which is closed
// (HTTPServer's ConnState hook tells which are idle), and with none idle
// it is answered 503. The
// records of one invocation are scored over at most Options.ScoreWorkers
// goroutines: by default GOMAXPROCS shared among the MaxConcurrent
// invocations, so that invocations scoring at once do not queue for the
// same cores.
//
// With Options.SigV4, every request but GET /ping must be signed with AWS
// Signature Version 4 by one of its access keys, as SageMaker Runtime
// requests are, and others are refused with 403 and the error type AWS
// sends; its keys can be replaced while serving (sigv4.Verifier.SetKeys).
// KeyPair serves HTTPS with a certificate that can be reloaded.
//
// The model can be replaced while serving (SetModel, Reload): requests under
// way finish with the model they started with. Every request is logged as a
// structured log/slog line, and GET /metrics exposes request, error,
// row and latency counters in the Prometheus text format.
//
// The scoring path reuses its buffers across requests. Beyond net/http's
// own allocations, a request allocates its Content-Length header and, when
// it outgrows them, larger request and response buffers; nothing per
// record, verbose, percentile and explained responses included (with AS
// members too, once the annotator's caches, kept with each pooled request
// state, hold the networks seen).
package server
