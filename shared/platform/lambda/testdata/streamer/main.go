// Command streamer is a bootstrap for the package's tests: it serves a
// small handler in the mode LCGO_LAMBDA_MODE names.
//
//	GET /sse    three text/event-stream frames, flushed one by one; before
//	            the second and the third it waits for GET $GATE_URL?step=N
//	            to answer, so the test decides when they are written.
//	GET /hello  a plain text greeting.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/lcgo/lcgo/shared/platform/lambda"
)

func main() {
	mode, err := lambda.ModeFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "streamer:", err)
		os.Exit(1)
	}
	gate := os.Getenv("GATE_URL")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		for i, frame := range []string{"one", "two", "three"} {
			if i > 0 && gate != "" {
				req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, fmt.Sprintf("%s?step=%d", gate, i), nil)
				if err != nil {
					panic(err)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					panic(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
			}
			fmt.Fprintf(w, "data: %s\n\n", frame)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "hello in %s mode", mode)
	})
	lambda.StartMode(mode, mux)
}
