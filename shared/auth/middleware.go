package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
)

type ctxKey int

const userKey ctxKey = 0

// UserFrom returns the authenticated user of a request, if any.
func UserFrom(ctx context.Context) (*librechat.User, bool) {
	u, ok := ctx.Value(userKey).(*librechat.User)
	return u, ok && u != nil
}

// WithUser returns ctx carrying u (for tests and platform glue).
func WithUser(ctx context.Context, u *librechat.User) context.Context {
	return context.WithValue(ctx, userKey, u)
}

// Authenticator checks Bearer access tokens and loads their user.
type Authenticator struct {
	Signer *Signer
	Users  librechat.UserStore
}

// reason mirrors passport-jwt's messages, which the Node server sends as
// the 401 body.
func (a *Authenticator) authenticate(r *http.Request) (*librechat.User, string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, "No auth token", nil
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return nil, "No auth token", nil
	}
	claims, err := a.Signer.VerifyAccess(strings.TrimSpace(tok))
	if err != nil {
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			return nil, "jwt expired", nil
		case errors.Is(err, jwt.ErrTokenMalformed):
			return nil, "jwt malformed", nil
		case errors.Is(err, jwt.ErrTokenSignatureInvalid):
			return nil, "invalid signature", nil
		}
		return nil, "Unauthorized", nil
	}
	u, err := a.Users.UserByID(r.Context(), claims.ID)
	if err != nil {
		if librechat.IsNotFound(err) {
			return nil, "Unauthorized", nil
		}
		return nil, "", err
	}
	if u.Disabled {
		return nil, "Unauthorized", nil
	}
	return u, "", nil
}

// Require answers 401 {"message": reason} unless the request carries a valid
// access token of an existing, enabled user.
func (a *Authenticator) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, reason, err := a.authenticate(r)
		if err != nil {
			httpx.Error(w, r, err)
			return
		}
		if u == nil {
			httpx.JSON(w, http.StatusUnauthorized, map[string]string{"message": reason})
			return
		}
		next.ServeHTTP(w, r.WithContext(WithUser(r.Context(), u)))
	})
}

// Optional attaches the user when a valid token is present and lets the
// request through either way.
func (a *Authenticator) Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _, err := a.authenticate(r)
		if err == nil && u != nil {
			r = r.WithContext(WithUser(r.Context(), u))
		}
		next.ServeHTTP(w, r)
	})
}

// RequireFunc is Require for a HandlerFunc.
func (a *Authenticator) RequireFunc(f http.HandlerFunc) http.Handler { return a.Require(f) }

// FromApp builds the Signer and Authenticator from the app's configuration.
func FromApp(a *app.App) (*Signer, *Authenticator, error) {
	s, err := NewSigner(a.Config.Auth.JWTSecret, a.Config.Auth.JWTRefreshSecret, a.Clock)
	if err != nil {
		return nil, nil, err
	}
	return s, &Authenticator{Signer: s, Users: a.Store}, nil
}
