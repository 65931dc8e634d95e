package userkeys

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/librechat"
)

type memSettings struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memSettings) Setting(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	if !ok {
		return nil, librechat.E(librechat.KindNotFound, "not found")
	}
	return append([]byte(nil), v...), nil
}

func (s *memSettings) PutSetting(_ context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[key] = append([]byte(nil), value...)
	return nil
}

func (s *memSettings) PutSettingIfAbsent(ctx context.Context, key string, value []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[key]; ok {
		return v, nil
	}
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[key] = value
	return value, nil
}

const testKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func TestPutGetDelete(t *testing.T) {
	ctx := context.Background()
	st := &memSettings{}
	k, err := New(st, testKey)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := k.Put(ctx, "u1", "OpenRouter", "sk-secret-value", &exp); err != nil {
		t.Fatal(err)
	}
	if err := k.Put(ctx, "u1", "anthropic", `{"apiKey":"sk-ant-xyz"}`, nil); err != nil {
		t.Fatal(err)
	}
	if err := k.Put(ctx, "u2", "OpenRouter", "other-user-value", nil); err != nil {
		t.Fatal(err)
	}

	for key, v := range st.m {
		for _, secret := range []string{"sk-secret-value", "sk-ant-xyz", "other-user-value"} {
			if bytes.Contains(v, []byte(secret)) {
				t.Errorf("%s holds plaintext", key)
			}
		}
	}
	got, err := k.Get(ctx, "u1", "OpenRouter")
	if err != nil || got.Value != "sk-secret-value" || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) {
		t.Fatalf("get: %+v %v", got, err)
	}
	if got.Expired(exp.Add(-time.Second)) || !got.Expired(exp) {
		t.Error("Expired")
	}
	if found, e, err := k.Expiry(ctx, "u1", "anthropic"); err != nil || !found || e != nil {
		t.Errorf("expiry: %v %v %v", found, e, err)
	}
	if found, _, err := k.Expiry(ctx, "u1", "google"); err != nil || found {
		t.Errorf("missing expiry: %v %v", found, err)
	}
	if _, err := k.Get(ctx, "u1", "google"); !librechat.IsNotFound(err) {
		t.Errorf("missing get: %v", err)
	}

	// A sealed value moved to another user's slot does not decrypt.
	st.m[settingKey("u2", "OpenRouter")] = st.m[settingKey("u1", "OpenRouter")]
	if _, err := k.Get(ctx, "u2", "OpenRouter"); err == nil || librechat.IsNotFound(err) {
		t.Errorf("swapped ciphertext accepted: %v", err)
	}

	names, _ := k.Names(ctx, "u1")
	if strings.Join(names, ",") != "OpenRouter,anthropic" {
		t.Errorf("names %q", names)
	}
	if err := k.Delete(ctx, "u1", "OpenRouter"); err != nil {
		t.Fatal(err)
	}
	if err := k.Delete(ctx, "u1", "never-stored"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Get(ctx, "u1", "OpenRouter"); !librechat.IsNotFound(err) {
		t.Errorf("deleted key: %v", err)
	}
	if err := k.DeleteAll(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if found, _, _ := k.Expiry(ctx, "u1", "anthropic"); found {
		t.Error("DeleteAll left a key")
	}
	if names, _ := k.Names(ctx, "u1"); len(names) != 0 {
		t.Errorf("names after DeleteAll %q", names)
	}
	if found, _, _ := k.Expiry(ctx, "u2", "OpenRouter"); !found {
		t.Error("DeleteAll touched another user")
	}
}

func TestSealOpen(t *testing.T) {
	aead, err := NewAEAD(testKey)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Seal(aead, []byte("hello"), []byte("ad"))
	b, _ := Seal(aead, []byte("hello"), []byte("ad"))
	if bytes.Equal(a, b) {
		t.Error("nonce reused")
	}
	if p, err := Open(aead, a, []byte("ad")); err != nil || string(p) != "hello" {
		t.Errorf("open %q %v", p, err)
	}
	if _, err := Open(aead, a, []byte("other")); err == nil {
		t.Error("wrong ad accepted")
	}
	if _, err := Open(aead, a[:5], nil); err == nil {
		t.Error("short value accepted")
	}
	for _, bad := range []string{"", "abc", strings.Repeat("g", 64), testKey[:62]} {
		if _, err := New(&memSettings{}, bad); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	k, _ := New(&memSettings{}, testKey)
	if err := k.Put(ctx, "u", "", "v", nil); librechat.KindOf(err) != librechat.KindInvalid {
		t.Errorf("empty name: %v", err)
	}
	if err := k.Put(ctx, "u", "n", "", nil); librechat.KindOf(err) != librechat.KindInvalid {
		t.Errorf("empty value: %v", err)
	}
	if err := k.Put(ctx, "u", strings.Repeat("n", MaxNameLength+1), "v", nil); librechat.KindOf(err) != librechat.KindInvalid {
		t.Errorf("long name: %v", err)
	}
}
