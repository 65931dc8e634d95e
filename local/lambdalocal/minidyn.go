package main

import (
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"github.com/truora/minidyn/core"
	"github.com/truora/minidyn/server"
)

// minidyn is minidyn's DynamoDB server with its secondary indexes kept
// consistent.
//
// minidyn (v0.8.2) keeps each index as a map from item key to index key
// (refs) and a sorted list of the index keys (sortedKeys), and a Query
// walks the two side by side. Two writes leave them out of step, after
// which every Query of that index finds nothing:
//
//   - an UpdateItem that gives an item the index's key attributes when it
//     had none (an upsert, say) overwrites the first index key instead of
//     adding one;
//   - a DeleteItem of an item whose index key attributes were removed
//     earlier drops its ref but leaves its stale index key.
//
// refs is right in both cases, so after every write the index keys are
// rebuilt from refs where the two differ. Writes are serialized and no read
// runs between a write and its repair.
type minidyn struct {
	h      http.Handler
	mu     sync.RWMutex
	repair func(full bool) // nil when minidyn's internals are not as expected
}

func newMinidyn(log *slog.Logger) *minidyn {
	srv := server.NewServer()
	m := &minidyn{h: srv}
	repair, err := indexRepair(srv)
	if err != nil {
		log.Warn("minidyn's secondary indexes cannot be repaired; Query on an index may miss items after some writes", "err", err)
		return m
	}
	m.repair = repair
	return m
}

func (m *minidyn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndexByte(op, '.')+1:]
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
		"CreateTable", "UpdateTable", "DeleteTable":
		m.mu.Lock()
		defer m.mu.Unlock()
		m.h.ServeHTTP(w, r)
		if m.repair != nil {
			// A single-item write breaks an index at most once, which
			// changes the count of refs or of index keys; batches and
			// transactions are compared in full.
			m.repair(op == "BatchWriteItem" || op == "TransactWriteItems")
		}
	default:
		m.mu.RLock()
		defer m.mu.RUnlock()
		m.h.ServeHTTP(w, r)
	}
}

// indexRepair returns the function that rebuilds every index's sorted keys
// from its refs where they differ, under minidyn's own lock. It reaches
// into unexported fields, and checks their types first.
func indexRepair(srv *server.Server) (func(full bool), error) {
	sv := reflect.ValueOf(srv).Elem()
	cf := sv.FieldByName("client")
	if !cf.IsValid() || cf.Kind() != reflect.Pointer || cf.IsNil() || cf.Elem().Kind() != reflect.Struct {
		return nil, errors.New("no client field")
	}
	client := cf.Elem()
	muf := client.FieldByName("mu")
	if !muf.IsValid() || muf.Type() != reflect.TypeFor[sync.Mutex]() {
		return nil, errors.New("no mu field")
	}
	tf := client.FieldByName("tables")
	if !tf.IsValid() || tf.Type() != reflect.TypeFor[map[string]*core.Table]() {
		return nil, errors.New("no tables field")
	}
	tableType := reflect.TypeFor[core.Table]()
	indexes, ok := tableType.FieldByName("Indexes")
	if !ok || indexes.Type.Kind() != reflect.Map || indexes.Type.Elem().Kind() != reflect.Pointer {
		return nil, errors.New("no Indexes field")
	}
	st := indexes.Type.Elem().Elem()
	refs, ok1 := st.FieldByName("refs")
	keys, ok2 := st.FieldByName("sortedKeys")
	if !ok1 || !ok2 || refs.Type != reflect.TypeFor[map[string]string]() || keys.Type != reflect.TypeFor[[]string]() {
		return nil, errors.New("the index has no refs map or sortedKeys list")
	}
	mu := (*sync.Mutex)(unsafe.Pointer(muf.UnsafeAddr()))
	tables := (*map[string]*core.Table)(unsafe.Pointer(tf.UnsafeAddr()))
	refsOff, keysOff := refs.Offset, keys.Offset

	return func(full bool) {
		mu.Lock()
		defer mu.Unlock()
		for _, t := range *tables {
			for _, idx := range t.Indexes {
				base := reflect.ValueOf(idx).UnsafePointer()
				r := *(*map[string]string)(unsafe.Add(base, refsOff))
				k := (*[]string)(unsafe.Add(base, keysOff))
				if !full && len(r) == len(*k) {
					continue
				}
				want := make([]string, 0, len(r))
				for _, v := range r {
					want = append(want, v)
				}
				sort.Strings(want)
				if !slices.Equal(want, *k) {
					*k = want
				}
			}
		}
	}, nil
}
