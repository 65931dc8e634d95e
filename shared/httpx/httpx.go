// Package httpx holds the HTTP plumbing every area shares: JSON in and out,
// the one mapping from error kinds to status codes, and middleware.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/lcgo/lcgo/shared/librechat"
)

// MaxBody is the largest request body accepted (the Node server's 3 MB).
const MaxBody = 3 << 20

// StatusOf maps an error kind to an HTTP status. It is the only such mapping.
func StatusOf(k librechat.Kind) int {
	switch k {
	case librechat.KindInvalid:
		return http.StatusBadRequest
	case librechat.KindNotFound:
		return http.StatusNotFound
	case librechat.KindUnauthorized:
		return http.StatusUnauthorized
	case librechat.KindForbidden:
		return http.StatusForbidden
	case librechat.KindConflict:
		return http.StatusConflict
	case librechat.KindTooMany:
		return http.StatusTooManyRequests
	case librechat.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case librechat.KindUnsupportedType:
		return http.StatusUnsupportedMediaType
	case librechat.KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ErrorBody is LibreChat's error shape: readers look at either key.
type ErrorBody struct {
	Error     string `json:"error"`
	Message   string `json:"message"`
	Type      string `json:"type,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// JSON writes v as a JSON response with the given status. Like LibreChat's
// server it leaves <, > and & unescaped.
func JSON(w http.ResponseWriter, status int, v any) {
	b, err := Marshal(v)
	if err != nil {
		slog.Error("encode response", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"error":"Something went wrong","message":"Something went wrong"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// Marshal encodes v as JSON without HTML escaping and without a trailing newline.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Text writes a plain text response.
func Text(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, s)
}

// Fail writes {"error": msg, "message": msg} with the given status.
func Fail(w http.ResponseWriter, status int, msg string) {
	JSON(w, status, ErrorBody{Error: msg, Message: msg})
}

// Error writes err with the status of its kind. Internal errors are logged
// with the request id and answered with a generic message.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	kind := librechat.KindOf(err)
	status := StatusOf(kind)
	msg := librechat.MessageOf(err)
	body := ErrorBody{}
	var le *librechat.Error
	if errors.As(err, &le) {
		body.Type = le.Type
	}
	if status >= 500 {
		id := RequestID(r.Context())
		slog.ErrorContext(r.Context(), "request failed", "err", err, "requestId", id, "method", r.Method, "path", r.URL.Path)
		body.RequestID = id
		if kind == librechat.KindOther || msg == "" {
			msg = "Something went wrong"
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	body.Error, body.Message = msg, msg
	JSON(w, status, body)
}

// DecodeJSON reads a JSON object body into dst. It rejects a wrong content
// type, a body over MaxBody, malformed JSON and trailing data, each with a
// kinded error that names the problem. An empty body decodes as {}.
func DecodeJSON(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return librechat.E(librechat.KindUnsupportedType, "Content-Type must be application/json")
		}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return librechat.E(librechat.KindTooLarge, "Request body is larger than 3 MB")
		}
		return librechat.Wrap(librechat.KindInvalid, "read body", err)
	}
	if len(data) > MaxBody {
		return librechat.E(librechat.KindTooLarge, "Request body is larger than 3 MB")
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		data = []byte("{}")
	}
	if err := json.Unmarshal(data, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return librechat.E(librechat.KindInvalid, "Invalid JSON: field %q must be %s", te.Field, te.Type.String())
		}
		return librechat.E(librechat.KindInvalid, "Invalid JSON body")
	}
	return nil
}
