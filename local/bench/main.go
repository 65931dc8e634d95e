// Command bench measures the local runner as a whole process and, side by
// side, the same API as one Lambda function per area, each bootstrap run
// under a local Lambda Runtime API server. For the runner: process start to
// the first 200 on /api/config, idle RSS, the p50 and p99 of login,
// /api/config and the conversation list over loopback, and the chat path
// against a local fake provider (added time to first token, frames per
// second, memory per 100 open streams). For each function: cold start
// (process start to the answer of its first invocation), idle RSS, zip size,
// and the same latencies through the Runtime API, with STORE=sqlite and,
// once shared/setup opens it, STORE=dynamodb on an in-process minidyn. It
// prints one Markdown table.
//
//	go run ./local/bench [-starts 20] [-n 500] [-lambda-starts 10] [-convos 10000]
package main

import (
	"bytes"
	"encoding/json"
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

type options struct {
	starts, n, logins, chats    int
	dynamoChats                 int
	zips, lambda, dynamodb      bool
	lambdaStarts, convos, pages int
}

func main() {
	var o options
	flag.IntVar(&o.starts, "starts", 20, "local runner starts to time")
	flag.IntVar(&o.n, "n", 500, "requests per latency figure")
	flag.IntVar(&o.logins, "logins", 100, "logins to time")
	flag.BoolVar(&o.zips, "zips", true, "build the Lambda zips and report their sizes")
	flag.IntVar(&o.chats, "chats", 200, "chats to time for time to first token")
	flag.BoolVar(&o.lambda, "lambda", true, "measure the Lambda bootstraps too")
	flag.IntVar(&o.lambdaStarts, "lambda-starts", 10, "cold starts to time per Lambda function")
	flag.IntVar(&o.convos, "convos", 10000, "conversations seeded for the conversation list")
	flag.IntVar(&o.pages, "pages", 200, "conversation list pages to time")
	flag.IntVar(&o.dynamoChats, "dynamodb-chats", 30, "chats to time with STORE=dynamodb (minidyn slows down as its table grows)")
	flag.BoolVar(&o.dynamodb, "dynamodb", true, "also measure the functions with STORE=dynamodb on minidyn, when shared/setup supports it")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

var benchStart = time.Now()

// progress reports on stderr what the bench is doing; the table goes to
// stdout.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(benchStart).Seconds(), fmt.Sprintf(format, args...))
}

// row is one line of the table: the measure, then the local runner's
// figure and each Lambda column's.
type row struct {
	measure, local string
	lambda         []string
}

func run(o options) error {
	tmp, err := os.MkdirTemp("", "lcgo-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	progress("building the local runner")
	bin := filepath.Join(tmp, "local")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./local")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build runner: %w", err)
	}

	loc, err := benchLocal(bin, tmp, o)
	if err != nil {
		return err
	}

	var columns []string
	var results []*lambdaResults
	var notes []string
	areas := lambdaAreas()
	zipSizes := map[string]string{}
	if o.zips {
		progress("building the Lambda zips (infra/lambda/build.sh)")
		cmd := exec.Command("bash", "infra/lambda/build.sh")
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build zips: %w", err)
		}
		for _, a := range areas {
			if st, err := os.Stat(filepath.Join("dist", a+".zip")); err == nil {
				zipSizes[a] = fmt.Sprintf("%.2f MiB", float64(st.Size())/(1<<20))
			}
		}
	}
	if o.lambda {
		progress("building the bootstraps for this machine")
		bins, err := buildBootstraps(filepath.Join(tmp, "bootstraps"), areas)
		if err != nil {
			return err
		}
		lo := lambdaOpts{starts: o.lambdaStarts, n: o.n, logins: o.logins, pages: o.pages, chats: o.chats, convos: o.convos}
		progress("Lambda functions, STORE=sqlite")
		r, err := benchLambda(bins, areas, tmp, lo, sqliteKit())
		if err != nil {
			return fmt.Errorf("lambda, sqlite: %w", err)
		}
		columns = append(columns, "Lambda, STORE=sqlite")
		results = append(results, r)
		if o.dynamodb {
			lo.chats = o.dynamoChats
			r, note := benchDynamo(bins, areas, tmp, lo)
			if r != nil {
				columns = append(columns, "Lambda, STORE=dynamodb (minidyn)")
				results = append(results, r)
			} else {
				notes = append(notes, note)
			}
		}
	}
	printTable(o, loc, areas, zipSizes, columns, results, notes)
	return nil
}

// benchDynamo measures the functions with STORE=dynamodb on an in-process
// minidyn, if shared/setup opens that store. Without a result it says why.
func benchDynamo(bins map[string]string, areas []string, tmp string, lo lambdaOpts) (*lambdaResults, string) {
	m, err := startMinidyn()
	if err != nil {
		return nil, "STORE=dynamodb not measured: minidyn: " + err.Error()
	}
	defer m.close()
	ok, err := dynamoSupported(m, bins["config"], filepath.Join(tmp, "dynamo-probe"))
	if err != nil {
		progress("STORE=dynamodb: %v", err)
		return nil, "STORE=dynamodb not measured: the config bootstrap failed with it (see stderr)"
	}
	if !ok {
		progress("STORE=dynamodb: shared/setup does not open it yet (the bootstrap wrote nothing to the table)")
		return nil, "STORE=dynamodb not measured: shared/setup does not open a DynamoDB store yet"
	}
	progress("Lambda functions, STORE=dynamodb on minidyn")
	r, err := benchLambda(bins, areas, tmp, lo, m.kit())
	if err != nil {
		progress("STORE=dynamodb: %v", err)
		return nil, "STORE=dynamodb not measured: " + firstLine(err.Error())
	}
	return r, ""
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// localResults are the local runner's figures.
type localResults struct {
	fresh, warm    []time.Duration
	idleRSS        string
	config, login  []time.Duration
	rates          []string
	rssAfterLogins string
	convos         []time.Duration
	convoPages     string
	ttft           []time.Duration
	chatRows       [][2]string
}

func benchLocal(bin, tmp string, o options) (*localResults, error) {
	res := &localResults{}
	// Cold start: a fresh data directory each time, so migrations and secret
	// generation are part of the figure.
	progress("local runner: %d starts", 2*o.starts)
	for i := 0; i < o.starts; i++ {
		p, err := startRunner(bin, filepath.Join(tmp, fmt.Sprintf("start%d", i)))
		if err != nil {
			return nil, err
		}
		res.fresh = append(res.fresh, p.startup)
		p.stop()
	}
	for i := 0; i < o.starts; i++ {
		p, err := startRunner(bin, filepath.Join(tmp, "start0"))
		if err != nil {
			return nil, err
		}
		res.warm = append(res.warm, p.startup)
		p.stop()
	}

	dataDir := filepath.Join(tmp, "main")
	p, err := startRunner(bin, dataDir)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	res.idleRSS = rss(p.cmd.Process.Pid)

	progress("local runner: /api/config and logins")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	res.config, err = timeRequests(o.n, func() (*http.Request, error) { return http.NewRequest("GET", p.base+"/api/config", nil) }, client)
	if err != nil {
		return nil, err
	}

	reg := `{"name":"Bench User","username":"bench","email":"bench@example.com","password":"Password123!","confirm_password":"Password123!"}`
	if resp, err := client.Post(p.base+"/api/auth/register", "application/json", strings.NewReader(reg)); err != nil || resp.StatusCode != 200 {
		return nil, fmt.Errorf("register: %v %v", resp, err)
	}
	login := func() (*http.Request, error) {
		r, err := http.NewRequest("POST", p.base+"/api/auth/login", strings.NewReader(`{"email":"bench@example.com","password":"Password123!"}`))
		if err == nil {
			r.Header.Set("Content-Type", "application/json")
		}
		return r, err
	}
	res.login, err = timeRequests(o.logins, login, client)
	if err != nil {
		return nil, err
	}
	for _, workers := range []int{1, 2, 4} {
		rate, err := throughput(workers, o.logins, login, client)
		if err != nil {
			return nil, err
		}
		res.rates = append(res.rates, fmt.Sprintf("%.0f/s", rate))
	}
	res.rssAfterLogins = rss(p.cmd.Process.Pid)

	// The conversation list: conversations written into the runner's
	// database through the store package while it runs (SQLite in WAL
	// mode), then read page by page over HTTP.
	progress("local runner: seeding %d conversations", o.convos)
	req, _ := login()
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	var l struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&l)
	resp.Body.Close()
	st, closeStore, err := sqliteKit().open(map[string]string{"DATA_DIR": dataDir})
	if err != nil {
		return nil, err
	}
	seedT0 := time.Now()
	_, err = topUpConversations(st, "bench@example.com", o.convos)
	closeStore()
	if err != nil {
		return nil, fmt.Errorf("seed conversations: %w", err)
	}
	progress("  seeded in %s", time.Since(seedT0).Round(time.Millisecond))
	res.convos, res.convoPages, err = timeConvoPages(o.pages, o.convos, func(query string) (int, []byte, error) {
		u := p.base + "/api/convos"
		if query != "" {
			u += "?" + query
		}
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+l.Token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	})
	if err != nil {
		return nil, fmt.Errorf("local conversation list: %w", err)
	}

	progress("local runner: chat")
	res.ttft, err = benchChat(bin, tmp, o.chats, func(k, v string) { res.chatRows = append(res.chatRows, [2]string{k, v}) })
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	return res, nil
}

// spread is "p50 X (min–max)" of cold starts.
func spread(d []time.Duration) string {
	if len(d) == 0 {
		return "—"
	}
	return fmt.Sprintf("p50 %s (%.2f–%s)", ms(pct(d, 50)), float64(pct(d, 0).Microseconds())/1000, ms(pct(d, 100)))
}

// p5099 is "p50 X, p99 Y" of latencies.
func p5099(d []time.Duration) string {
	if len(d) == 0 {
		return "—"
	}
	return fmt.Sprintf("p50 %s, p99 %s", ms(pct(d, 50)), ms(pct(d, 99)))
}

func medianKiB(v []int) int {
	s := append([]int(nil), v...)
	sort.Ints(s)
	if len(s) == 0 {
		return 0
	}
	return s[(len(s)-1)/2]
}

func printTable(o options, loc *localResults, areas []string, zips map[string]string, columns []string, results []*lambdaResults, notes []string) {
	var rows []row
	each := func(f func(r *lambdaResults) string) []string {
		out := make([]string, len(results))
		for i, r := range results {
			out[i] = f(r)
		}
		return out
	}
	same := func(v string) []string {
		out := make([]string, len(results))
		for i := range out {
			out[i] = v
		}
		return out
	}
	group := func(title string) { rows = append(rows, row{"**" + title + "**", "", same("")}) }
	add := func(measure, local string, lambda []string) { rows = append(rows, row{measure, local, lambda}) }

	// config first: its row is the one the runner's figures compare with.
	ordered := []string{}
	for _, a := range areas {
		if a == "config" {
			ordered = append([]string{a}, ordered...)
		} else {
			ordered = append(ordered, a)
		}
	}
	areas = ordered
	if len(results) > 0 {
		group(fmt.Sprintf("process start → first response, fresh data dir (runner: %d starts; each function: %d starts; p50 (min–max))", o.starts, o.lambdaStarts))
		for _, a := range areas {
			local := "— (in the runner's process)"
			if a == "config" {
				local = spread(loc.fresh) + ", whole runner"
			}
			add(fmt.Sprintf("%s: %s", a, probeFor(a)), local, each(func(r *lambdaResults) string { return spread(r.cold[a].startup) }))
		}
	} else {
		add("process start → first 200 on /api/config, fresh data dir", spread(loc.fresh), nil)
	}
	add("process start → first 200 on /api/config, existing data dir", spread(loc.warm), same("—"))

	if len(results) > 0 {
		group(fmt.Sprintf("idle RSS after the first response (each function: p50 of its %d starts)", o.lambdaStarts))
		for _, a := range areas {
			add(a, "", each(func(r *lambdaResults) string {
				return fmt.Sprintf("%.1f MiB", float64(medianKiB(r.cold[a].rssKiB))/1024)
			}))
		}
		add("every area", loc.idleRSS+", one process", each(func(r *lambdaResults) string {
			sum := 0
			for _, a := range areas {
				sum += medianKiB(r.cold[a].rssKiB)
			}
			return fmt.Sprintf("%.1f MiB, sum of the %d functions", float64(sum)/1024, len(areas))
		}))
	} else {
		add("idle RSS after start", loc.idleRSS, nil)
	}

	if len(zips) > 0 {
		group("zip size (dist/<area>.zip from infra/lambda/build.sh, linux/arm64)")
		for _, a := range areas {
			z, ok := zips[a]
			switch {
			case !ok:
			case len(results) == 0:
				add(a, z, nil)
			default:
				lam := same("same zip")
				lam[0] = z
				add(a, "—", lam)
			}
		}
	}

	group("latency, p50 and p99 (runner over loopback HTTP; functions through the Runtime API)")
	add(fmt.Sprintf("POST /api/auth/login, sequential, argon2id m=19MiB t=2 p=1 (%d; auth function)", o.logins), p5099(loc.login),
		each(func(r *lambdaResults) string { return p5099(r.login) }))
	add(fmt.Sprintf("GET /api/config (%d; config function)", o.n), p5099(loc.config),
		each(func(r *lambdaResults) string { return p5099(r.config) }))
	add(fmt.Sprintf("GET /api/convos at %d conversations, %s (convos function)", o.convos, loc.convoPages), p5099(loc.convos),
		each(func(r *lambdaResults) string { return p5099(r.convos) }))
	add("time to first token added over the provider (chat function: start as an API Gateway event, stream as a Function URL event)",
		fmt.Sprintf("%s (%d chats)", p5099(loc.ttft), len(loc.ttft)),
		each(func(r *lambdaResults) string { return fmt.Sprintf("%s (%d chats)", p5099(r.ttft), len(r.ttft)) }))

	group("local runner only")
	for i, w := range []int{1, 2, 4} {
		add(fmt.Sprintf("logins per second, %d concurrent clients", w), loc.rates[i], same("—"))
	}
	add("RSS after the logins", loc.rssAfterLogins, same("—"))
	for _, c := range loc.chatRows {
		add(c[0], c[1], same("—"))
	}

	head := append([]string{"measure", "local runner"}, columns...)
	fmt.Println("| " + strings.Join(head, " | ") + " |")
	fmt.Println("|" + strings.Repeat("---|", len(head)))
	for _, r := range rows {
		cells := append([]string{r.measure, r.local}, r.lambda...)
		for len(cells) < len(head) {
			cells = append(cells, "")
		}
		fmt.Println("| " + strings.Join(cells[:len(head)], " | ") + " |")
	}
	for _, n := range notes {
		fmt.Println()
		fmt.Println(n)
	}
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
