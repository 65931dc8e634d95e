// Package open picks the blob store the configuration asks for. It lives
// apart from package blob, which the stores themselves import, so that blob
// stays small and free of the SDK and of os-specific code.
package open

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/lcgo/lcgo/shared/blob"
	"github.com/lcgo/lcgo/shared/blob/disk"
	"github.com/lcgo/lcgo/shared/blob/s3"
	"github.com/lcgo/lcgo/shared/config"
)

// UploadsDir is the directory under DATA_DIR that the local strategy uses.
const UploadsDir = "uploads"

// Open returns the store for cfg.File.FileStrategy (librechat.yaml's
// fileStrategy): "" or "local" keep files on disk under DATA_DIR/uploads,
// "s3" in the bucket cfg.S3 describes (AWS S3, Cloudflare R2 or another
// S3-compatible service), with requests sent through hc (the SDK's default
// client when nil). Any other value is an error naming it.
func Open(ctx context.Context, cfg *config.Config, hc *http.Client) (blob.Store, error) {
	switch strategy := cfg.File.FileStrategy; strategy {
	case "", "local":
		st, err := disk.New(filepath.Join(cfg.DataDir, UploadsDir))
		if err != nil {
			return nil, fmt.Errorf("fileStrategy local: %w", err)
		}
		return st, nil
	case "s3":
		if missing := s3.Missing(cfg.S3); len(missing) > 0 {
			return nil, fmt.Errorf("fileStrategy s3 needs %s to be set", strings.Join(missing, ", "))
		}
		st, err := s3.New(ctx, cfg.S3, hc)
		if err != nil {
			return nil, fmt.Errorf("fileStrategy s3: %w", err)
		}
		return st, nil
	default:
		return nil, fmt.Errorf("fileStrategy %q is not supported: use \"local\" or \"s3\" (S3 also covers Cloudflare R2 and other S3-compatible stores)", strategy)
	}
}
