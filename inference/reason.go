package inference

import (
	"fmt"

	"github.com/ipinsights/ipinsights-go/csvio"
)

// Reason classifies a malformed request record.
type Reason int

// The reasons a request record can be malformed.
const (
	FieldCount  Reason = iota + 1 // wrong number of fields
	EmptyEntity                   // the entity field is empty
	BadAddress                    // the address field is not an IPv4 or IPv6 address
	BadQuote                      // a quoted CSV field is not terminated or is followed by text
	LineTooLong                   // a CSV line is longer than the reader allows
	BareCR                        // a carriage return inside a CSV line, outside quotes
	BadJSON                       // a JSON request is not well-formed JSON
	BadShape                      // a JSON request is well-formed but not shaped as SageMaker instances
)

var reasonNames = map[Reason]string{
	FieldCount:  "wrong number of fields",
	EmptyEntity: "empty entity",
	BadAddress:  "unparsable IP address",
	BadQuote:    "malformed quoted field",
	LineTooLong: "line too long",
	BareCR:      "carriage return inside a line",
	BadJSON:     "malformed JSON",
	BadShape:    "unexpected JSON structure",
}

func (r Reason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// csvReason maps the reason csvio gives for a malformed text/csv line.
func csvReason(r csvio.Reason) Reason {
	switch r {
	case csvio.FieldCount:
		return FieldCount
	case csvio.EmptyEntity:
		return EmptyEntity
	case csvio.BadAddress:
		return BadAddress
	case csvio.BadQuote:
		return BadQuote
	case csvio.LineTooLong:
		return LineTooLong
	case csvio.BareCR:
		return BareCR
	}
	panic(fmt.Sprintf("inference: no request reason for csvio reason %v", r))
}
