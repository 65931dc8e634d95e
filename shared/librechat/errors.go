package librechat

import (
	"errors"
	"fmt"
)

// Kind classifies an error so that every transport maps it to a status in
// one place (see shared/httpx).
type Kind uint8

const (
	KindOther           Kind = iota // unclassified: an internal error
	KindInvalid                     // the request is malformed or breaks a rule
	KindNotFound                    // no such resource, or one another user owns
	KindUnauthorized                // no valid credentials
	KindForbidden                   // credentials are valid but not allowed
	KindConflict                    // the resource changed or already exists
	KindTooMany                     // a rate limit was reached
	KindTooLarge                    // the body is over the limit
	KindUnsupportedType             // the content type is not accepted
	KindUnavailable                 // a dependency is down; retry later
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not found"
	case KindUnauthorized:
		return "unauthorized"
	case KindForbidden:
		return "forbidden"
	case KindConflict:
		return "conflict"
	case KindTooMany:
		return "too many requests"
	case KindTooLarge:
		return "too large"
	case KindUnsupportedType:
		return "unsupported media type"
	case KindUnavailable:
		return "unavailable"
	}
	return "internal"
}

// Error is the project's error value: a kind, a message safe to show a
// client, an optional operation for logs and an optional wrapped cause.
type Error struct {
	Kind    Kind
	Op      string // the operation, for logs: "sqlite.CreateUser"
	Message string // safe to show a client
	Type    string // optional machine-readable type for the client (e.g. "token_balance")
	Err     error  // the underlying cause, never shown to a client
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Kind.String()
	}
	if e.Op != "" {
		msg = e.Op + ": " + msg
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an *Error of the given kind with a client-safe message.
func E(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches op and kind to a cause. The message stays generic unless set.
func Wrap(kind Kind, op string, err error) *Error {
	return &Error{Kind: kind, Op: op, Err: err}
}

// KindOf reports the kind of the first *Error in err's chain, or KindOther.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindOther
}

// MessageOf returns the client-safe message of err, or "" if it has none.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Message != "" {
			return e.Message
		}
		if e.Err != nil {
			return MessageOf(e.Err)
		}
	}
	return ""
}

// IsNotFound and friends are small conveniences for the common checks.
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }
func IsConflict(err error) bool { return KindOf(err) == KindConflict }
