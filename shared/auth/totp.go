package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/lcgo/lcgo/shared/librechat"
)

// NewTOTPSecret returns a fresh base32 TOTP secret and its otpauth:// URL.
func NewTOTPSecret(issuer, account string) (secret, url string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, SecretSize: 20})
	if err != nil {
		return "", "", err
	}
	return key.Secret(), key.URL(), nil
}

// CheckTOTP accepts a 6-digit code for the current 30-second step or the
// one before or after it.
func CheckTOTP(secret, code string, now time.Time) bool {
	code = strings.TrimSpace(code)
	if secret == "" || len(code) != 6 {
		return false
	}
	ok, err := totp.ValidateCustom(code, secret, now, totp.ValidateOpts{
		Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	return err == nil && ok
}

// NewBackupCodes returns n plain backup codes (8 hex characters each) and
// their stored form.
func NewBackupCodes(n int) ([]string, []librechat.BackupCode, error) {
	plain := make([]string, n)
	stored := make([]librechat.BackupCode, n)
	for i := range plain {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, nil, err
		}
		plain[i] = hex.EncodeToString(b[:])
		stored[i] = librechat.BackupCode{Hash: HashToken(plain[i])}
	}
	return plain, stored, nil
}

// UseBackupCode marks the matching unused code as used and reports whether
// there was one. The caller stores the user afterwards.
func UseBackupCode(u *librechat.User, code string, now time.Time) bool {
	h := HashToken(strings.TrimSpace(strings.ToLower(code)))
	for i := range u.BackupCodes {
		c := &u.BackupCodes[i]
		if !c.Used && subtle.ConstantTimeCompare([]byte(c.Hash), []byte(h)) == 1 {
			t := now.UTC()
			c.Used, c.UsedAt = true, &t
			return true
		}
	}
	return false
}
