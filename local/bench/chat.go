package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fakeProvider is an OpenAI-compatible server. A reply waits until the
// bench opens its gate (so the first chunk is sent while the client is
// already subscribed), records when it sent its first chunk, then sends
// chunks chunks; with hold set it sends one chunk and waits for release.
type fakeProvider struct {
	url string

	mu      sync.Mutex
	gates   map[string]chan struct{} // by the user text that starts a reply
	firstAt map[string]time.Time
	chunks  int
	hold    chan struct{}
}

func startFakeProvider() (*fakeProvider, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fakeProvider{url: "http://" + l.Addr().String(), gates: map[string]chan struct{}{}, firstAt: map[string]time.Time{}, chunks: 20}
	go http.Serve(l, f)
	return f, nil
}

func (f *fakeProvider) gate(key string) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.gates[key]
	if !ok {
		g = make(chan struct{})
		f.gates[key] = g
	}
	return g
}

func (f *fakeProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Messages []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	raw, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(raw, &body)
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	chunk := func(s string) {
		b, _ := json.Marshal(map[string]any{"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "bench-1",
			"choices": []any{map[string]any{"index": 0, "delta": map[string]string{"content": s}}}})
		fmt.Fprintf(w, "data: %s\n\n", b)
		fl.Flush()
	}
	if strings.Contains(string(raw), "concise title") {
		chunk("Bench")
		io.WriteString(w, "data: [DONE]\n\n")
		return
	}
	var key string
	if n := len(body.Messages); n > 0 {
		_ = json.Unmarshal(body.Messages[n-1].Content, &key)
	}
	select {
	case <-f.gate(key):
	case <-r.Context().Done():
		return
	}
	f.mu.Lock()
	f.firstAt[key] = time.Now()
	chunks, hold := f.chunks, f.hold
	f.mu.Unlock()
	chunk("w0 ")
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	for i := 1; i < chunks; i++ {
		chunk("w" + strconv.Itoa(i) + " ")
	}
	io.WriteString(w, "data: [DONE]\n\n")
}

type chatBench struct {
	p      *proc
	fake   *fakeProvider
	client *http.Client
	token  string
}

func (b *chatBench) post(path, body string) (*http.Response, error) {
	req, err := http.NewRequest("POST", b.p.base+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.client.Do(req)
}

// start begins a chat whose text is key and opens its stream.
func (b *chatBench) start(key string) (*bufio.Reader, io.Closer, error) {
	body := fmt.Sprintf(`{"text":%q,"sender":"User","isCreatedByUser":true,"parentMessageId":"00000000-0000-0000-0000-000000000000","endpoint":"Bench","endpointType":"custom","model":"bench-1"}`, key)
	resp, err := b.post("/api/agents/chat/Bench", body)
	if err != nil {
		return nil, nil, err
	}
	var started struct{ StreamID string }
	err = json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		return nil, nil, fmt.Errorf("start: %d %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest("GET", b.p.base+"/api/agents/chat/stream/"+started.StreamID, nil)
	req.Header.Set("Authorization", "Bearer "+b.token)
	sresp, err := b.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	if sresp.StatusCode != 200 {
		sresp.Body.Close()
		return nil, nil, fmt.Errorf("stream: %d", sresp.StatusCode)
	}
	return bufio.NewReaderSize(sresp.Body, 64<<10), sresp.Body, nil
}

// readUntil reads data lines until one contains marker.
func readUntil(r *bufio.Reader, marker string) error {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "data: ") && strings.Contains(line, marker) {
			return nil
		}
	}
}

// benchChat measures the chat path against the fake provider: added time
// to first token, frames per second of one stream, memory per 100 open
// streams.
func benchChat(bin, tmp string, n int, add func(k, v string)) ([]time.Duration, error) {
	fake, err := startFakeProvider()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(tmp, "bench.yaml")
	yaml := "version: 1.2.1\nendpoints:\n  custom:\n    - name: Bench\n      apiKey: sk-bench\n      baseURL: " + fake.url + "/v1\n      models: {default: [bench-1]}\n      titleConvo: true\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	p, err := startRunnerEnv(bin, filepath.Join(tmp, "chat"), "CONFIG_PATH="+cfg, "LIMIT_CONCURRENT_MESSAGES=false")
	if err != nil {
		return nil, err
	}
	defer p.stop()
	b := &chatBench{p: p, fake: fake, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	reg := `{"name":"Chat Bench","username":"chatbench","email":"chat@example.com","password":"Password123!","confirm_password":"Password123!"}`
	if resp, err := b.post("/api/auth/register", reg); err != nil || resp.StatusCode != 200 {
		return nil, fmt.Errorf("register: %v %v", resp, err)
	}
	resp, err := b.post("/api/auth/login", `{"email":"chat@example.com","password":"Password123!"}`)
	if err != nil {
		return nil, err
	}
	var login struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	b.token = login.Token

	// Time to first token added by the server: from the provider sending
	// its first chunk to the client reading the first delta frame.
	var added []time.Duration
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("ttft %d", i)
		r, body, err := b.start(key)
		if err != nil {
			return nil, err
		}
		if err := readUntil(r, `"on_context_usage"`); err != nil {
			return nil, err
		}
		close(fake.gate(key))
		if err := readUntil(r, `"on_message_delta"`); err != nil {
			return nil, err
		}
		t1 := time.Now()
		fake.mu.Lock()
		t0 := fake.firstAt[key]
		fake.mu.Unlock()
		added = append(added, t1.Sub(t0))
		_ = readUntil(r, `"final":true`)
		body.Close()
	}

	// Frames per second of one stream.
	fake.mu.Lock()
	fake.chunks = 5000
	fake.mu.Unlock()
	r, body, err := b.start("fps")
	if err != nil {
		return nil, err
	}
	if err := readUntil(r, `"on_context_usage"`); err != nil {
		return nil, err
	}
	close(fake.gate("fps"))
	if err := readUntil(r, `"on_message_delta"`); err != nil {
		return nil, err
	}
	t0 := time.Now()
	frames := 1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if strings.Contains(line, `"on_message_delta"`) {
			frames++
		}
		if strings.Contains(line, `"final":true`) {
			break
		}
	}
	body.Close()
	add("frames per second, one stream", fmt.Sprintf("%.0f/s (%d delta frames)", float64(frames-1)/time.Since(t0).Seconds(), frames))

	// Memory per 100 concurrent streams, each holding mid-reply.
	fake.mu.Lock()
	fake.chunks, fake.hold = 20, make(chan struct{})
	fake.mu.Unlock()
	before := rssKiB(p.cmd.Process.Pid)
	var open []io.Closer
	for i := 0; i < 100; i++ {
		key := fmt.Sprintf("mem %d", i)
		r, body, err := b.start(key)
		if err != nil {
			return nil, err
		}
		open = append(open, body)
		if err := readUntil(r, `"on_context_usage"`); err != nil {
			return nil, err
		}
		close(fake.gate(key))
		if err := readUntil(r, `"on_message_delta"`); err != nil {
			return nil, err
		}
	}
	after := rssKiB(p.cmd.Process.Pid)
	add("RSS with 100 concurrent streams open", fmt.Sprintf("%.1f MiB (+%.1f MiB over before them, %.0f KiB per stream)",
		float64(after)/1024, float64(after-before)/1024, float64(after-before)/100))
	close(fake.hold)
	for _, c := range open {
		c.Close()
	}
	return added, nil
}

func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.Atoi(f[1])
			return kb
		}
	}
	return 0
}
