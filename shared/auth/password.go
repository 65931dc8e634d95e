package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2Params are the cost settings for new password hashes.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultArgon2 follows OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane):
// about 20 ms on one core here, and logins in parallel use separate cores.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// Passwords hashes and checks passwords.
type Passwords struct {
	Params Argon2Params
}

// Hash returns an argon2id hash in the PHC string format.
func (p Passwords) Hash(password string) (string, error) {
	prm := p.Params
	if prm.Memory == 0 {
		prm = DefaultArgon2
	}
	salt := make([]byte, prm.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, prm.Time, prm.Memory, prm.Threads, prm.KeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, prm.Memory, prm.Time, prm.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify reports whether password matches hash, which may be an argon2id
// PHC string or a bcrypt hash imported from LibreChat. rehash is true when
// the hash should be replaced by a fresh one with the current parameters.
func (p Passwords) Verify(hash, password string) (ok, rehash bool, err error) {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		return p.verifyArgon(hash, password)
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, false, nil
		}
		if err != nil {
			return false, false, err
		}
		return true, true, nil
	case hash == "":
		return false, false, nil
	}
	return false, false, errors.New("unknown password hash format")
}

func (p Passwords) verifyArgon(hash, password string) (bool, bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 {
		return false, false, errors.New("malformed argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, false, errors.New("unsupported argon2 version")
	}
	var m, t uint32
	var th uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil {
		return false, false, errors.New("malformed argon2id parameters")
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, false, errors.New("malformed argon2id salt")
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, false, errors.New("malformed argon2id key")
	}
	got := argon2.IDKey([]byte(password), salt, t, m, th, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	prm := p.Params
	if prm.Memory == 0 {
		prm = DefaultArgon2
	}
	return true, m != prm.Memory || t != prm.Time || th != prm.Threads, nil
}
