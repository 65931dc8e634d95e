package s3_test

// s3rver (npm) runs as a separate process: a second, independent S3
// implementation, which refuses expired presigned URLs (it does not check
// signatures). The test fails when node or npm is missing, so that a
// machine without them does not pass by testing less; LCGO_SKIP_NPM=1 skips
// it instead. The package is installed once into $LCGO_NPM_CACHE, or else
// the user cache directory's lcgo-npm.

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/blob"
	"github.com/lcgo/lcgo/shared/blob/blobtest"
	"github.com/lcgo/lcgo/shared/blob/s3"
	"github.com/lcgo/lcgo/shared/config"
)

const (
	s3rverVersion = "3.7.1"
	s3rverBucket  = "lcgo-s3rver"
	skipNPMEnv    = "LCGO_SKIP_NPM"
	npmCacheEnv   = "LCGO_NPM_CACHE"
)

func TestConformanceS3rver(t *testing.T) {
	endpoint := startS3rver(t)
	cfg := config.S3{
		Bucket: s3rverBucket, Region: "us-east-1",
		AccessKeyID: "S3RVER", SecretAccessKey: "S3RVER",
		Endpoint: endpoint, ForcePathStyle: true,
	}
	st, err := s3.New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	const truncated = "s3rver keeps a truncated upload when the client aborts it (S3 refuses an incomplete body)"
	blobtest.Suite{Skip: map[string]string{
		"ShortBody":   truncated,
		"LongBody":    truncated,
		"CancelPut":   truncated,
		"InvalidKeys": "s3rver exits on a key segment of 255 bytes (it keeps keys as file names)",
	}}.Run(t, func(t *testing.T) blob.Store { return st })

	t.Run("ExpiredURL", func(t *testing.T) {
		if err := st.Put(t.Context(), "s3rver/expiring", strings.NewReader("soon gone"), 9, "text/plain"); err != nil {
			t.Fatal(err)
		}
		old, err := s3.NewWithOptions(t.Context(), cfg, nil, s3.Options{Clock: fixedClock{time.Now().Add(-2 * time.Minute)}})
		if err != nil {
			t.Fatal(err)
		}
		for ttl, want := range map[time.Duration]int{time.Minute: http.StatusForbidden, 10 * time.Minute: http.StatusOK} {
			u, err := old.URL(t.Context(), "s3rver/expiring", ttl, "")
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("URL dated 2 minutes ago with ttl %v: %d %s, want %d", ttl, resp.StatusCode, body, want)
			}
		}
	})
}

func startS3rver(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = exec.LookPath("npm")
	}
	if os.Getenv(skipNPMEnv) == "1" {
		t.Skipf("%s=1: skipping s3rver", skipNPMEnv)
	}
	if err != nil {
		t.Fatalf("node and npm are required by this test but were not found on PATH (%v); "+
			"install Node.js or set %s=1 to skip", err, skipNPMEnv)
	}
	cli, err := installS3rver()
	if err != nil {
		t.Fatalf("installing s3rver@%s: %v", s3rverVersion, err)
	}
	var lastErr error
	for range 5 {
		url, err := runS3rver(t, node, cli)
		if err == nil {
			return url
		}
		lastErr = err
	}
	t.Fatal(lastErr)
	return ""
}

var installMu sync.Mutex

// installS3rver installs s3rver into the cache unless it is there and
// returns its command-line script. It installs into a fresh directory and
// renames it into place, so concurrent test processes never see a
// half-installed package.
func installS3rver() (string, error) {
	installMu.Lock()
	defer installMu.Unlock()
	root := os.Getenv(npmCacheEnv)
	if root == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		root = filepath.Join(d, "lcgo-npm")
	}
	dir := filepath.Join(root, "s3rver-"+s3rverVersion)
	cli := filepath.Join(dir, "node_modules", "s3rver", "bin", "s3rver.js")
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
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), []byte(`{"name":"lcgo-s3rver","private":true}`+"\n"), 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--save-exact", "--loglevel=error", "s3rver@"+s3rverVersion)
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

func runS3rver(t *testing.T, node, cli string) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(node, cli,
		"-d", t.TempDir(),
		"-a", "127.0.0.1",
		"-p", strconv.Itoa(port),
		"--silent",

		"--no-vhost-buckets",
		"--configure-bucket", s3rverBucket,
	)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting s3rver: %w", err)
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
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	c := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			return "", fmt.Errorf("s3rver on port %d exited: %s", port, out.String())
		default:
		}
		if resp, err := c.Get(url + "/" + s3rverBucket + "/"); err == nil {
			resp.Body.Close()
			t.Cleanup(stop)
			return url, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("s3rver on port %d did not answer: %s", port, out.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
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
