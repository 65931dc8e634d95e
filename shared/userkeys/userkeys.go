// Package userkeys keeps the API keys users supply for endpoints marked
// user_provided. Values are encrypted at rest with AES-256-GCM under
// CREDS_KEY, each with a random nonce and bound to its owner and name, and
// kept in the SettingStore under userkey:<userID>:<name>. A per-user index
// (userkeys:<userID>) lists the names so that all of a user's keys can be
// removed.
package userkeys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/lcgo/lcgo/shared/librechat"
)

// MaxNameLength and MaxValueLength bound what a user may store.
const (
	MaxNameLength  = 256
	MaxValueLength = 64 << 10
)

// Key is a stored user key, decrypted.
type Key struct {
	Name      string
	Value     string     // for multi-field keys a JSON object, e.g. {"apiKey":"..","baseURL":".."}
	ExpiresAt *time.Time // nil: never expires
}

// Expired reports whether the key has expired at now.
func (k *Key) Expired(now time.Time) bool {
	return k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)
}

// Keys reads and writes user keys.
type Keys struct {
	settings librechat.SettingStore
	aead     cipher.AEAD
	mu       sync.Mutex // serializes index updates within this process
}

// New returns Keys storing in settings, encrypting with credsKey (64 hex
// characters).
func New(settings librechat.SettingStore, credsKey string) (*Keys, error) {
	aead, err := NewAEAD(credsKey)
	if err != nil {
		return nil, err
	}
	return &Keys{settings: settings, aead: aead}, nil
}

// NewAEAD builds the AES-256-GCM cipher from a 64-hex-character key.
func NewAEAD(credsKey string) (cipher.AEAD, error) {
	key, err := hex.DecodeString(credsKey)
	if err != nil || len(key) != 32 {
		return nil, errors.New("userkeys: CREDS_KEY must be 64 hexadecimal characters")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plaintext with a fresh random nonce; the result is the
// nonce followed by the ciphertext. ad is authenticated, not stored.
func Seal(aead cipher.AEAD, plaintext, ad []byte) ([]byte, error) {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plaintext, ad), nil
}

// Open reverses Seal.
func Open(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return nil, errors.New("userkeys: sealed value too short")
	}
	return aead.Open(nil, sealed[:n], sealed[n:], ad)
}

// record is what is stored for one key.
type record struct {
	V         int        `json:"v"`
	Sealed    string     `json:"sealed"` // base64 of nonce||ciphertext
	ExpiresAt *time.Time `json:"expiresAt"`
}

func settingKey(userID, name string) string { return "userkey:" + userID + ":" + name }
func indexKey(userID string) string         { return "userkeys:" + userID }

func checkName(name string) error {
	if name == "" || len(name) > MaxNameLength {
		return librechat.E(librechat.KindInvalid, "Invalid key name.")
	}
	return nil
}

// Put stores (or replaces) a user's key.
func (k *Keys) Put(ctx context.Context, userID, name, value string, expiresAt *time.Time) error {
	if err := checkName(name); err != nil {
		return err
	}
	if value == "" || len(value) > MaxValueLength {
		return librechat.E(librechat.KindInvalid, "Invalid key value.")
	}
	sk := settingKey(userID, name)
	sealed, err := Seal(k.aead, []byte(value), []byte(sk))
	if err != nil {
		return librechat.Wrap(librechat.KindOther, "userkeys.Put", err)
	}
	rec := record{V: 1, Sealed: base64.StdEncoding.EncodeToString(sealed)}
	if expiresAt != nil {
		t := expiresAt.UTC()
		rec.ExpiresAt = &t
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return librechat.Wrap(librechat.KindOther, "userkeys.Put", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.settings.PutSetting(ctx, sk, b); err != nil {
		return librechat.Wrap(librechat.KindOther, "userkeys.Put", err)
	}
	return k.updateIndex(ctx, userID, func(names map[string]bool) { names[name] = true })
}

func (k *Keys) load(ctx context.Context, userID, name string) (*record, error) {
	b, err := k.settings.Setting(ctx, settingKey(userID, name))
	if librechat.IsNotFound(err) || (err == nil && len(b) == 0) {
		return nil, librechat.E(librechat.KindNotFound, "User-provided key not found")
	}
	if err != nil {
		return nil, librechat.Wrap(librechat.KindOther, "userkeys.load", err)
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, librechat.Wrap(librechat.KindOther, "userkeys.load", err)
	}
	return &rec, nil
}

// Get returns a user's key, decrypted (KindNotFound when there is none).
// Whether it has expired is the caller's to check.
func (k *Keys) Get(ctx context.Context, userID, name string) (*Key, error) {
	rec, err := k.load(ctx, userID, name)
	if err != nil {
		return nil, err
	}
	sealed, err := base64.StdEncoding.DecodeString(rec.Sealed)
	if err != nil {
		return nil, librechat.Wrap(librechat.KindOther, "userkeys.Get", err)
	}
	plain, err := Open(k.aead, sealed, []byte(settingKey(userID, name)))
	if err != nil {
		return nil, librechat.Wrap(librechat.KindOther, "userkeys.Get", fmt.Errorf("decrypt %s: %w", name, err))
	}
	return &Key{Name: name, Value: string(plain), ExpiresAt: rec.ExpiresAt}, nil
}

// Expiry tells whether a user has a key of that name and when it expires
// (nil: never), without decrypting it.
func (k *Keys) Expiry(ctx context.Context, userID, name string) (found bool, expiresAt *time.Time, err error) {
	rec, err := k.load(ctx, userID, name)
	if librechat.IsNotFound(err) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	return true, rec.ExpiresAt, nil
}

// Delete removes a user's key; removing a missing key is not an error.
func (k *Keys) Delete(ctx context.Context, userID, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.clear(ctx, userID, name); err != nil {
		return err
	}
	return k.updateIndex(ctx, userID, func(names map[string]bool) { delete(names, name) })
}

// DeleteAll removes every key of a user.
func (k *Keys) DeleteAll(ctx context.Context, userID string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	names, err := k.index(ctx, userID)
	if err != nil {
		return err
	}
	for name := range names {
		if err := k.clear(ctx, userID, name); err != nil {
			return err
		}
	}
	return k.updateIndex(ctx, userID, func(names map[string]bool) { clear(names) })
}

// Names lists the names of a user's stored keys.
func (k *Keys) Names(ctx context.Context, userID string) ([]string, error) {
	names, err := k.index(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// clear overwrites a key with an empty value (the store has no delete).
func (k *Keys) clear(ctx context.Context, userID, name string) error {
	sk := settingKey(userID, name)
	if _, err := k.settings.Setting(ctx, sk); librechat.IsNotFound(err) {
		return nil
	}
	if err := k.settings.PutSetting(ctx, sk, []byte{}); err != nil {
		return librechat.Wrap(librechat.KindOther, "userkeys.clear", err)
	}
	return nil
}

func (k *Keys) index(ctx context.Context, userID string) (map[string]bool, error) {
	names := map[string]bool{}
	b, err := k.settings.Setting(ctx, indexKey(userID))
	if librechat.IsNotFound(err) || (err == nil && len(b) == 0) {
		return names, nil
	}
	if err != nil {
		return nil, librechat.Wrap(librechat.KindOther, "userkeys.index", err)
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, librechat.Wrap(librechat.KindOther, "userkeys.index", err)
	}
	for _, n := range list {
		names[n] = true
	}
	return names, nil
}

func (k *Keys) updateIndex(ctx context.Context, userID string, change func(map[string]bool)) error {
	names, err := k.index(ctx, userID)
	if err != nil {
		return err
	}
	change(names)
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	b, _ := json.Marshal(list)
	if err := k.settings.PutSetting(ctx, indexKey(userID), b); err != nil {
		return librechat.Wrap(librechat.KindOther, "userkeys.index", err)
	}
	return nil
}
