package deploytest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/platform/lambda/runtimeapi"
	"github.com/lcgo/lcgo/shared/store/sqlite"
)

// heldOpenAI is an OpenAI-compatible server whose streamed reply sends its
// first chunk, then waits for release before the rest.
func heldOpenAI(t *testing.T, release <-chan struct{}) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := func(s string) {
			b, _ := json.Marshal(map[string]any{
				"id": "chatcmpl-held", "object": "chat.completion.chunk", "created": 1, "model": "held-1",
				"choices": []any{map[string]any{"index": 0, "delta": map[string]string{"content": s}}},
			})
			io.WriteString(w, "data: "+string(b)+"\n\n")
			w.(http.Flusher).Flush()
		}
		if strings.Contains(string(body), "concise title") {
			chunk("Held Title")
			io.WriteString(w, "data: [DONE]\n\n")
			return
		}
		chunk("first ")
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		chunk("last")
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestChatBootstrapStreamsUnderRuntimeAPI runs the chat function's real
// bootstrap under a Lambda Runtime API server: the start request arrives as
// an API Gateway event and answers at once; the stream arrives as a
// streaming Function URL event, and its first frame reaches the caller
// while the provider still holds back the last chunk.
func TestChatBootstrapStreamsUnderRuntimeAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs binaries; skipped with -short")
	}
	release := make(chan struct{})
	provider := heldOpenAI(t, release)

	data := t.TempDir()
	cfgPath := filepath.Join(data, "librechat.yaml")
	yaml := "version: 1.2.1\nendpoints:\n  custom:\n    - name: Held\n      apiKey: sk-held\n      baseURL: " + provider.URL + "/v1\n      models: {default: [held-1]}\n      titleConvo: true\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CONFIG_PATH": cfgPath, "LCGO_LAMBDA_MODE": "auto"}
	for _, kv := range baseEnv(data) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}

	// A user in the function's database, and a token signed with its secret.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "librechat.db"))
	if err != nil {
		t.Fatal(err)
	}
	user := &librechat.User{ID: "6b0858f5a60555e69ee65a66", Email: "alice@example.com", Username: "alice",
		Provider: librechat.ProviderLocal, Role: librechat.RoleUser, EmailVerified: true,
		CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := st.CreateUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	st.Close()
	signer, err := auth.NewSigner(env["JWT_SECRET"], env["JWT_REFRESH_SECRET"], app.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	token, err := signer.Access(user, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	boot := runtimeapi.BuildBootstrap(t, "github.com/lcgo/lcgo/functions/chat/lambda")
	srv := runtimeapi.RunBootstrap(t, boot, env)

	// 1. Start, through API Gateway.
	body, _ := json.Marshal(map[string]any{
		"text": "Hello", "sender": "User", "isCreatedByUser": true, "parentMessageId": librechat.NoParent,
		"endpoint": "Held", "endpointType": "custom", "model": "held-1",
	})
	start := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "ANY /api/agents/chat/{proxy+}", RawPath: "/api/agents/chat/Held",
		Headers: map[string]string{"authorization": "Bearer " + token, "content-type": "application/json",
			"user-agent": "Mozilla/5.0"},
		Body: string(body),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "api.example.com", Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/api/agents/chat/Held", SourceIP: "203.0.113.9"},
		},
	}
	payload, _ := json.Marshal(start)
	res, err := srv.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var proxy events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &proxy); err != nil || proxy.StatusCode != 200 {
		t.Fatalf("start: %v %s", err, raw)
	}
	var started struct{ StreamID, Status string }
	if err := json.Unmarshal([]byte(proxy.Body), &started); err != nil || started.Status != "started" {
		t.Fatalf("start body %s", proxy.Body)
	}

	// 2. Stream, through the Function URL.
	streamReq := events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: "/api/agents/chat/stream/" + started.StreamID,
		Headers: map[string]string{"authorization": "Bearer " + token, "accept": "text/event-stream"},
		RequestContext: events.LambdaFunctionURLRequestContext{
			DomainName: "abc123.lambda-url.eu-west-1.on.aws",
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{
				Method: "GET", Path: "/api/agents/chat/stream/" + started.StreamID, SourceIP: "203.0.113.9",
			},
		},
	}
	payload, _ = json.Marshal(streamReq)
	sres, err := srv.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	defer sres.Body.Close()
	if !sres.Streamed || sres.StatusCode != 200 || sres.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream response: streamed=%v status=%d header=%v", sres.Streamed, sres.StatusCode, sres.Header)
	}
	frames := make(chan string, 64)
	go func() {
		defer close(frames)
		sc := bufio.NewScanner(sres.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data: ") {
				frames <- line[6:]
			}
		}
	}()
	nextFrame := func() string {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("stream ended early; function output:\n%s", srv.Output())
			}
			return f
		case <-time.After(20 * time.Second):
			t.Fatalf("no frame within 20 s; function output:\n%s", srv.Output())
		}
		return ""
	}
	if f := nextFrame(); !strings.HasPrefix(f, `{"created":true`) {
		t.Fatalf("first frame %s", f)
	}
	// Frames arrive while the provider still holds the last chunk back.
	for {
		f := nextFrame()
		if strings.Contains(f, `"on_message_delta"`) {
			if !strings.Contains(f, `"text":"first "`) {
				t.Fatalf("first delta %s", f)
			}
			break
		}
		if strings.Contains(f, `"final":true`) {
			t.Fatal("final frame before the provider was released")
		}
	}
	close(release)
	var last string
	for f := range frames {
		last = f
	}
	if !strings.Contains(last, `"final":true`) || !strings.Contains(last, `"text":"first last"`) {
		t.Fatalf("last frame %s\nfunction output:\n%s", last, srv.Output())
	}
}
