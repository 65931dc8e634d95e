// Package dynamotest starts DynamoDB-compatible servers for tests:
// github.com/truora/minidyn in process (it has transactions) and dynalite
// from npm as a separate process (it has neither transactions nor TTL),
// and gives each test a fresh table.
//
// Dynalite fails the test when node or npm is missing, so that a machine
// without them does not pass by testing less; set LCGO_SKIP_NPM=1 to skip
// those tests instead. The npm package is installed once into
// $LCGO_NPM_CACHE, or else the user cache directory's lcgo-npm.
package dynamotest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/truora/minidyn/server"

	"github.com/lcgo/lcgo/shared/store/dynamo"
)

// SkipEnv turns a missing node or npm into skipped tests.
const SkipEnv = "LCGO_SKIP_NPM"

// CacheEnv overrides where the npm package is installed.
const CacheEnv = "LCGO_NPM_CACHE"

// DynaliteVersion is the dynalite release the tests run.
const DynaliteVersion = "4.0.0"

// Client returns a DynamoDB client for an emulator at url: fixed
// credentials and region, and no response checksum check (minidyn sends
// none). optFns adjust it further (e.g. RetryMaxAttempts).
func Client(url string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:                          "us-east-1",
		BaseEndpoint:                    aws.String(url),
		Credentials:                     credentials.NewStaticCredentialsProvider("local", "local", ""),
		DisableValidateResponseChecksum: true,
	}, optFns...)
}

// Minidyn starts an in-process minidyn server, optionally behind wrap
// (a handler that can inject faults), and stops it when the test ends. It
// returns a client for it and the server, for minidyn's own failure
// emulation.
func Minidyn(t testing.TB, wrap func(http.Handler) http.Handler, optFns ...func(*dynamodb.Options)) (*dynamodb.Client, *server.Server) {
	t.Helper()
	srv := server.NewServer()
	var h http.Handler = srv
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return Client(ts.URL, optFns...), srv
}

var tableSeq atomic.Int64

// NewTable creates a table with a unique prefix for the test (added to
// base.TablePrefix), deletes it when the test ends and returns the options
// naming it.
func NewTable(t testing.TB, client *dynamodb.Client, base dynamo.Options) dynamo.Options {
	t.Helper()
	opts := base
	opts.TablePrefix = fmt.Sprintf("%st%d-%d-", base.TablePrefix, os.Getpid(), tableSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dynamo.CreateTables(ctx, client, opts); err != nil {
		t.Fatalf("CreateTables %s: %v", opts.TableName(), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dynamo.DeleteTables(ctx, client, opts); err != nil {
			t.Errorf("DeleteTables %s: %v", opts.TableName(), err)
		}
	})
	return opts
}

// Dynalite starts dynalite on a free 127.0.0.1 port, installing it with
// npm first if needed, and stops it when the test ends. It returns a
// client for it.
func Dynalite(t testing.TB, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = exec.LookPath("npm")
	}
	if err != nil {
		if os.Getenv(SkipEnv) == "1" {
			t.Skipf("node or npm not found and %s=1: skipping", SkipEnv)
		}
		t.Fatalf("node and npm are required by this test but were not found on PATH (%v); "+
			"install Node.js (e.g. apt-get install nodejs npm) or set %s=1 to skip", err, SkipEnv)
	}
	cli, err := install()
	if err != nil {
		t.Fatalf("dynamotest: installing dynalite@%s: %v", DynaliteVersion, err)
	}
	var lastErr error
	for range 5 {
		url, err := start(t, node, cli)
		if err == nil {
			return Client(url, optFns...)
		}
		lastErr = err
	}
	t.Fatalf("dynamotest: %v", lastErr)
	return nil
}

// cacheDir is where npm packages are installed.
func cacheDir() (string, error) {
	if d := os.Getenv(CacheEnv); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "lcgo-npm"), nil
}

var installMu sync.Mutex

// install makes sure dynalite is installed and returns its cli.js. It
// installs into a fresh directory and renames it into place, so
// concurrent test processes never see a half-installed package.
func install() (string, error) {
	installMu.Lock()
	defer installMu.Unlock()
	root, err := cacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "dynalite-"+DynaliteVersion)
	cli := filepath.Join(dir, "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err == nil {
		return cli, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(root, "install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), []byte(`{"name":"lcgo-dynalite","private":true}`+"\n"), 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--save-exact", "--loglevel=error", "dynalite@"+DynaliteVersion)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install: %v: %s", err, out)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(cli); serr == nil {
			return cli, nil
		}
		return "", err
	}
	return cli, nil
}

func start(t testing.TB, node, cli string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	// dynalite rethrows the error of a request its client aborted (a
	// cancelled context), which ends the process; a real DynamoDB drops
	// such a request. The preload ignores exactly that error.
	preload := filepath.Join(t.TempDir(), "ignore-aborted.js")
	if err := os.WriteFile(preload, []byte(ignoreAborted), 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command(node, "--require", preload, cli,
		"--host", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--createTableMs", "0",
		"--deleteTableMs", "0",
		"--updateTableMs", "0",
	)
	out := &syncBuffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting dynalite: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	url := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			return "", fmt.Errorf("dynalite on port %d exited: %s", port, out.String())
		default:
		}
		if answers(url) {
			t.Cleanup(func() {
				select {
				case <-exited:
					t.Errorf("dynalite on %s exited during the test: %s", addr, out.String())
				default:
				}
				stop()
			})
			return url, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("dynalite on %s did not answer: %s", addr, out.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// ignoreAborted is loaded before dynalite: an "aborted" request error
// (the client closed the connection mid-request) is dropped; any other
// uncaught error still ends the process.
const ignoreAborted = `process.on('uncaughtException', function (err) {
  if (err && err.code === 'ECONNRESET' && err.message === 'aborted') return
  console.error(err)
  process.exit(1)
})
`

// answers reports whether a DynamoDB endpoint answers an HTTP request.
func answers(url string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
