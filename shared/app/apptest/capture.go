package apptest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Capture is one recorded exchange of LibreChat's own server, from the
// contract's transcripts beside the repository.
type Capture struct {
	Status int
	Body   string // the raw response body, "" when it had none
}

// LoadCapture reads ../shared/librechat-api/transcripts/<name> next to the
// module root.
func LoadCapture(t testing.TB, name string) Capture {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("capture: no go.mod above the test's directory")
		}
		dir = parent
	}
	b, err := os.ReadFile(filepath.Join(dir, "..", "shared", "librechat-api", "transcripts", name))
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	var c Capture
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "### RESPONSE" && sc.Scan() {
			fmt.Sscanf(sc.Text(), "HTTP/1.1 %d", &c.Status)
		}
		if strings.HasPrefix(line, "### RESPONSE BODY (raw") {
			if sc.Scan() && !strings.HasPrefix(sc.Text(), "### ") {
				c.Body = sc.Text()
			}
			break
		}
	}
	if c.Status == 0 {
		t.Fatalf("%s: no response status", name)
	}
	return c
}

// Keys lists the keys of a JSON object in document order.
func Keys(t testing.TB, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", data)
	}
	var out []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
		out = append(out, k.(string))
	}
	return out
}
