package deploytest

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCloudFunctionsEntryPoints builds functions/gcp/cmd (the Functions
// Framework serving every registered area) and runs it once per entry
// point with FUNCTION_TARGET set, as Cloud Functions does: the selected
// function then answers every path of its area.
func TestCloudFunctionsEntryPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs binaries; skipped with -short")
	}
	bin := goBuild(t, filepath.Join(t.TempDir(), "gcf"), "./functions/gcp/cmd", []string{"-trimpath"}, []string{"CGO_ENABLED=0"})

	t.Run("auth", func(t *testing.T) {
		t.Parallel()
		authFlow(t, startFramework(t, bin, "auth", nil), false)
	})
	t.Run("config", func(t *testing.T) {
		t.Parallel()
		configFlow(t, startFramework(t, bin, "config", nil))
	})
	t.Run("setup failure", func(t *testing.T) {
		t.Parallel()
		// Without secrets every request gets LibreChat's 500 error body.
		do := startFramework(t, bin, "auth", []string{"DATA_DIR=" + t.TempDir()})
		res := do(t, request{Method: "GET", Path: "/api/user"})
		expectStatus(t, "GET /api/user without secrets", res, http.StatusInternalServerError)
		body := decode[map[string]string](t, res)
		if body["error"] == "" || body["message"] == "" {
			t.Fatalf("error body %s, want error and message", res.Body)
		}
	})
}

// startFramework runs the entry point target on a free 127.0.0.1 port.
// env nil means baseEnv with a fresh data directory.
func startFramework(t *testing.T, bin, target string, env []string) doer {
	t.Helper()
	if env == nil {
		env = baseEnv(t.TempDir())
	}
	addr := freeAddr(t)
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir()
	cmd.Env = append(env, "FUNCTION_TARGET="+target, "HOST=127.0.0.1", "PORT="+port)
	logs := startProcess(t, "functions framework "+target, cmd)
	waitListening(t, addr, logs)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return func(t *testing.T, r request) response {
		t.Helper()
		u := "http://" + addr + r.Path
		if r.Query != "" {
			u += "?" + r.Query
		}
		var body io.Reader
		if r.Body != nil {
			body = bytes.NewReader(r.Body)
		}
		req, err := http.NewRequestWithContext(t.Context(), r.Method, u, body)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range r.Header {
			req.Header.Set(k, v)
		}
		for _, c := range r.Cookies {
			req.Header.Add("Cookie", c)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", r.Method, r.Path, err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return response{Status: res.StatusCode, Header: res.Header, Cookies: res.Header.Values("Set-Cookie"), Body: b}
	}
}
