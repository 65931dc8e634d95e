package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lcgo/lcgo/shared/platform/lambda/runtimeapi"
	"github.com/lcgo/lcgo/shared/routes"
)

// probe is the first request sent to a freshly started bootstrap: the
// cheapest request its area answers. Only config has a public route that
// does real work (/api/config); the others get a request without a token,
// which their auth middleware answers 401.
type probe struct {
	method, path string
	want         int
}

var probes = map[string]probe{
	routes.Auth:     {"GET", "/api/user", 401},
	routes.Config:   {"GET", "/api/config", 200},
	routes.Chat:     {"GET", "/api/agents/chat/active", 401},
	routes.Convos:   {"GET", "/api/convos", 401},
	routes.Messages: {"GET", "/api/messages", 401},
	routes.Presets:  {"GET", "/api/presets", 401},
	routes.Share:    {"GET", "/api/share", 401},
	routes.Admin:    {"GET", "/api/admin/users", 401},
	routes.Files:    {"GET", "/api/files", 401},
}

// probeFor is the area's probe; an area this list does not know gets a GET
// of its first prefix and whatever status it answers.
func probeFor(area string) probe {
	if p, ok := probes[area]; ok {
		return p
	}
	for _, r := range routes.Table {
		if r.Area == area {
			return probe{"GET", r.Prefix, 0}
		}
	}
	return probe{"GET", "/", 0}
}

func (p probe) String() string {
	s := p.method + " " + p.path
	if p.want == 401 {
		s += ", no token → 401"
	} else if p.want != 0 {
		s += fmt.Sprintf(" → %d", p.want)
	}
	return s
}

// lambdaAreas lists the areas that have a Lambda entry point, in the
// routing table's order.
func lambdaAreas() []string {
	var out []string
	for _, a := range routes.Areas() {
		if st, err := os.Stat(filepath.Join("functions", a, "lambda")); err == nil && st.IsDir() {
			out = append(out, a)
		}
	}
	return out
}

// buildBootstraps builds every area's bootstrap for this machine, as
// infra/lambda/build.sh builds it for Lambda (CGO_ENABLED=0, -tags
// lambda.norpc, -trimpath, -s -w), two builds at a time.
func buildBootstraps(dir string, areas []string) (map[string]string, error) {
	out := map[string]string{}
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, min(2, runtime.NumCPU()))
	var wg sync.WaitGroup
	for _, a := range areas {
		bin := filepath.Join(dir, a, "bootstrap")
		out[a] = bin
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bin, "./functions/"+a+"/lambda")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("build %s bootstrap: %v\n%s", a, err, b)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out, firstErr
}

// logBuffer collects a process's output safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// bootstrap is one function's bootstrap process, run as Lambda runs a
// provided.al2023 function, under its own Runtime API server.
type bootstrap struct {
	area   string
	srv    *runtimeapi.Server
	cmd    *exec.Cmd
	logs   *logBuffer
	ctx    context.Context // ends when the process exits
	exited chan struct{}
	// startup is the time from exec to the answer of the first invocation;
	// first is that answer's status.
	startup time.Duration
	first   int
}

// startBootstrap starts bin with a clean environment (the Runtime API's
// plus env), sends it the area's probe as its first invocation at once,
// and returns when the answer is back.
func startBootstrap(area, bin string, env map[string]string) (*bootstrap, error) {
	srv, err := runtimeapi.New(runtimeapi.WithFunctionName("lcgo-bench-" + area))
	if err != nil {
		return nil, err
	}
	vars := srv.Env()
	vars["LAMBDA_TASK_ROOT"] = filepath.Dir(bin)
	vars["_HANDLER"] = filepath.Base(bin)
	for k, v := range env {
		vars[k] = v
	}
	list := make([]string, 0, len(vars))
	for k, v := range vars {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	b := &bootstrap{area: area, srv: srv, logs: &logBuffer{}, exited: make(chan struct{})}
	b.cmd = exec.Command(bin)
	b.cmd.Dir = filepath.Dir(bin)
	b.cmd.Env = list
	b.cmd.Stdout, b.cmd.Stderr = b.logs, b.logs
	ctx, cancel := context.WithCancelCause(context.Background())
	b.ctx = ctx
	p := probeFor(area)
	ev := apigwEvent(p.method, p.path, "", "", "")
	t0 := time.Now()
	if err := b.cmd.Start(); err != nil {
		cancel(err)
		srv.Close()
		return nil, err
	}
	go func() {
		err := b.cmd.Wait()
		cancel(fmt.Errorf("the %s bootstrap exited (%v); its output:\n%s", area, err, b.logs.String()))
		close(b.exited)
	}()
	status, body, err := b.invoke(ev)
	b.startup = time.Since(t0)
	if err != nil {
		b.stop()
		return nil, fmt.Errorf("%s: first invocation: %w", area, err)
	}
	if p.want != 0 && status != p.want {
		b.stop()
		return nil, fmt.Errorf("%s: %s answered %d, want %d: %s\n%s", area, p, status, p.want, body, b.logs.String())
	}
	b.first = status
	return b, nil
}

func (b *bootstrap) stop() {
	_ = b.cmd.Process.Kill()
	<-b.exited
	_ = b.srv.Close()
}

// invoke sends one API Gateway event and returns the answer's status and
// body.
func (b *bootstrap) invoke(payload []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	res, err := b.srv.Invoke(ctx, payload)
	if err != nil {
		if c := context.Cause(b.ctx); c != nil {
			return 0, nil, c
		}
		return 0, nil, err
	}
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return 0, nil, err
	}
	var proxy events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &proxy); err != nil {
		return 0, nil, fmt.Errorf("answer %q: %w", raw, err)
	}
	body := []byte(proxy.Body)
	if proxy.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(proxy.Body); err != nil {
			return 0, nil, err
		}
	}
	return proxy.StatusCode, body, nil
}

// do sends one request as an API Gateway HTTP API event.
func (b *bootstrap) do(method, path, query, body, token string) (int, []byte, error) {
	return b.invoke(apigwEvent(method, path, query, body, token))
}

// stream sends one request as a Function URL event and returns the
// streamed answer.
func (b *bootstrap) stream(ctx context.Context, path, token string) (*runtimeapi.Response, error) {
	ev := events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: path,
		Headers: map[string]string{"authorization": "Bearer " + token, "accept": "text/event-stream", "user-agent": "lcgo-bench"},
		RequestContext: events.LambdaFunctionURLRequestContext{
			DomainName: "bench0000.lambda-url.us-east-1.on.aws",
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{
				Method: "GET", Path: path, SourceIP: "203.0.113.9", UserAgent: "lcgo-bench",
			},
		},
	}
	payload, _ := json.Marshal(ev)
	res, err := b.srv.Invoke(ctx, payload)
	if err != nil {
		if c := context.Cause(b.ctx); c != nil {
			return nil, c
		}
		return nil, err
	}
	if !res.Streamed || res.StatusCode != 200 {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return nil, fmt.Errorf("stream: streamed=%v status %d: %s", res.Streamed, res.StatusCode, body)
	}
	return res, nil
}

// apigwEvent is an API Gateway HTTP API (payload format 2.0) event.
func apigwEvent(method, path, query, body, token string) []byte {
	h := map[string]string{"user-agent": "lcgo-bench", "accept": "application/json"}
	if body != "" {
		h["content-type"] = "application/json"
	}
	if token != "" {
		h["authorization"] = "Bearer " + token
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query, Headers: h, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "api.example.com", Stage: "$default", RequestID: "bench",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1",
				SourceIP: "203.0.113.9", UserAgent: "lcgo-bench"},
		},
	}
	b, _ := json.Marshal(ev)
	return b
}

// coldResult is one area's cold starts.
type coldResult struct {
	probe   probe
	startup []time.Duration
	rssKiB  []int
}

// lambdaEnv is the environment every bootstrap of one measurement gets:
// fixed secrets (outside the local runner they must be configured), a data
// directory, the login limiter out of the way, and no configuration file.
func lambdaEnv(dataDir string, extra map[string]string) map[string]string {
	env := map[string]string{
		"DATA_DIR":           dataDir,
		"HOME":               dataDir,
		"TMPDIR":             os.TempDir(),
		"JWT_SECRET":         strings.Repeat("a1", 24),
		"JWT_REFRESH_SECRET": strings.Repeat("b2", 24),
		"CREDS_KEY":          strings.Repeat("0123456789abcdef", 4),
		"CONFIG_PATH":        "",
		"LOGIN_MAX":          "1000000",
		"REGISTER_MAX":       "1000000",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// modeFor is the LCGO_LAMBDA_MODE an area is deployed with (template.yaml):
// the chat function serves both API Gateway and its streaming Function URL.
func modeFor(area string) string {
	if area == routes.Chat {
		return "auto"
	}
	return "apigw"
}

// coldStarts starts each area's bootstrap n times, each with a fresh data
// directory (and, through fresh, whatever else a store needs fresh), and
// keeps the time to the first answer and the RSS right after it.
func coldStarts(bins map[string]string, areas []string, n int, fresh func(area string, i int) (map[string]string, func(), error)) (map[string]*coldResult, error) {
	out := map[string]*coldResult{}
	for _, a := range areas {
		r := &coldResult{probe: probeFor(a)}
		out[a] = r
		for i := 0; i < n; i++ {
			env, done, err := fresh(a, i)
			if err != nil {
				return nil, err
			}
			env["LCGO_LAMBDA_MODE"] = modeFor(a)
			b, err := startBootstrap(a, bins[a], env)
			if err != nil {
				done()
				return nil, err
			}
			r.startup = append(r.startup, b.startup)
			r.rssKiB = append(r.rssKiB, rssKiB(b.cmd.Process.Pid))
			b.stop()
			done()
		}
	}
	return out, nil
}

// lambdaResults are the figures of one store behind the functions.
type lambdaResults struct {
	cold                        map[string]*coldResult
	login, config, convos, ttft []time.Duration
	convoPages                  string
}

// lambdaOpts are the sizes of the Lambda measurements.
type lambdaOpts struct {
	starts, n, logins, pages, chats, convos int
}

// benchLambda measures the functions with the store st makes: cold starts
// of every function, then, on one shared store, login (auth), /api/config
// (config), time to first token (chat) and the conversation list (convos).
func benchLambda(bins map[string]string, areas []string, tmp string, o lambdaOpts, st storeKit) (*lambdaResults, error) {
	res := &lambdaResults{}
	root := filepath.Join(tmp, "lambda-"+st.name)
	progress("  %d cold starts of each of %d functions", o.starts, len(areas))
	cold, err := coldStarts(bins, areas, o.starts, func(area string, i int) (map[string]string, func(), error) {
		return st.fresh(filepath.Join(root, "cold", fmt.Sprintf("%s-%d", area, i)))
	})
	if err != nil {
		return nil, err
	}
	res.cold = cold

	// One data directory (or table) for the rest, shared by every
	// bootstrap: the user registered through auth is known to convos and
	// chat.
	env, done, err := st.fresh(filepath.Join(root, "shared"))
	if err != nil {
		return nil, err
	}
	defer done()
	start := func(area string, extra map[string]string) (*bootstrap, error) {
		e := map[string]string{"LCGO_LAMBDA_MODE": modeFor(area)}
		for k, v := range env {
			e[k] = v
		}
		for k, v := range extra {
			e[k] = v
		}
		return startBootstrap(area, bins[area], e)
	}

	progress("  auth function: register, %d logins", o.logins)
	authB, err := start(routes.Auth, nil)
	if err != nil {
		return nil, err
	}
	reg := `{"name":"Bench User","username":"bench","email":"bench@example.com","password":"Password123!","confirm_password":"Password123!"}`
	if status, body, err := authB.do("POST", "/api/auth/register", "", reg, ""); err != nil || status != 200 {
		authB.stop()
		return nil, fmt.Errorf("register through the auth function: %d %s %v", status, body, err)
	}
	loginBody := `{"email":"bench@example.com","password":"Password123!"}`
	var token string
	for i := 0; i < o.logins; i++ {
		t0 := time.Now()
		status, body, err := authB.do("POST", "/api/auth/login", "", loginBody, "")
		if err != nil || status != 200 {
			authB.stop()
			return nil, fmt.Errorf("login through the auth function: %d %s %v", status, body, err)
		}
		res.login = append(res.login, time.Since(t0))
		if token == "" {
			var l struct{ Token string }
			_ = json.Unmarshal(body, &l)
			token = l.Token
		}
	}
	authB.stop()
	if token == "" {
		return nil, errors.New("login through the auth function: no token")
	}

	progress("  config function: %d requests", o.n)
	cfgB, err := start(routes.Config, nil)
	if err != nil {
		return nil, err
	}
	for i := 0; i < o.n; i++ {
		t0 := time.Now()
		status, body, err := cfgB.do("GET", "/api/config", "", "", "")
		if err != nil || status != 200 {
			cfgB.stop()
			return nil, fmt.Errorf("GET /api/config through the config function: %d %s %v", status, body, err)
		}
		res.config = append(res.config, time.Since(t0))
	}
	cfgB.stop()

	// Chat before the conversations are seeded: an emulator slows down
	// with the table's size, and the list should hold exactly o.convos.
	progress("  chat function: %d chats", o.chats)
	res.ttft, err = lambdaTTFT(tmp, start, token, o.chats)
	if err != nil {
		return nil, fmt.Errorf("chat function: %w", err)
	}

	// The conversations go straight into the functions' store before the
	// convos bootstrap starts.
	seedT0 := time.Now()
	s, closeStore, err := st.open(env)
	if err != nil {
		return nil, err
	}
	seeded, err := topUpConversations(s, "bench@example.com", o.convos)
	closeStore()
	if err != nil {
		return nil, fmt.Errorf("seed conversations: %w", err)
	}
	progress("  seeded %d conversations (%d with the chats) in %s", seeded, o.convos, time.Since(seedT0).Round(time.Millisecond))
	progress("  convos function: %d pages", o.pages)
	convB, err := start(routes.Convos, nil)
	if err != nil {
		return nil, err
	}
	res.convos, res.convoPages, err = timeConvoPages(o.pages, o.convos, func(query string) (int, []byte, error) {
		return convB.do("GET", "/api/convos", query, "", token)
	})
	convB.stop()
	if err != nil {
		return nil, fmt.Errorf("convos function: %w", err)
	}

	return res, nil
}

// lambdaTTFT measures the time to first token through the chat function:
// the start request as an API Gateway event, the stream as a streaming
// Function URL event, from the fake provider sending its first chunk to
// the first delta frame reaching the invoker.
func lambdaTTFT(tmp string, start func(string, map[string]string) (*bootstrap, error), token string, n int) ([]time.Duration, error) {
	fake, err := startFakeProvider()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(tmp, "lambda-chat.yaml")
	yaml := "version: 1.2.1\nendpoints:\n  custom:\n    - name: Bench\n      apiKey: sk-bench\n      baseURL: " + fake.url + "/v1\n      models: {default: [bench-1]}\n      titleConvo: true\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	b, err := start(routes.Chat, map[string]string{"CONFIG_PATH": cfg, "LIMIT_CONCURRENT_MESSAGES": "false"})
	if err != nil {
		return nil, err
	}
	defer b.stop()
	var out []time.Duration
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("lambda ttft %d", i)
		body := fmt.Sprintf(`{"text":%q,"sender":"User","isCreatedByUser":true,"parentMessageId":"00000000-0000-0000-0000-000000000000","endpoint":"Bench","endpointType":"custom","model":"bench-1"}`, key)
		status, raw, err := b.do("POST", "/api/agents/chat/Bench", "", body, token)
		if err != nil || status != 200 {
			return nil, fmt.Errorf("start: %d %s %v", status, raw, err)
		}
		var started struct{ StreamID string }
		if err := json.Unmarshal(raw, &started); err != nil || started.StreamID == "" {
			return nil, fmt.Errorf("start answered %s", raw)
		}
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		res, err := b.stream(ctx, "/api/agents/chat/stream/"+started.StreamID, token)
		if err != nil {
			cancel()
			return nil, err
		}
		r := bufio.NewReaderSize(res.Body, 64<<10)
		if err := readUntil(r, `"on_context_usage"`); err != nil {
			res.Body.Close()
			cancel()
			return nil, fmt.Errorf("before on_context_usage: %w", err)
		}
		close(fake.gate(key))
		if err := readUntil(r, `"on_message_delta"`); err != nil {
			res.Body.Close()
			cancel()
			return nil, fmt.Errorf("before the first delta: %w", err)
		}
		t1 := time.Now()
		fake.mu.Lock()
		t0 := fake.firstAt[key]
		fake.mu.Unlock()
		out = append(out, t1.Sub(t0))
		err = readUntil(r, `"final":true`)
		res.Body.Close()
		cancel()
		if err != nil {
			return nil, fmt.Errorf("before the final frame: %w", err)
		}
	}
	return out, nil
}
