package blob_test

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/lcgo/lcgo/shared/blob"
	"github.com/lcgo/lcgo/shared/blob/blobtest"
	"github.com/lcgo/lcgo/shared/librechat"
)

func TestCheckKey(t *testing.T) {
	valid := []string{
		"a",
		"a/b/c",
		"u-1/f_2/file.name.txt",
		"user/ünïcode 文件",
		"a/b..c/d.",
		"x/" + strings.Repeat("k", blob.MaxSegmentLen),
	}
	for _, k := range valid {
		if err := blob.CheckKey(k); err != nil {
			t.Errorf("CheckKey(%q) = %v", k, err)
		}
	}
	for _, k := range blobtest.InvalidKeys {
		err := blob.CheckKey(k)
		if librechat.KindOf(err) != librechat.KindInvalid {
			t.Errorf("CheckKey(%q) = %v, want kind invalid", k, err)
		}
	}
}

func readAll(r io.Reader) ([]byte, error) {
	var out bytes.Buffer
	_, err := io.Copy(&out, r)
	return out.Bytes(), err
}

func TestExactReader(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		size int64
		ok   bool
	}{
		{"exact", "hello", 5, true},
		{"empty", "", 0, true},
		{"short", "hell", 5, false},
		{"long", "hello!", 5, false},
		{"long from empty", "x", 0, false},
		{"negative", "", -1, false},
	} {
		for _, wrap := range []struct {
			name string
			f    func(io.Reader) io.Reader
		}{
			{"plain", func(r io.Reader) io.Reader { return r }},
			{"one byte", iotest.OneByteReader},
			{"data+EOF", iotest.DataErrReader},
			{"half", iotest.HalfReader},
		} {
			got, err := readAll(blob.ExactReader(wrap.f(strings.NewReader(tc.in)), tc.size))
			if tc.ok {
				if err != nil || string(got) != tc.in {
					t.Errorf("%s/%s: %q, %v; want %q", tc.name, wrap.name, got, err, tc.in)
				}
				continue
			}
			if !errors.Is(err, blob.ErrSize) || librechat.KindOf(err) != librechat.KindInvalid {
				t.Errorf("%s/%s: error %v, want a KindInvalid blob.ErrSize", tc.name, wrap.name, err)
			}
			if tc.size >= 0 && int64(len(got)) >= tc.size && tc.size > 0 {
				t.Errorf("%s/%s: %d bytes delivered for an oversized body, want fewer than %d", tc.name, wrap.name, len(got), tc.size)
			}
		}
	}
	// An error from the reader passes through.
	boom := errors.New("boom")
	if _, err := readAll(blob.ExactReader(iotest.ErrReader(boom), 3)); !errors.Is(err, boom) {
		t.Errorf("error = %v, want boom", err)
	}
	// Reading after the end keeps reporting the end.
	r := blob.ExactReader(strings.NewReader("ab"), 2)
	if b, err := readAll(r); err != nil || string(b) != "ab" {
		t.Fatal(b, err)
	}
	if n, err := r.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Errorf("Read after the end = %d, %v", n, err)
	}
}

func TestContentDisposition(t *testing.T) {
	for _, tc := range []struct {
		name, want string
	}{
		{"", "attachment"},
		{"report.pdf", `attachment; filename="report.pdf"`},
		{"my report 2024.txt", `attachment; filename="my report 2024.txt"`},
		{"résumé.pdf", `attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`},
		{`a"b\c.txt`, `attachment; filename="a_b_c.txt"; filename*=UTF-8''a%22b%5Cc.txt`},
		{"100%.txt", `attachment; filename="100_.txt"; filename*=UTF-8''100%25.txt`},
		{"new\r\nline.txt", `attachment; filename="newline.txt"`},
	} {
		if got := blob.ContentDisposition(tc.name); got != tc.want {
			t.Errorf("ContentDisposition(%q) = %s, want %s", tc.name, got, tc.want)
		}
	}
	// Every name reads back as itself (without control characters).
	for _, name := range []string{"a.txt", "東京 タワー.png", "emoji 😀.gif", `q"uo\te.txt`, "semi;colon,comma=eq.txt", "tab\tand\x7fdel", "bad\xffutf8.txt"} {
		v := blob.ContentDisposition(name)
		disp, params, err := mime.ParseMediaType(v)
		if err != nil {
			t.Errorf("%q: %s does not parse: %v", name, v, err)
			continue
		}
		want := strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, strings.ToValidUTF8(name, "\uFFFD"))
		if disp != "attachment" || params["filename"] != want {
			t.Errorf("%q: %s reads back as %s %q", name, v, disp, params["filename"])
		}
		for _, c := range []byte(v) {
			if c < 0x20 || c >= 0x7f {
				t.Errorf("%q: %q is not plain ASCII", name, v)
				break
			}
		}
	}
}
