package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
)

type ctxKey int

const requestIDKey ctxKey = 0

// RequestID returns the id the RequestID middleware gave this request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Wrap applies the middleware every area gets, outermost first: a request id,
// panic recovery, and the body size limit.
func Wrap(h http.Handler) http.Handler {
	return withRequestID(recoverPanics(limitBody(h)))
}

func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// recordingWriter remembers whether a header went out, so a panic after the
// response started is not answered twice.
type recordingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *recordingWriter) WriteHeader(code int) { w.wrote = true; w.ResponseWriter.WriteHeader(code) }
func (w *recordingWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}
func (w *recordingWriter) Flush() {
	w.wrote = true
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &recordingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil || v == http.ErrAbortHandler {
				if v != nil {
					panic(v)
				}
				return
			}
			id := RequestID(r.Context())
			slog.ErrorContext(r.Context(), "panic in handler", "panic", v, "requestId", id,
				"method", r.Method, "path", r.URL.Path, "stack", string(debug.Stack()))
			if !rw.wrote {
				JSON(w, http.StatusInternalServerError, ErrorBody{
					Error: "Something went wrong", Message: "Something went wrong", RequestID: id,
				})
			}
		}()
		next.ServeHTTP(rw, r)
	})
}

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBody {
			Fail(w, http.StatusRequestEntityTooLarge, "Request body is larger than 3 MB")
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		}
		next.ServeHTTP(w, r)
	})
}

// NotFound answers an unknown API route as the Node server does.
func NotFound(w http.ResponseWriter, r *http.Request) {
	JSON(w, http.StatusNotFound, map[string]string{"message": "Endpoint not found", "error": "Endpoint not found"})
}
