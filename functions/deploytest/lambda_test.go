//go:build linux

package deploytest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// TestLambdaBootstrapsUnderEmulator builds the auth and config bootstraps
// as they are deployed (linux, CGO off, lambda.norpc) and the AWS Lambda
// Runtime Interface Emulator, runs each bootstrap under its own emulator and
// sends API Gateway HTTP API (v2) events to the invoke endpoint.
func TestLambdaBootstrapsUnderEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs binaries; skipped with -short")
	}
	bin := t.TempDir()
	// The emulator is a tool dependency of the module (go get -tool), so
	// it builds from the module cache at the version go.mod names.
	rie := goBuild(t, filepath.Join(bin, "rie"), "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie", nil, []string{"CGO_ENABLED=0"})

	t.Run("auth", func(t *testing.T) {
		t.Parallel()
		authFlow(t, startEmulator(t, rie, buildBootstrap(t, "auth")), true)
	})
	t.Run("config", func(t *testing.T) {
		t.Parallel()
		boot := buildBootstrap(t, "config")
		configFlow(t, startEmulator(t, rie, boot))

		// Without secrets the bootstrap must refuse to start, and say why.
		e, logs := startEmulatorEnv(t, rie, boot, []string{"DATA_DIR=" + t.TempDir()})
		status, raw := invokeRaw(t, e, request{Method: "GET", Path: "/api/config"})
		if status == http.StatusOK {
			t.Fatalf("invoke without secrets answered %s, want an init failure", raw)
		}
		waitFor(t, func() bool { return strings.Contains(logs.String(), "JWT_SECRET must be set") },
			"the log to say JWT_SECRET must be set:\n"+logs.String())
	})
}

// buildBootstrap builds functions/<area>/lambda as it is deployed: linux,
// CGO off, lambda.norpc.
func buildBootstrap(t *testing.T, area string) string {
	t.Helper()
	return goBuild(t, filepath.Join(t.TempDir(), "bootstrap"), "./functions/"+area+"/lambda",
		[]string{"-trimpath", "-tags", "lambda.norpc"},
		[]string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + runtime.GOARCH})
}

// emulator is one running aws-lambda-rie with one bootstrap.
type emulator struct {
	url string
	seq atomic.Int64
}

func startEmulator(t *testing.T, rie, bootstrap string) doer {
	e, _ := startEmulatorEnv(t, rie, bootstrap, baseEnv(t.TempDir()))
	return e.do
}

func startEmulatorEnv(t *testing.T, rie, bootstrap string, env []string) (*emulator, *logBuffer) {
	t.Helper()
	apiAddr, runtimeAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", apiAddr,
		"--runtime-api-address", runtimeAddr,
		"--log-level", "warn",
		bootstrap)
	// The bootstrap inherits the emulator's working directory and
	// environment, as /var/task and the function configuration on Lambda.
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = env
	logs := startProcess(t, "aws-lambda-rie "+filepath.Base(filepath.Dir(bootstrap)), cmd)
	waitListening(t, apiAddr, logs)
	return &emulator{url: "http://" + apiAddr + "/2015-03-31/functions/function/invocations"}, logs
}

// do turns r into the event API Gateway sends for an HTTP API route with
// payload format 2.0, invokes the function and reads the proxy response.
func (e *emulator) do(t *testing.T, r request) response {
	t.Helper()
	status, raw := invokeRaw(t, e, r)
	if status != http.StatusOK {
		t.Fatalf("%s %s: invoke failed with %d %s", r.Method, r.Path, status, raw)
	}
	var out events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &out); err != nil || out.StatusCode == 0 {
		t.Fatalf("%s %s: the function answered %s (%v)", r.Method, r.Path, raw, err)
	}
	body := []byte(out.Body)
	if out.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(out.Body); err != nil {
			t.Fatal(err)
		}
	}
	h := http.Header{}
	for k, v := range out.Headers {
		h.Set(k, v)
	}
	for k, vs := range out.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	return response{Status: out.StatusCode, Header: h, Cookies: out.Cookies, Body: body}
}

// invokeRaw sends r as an event and returns the invoke endpoint's status
// and body (the function's JSON result when the status is 200).
func invokeRaw(t *testing.T, e *emulator, r request) (int, []byte) {
	t.Helper()
	n := e.seq.Add(1)
	headers := map[string]string{
		"host":              "abc123.execute-api.us-east-1.amazonaws.com",
		"user-agent":        "deploytest",
		"x-forwarded-for":   "203.0.113.7",
		"x-forwarded-proto": "https",
		"x-forwarded-port":  "443",
	}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = v
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "ANY " + r.Path,
		RawPath:        r.Path,
		RawQueryString: r.Query,
		Cookies:        r.Cookies,
		Headers:        headers,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID:    "123456789012",
			APIID:        "abc123",
			DomainName:   "abc123.execute-api.us-east-1.amazonaws.com",
			DomainPrefix: "abc123",
			Stage:        "$default",
			RouteKey:     "ANY " + r.Path,
			RequestID:    fmt.Sprintf("req-%d", n),
			Time:         time.Now().UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    time.Now().UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.Path,
				Protocol:  "HTTP/1.1",
				SourceIP:  "203.0.113.7",
				UserAgent: "deploytest",
			},
		},
	}
	if r.Body != nil {
		// API Gateway passes text bodies as they are; base64 every other
		// request to cover both encodings.
		if n%2 == 0 {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(r.Body), true
		} else {
			ev.Body = string(r.Body)
		}
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(e.url, "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("invoke %s %s: %v", r.Method, r.Path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, raw
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
