package files_test

import (
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/files"
)

func TestLimitsDefaults(t *testing.T) {
	l, err := files.ParseLimits(config.Object{})
	if err != nil {
		t.Fatal(err)
	}
	if l.ServerFileSizeLimit != 512<<20 || l.AvatarSizeLimit != 2<<20 || l.FileTokenLimit != 100000 {
		t.Errorf("defaults: %+v", l)
	}
	for _, ep := range [][2]string{{"openAI", ""}, {"FakeOpenAI", "custom"}, {"agents", ""}, {"google", ""}} {
		e := l.Endpoint(ep[0], ep[1])
		if e.Disabled || e.FileLimit != 10 || e.FileSizeLimit != 512<<20 || e.TotalSizeLimit != 512<<20 {
			t.Errorf("%v: %+v", ep, e)
		}
		for _, m := range []string{"image/png", "image/webp", "application/pdf", "text/plain", "text/markdown", "application/json", "text/csv", "application/zip", "text/html"} {
			if !e.Accepts(m) {
				t.Errorf("%v does not accept %s", ep, m)
			}
		}
		for _, m := range []string{"application/octet-stream", "image/bmp", "application/x-msdownload", "image/png; x"} {
			if e.Accepts(m) {
				t.Errorf("%v accepts %s", ep, m)
			}
		}
	}
	a := l.Avatar()
	if a.FileSizeLimit != 2<<20 || !a.Accepts("image/jpeg") {
		t.Errorf("avatar: %+v", a)
	}
}

func TestLimitsFromFileConfig(t *testing.T) {
	fc := mustObject(t, `
fileConfig:
  endpoints:
    default:
      fileLimit: 5
      fileSizeLimit: 10
      totalSizeLimit: 50
      supportedMimeTypes: ["image/.*", "application/pdf"]
    openAI:
      disabled: true
    FakeOpenAI:
      fileSizeLimit: 0.5
    custom:
      fileSizeLimit: 3
    google:
      fileLimit: 2
    assistants:
      supportedMimeTypes: ["text/plain", "([", "application/json"]
  serverFileSizeLimit: 20
  avatarSizeLimit: 1
  fileTokenLimit: 1000
`)
	l, err := files.ParseLimits(fc)
	if err != nil {
		t.Fatal(err)
	}
	if l.ServerFileSizeLimit != 20<<20 || l.AvatarSizeLimit != 1<<20 || l.FileTokenLimit != 1000 {
		t.Errorf("top level: server %d avatar %d tokens %d", l.ServerFileSizeLimit, l.AvatarSizeLimit, l.FileTokenLimit)
	}

	// An endpoint without an entry uses the configured default.
	g := l.Endpoint("bedrock", "")
	if g.FileLimit != 5 || g.FileSizeLimit != 10<<20 || g.TotalSizeLimit != 50<<20 || g.Disabled {
		t.Errorf("default: %+v", g)
	}
	if !g.Accepts("image/png") || !g.Accepts("application/pdf") || g.Accepts("text/plain") {
		t.Error("default MIME types not applied")
	}

	// disabled zeroes everything.
	o := l.Endpoint("openAI", "")
	if !o.Disabled || o.FileLimit != 0 || o.FileSizeLimit != 0 || o.Accepts("image/png") {
		t.Errorf("openAI disabled: %+v", o)
	}

	// A custom endpoint: its own entry (MB may be fractional), the rest from default.
	c := l.Endpoint("FakeOpenAI", "custom")
	if c.FileSizeLimit != 512<<10 || c.FileLimit != 5 || c.Disabled {
		t.Errorf("custom by name: %+v", c)
	}
	// An unnamed custom endpoint falls back to "custom".
	if c2 := l.Endpoint("Other", "custom"); c2.FileSizeLimit != 3<<20 {
		t.Errorf("custom fallback: %+v", c2)
	}
	// An entry without a MIME list takes the default's, except for the
	// providers that take documents, which get LibreChat's full list.
	if c.Accepts("text/plain") || !c.Accepts("image/png") {
		t.Errorf("custom entry MIME list: %v", c.MIMETypes)
	}
	if gg := l.Endpoint("google", ""); gg.FileLimit != 2 || !gg.Accepts("text/plain") || gg.FileSizeLimit != 10<<20 {
		t.Errorf("google: %+v", gg)
	}

	// Invalid patterns are skipped, as LibreChat does.
	as := l.Endpoint("assistants", "")
	if !as.Accepts("text/plain") || !as.Accepts("application/json") || as.Accepts("image/png") {
		t.Errorf("assistants MIME list: %v", as.MIMETypes)
	}

	if a := l.Avatar(); a.FileSizeLimit != 1<<20 || !a.Accepts("image/png") {
		t.Errorf("avatar: %+v", a)
	}
}

func TestLimitsLookupOrder(t *testing.T) {
	fc := mustObject(t, `
fileConfig:
  endpoints:
    agents:
      fileSizeLimit: 7
    anthropic:
      fileSizeLimit: 9
    ollama:
      fileSizeLimit: 11
`)
	l, err := files.ParseLimits(fc)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		endpoint, typ string
		want          int64
	}{
		{"agents", "", 7 << 20},
		{"anthropic", "", 9 << 20},
		{"anthropic", "agents", 7 << 20}, // endpointType first for built-ins
		{"Ollama", "custom", 11 << 20},   // normalized custom name
		{"MyLLM", "custom", 7 << 20},     // no custom entry: agents
		{"openAI", "", 512 << 20},        // no entry: default
	}
	for _, c := range cases {
		if got := l.Endpoint(c.endpoint, c.typ).FileSizeLimit; got != c.want {
			t.Errorf("Endpoint(%q, %q) size = %d, want %d", c.endpoint, c.typ, got, c.want)
		}
	}
}

func TestLimitsErrors(t *testing.T) {
	for _, y := range []string{
		"fileConfig:\n  serverFileSizeLimit: big\n",
		"fileConfig:\n  endpoints: [1]\n",
		"fileConfig:\n  endpoints:\n    default:\n      fileSizeLimit: -1\n",
		"fileConfig:\n  endpoints:\n    default:\n      supportedMimeTypes: image/png\n",
		"fileConfig:\n  endpoints:\n    default:\n      disabled: sometimes\n",
	} {
		if _, err := files.ParseLimits(mustObject(t, y)); err == nil || !strings.Contains(err.Error(), "fileConfig") {
			t.Errorf("%q: err = %v", y, err)
		}
	}
}
