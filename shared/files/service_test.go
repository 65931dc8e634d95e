package files_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/files"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/provider"
)

func TestUploadImage(t *testing.T) {
	e := newEnv(t, config.Object{})
	data := pngBytes(t, 3, 2)
	f, err := e.upload(e.alice, "..%2Fdir%2Fcat%20photo.png", data, files.Upload{
		Fields: fields("conversationId", "c-1", "width", "999", "height", "999"), DeclaredType: "image/png", Image: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.Filename != "cat photo.png" || f.Type != "image/png" || f.Width != 3 || f.Height != 2 || f.Bytes != int64(len(data)) {
		t.Errorf("record: %+v", f)
	}
	if f.TempFileID != clientFileID || f.ID == clientFileID || !files.IsUUID(f.ID) || f.ObjectID == "" {
		t.Errorf("ids: id %s temp %s object %s", f.ID, f.TempFileID, f.ObjectID)
	}
	if f.StorageKey != "files/"+e.alice.ID+"/"+f.ID || strings.Contains(f.StorageKey, "cat") {
		t.Errorf("storage key %s", f.StorageKey)
	}
	if f.Context != files.ContextMessageAttachment || f.ConversationID != "c-1" || f.Source != "local" || f.Text != "" {
		t.Errorf("context %s conversation %s source %s", f.Context, f.ConversationID, f.Source)
	}
	if f.Filepath != "/api/files/images/"+e.alice.ID+"/"+f.ID {
		t.Errorf("filepath %s", f.Filepath)
	}
	rec, rc, _, err := e.svc.Open(context.Background(), e.alice.ID, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) || rec.ID != f.ID {
		t.Error("stored bytes differ")
	}
	if _, _, _, err := e.svc.Open(context.Background(), e.bob.ID, f.ID); !librechat.IsNotFound(err) {
		t.Errorf("bob opens alice's file: %v", err)
	}
}

func TestUploadText(t *testing.T) {
	fc := mustObject(t, "fileConfig:\n  fileTokenLimit: 3\n")
	e := newEnv(t, fc)
	f, err := e.upload(e.alice, "notes.md", []byte("# Heading\nsome words here"), files.Upload{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != "text/markdown" || f.Text != "# Heading\nso" { // 3 tokens = 12 characters
		t.Errorf("type %s text %q", f.Type, f.Text)
	}
	if !strings.HasPrefix(f.Filepath, files.UploadsPath) {
		t.Errorf("filepath %s", f.Filepath)
	}
	pdf, err := e.upload(e.alice, "doc.pdf", []byte("%PDF-1.4\n(Hello) Tj\n"), files.Upload{})
	if err != nil || pdf.Type != "application/pdf" || pdf.Text != "" {
		t.Errorf("pdf: %+v %v", pdf, err)
	}
}

func TestUploadRejections(t *testing.T) {
	fc := mustObject(t, `
fileConfig:
  endpoints:
    openAI:
      fileSizeLimit: 0.001
    anthropic:
      disabled: true
    google:
      supportedMimeTypes: ["^image/"]
`)
	e := newEnv(t, fc)
	cases := []struct {
		name    string
		file    string
		data    []byte
		up      files.Upload
		kind    librechat.Kind
		message string
	}{
		{"no file_id", "a.txt", []byte("x"), files.Upload{Fields: map[string]string{"endpoint": "openAI"}}, librechat.KindInvalid, "No file_id provided"},
		{"bad file_id", "a.txt", []byte("x"), files.Upload{Fields: fields("file_id", "../../x")}, librechat.KindInvalid, "Invalid file_id"},
		{"no endpoint", "a.txt", []byte("x"), files.Upload{Fields: fields("endpoint", "")}, librechat.KindInvalid, "No endpoint provided"},
		{"empty", "a.txt", nil, files.Upload{}, librechat.KindInvalid, "Empty file uploaded"},
		{"too large", "a.txt", bytes.Repeat([]byte("a"), 2000), files.Upload{}, librechat.KindTooLarge, "File size limit of 0 MB exceeded for openAI endpoint"},
		{"disabled", "a.txt", []byte("x"), files.Upload{Fields: fields("endpoint", "anthropic")}, librechat.KindForbidden, "File uploads are disabled for the anthropic endpoint"},
		{"unsupported", "a.txt", []byte("words"), files.Upload{Fields: fields("endpoint", "google")}, librechat.KindUnsupportedType, "Unsupported file type: text/plain"},
		{"elf named png", "cat.png", elfHeader, files.Upload{Fields: fields("endpoint", "bedrock"), DeclaredType: "image/png"}, librechat.KindInvalid, `"cat.png" is an executable (ELF)`},
		{"elf on the images route", "a.bin", elfHeader, files.Upload{Fields: fields("endpoint", "bedrock"), Image: true}, librechat.KindInvalid, "executable"},
		{"script named png", "cat.png", []byte("#!/bin/sh\nrm -rf /\n"), files.Upload{Fields: fields("endpoint", "bedrock")}, librechat.KindInvalid, `"cat.png" is not an image: its content is text (text/plain)`},
		{"text declared image", "cat", []byte("hello"), files.Upload{Fields: fields("endpoint", "bedrock"), DeclaredType: "image/jpeg"}, librechat.KindInvalid, "is not an image"},
		{"pdf on the images route", "a.pdf", []byte("%PDF-1.4\n"), files.Upload{Fields: fields("endpoint", "bedrock"), Image: true}, librechat.KindInvalid, "Only PNG, JPEG, GIF and WebP images are accepted here"},
		{"unknown binary", "x.bin", []byte{1, 2, 3, 0, 4}, files.Upload{Fields: fields("endpoint", "bedrock")}, librechat.KindUnsupportedType, "Unsupported file type: application/octet-stream"},
		{"avatar not an image", "me.png", []byte("text"), files.Upload{Avatar: true}, librechat.KindInvalid, "not an image"},
		{"avatar too large", "me.png", bytes.Repeat([]byte{0}, 3<<20), files.Upload{Avatar: true}, librechat.KindTooLarge, "File size limit of 2 MB exceeded for avatar upload"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := e.upload(e.alice, c.file, c.data, c.up)
			if err == nil {
				t.Fatalf("accepted: %+v", f)
			}
			if librechat.KindOf(err) != c.kind || !strings.Contains(librechat.MessageOf(err), c.message) {
				t.Errorf("err = %v (%v), want %v %q", err, librechat.KindOf(err), c.kind, c.message)
			}
		})
	}
	if e.store.count() != 0 || e.blobCount() != 0 {
		t.Errorf("left behind: %d records, %d blobs", e.store.count(), e.blobCount())
	}
}

func TestUploadLeavesNothingOnFailure(t *testing.T) {
	e := newEnv(t, config.Object{})
	e.store.failPut = errors.New("database is locked")
	if _, err := e.upload(e.alice, "a.txt", []byte("hello"), files.Upload{}); err == nil {
		t.Fatal("no error")
	}
	if e.store.count() != 0 || len(e.allKeys()) != 0 {
		t.Errorf("record failed: %d records, keys %v", e.store.count(), e.allKeys())
	}
	e.store.failPut = nil
	e.blobs.failPut = true
	if _, err := e.upload(e.alice, "a.txt", []byte("hello"), files.Upload{}); err == nil {
		t.Fatal("no error")
	}
	if e.store.count() != 0 || len(e.allKeys()) != 0 {
		t.Errorf("bytes failed: %d records, keys %v", e.store.count(), e.allKeys())
	}
}

func TestUploadFromStream(t *testing.T) {
	e := newEnv(t, mustObject(t, "fileConfig:\n  endpoints:\n    default:\n      fileSizeLimit: 0.0001\n"))
	// A plain reader (not Sized) is spooled and capped.
	r := io.MultiReader(strings.NewReader("abc"), strings.NewReader("def"))
	f, err := e.svc.Upload(context.Background(), e.alice, files.Upload{Fields: fields(), Filename: "a.txt"}, r)
	if err != nil || f.Bytes != 6 || f.Text != "abcdef" {
		t.Fatalf("%+v %v", f, err)
	}
	big := strings.NewReader(strings.Repeat("x", 200))
	if _, err := e.svc.Upload(context.Background(), e.alice, files.Upload{Fields: fields(), Filename: "a.txt"}, big); librechat.KindOf(err) != librechat.KindTooLarge {
		t.Errorf("too large: %v", err)
	}
}

func TestDelete(t *testing.T) {
	e := newEnv(t, config.Object{})
	ctx := context.Background()
	a1, _ := e.upload(e.alice, "a.txt", []byte("one"), files.Upload{})
	a2, _ := e.upload(e.alice, "b.txt", []byte("two"), files.Upload{})
	b1, _ := e.upload(e.bob, "c.txt", []byte("three"), files.Upload{})

	done, err := e.svc.Delete(ctx, e.bob.ID, []string{a1.ID, a2.ID, "missing"})
	if err != nil || len(done) != 0 {
		t.Fatalf("bob deleted %v %v", done, err)
	}
	if e.store.count() != 3 || e.blobCount() != 3 {
		t.Fatalf("after bob: %d records %d blobs", e.store.count(), e.blobCount())
	}
	done, err = e.svc.Delete(ctx, e.alice.ID, []string{a1.ID, a1.ID, b1.ID})
	if err != nil || len(done) != 1 || done[0] != a1.ID {
		t.Fatalf("alice deleted %v %v", done, err)
	}
	if _, err := e.svc.File(ctx, e.alice.ID, a1.ID); !librechat.IsNotFound(err) {
		t.Error("record kept")
	}
	if _, _, err := e.blobs.Get(ctx, a1.StorageKey); !librechat.IsNotFound(err) {
		t.Error("bytes kept")
	}
	if _, err := e.svc.File(ctx, e.bob.ID, b1.ID); err != nil {
		t.Error("bob's file deleted")
	}
}

func TestParts(t *testing.T) {
	e := newEnv(t, config.Object{})
	ctx := context.Background()
	img := pngBytes(t, 2, 2)
	fi, _ := e.upload(e.alice, "cat.png", img, files.Upload{Image: true})
	ft, _ := e.upload(e.alice, "notes.txt", []byte("remember the milk"), files.Upload{})
	fp, _ := e.upload(e.alice, "doc.pdf", []byte("%PDF-1.4\n"), files.Upload{})
	fb, _ := e.upload(e.bob, "secret.txt", []byte("bob's secret"), files.Upload{})
	big := noisyPNG(t, 200, 200) // over this test's 64 KiB image limit
	if len(big) <= 64<<10 {
		t.Fatalf("test image only %d bytes", len(big))
	}
	fbig, err := e.upload(e.alice, "big.png", big, files.Upload{Image: true})
	if err != nil {
		t.Fatal(err)
	}

	list := func(ids ...string) json.RawMessage {
		var b strings.Builder
		b.WriteByte('[')
		for i, id := range ids {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"file_id":"` + id + `","filepath":"/x","type":"image/png"}`)
		}
		b.WriteByte(']')
		return json.RawMessage(b.String())
	}
	parts, err := e.svc.Parts(ctx, e.alice.ID, list(fi.ID, ft.ID, fp.ID, fb.ID, "nope", fi.ID, fbig.ID))
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 {
		t.Fatalf("parts: %+v", parts)
	}
	if parts[0].Type != provider.PartImage || parts[0].MIME != "image/png" || !bytes.Equal(parts[0].Data, img) {
		t.Errorf("image part: %s %s %d bytes", parts[0].Type, parts[0].MIME, len(parts[0].Data))
	}
	if parts[1].Type != provider.PartText || parts[1].Text != "[Attached file: notes.txt]\nremember the milk" {
		t.Errorf("text part: %+v", parts[1])
	}
	if parts[2].Type != provider.PartText || !strings.Contains(parts[2].Text, "big.png omitted") {
		t.Errorf("big image: %+v", parts[2])
	}
	for _, p := range parts {
		if strings.Contains(p.Text, "secret") {
			t.Error("bob's file given to alice's model")
		}
	}
	// Bob sees only his own.
	parts, _ = e.svc.Parts(ctx, e.bob.ID, list(fi.ID, ft.ID, fb.ID))
	if len(parts) != 1 || parts[0].Text != "[Attached file: secret.txt]\nbob's secret" {
		t.Errorf("bob's parts: %+v", parts)
	}
	for _, in := range []string{``, `null`, `{}`, `"x"`, `[1, "a", {"file_id": 3}]`} {
		if p, err := e.svc.Parts(ctx, e.alice.ID, json.RawMessage(in)); err != nil || len(p) != 0 {
			t.Errorf("Parts(%s) = %v, %v", in, p, err)
		}
	}
}
