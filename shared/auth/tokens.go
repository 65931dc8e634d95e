package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lcgo/lcgo/shared/librechat"
)

// AccessClaims are the claims of an access token, as the Node server signs
// them: the user id, username, provider and email.
type AccessClaims struct {
	ID       string `json:"id"`
	Username string `json:"username,omitempty"`
	Provider string `json:"provider,omitempty"`
	Email    string `json:"email,omitempty"`
	jwt.RegisteredClaims
}

// RefreshClaims tie a refresh token to a session (a token family). Nonce
// makes every rotated token distinct even within one second.
type RefreshClaims struct {
	ID        string `json:"id"`
	SessionID string `json:"sessionId"`
	Nonce     string `json:"n"`
	jwt.RegisteredClaims
}

// TempClaims are the claims of the short-lived token between the password
// step and the two-factor step of a login.
type TempClaims struct {
	UserID  string `json:"userId"`
	Purpose string `json:"purpose"`
	jwt.RegisteredClaims
}

const purpose2FA = "2fa"

// Signer signs and verifies the server's JWTs: HS256 only, expiry required,
// access and refresh tokens under distinct secrets.
type Signer struct {
	access  []byte
	refresh []byte
	clock   librechat.Clock
}

// NewSigner returns a Signer. It refuses empty or equal secrets.
func NewSigner(accessSecret, refreshSecret string, clock librechat.Clock) (*Signer, error) {
	if accessSecret == "" || refreshSecret == "" {
		return nil, errors.New("auth: JWT_SECRET and JWT_REFRESH_SECRET must both be set")
	}
	if accessSecret == refreshSecret {
		return nil, errors.New("auth: JWT_SECRET and JWT_REFRESH_SECRET must differ")
	}
	return &Signer{access: []byte(accessSecret), refresh: []byte(refreshSecret), clock: clock}, nil
}

func (s *Signer) sign(secret []byte, claims jwt.Claims) (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}

func (s *Signer) parse(secret []byte, tok string, claims jwt.Claims) error {
	_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.clock.Now),
	)
	return err
}

func (s *Signer) registered(ttl time.Duration) jwt.RegisteredClaims {
	now := s.clock.Now()
	return jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl))}
}

// Access signs an access token for u valid for ttl.
func (s *Signer) Access(u *librechat.User, ttl time.Duration) (string, error) {
	return s.sign(s.access, AccessClaims{ID: u.ID, Username: u.Username, Provider: u.Provider, Email: u.Email, RegisteredClaims: s.registered(ttl)})
}

// VerifyAccess checks an access token and returns its claims.
func (s *Signer) VerifyAccess(tok string) (*AccessClaims, error) {
	var c AccessClaims
	if err := s.parse(s.access, tok, &c); err != nil {
		return nil, err
	}
	if c.ID == "" {
		return nil, errors.New("token has no user id")
	}
	return &c, nil
}

// Refresh signs a refresh token for a session that ends at expires.
func (s *Signer) Refresh(userID, sessionID, nonce string, expires time.Time) (string, error) {
	rc := jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(s.clock.Now()), ExpiresAt: jwt.NewNumericDate(expires)}
	return s.sign(s.refresh, RefreshClaims{ID: userID, SessionID: sessionID, Nonce: nonce, RegisteredClaims: rc})
}

// VerifyRefresh checks a refresh token's signature and expiry.
func (s *Signer) VerifyRefresh(tok string) (*RefreshClaims, error) {
	var c RefreshClaims
	if err := s.parse(s.refresh, tok, &c); err != nil {
		return nil, err
	}
	if c.ID == "" || c.SessionID == "" {
		return nil, errors.New("refresh token lacks its session")
	}
	return &c, nil
}

// Temp signs the two-factor step token for a user (5 minutes).
func (s *Signer) Temp(userID string) (string, error) {
	return s.sign(s.access, TempClaims{UserID: userID, Purpose: purpose2FA, RegisteredClaims: s.registered(5 * time.Minute)})
}

// VerifyTemp checks a two-factor step token and returns the user id.
func (s *Signer) VerifyTemp(tok string) (string, error) {
	var c TempClaims
	if err := s.parse(s.access, tok, &c); err != nil {
		return "", err
	}
	if c.Purpose != purpose2FA || c.UserID == "" {
		return "", errors.New("not a two-factor token")
	}
	return c.UserID, nil
}

// HashToken returns the hex SHA-256 of a token: refresh and one-time tokens
// are stored only as these hashes.
func HashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}
