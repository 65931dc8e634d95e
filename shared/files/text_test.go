package files_test

import (
	"bytes"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/files"
	"github.com/lcgo/lcgo/shared/librechat"
)

func TestExtractText(t *testing.T) {
	cases := []struct {
		name, typ string
		data      []byte
		max       int
		want      string
		cut       bool
	}{
		{"plain", "text/plain", []byte("hello\r\nworld\n"), 100, "hello\nworld\n", false},
		{"bom", "text/markdown", []byte("\xef\xbb\xbf# T\n"), 100, "# T\n", false},
		{"utf-16", "text/plain", utf16LE("héllo"), 100, "héllo", false},
		{"json", "application/json", []byte(`{"a":1}`), 100, `{"a":1}`, false},
		{"csv", "text/csv", []byte("a,b\n1,2\n"), 100, "a,b\n1,2\n", false},
		{"capped", "text/plain", []byte(strings.Repeat("é", 50)), 10, strings.Repeat("é", 10), true},
		{"pdf is not parsed", "application/pdf", []byte("%PDF-1.4 (Hello) Tj"), 100, "", false},
		{"image", "image/png", pngBytes(t, 1, 1), 100, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, cut, err := files.ExtractText(bytes.NewReader(c.data), c.typ, c.max)
			if err != nil || got != c.want || cut != c.cut {
				t.Errorf("ExtractText = %q, %v, %v; want %q, %v", got, cut, err, c.want, c.cut)
			}
		})
	}
}

func multipartBody(t *testing.T, parts func(w *multipart.Writer)) *multipart.Reader {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	parts(w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return multipart.NewReader(&b, w.Boundary())
}

func TestReadForm(t *testing.T) {
	mr := multipartBody(t, func(w *multipart.Writer) {
		w.WriteField("endpoint", "openAI")
		fw, _ := w.CreateFormFile("file", "a%20b.txt")
		fw.Write([]byte("content"))
		w.WriteField("file_id", clientFileID)
	})
	form, err := files.ReadForm(mr, "file", files.FormLimits{MaxFile: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer form.Close()
	if form.Fields["endpoint"] != "openAI" || form.Fields["file_id"] != clientFileID || form.Filename != "a%20b.txt" || form.File.Size() != 7 {
		t.Errorf("form: %+v", form)
	}
	buf := make([]byte, 7)
	form.File.ReadAt(buf, 0)
	if string(buf) != "content" {
		t.Errorf("file bytes %q", buf)
	}

	tooBig := multipartBody(t, func(w *multipart.Writer) {
		fw, _ := w.CreateFormFile("file", "big.bin")
		fw.Write(bytes.Repeat([]byte("x"), 101))
	})
	if _, err := files.ReadForm(tooBig, "file", files.FormLimits{MaxFile: 100, TooLargeMB: "0.0001 MB"}); librechat.KindOf(err) != librechat.KindTooLarge {
		t.Errorf("too large: %v", err)
	}

	two := multipartBody(t, func(w *multipart.Writer) {
		fw, _ := w.CreateFormFile("file", "a.txt")
		fw.Write([]byte("a"))
		fw, _ = w.CreateFormFile("file", "b.txt")
		fw.Write([]byte("b"))
	})
	if _, err := files.ReadForm(two, "file", files.FormLimits{MaxFile: 100}); librechat.KindOf(err) != librechat.KindInvalid {
		t.Errorf("two files: %v", err)
	}

	other := multipartBody(t, func(w *multipart.Writer) {
		fw, _ := w.CreateFormFile("attachment", "a.txt")
		fw.Write([]byte("a"))
	})
	if _, err := files.ReadForm(other, "file", files.FormLimits{MaxFile: 100}); err == nil || !strings.Contains(err.Error(), "attachment") {
		t.Errorf("unexpected field: %v", err)
	}

	none := multipartBody(t, func(w *multipart.Writer) { w.WriteField("endpoint", "x") })
	form, err = files.ReadForm(none, "file", files.FormLimits{MaxFile: 100})
	if err != nil || form.File != nil {
		t.Errorf("no file: %+v %v", form, err)
	}

	// A file larger than the memory limit moves to a temporary file.
	dir := t.TempDir()
	spill := multipartBody(t, func(w *multipart.Writer) {
		fw, _ := w.CreateFormFile("file", "big.txt")
		fw.Write(bytes.Repeat([]byte("y"), 5000))
	})
	form, err = files.ReadForm(spill, "file", files.FormLimits{MaxFile: 10000, MemLimit: 1000, TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(walkKeys(t, dir)); n != 1 {
		t.Errorf("temporary files: %d", n)
	}
	got := make([]byte, 5000)
	if _, err := form.File.ReadAt(got, 0); err != nil || !bytes.Equal(got, bytes.Repeat([]byte("y"), 5000)) {
		t.Errorf("spilled content: %v", err)
	}
	form.Close()
	if n := len(walkKeys(t, dir)); n != 0 {
		t.Errorf("temporary file left: %d", n)
	}
}
