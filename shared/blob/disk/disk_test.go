package disk_test

import (
	"testing"

	"github.com/lcgo/lcgo/shared/blob"
	"github.com/lcgo/lcgo/shared/blob/blobtest"
	"github.com/lcgo/lcgo/shared/blob/disk"
)

func newStore(t *testing.T) *disk.Store {
	t.Helper()
	st, err := disk.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return newStore(t) })
}
