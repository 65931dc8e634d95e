package lambda_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lcgo/lcgo/shared/platform/lambda/runtimeapi"
)

// TestBootstrapStreams builds testdata/streamer as bootstraps are built
// (CGO off, lambda.norpc) and runs it under the Runtime API: the real
// aws-lambda-go runtime loop, in its own process, streams each frame to
// the invoker before the handler writes the next one. The handler waits
// at the test's gate server before its second and third frames.
func TestBootstrapStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a binary; skipped with -short")
	}
	bin := runtimeapi.BuildBootstrap(t, "./testdata/streamer")

	t.Run("auto", func(t *testing.T) {
		ctx := testContext(t)
		arrived := make(chan string)
		release := make(chan struct{})
		quit := make(chan struct{})
		gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case arrived <- r.URL.Query().Get("step"):
			case <-quit:
				return
			}
			select {
			case <-release:
			case <-quit:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(gate.Close)
		t.Cleanup(func() { close(quit) })
		srv := runtimeapi.RunBootstrap(t, bin, map[string]string{
			"LCGO_LAMBDA_MODE":         "auto",
			"GATE_URL":                 gate.URL,
			"AWS_LAMBDA_FUNCTION_NAME": "chat",
		})
		if !strings.HasSuffix(srv.FunctionARN(), ":function:chat") {
			t.Errorf("function ARN %q", srv.FunctionARN())
		}

		payload, _ := json.Marshal(urlEvent("GET", "/sse", ""))
		resp, err := srv.Invoke(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if !resp.Streamed || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("response %+v, want a streamed 200 text/event-stream", resp)
		}
		br := bufio.NewReader(resp.Body)
		for i, want := range []string{"data: one\n\n", "data: two\n\n", "data: three\n\n"} {
			if i > 0 {
				// The handler is held before frame i: the previous one was
				// read while it could not have written this one.
				select {
				case step := <-arrived:
					if step != strconv.Itoa(i) {
						t.Fatalf("the handler is at gate %q, want %d", step, i)
					}
				case <-ctx.Done():
					t.Fatal("the handler never reached the gate")
				}
				release <- struct{}{}
			}
			got, err := readFrame(br)
			if err != nil || got != want {
				t.Fatalf("frame %d = %q, %v; want %q", i, got, err, want)
			}
		}
		if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
			t.Fatalf("after the last frame: %q, %v", rest, err)
		}

		// The same bootstrap answers an API Gateway event buffered.
		payload, _ = json.Marshal(apigwEvent("GET", "/hello"))
		resp, err = srv.Invoke(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		var out events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(raw, &out); err != nil || resp.Streamed || out.StatusCode != 200 || out.Body != "hello in auto mode" {
			t.Errorf("API Gateway event answered %s (streamed %v, %v)", raw, resp.Streamed, err)
		}
	})

	t.Run("stream", func(t *testing.T) {
		srv := runtimeapi.RunBootstrap(t, bin, map[string]string{"LCGO_LAMBDA_MODE": "stream"})
		payload, _ := json.Marshal(urlEvent("GET", "/hello", ""))
		resp, err := srv.Invoke(testContext(t), payload)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || !resp.Streamed || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || string(b) != "hello in stream mode" {
			t.Errorf("streamed %v, status %d, headers %v, body %q, %v", resp.Streamed, resp.StatusCode, resp.Header, b, err)
		}
	})

	t.Run("bad mode", func(t *testing.T) {
		srv := runtimeapi.RunBootstrap(t, bin, map[string]string{"LCGO_LAMBDA_MODE": "buffered"})
		_, err := srv.Invoke(testContext(t), []byte(`{}`))
		var ee *runtimeapi.ExitError
		if !errors.As(err, &ee) || !strings.Contains(ee.Output, "LCGO_LAMBDA_MODE") {
			t.Errorf("Invoke error = %v, want an ExitError naming LCGO_LAMBDA_MODE", err)
		}
	})
}
