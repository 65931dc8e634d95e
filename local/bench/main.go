// Command bench measures the local runner as a whole process and the Lambda
// zips: process start to the first 200 on /api/config, idle RSS, the p50
// and p99 of login and /api/config over loopback, and the chat path against
// a local fake provider (added time to first token, frames per second,
// memory per 100 open streams). It prints a Markdown table.
//
//	go run ./local/bench [-starts 20] [-n 500]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	starts := flag.Int("starts", 20, "process starts to time")
	n := flag.Int("n", 500, "requests per latency figure")
	logins := flag.Int("logins", 100, "logins to time")
	zips := flag.Bool("zips", true, "build the Lambda zips and report their sizes")
	chats := flag.Int("chats", 200, "chats to time for time to first token")
	flag.Parse()
	if err := run(*starts, *n, *logins, *chats, *zips); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(starts, n, logins, chats int, zips bool) error {
	tmp, err := os.MkdirTemp("", "lcgo-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "local")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./local")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build runner: %w", err)
	}

	var rows [][2]string
	add := func(k, v string) { rows = append(rows, [2]string{k, v}) }

	// Cold start: a fresh data directory each time, so migrations and secret
	// generation are part of the figure.
	var startTimes []time.Duration
	for i := 0; i < starts; i++ {
		p, err := startRunner(bin, filepath.Join(tmp, fmt.Sprintf("start%d", i)))
		if err != nil {
			return err
		}
		startTimes = append(startTimes, p.startup)
		p.stop()
	}
	add("process start → first 200 on /api/config (fresh data dir)", fmt.Sprintf("p50 %s, min %s, max %s (%d starts)",
		ms(pct(startTimes, 50)), ms(pct(startTimes, 0)), ms(pct(startTimes, 100)), starts))
	var warm []time.Duration
	for i := 0; i < starts; i++ {
		p, err := startRunner(bin, filepath.Join(tmp, "start0"))
		if err != nil {
			return err
		}
		warm = append(warm, p.startup)
		p.stop()
	}
	add("process start → first 200 on /api/config (existing data dir)", fmt.Sprintf("p50 %s, min %s, max %s", ms(pct(warm, 50)), ms(pct(warm, 0)), ms(pct(warm, 100))))

	p, err := startRunner(bin, filepath.Join(tmp, "main"))
	if err != nil {
		return err
	}
	defer p.stop()
	add("idle RSS after start", rss(p.cmd.Process.Pid))

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	cfg, err := timeRequests(n, func() (*http.Request, error) { return http.NewRequest("GET", p.base+"/api/config", nil) }, client)
	if err != nil {
		return err
	}
	add("GET /api/config, one connection", fmt.Sprintf("p50 %s, p99 %s (%d requests)", ms(pct(cfg, 50)), ms(pct(cfg, 99)), n))

	reg := `{"name":"Bench User","username":"bench","email":"bench@example.com","password":"Password123!","confirm_password":"Password123!"}`
	if resp, err := client.Post(p.base+"/api/auth/register", "application/json", strings.NewReader(reg)); err != nil || resp.StatusCode != 200 {
		return fmt.Errorf("register: %v %v", resp, err)
	}
	login := func() (*http.Request, error) {
		r, err := http.NewRequest("POST", p.base+"/api/auth/login", strings.NewReader(`{"email":"bench@example.com","password":"Password123!"}`))
		if err == nil {
			r.Header.Set("Content-Type", "application/json")
		}
		return r, err
	}
	lt, err := timeRequests(logins, login, client)
	if err != nil {
		return err
	}
	add("POST /api/auth/login, sequential (argon2id m=19MiB t=2 p=1)", fmt.Sprintf("p50 %s, p99 %s (%d logins)", ms(pct(lt, 50)), ms(pct(lt, 99)), logins))
	for _, workers := range []int{1, 2, 4} {
		rate, err := throughput(workers, logins, login, client)
		if err != nil {
			return err
		}
		add(fmt.Sprintf("logins per second, %d concurrent clients", workers), fmt.Sprintf("%.0f/s", rate))
	}
	add("RSS after the logins", rss(p.cmd.Process.Pid))

	if err := benchChat(bin, tmp, chats, add); err != nil {
		return fmt.Errorf("chat: %w", err)
	}

	if zips {
		cmd := exec.Command("bash", "infra/lambda/build.sh")
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build zips: %w", err)
		}
		files, _ := filepath.Glob("dist/*.zip")
		for _, f := range files {
			st, err := os.Stat(f)
			if err == nil {
				add("Lambda zip "+filepath.Base(f), fmt.Sprintf("%.2f MiB", float64(st.Size())/(1<<20)))
			}
		}
	}

	fmt.Println("| measure | result |")
	fmt.Println("|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %s |\n", r[0], r[1])
	}
	return nil
}

type proc struct {
	cmd     *exec.Cmd
	base    string
	startup time.Duration
}

func (p *proc) stop() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startRunner starts the runner and polls /api/config as fast as it can
// until the first 200; the time from exec to that answer is the start-up.
func startRunner(bin, dataDir string) (*proc, error) { return startRunnerEnv(bin, dataDir) }

// startRunnerEnv is startRunner with extra environment variables.
func startRunnerEnv(bin, dataDir string, env ...string) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-port", strconv.Itoa(port), "-data", dataDir, "-env-file", "/nonexistent")
	// The bench logs in far more often than the login limiter allows.
	cmd.Env = append(append(os.Environ(), "CONFIG_PATH=", "LOGIN_MAX=1000000", "REGISTER_MAX=1000000"), env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for time.Since(t0) < 20*time.Second {
		resp, err := client.Get(base + "/api/config")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return &proc{cmd: cmd, base: base, startup: time.Since(t0)}, nil
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	_ = cmd.Process.Kill()
	return nil, fmt.Errorf("runner did not answer within 20s:\n%s", logs.String())
}

func timeRequests(n int, mk func() (*http.Request, error), c *http.Client) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		req, err := mk()
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("%s %s: %d", req.Method, req.URL.Path, resp.StatusCode)
		}
		out = append(out, time.Since(t0))
	}
	return out, nil
}

func throughput(workers, total int, mk func() (*http.Request, error), c *http.Client) (float64, error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	per := total / workers
	t0 := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := timeRequests(per, mk, c); err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return float64(per*workers) / time.Since(t0).Seconds(), firstErr
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s) - 1) * p / 100
	return s[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func rss(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.Atoi(f[1])
			return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
		}
	}
	return "unknown"
}
