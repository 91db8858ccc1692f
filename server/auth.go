package server

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"time"

	"github.com/ipinsights/ipinsights-go/sigv4"
)

// emptySHA256 is the SHA-256 of an empty body.
var emptySHA256 = sha256.Sum256(nil)

// authenticate checks the signature of a request to rt under
// Options.SigV4, and answers 403 when it is refused. An invocation's
// signature covers its body, which is not read yet: only what the headers
// tell is checked here, and verify checks the rest once the body is in.
// Other requests have no body to sign.
func (s *Server) authenticate(st *reqState, r *http.Request, rt route) bool {
	var err error
	if rt == routeInvocations {
		st.keyID, err = s.opts.SigV4.CheckHeaders(r, time.Now())
	} else {
		st.keyID, err = s.opts.SigV4.Verify(r, emptySHA256[:], time.Now())
	}
	if err != nil {
		s.refuse(st, err)
		return false
	}
	return true
}

// verify checks an invocation's signature over its body, whose SHA-256 is
// sum, and answers 403 when it is refused.
func (s *Server) verify(st *reqState, r *http.Request, sum []byte) bool {
	var err error
	if st.keyID, err = s.opts.SigV4.Verify(r, sum, time.Now()); err != nil {
		s.refuse(st, err)
		return false
	}
	return true
}

// refuse answers 403 with the error type AWS sends for err.
func (s *Server) refuse(st *reqState, err error) {
	var e *sigv4.Error
	if !errors.As(err, &e) {
		e = &sigv4.Error{Code: sigv4.InvalidSignature, Message: err.Error()}
	}
	st.keyID = e.AccessKeyID
	s.fail(st, http.StatusForbidden, e.Code, e.Message)
}
