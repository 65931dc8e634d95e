// Command lambdalocal runs the whole API as it runs on AWS, on one machine:
// every area's real Lambda bootstrap under a Lambda Runtime API server,
// behind an HTTP front that does what API Gateway (an HTTP API with the
// routes of shared/routes) and CloudFront (the chat stream path to the chat
// function's streaming Function URL) do, with DynamoDB (minidyn), S3
// (gofakes3) and Secrets Manager emulated in process.
//
//	go run ./local/lambdalocal [-port 3080] [-data DIR] [-bin DIR] [-env KEY=VALUE ...]
//	go run ./local/lambdalocal -build DIR   # only build the bootstraps into DIR/<area>/bootstrap
//
// Without -bin the bootstraps are built into dist/lambdalocal first.
//
// Each function runs up to -max environments (bootstrap processes, -chat-max
// for chat), one invocation at a time each, started when no idle one is
// left; -warm of them (-chat-warm for chat) start before the URL is
// printed. The functions get a
// Lambda environment plus STORE=dynamodb, the table, the bucket with
// fileStrategy s3 (a generated librechat.yaml), their secrets through
// SECRETS_ARN, DOMAIN_SERVER and DOMAIN_CLIENT set to the front's URL, and
// every -env KEY=VALUE, which wins over all of these.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lcgo/lcgo/shared/platform/lambda/runtimeapi"
	"github.com/lcgo/lcgo/shared/routes"
	"github.com/lcgo/lcgo/shared/store/dynamo"
)

// modulePath is the module the bootstraps are built from.
const modulePath = "github.com/lcgo/lcgo"

// Names of the emulated resources.
const (
	tablePrefix = "lcgo-local-"
	bucketName  = "lcgo-local-files"
	secretARN   = "arn:aws:secretsmanager:" + runtimeapi.DefaultRegion + ":" + runtimeapi.DefaultAccountID + ":secret:lcgo-local-app-AbCdEf"
)

// configFile is the librechat.yaml the functions read: uploads go to the
// bucket, as in a deployed stack with the config layer.
const configFile = "version: 1.2.1\nfileStrategy: s3\n"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "lambdalocal:", err)
		os.Exit(1)
	}
}

type envFlag []string

func (e *envFlag) String() string { return strings.Join(*e, " ") }

func (e *envFlag) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, not %q", v)
	}
	*e = append(*e, v)
	return nil
}

type options struct {
	host, data, bin, build string
	port                   int
	env                    envFlag
	warm, chatWarm         int
	max, chatMax           int
	timeout, chatTimeout   time.Duration
	secretsManager         bool
	accessLog, verbose     bool
	areas                  []string  // the areas to run; empty: all
	logs                   io.Writer // the functions' output (default stderr)
}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("lambdalocal", flag.ContinueOnError)
	fs.StringVar(&o.host, "host", "127.0.0.1", "address to listen on")
	fs.IntVar(&o.port, "port", 3080, "port to listen on (0: a free one)")
	fs.StringVar(&o.data, "data", "", "directory for the generated configuration and each environment's /tmp (default: a temporary directory, removed at exit)")
	fs.StringVar(&o.bin, "bin", "", "directory of built bootstraps, <dir>/<area>/bootstrap (default: build them into dist/lambdalocal of the module, where an unchanged one is not linked again)")
	fs.StringVar(&o.build, "build", "", "only build the bootstraps into this directory, then exit")
	fs.Var(&o.env, "env", "KEY=VALUE for every function's environment (repeatable; wins over the defaults)")
	fs.IntVar(&o.warm, "warm", 1, "environments each function starts before the URL is printed")
	fs.IntVar(&o.chatWarm, "chat-warm", 2, "environments the chat function starts before the URL is printed (with two, a chat start and its stream reach different ones)")
	fs.IntVar(&o.max, "max", 4, "environments each function runs at most (concurrent invocations)")
	fs.IntVar(&o.chatMax, "chat-max", 8, "environments the chat function runs at most (a stream holds one for its whole reply)")
	fs.DurationVar(&o.timeout, "timeout", 29*time.Second, "function timeout (template.yaml's)")
	fs.DurationVar(&o.chatTimeout, "chat-timeout", 900*time.Second, "the chat function's timeout")
	fs.BoolVar(&o.secretsManager, "secrets-manager", true, "give the functions JWT_SECRET, JWT_REFRESH_SECRET and CREDS_KEY through SECRETS_ARN and an emulated Secrets Manager (false: as plain variables)")
	fs.BoolVar(&o.accessLog, "access-log", true, "log every request")
	fs.BoolVar(&o.verbose, "v", false, "log debug messages")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.max < 1 || o.chatMax < 1 {
		return errors.New("-max and -chat-max must be at least 1")
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if o.build != "" {
		return buildBootstraps(ctx, o.build, log)
	}
	return serve(ctx, o, log)
}

func serve(ctx context.Context, o options, log *slog.Logger) error {
	st, err := startStack(ctx, o, log)
	if err != nil {
		return err
	}
	defer st.close()
	fmt.Println(st.url)
	log.Info("listening", "url", st.url, "dynamodb", st.svc.dynamoURL, "s3", st.svc.s3URL, "bootstraps", st.bin)

	select {
	case err := <-st.errc:
		return err
	case <-ctx.Done():
	}
	return nil
}

// running is a started stack: the emulators, every area's function and
// the front, serving at url.
type running struct {
	url  string
	bin  string
	svc  *services
	fns  *stack
	srv  *http.Server
	errc chan error // the front's Serve error
	undo []func()   // in reverse order on close
}

func (r *running) close() {
	if r.srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = r.srv.Shutdown(sctx)
		cancel()
	}
	for i := len(r.undo) - 1; i >= 0; i-- {
		r.undo[i]()
	}
}

// startStack starts the emulators, the functions of o.areas (every area
// when empty; the front answers 404 for the others) with their warm
// environments, and the front.
func startStack(ctx context.Context, o options, log *slog.Logger) (st *running, err error) {
	st = &running{}
	defer func() {
		if err != nil {
			st.close()
			st = nil
		}
	}()
	areas := o.areas
	if len(areas) == 0 {
		areas = routes.Areas()
	}
	data := o.data
	if data == "" {
		d, err := os.MkdirTemp("", "lambdalocal-")
		if err != nil {
			return st, err
		}
		st.undo = append(st.undo, func() { os.RemoveAll(d) })
		data = d
	}
	data, err = filepath.Abs(data)
	if err != nil {
		return st, err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return st, err
	}
	bin := o.bin
	if bin == "" {
		root, err := moduleRoot()
		if err != nil {
			return st, err
		}
		bin = filepath.Join(root, "dist", "lambdalocal")
		if err := buildBootstraps(ctx, bin, log, areas...); err != nil {
			return st, err
		}
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return st, err
	}
	st.bin = bin
	for _, area := range areas {
		if _, err := os.Stat(bootstrapPath(bin, area)); err != nil {
			return st, fmt.Errorf("no bootstrap for %s in %s (build them with -build %s): %w", area, bin, bin, err)
		}
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(o.host, strconv.Itoa(o.port)))
	if err != nil {
		return st, err
	}
	st.undo = append(st.undo, func() { ln.Close() })
	st.url = frontURL(ln.Addr().(*net.TCPAddr))

	secret := map[string]string{
		"JWT_SECRET":         randomHex(32),
		"JWT_REFRESH_SECRET": randomHex(32),
		"CREDS_KEY":          randomHex(32),
	}
	table := dynamo.Options{TablePrefix: tablePrefix}
	svc, err := startServices(ctx, log, table, bucketName, secretARN, secret)
	if err != nil {
		return st, err
	}
	st.svc = svc
	st.undo = append(st.undo, svc.close)

	configPath := filepath.Join(data, "librechat.yaml")
	if err := os.WriteFile(configPath, []byte(configFile), 0o600); err != nil {
		return st, err
	}
	base := map[string]string{
		"STORE":                    "dynamodb",
		"DYNAMODB_TABLE_PREFIX":    tablePrefix,
		"DYNAMODB_ENDPOINT":        svc.dynamoURL,
		"DYNAMODB_NO_TRANSACTIONS": "false",
		"AWS_ACCESS_KEY_ID":        emulatorKeyID,
		"AWS_SECRET_ACCESS_KEY":    emulatorSecret,
		"AWS_BUCKET_NAME":          bucketName,
		"AWS_ENDPOINT_URL":         svc.s3URL,
		"AWS_FORCE_PATH_STYLE":     "true",
		"CONFIG_PATH":              configPath,
		"DOMAIN_SERVER":            st.url,
		"DOMAIN_CLIENT":            st.url,
	}
	if o.secretsManager {
		base["SECRETS_ARN"] = secretARN
		base["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = svc.secretsURL
	} else {
		for k, v := range secret {
			base[k] = v
		}
	}

	logs := &logSink{w: os.Stderr}
	if o.logs != nil {
		logs.w = o.logs
	}
	fns := &stack{fns: map[string]*function{}}
	st.fns = fns
	st.undo = append(st.undo, fns.close)
	for _, area := range areas {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		timeout, limit, warm := o.timeout, o.max, o.warm
		if area == routes.Chat {
			env["LCGO_LAMBDA_MODE"] = "auto"
			timeout, limit, warm = o.chatTimeout, o.chatMax, o.chatWarm
		}
		for _, kv := range o.env {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		fn := newFunction(area, "lcgo-"+area, bootstrapPath(bin, area), env, timeout, limit,
			filepath.Join(data, "tmp"), logs, log)
		fn.warmN = min(max(warm, 0), limit)
		fns.fns[area] = fn
	}

	begin := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	n, err := fns.warm(wctx)
	cancel()
	if err != nil {
		return st, err
	}
	log.Info("functions ready", "functions", len(fns.fns), "environments", n, "ms", time.Since(begin).Milliseconds())

	f := &front{fns: fns, log: log, apiWait: integrationTimeout, urlWait: o.chatTimeout, accessOK: o.accessLog}
	st.srv = &http.Server{Handler: f, ReadHeaderTimeout: 30 * time.Second}
	st.errc = make(chan error, 1)
	go func() { st.errc <- st.srv.Serve(ln) }()
	return st, nil
}

// stack is every area's function.
type stack struct {
	fns map[string]*function
}

func (s *stack) Invoke(ctx context.Context, area string, payload []byte, wait time.Duration) (*runtimeapi.Response, func(), error) {
	f := s.fns[area]
	if f == nil {
		return nil, nil, fmt.Errorf("no function for area %q", area)
	}
	return f.invoke(ctx, payload, wait)
}

// warm starts each function's warmN environments and returns how many.
func (s *stack) warm(ctx context.Context) (int, error) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		n    int
	)
	for _, f := range s.fns {
		n += f.warmN
		wg.Go(func() {
			if err := f.warm(ctx, f.warmN); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return n, errors.Join(errs...)
}

func (s *stack) close() {
	var wg sync.WaitGroup
	for _, f := range s.fns {
		wg.Go(f.close)
	}
	wg.Wait()
}

// frontURL is the URL clients use: an unspecified address is reached as
// localhost.
func frontURL(a *net.TCPAddr) string {
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(a.Port))
}

func bootstrapPath(dir, area string) string { return filepath.Join(dir, area, "bootstrap") }

// buildBootstraps builds every area's functions/<area>/lambda as it is
// deployed (CGO off, -trimpath, -tags lambda.norpc, -ldflags "-s -w";
// infra/lambda/build.sh), for this machine, into
// dir/<area>/bootstrap.
func buildBootstraps(ctx context.Context, dir string, log *slog.Logger, areas ...string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return err
	}
	start := time.Now()
	if len(areas) == 0 {
		areas = routes.Areas()
	}
	errs := make([]error, len(areas))
	var wg sync.WaitGroup
	for i, area := range areas {
		wg.Go(func() {
			out := bootstrapPath(dir, area)
			cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", out, "./functions/"+area+"/lambda")
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("building %s: %v\n%s", area, err, b)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	log.Info("built the bootstraps", "dir", dir, "count", len(areas), "ms", time.Since(start).Milliseconds())
	return nil
}

// moduleRoot is the directory of the module's go.mod, found from the
// working directory upwards.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module "+modulePath+"\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("building the bootstraps needs the %s module: run from inside it, or pass -bin", modulePath)
		}
		dir = parent
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
