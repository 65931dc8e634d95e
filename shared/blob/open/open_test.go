package open_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/lcgo/lcgo/shared/blob/disk"
	"github.com/lcgo/lcgo/shared/blob/open"
	"github.com/lcgo/lcgo/shared/blob/s3"
	"github.com/lcgo/lcgo/shared/config"
)

func TestLocal(t *testing.T) {
	for _, strategy := range []string{"", "local"} {
		dir := t.TempDir()
		cfg := &config.Config{DataDir: dir}
		cfg.File.FileStrategy = strategy
		st, err := open.Open(context.Background(), cfg, nil)
		if err != nil {
			t.Fatalf("%q: %v", strategy, err)
		}
		d, ok := st.(*disk.Store)
		if !ok {
			t.Fatalf("%q: got %T, want *disk.Store", strategy, st)
		}
		if want := filepath.Join(dir, "uploads"); d.Dir() != want {
			t.Errorf("%q: Dir() = %s, want %s", strategy, d.Dir(), want)
		}
		if err := st.Put(context.Background(), "u/f", strings.NewReader("x"), 1, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "uploads", "u", "f")); err != nil {
			t.Error(err)
		}
	}
}

func TestLocalUnusableDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "uploads"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := open.Open(context.Background(), &config.Config{DataDir: dir}, nil)
	if err == nil || !strings.Contains(err.Error(), "local") {
		t.Errorf("Open over a file named uploads = %v", err)
	}
}

func TestS3(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("b"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	cfg := &config.Config{S3: config.S3{
		Bucket: "b", Region: "us-east-1", AccessKeyID: "id", SecretAccessKey: "secret",
		Endpoint: srv.URL, ForcePathStyle: true,
	}}
	cfg.File.FileStrategy = "s3"
	st, err := open.Open(context.Background(), cfg, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.(*s3.Store); !ok {
		t.Fatalf("got %T, want *s3.Store", st)
	}
	if err := st.Put(context.Background(), "u/f", strings.NewReader("x"), 1, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Get(context.Background(), "u/f"); err != nil {
		t.Fatal(err)
	}
}

func TestS3Missing(t *testing.T) {
	cfg := &config.Config{S3: config.S3{Region: "auto", SecretAccessKey: "s"}}
	cfg.File.FileStrategy = "s3"
	_, err := open.Open(context.Background(), cfg, nil)
	if err == nil {
		t.Fatal("Open without a bucket succeeded")
	}
	for _, name := range []string{"AWS_BUCKET_NAME", "AWS_ACCESS_KEY_ID"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	for _, name := range []string{"AWS_REGION", "AWS_SECRET_ACCESS_KEY"} {
		if strings.Contains(err.Error(), name) {
			t.Errorf("error %q names %s, which is set", err, name)
		}
	}
}

func TestUnknownStrategy(t *testing.T) {
	for _, strategy := range []string{"firebase", "azure_blob", "S3", "Local", " s3"} {
		cfg := &config.Config{DataDir: t.TempDir()}
		cfg.File.FileStrategy = strategy
		_, err := open.Open(context.Background(), cfg, nil)
		if err == nil || !strings.Contains(err.Error(), `"`+strategy+`"`) {
			t.Errorf("Open(%q) = %v, want an error naming the value", strategy, err)
		}
	}
}
