package files_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/lcgo/lcgo/shared/files"
)

func utf16LE(s string) []byte {
	b := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func TestSniff(t *testing.T) {
	pe := append([]byte("MZ\x90\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{0}, 56)...)
	machO := append([]byte("\xcf\xfa\xed\xfe\x07\x00\x00\x01"), bytes.Repeat([]byte{0}, 24)...)
	longJSON := `{"items":[` + strings.Repeat(`{"a":1,"b":"text"},`, 1000) + `{"a":2}]}`
	cases := []struct {
		name    string
		file    string
		data    []byte
		class   files.Class
		typ     string
		w, h    int
		format  string
		comment string
	}{
		{name: "png", file: "a.png", data: pngBytes(t, 3, 2), class: files.ClassImage, typ: "image/png", w: 3, h: 2},
		{name: "jpeg", file: "a.jpg", data: jpegBytes(t, 4, 5), class: files.ClassImage, typ: "image/jpeg", w: 4, h: 5},
		{name: "gif", file: "a.gif", data: gifBytes(t, 7, 1), class: files.ClassImage, typ: "image/gif", w: 7, h: 1},
		{name: "webp", file: "a.webp", data: webp1x1, class: files.ClassImage, typ: "image/webp", w: 1, h: 1},
		{name: "webp dimensions", file: "b.webp", data: webpHeader(640, 480), class: files.ClassImage, typ: "image/webp", w: 640, h: 480},
		{name: "png named jpg", file: "a.jpg", data: pngBytes(t, 2, 2), class: files.ClassImage, typ: "image/png", w: 2, h: 2, comment: "content wins over the name"},
		{name: "png without a name", file: "", data: pngBytes(t, 1, 1), class: files.ClassImage, typ: "image/png", w: 1, h: 1},
		{name: "truncated png", file: "a.png", data: pngBytes(t, 3, 3)[:20], class: files.ClassBinary, typ: "application/octet-stream", comment: "signature but no header"},
		{name: "pdf", file: "doc.pdf", data: []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"), class: files.ClassBinary, typ: "application/pdf"},
		{name: "pdf named txt", file: "doc.txt", data: []byte("%PDF-1.7\n"), class: files.ClassBinary, typ: "application/pdf"},
		{name: "plain text", file: "notes.txt", data: []byte("hello, world\n"), class: files.ClassText, typ: "text/plain"},
		{name: "text without extension", file: "README", data: []byte("just words"), class: files.ClassText, typ: "text/plain"},
		{name: "markdown", file: "notes.md", data: []byte("# Title\n\n* item\n"), class: files.ClassText, typ: "text/markdown"},
		{name: "csv", file: "data.csv", data: []byte("a,b,c\n1,2,3\n"), class: files.ClassText, typ: "text/csv"},
		{name: "json", file: "data.json", data: []byte(`{"a": [1, 2, 3]}`), class: files.ClassText, typ: "application/json"},
		{name: "json by content", file: "data.txt", data: []byte(` [1, {"x": null}] `), class: files.ClassText, typ: "application/json"},
		{name: "long json", file: "big", data: []byte(longJSON), class: files.ClassText, typ: "application/json"},
		{name: "broken json", file: "data.json", data: []byte(`{"a": `), class: files.ClassText, typ: "text/plain"},
		{name: "json lines", file: "x.txt", data: []byte("{\"a\":1}\n{\"a\":2}\n"), class: files.ClassText, typ: "text/plain"},
		{name: "python", file: "x.py", data: []byte("print('hi')\n"), class: files.ClassText, typ: "text/x-python"},
		{name: "shell script", file: "run.sh", data: []byte("#!/bin/sh\necho hi\n"), class: files.ClassText, typ: "application/x-sh", comment: "a script is text"},
		{name: "html", file: "page.html", data: []byte("<!DOCTYPE html><html><body>hi</body></html>"), class: files.ClassText, typ: "text/html"},
		{name: "html named txt", file: "page.txt", data: []byte("<html><body>hi</body></html>"), class: files.ClassText, typ: "text/plain"},
		{name: "html without name", file: "page", data: []byte("<html><body>hi</body></html>"), class: files.ClassText, typ: "text/html"},
		{name: "svg", file: "logo.svg", data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), class: files.ClassText, typ: "image/svg+xml"},
		{name: "svg by content", file: "logo", data: []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`), class: files.ClassText, typ: "image/svg+xml"},
		{name: "utf-16 text", file: "u.txt", data: utf16LE("héllo wörld"), class: files.ClassText, typ: "text/plain"},
		{name: "elf", file: "a.out", data: elfHeader, class: files.ClassExecutable, typ: "application/octet-stream", format: "ELF"},
		{name: "elf named png", file: "cat.png", data: elfHeader, class: files.ClassExecutable, typ: "application/octet-stream", format: "ELF"},
		{name: "windows exe", file: "setup.exe", data: pe, class: files.ClassExecutable, typ: "application/octet-stream", format: "Windows PE"},
		{name: "text starting with MZ", file: "mz.txt", data: []byte("MZ is a pair of letters.\n"), class: files.ClassText, typ: "text/plain"},
		{name: "mach-o", file: "tool", data: machO, class: files.ClassExecutable, typ: "application/octet-stream", format: "Mach-O"},
		{name: "wasm", file: "m.wasm", data: []byte("\x00asm\x01\x00\x00\x00"), class: files.ClassExecutable, typ: "application/octet-stream", format: "WebAssembly"},
		{name: "zip", file: "a.zip", data: zipBytes(), class: files.ClassBinary, typ: "application/zip"},
		{name: "docx", file: "report.docx", data: zipBytes(), class: files.ClassBinary, typ: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{name: "zip named txt", file: "a.txt", data: zipBytes(), class: files.ClassBinary, typ: "application/zip"},
		{name: "heic", file: "p.heic", data: []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), class: files.ClassBinary, typ: "image/heic"},
		{name: "random binary", file: "x.bin", data: []byte{0x01, 0x02, 0x03, 0x00, 0xff, 0x10}, class: files.ClassBinary, typ: "application/octet-stream"},
		{name: "latin-1 text", file: "l.txt", data: []byte("caf\xe9 cr\xe8me\n"), class: files.ClassBinary, typ: "application/octet-stream", comment: "not UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := files.Sniff(bytes.NewReader(c.data), int64(len(c.data)), c.file)
			if err != nil {
				t.Fatal(err)
			}
			if d.Class != c.class || d.Type != c.typ || d.Width != c.w || d.Height != c.h || d.Format != c.format {
				t.Errorf("Sniff(%s) = %+v, want class %v type %s %dx%d format %q", c.file, d, c.class, c.typ, c.w, c.h, c.format)
			}
		})
	}
}

func TestIsTextualAndRaster(t *testing.T) {
	for _, m := range []string{"text/plain", "text/markdown", "text/csv", "application/json", "text/html", "application/x-sh"} {
		if !files.IsTextual(m) {
			t.Errorf("IsTextual(%s) = false", m)
		}
	}
	for _, m := range []string{"application/pdf", "image/png", "application/zip", "application/octet-stream"} {
		if files.IsTextual(m) {
			t.Errorf("IsTextual(%s) = true", m)
		}
	}
	for _, m := range []string{"image/png", "image/jpeg", "image/gif", "image/webp"} {
		if !files.IsRaster(m) {
			t.Errorf("IsRaster(%s) = false", m)
		}
	}
	if files.IsRaster("image/svg+xml") || files.IsRaster("image/heic") {
		t.Error("svg and heic are not read by the server")
	}
}

func TestSanitizeFilename(t *testing.T) {
	cases := map[string]string{
		"report.pdf":                     "report.pdf",
		"my%20photo%20%C3%A9t%C3%A9.png": "my photo été.png",
		"../../etc/passwd":               "passwd",
		"..%2F..%2Fetc%2Fpasswd":         "passwd",
		`C:\Users\me\secret.txt`:         "secret.txt",
		"a\x00b\x1fc\x7f.txt":            "abc.txt",
		"photo\u202egnp.exe":             "photognp.exe",
		"  spaced  ":                     "spaced",
		"..":                             "file",
		"":                               "file",
		"/":                              "file",
		"100%":                           "100%",
		"dir/":                           "dir",
	}
	for in, want := range cases {
		if got := files.SanitizeFilename(in); got != want {
			t.Errorf("SanitizeFilename(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("é", 200) + ".txt"
	got := files.SanitizeFilename(long)
	if len(got) > 255 || !strings.HasSuffix(got, ".txt") || !strings.HasPrefix(got, "é") {
		t.Errorf("long name: %d bytes %q", len(got), got[len(got)-8:])
	}
	for _, r := range got {
		if r == '\uFFFD' {
			t.Fatal("cut inside a character")
		}
	}
}
