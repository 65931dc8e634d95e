// Package auth is the auth area: /api/auth/* (register, login, refresh,
// logout, password reset, two-factor) and /api/user*.
package auth

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/lcgo/lcgo/shared/app"
	authn "github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/mail"
	"github.com/lcgo/lcgo/shared/userkeys"
)

// Messages the client or its users see, as the Node server words them.
const (
	msgRegistered      = "Please check your email to verify your email address."
	msgNoEmail         = "Email does not exist."
	msgBadPassword     = "Incorrect password."
	msgUnverified      = "Email not verified."
	msgBanned          = "Your account has been disabled. Please contact the administrator."
	msgLogout          = "Logout successful"
	msgResetRequested  = "If an account with that email exists, a password reset link has been sent to it."
	msgResetDone       = "Password reset was successful"
	msgResetInvalid    = "Invalid or expired password reset token"
	msgNoRefreshCookie = "Refresh token not provided"
)

const (
	cookieRefresh  = "refreshToken"
	cookieProvider = "token_provider"
)

// Handler serves the auth area.
type Handler struct {
	app       *app.App
	cfg       config.Auth
	signer    *authn.Signer
	authn     *authn.Authenticator
	passwords authn.Passwords
	secrets   cipher.AEAD // seals TOTP secrets at rest
	// DuplicateDelay is how long a registration with a taken email waits
	// before answering like a successful one (so timing does not reveal it).
	DuplicateDelay time.Duration
	mux            *http.ServeMux
}

// New builds the auth area.
func New(a *app.App) (http.Handler, error) {
	h, err := NewHandler(a)
	if err != nil {
		return nil, err
	}
	return httpx.Wrap(h), nil
}

// NewHandler builds the area without the shared middleware, for tests that
// tune it.
func NewHandler(a *app.App) (*Handler, error) {
	signer, au, err := authn.FromApp(a)
	if err != nil {
		return nil, err
	}
	aead, err := userkeys.NewAEAD(a.Config.CredsKey)
	if err != nil {
		return nil, err
	}
	h := &Handler{app: a, cfg: a.Config.Auth, signer: signer, authn: au, secrets: aead, DuplicateDelay: time.Second}
	m := http.NewServeMux()
	m.HandleFunc("POST /api/auth/login", h.login)
	m.HandleFunc("POST /api/auth/register", h.register)
	m.HandleFunc("POST /api/auth/refresh", h.refresh)
	m.Handle("POST /api/auth/logout", au.RequireFunc(h.logout))
	m.HandleFunc("POST /api/auth/requestPasswordReset", h.requestPasswordReset)
	m.HandleFunc("POST /api/auth/resetPassword", h.resetPassword)
	m.HandleFunc("POST /api/auth/2fa/verify-temp", h.verifyTemp)
	m.Handle("POST /api/auth/2fa/enable", au.RequireFunc(h.enable2FA))
	m.Handle("POST /api/auth/2fa/verify", au.RequireFunc(h.verify2FA))
	m.Handle("POST /api/auth/2fa/confirm", au.RequireFunc(h.confirm2FA))
	m.Handle("POST /api/auth/2fa/disable", au.RequireFunc(h.disable2FA))
	m.Handle("POST /api/auth/2fa/backup/regenerate", au.RequireFunc(h.regenerateBackupCodes))
	m.Handle("GET /api/auth/graph-token", au.RequireFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.Fail(w, http.StatusForbidden, "SharePoint is not enabled")
	}))
	m.Handle("GET /api/user", au.RequireFunc(h.getUser))
	m.HandleFunc("POST /api/user/verify", h.verifyEmail)
	m.HandleFunc("POST /api/user/verify/resend", h.resendVerification)
	m.HandleFunc("/", httpx.NotFound)
	h.mux = m
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// decode reads a JSON body into dst, answering the 4xx itself when it
// cannot.
func decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	if err := httpx.DecodeJSON(r, dst); err != nil {
		httpx.Error(w, r, err)
		return false
	}
	return true
}

// message writes {"message": msg} — the auth routes' error shape — with
// "error" carrying the same text.
func message(w http.ResponseWriter, status int, msg string) { httpx.Fail(w, status, msg) }

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limited counts one attempt and answers 429 when over the limit.
func (h *Handler) limited(w http.ResponseWriter, r *http.Request, key string, max int, window time.Duration, what string) bool {
	if max <= 0 {
		return false
	}
	ok, retry, err := h.app.Limiter.Hit(r.Context(), key, max, window)
	if err != nil {
		h.app.Log.WarnContext(r.Context(), "rate limiter unavailable", "err", err)
		return false
	}
	if ok {
		return false
	}
	mins := int(math.Ceil(retry.Minutes()))
	if mins < 1 {
		mins = 1
	}
	w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(retry.Seconds()))))
	message(w, http.StatusTooManyRequests, fmt.Sprintf("Too many %s, please try again after %d minutes.", what, mins))
	return true
}

func normalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// ---- login -----------------------------------------------------------------

type loginBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if h.limited(w, r, "login:"+clientIP(r), h.cfg.LoginMax, h.cfg.LoginWindow, "login attempts") {
		return
	}
	var body loginBody
	if !decode(w, r, &body) {
		return
	}
	if !h.cfg.AllowEmailLogin {
		message(w, http.StatusForbidden, "Email login is not allowed.")
		return
	}
	var is issues
	checkEmail(&is, strings.TrimSpace(body.Email))
	checkPassword(&is, "password", body.Password, 8)
	if len(is) > 0 {
		message(w, http.StatusNotFound, is.String())
		return
	}
	ctx := r.Context()
	u, err := h.app.Store.UserByEmail(ctx, normalizeEmail(body.Email))
	if librechat.IsNotFound(err) {
		message(w, http.StatusNotFound, msgNoEmail)
		return
	}
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	ok, rehash, err := h.passwords.Verify(u.PasswordHash, body.Password)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	if !ok {
		message(w, http.StatusNotFound, msgBadPassword)
		return
	}
	if !u.EmailVerified && !h.cfg.AllowUnverifiedEmailLogin {
		message(w, http.StatusUnprocessableEntity, msgUnverified)
		return
	}
	if u.Disabled {
		message(w, http.StatusForbidden, msgBanned)
		return
	}
	if rehash {
		if hash, err := h.passwords.Hash(body.Password); err == nil {
			u.PasswordHash, u.UpdatedAt = hash, h.app.Clock.Now()
			if err := h.app.Store.UpdateUser(ctx, u); err != nil {
				h.app.Log.WarnContext(ctx, "re-hash password", "err", err, "user", u.ID)
			}
		}
	}
	if u.TwoFactorEnabled {
		tmp, err := h.signer.Temp(u.ID)
		if err != nil {
			httpx.Error(w, r, err)
			return
		}
		httpx.JSON(w, http.StatusOK, map[string]any{"twoFAPending": true, "tempToken": tmp})
		return
	}
	h.startSession(w, r, u)
}

// startSession opens a new refresh-token family for u, sets the cookies and
// answers {token, user}.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, u *librechat.User) {
	ctx := r.Context()
	now := h.app.Clock.Now()
	s := &librechat.Session{ID: h.app.IDs.ObjectID(), UserID: u.ID, ExpiresAt: now.Add(h.cfg.RefreshExpiry), CreatedAt: now, RotatedAt: now}
	refresh, err := h.signer.Refresh(u.ID, s.ID, h.app.IDs.UUID(), s.ExpiresAt)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	s.CurrentHash = authn.HashToken(refresh)
	if err := h.app.Store.CreateSession(ctx, s); err != nil {
		httpx.Error(w, r, err)
		return
	}
	h.answerWithTokens(w, r, u, refresh, s.ExpiresAt, shapeLogin)
}

func (h *Handler) answerWithTokens(w http.ResponseWriter, r *http.Request, u *librechat.User, refresh string, expires time.Time, shape userShape) {
	access, err := h.signer.Access(u, h.cfg.SessionExpiry)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	if refresh != "" {
		h.setCookie(w, r, cookieRefresh, refresh, expires)
		h.setCookie(w, r, cookieProvider, "librechat", expires)
	}
	httpx.JSON(w, http.StatusOK, struct {
		Token string `json:"token"`
		User  any    `json:"user"`
	}{access, sanitize(u, shape)})
}

func (h *Handler) secure(r *http.Request) bool {
	if h.cfg.CookieSecure != nil {
		return *h.cfg.CookieSecure
	}
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", Expires: expires.UTC(),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: h.secure(r),
	})
}

func clearCookies(w http.ResponseWriter) {
	for _, name := range []string{cookieRefresh, "openid_access_token", "openid_id_token", "openid_user_id", cookieProvider} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", Expires: time.Unix(0, 0).UTC()})
	}
}

// ---- refresh ---------------------------------------------------------------

func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(cookieRefresh)
	if err != nil || c.Value == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(msgNoRefreshCookie))
		return
	}
	claims, err := h.signer.VerifyRefresh(c.Value)
	if err != nil {
		httpx.Text(w, http.StatusForbidden, "Invalid refresh token")
		return
	}
	ctx := r.Context()
	s, err := h.app.Store.SessionByID(ctx, claims.SessionID)
	if librechat.IsNotFound(err) {
		if r.URL.Query().Has("retry") {
			httpx.Text(w, http.StatusForbidden, "No session found")
			return
		}
		httpx.Text(w, http.StatusUnauthorized, "Refresh token expired or not found for this user")
		return
	}
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	now := h.app.Clock.Now()
	if s.UserID != claims.ID || !now.Before(s.ExpiresAt) {
		httpx.Text(w, http.StatusUnauthorized, "Refresh token expired or not found for this user")
		return
	}
	u, err := h.app.Store.UserByID(ctx, s.UserID)
	if librechat.IsNotFound(err) || (err == nil && u.Disabled) {
		_ = h.app.Store.DeleteSession(ctx, s.ID)
		clearCookies(w)
		httpx.Text(w, http.StatusUnauthorized, "User not found")
		return
	}
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	next, err := h.rotate(ctx, s, authn.HashToken(c.Value), now)
	if errors.Is(err, errReuse) {
		h.app.Log.WarnContext(ctx, "refresh token reuse: session revoked", "user", s.UserID, "session", s.ID)
		clearCookies(w)
		httpx.Text(w, http.StatusUnauthorized, "Refresh token expired or not found for this user")
		return
	}
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	h.answerWithTokens(w, r, u, next, s.ExpiresAt, shapeRefresh)
}

var errReuse = errors.New("refresh token reused")

// rotate replaces the session's current token with a new one when
// presented is the current token. The token it replaced stays good for a
// short grace window, for tabs that refreshed at the same moment: they get an
// access token but no new refresh token (""), so the cookie the browser keeps
// is the one the rotation issued. Any other token is a reuse: the whole
// family is revoked.
func (h *Handler) rotate(ctx context.Context, s *librechat.Session, presented string, now time.Time) (string, error) {
	for attempt := 0; attempt < 4; attempt++ {
		if s.PreviousHash != "" && presented == s.PreviousHash && now.Sub(s.RotatedAt) <= h.cfg.RefreshGrace {
			return "", nil
		}
		if presented != s.CurrentHash {
			if err := h.app.Store.DeleteSession(ctx, s.ID); err != nil && !librechat.IsNotFound(err) {
				return "", err
			}
			return "", errReuse
		}
		next, err := h.signer.Refresh(s.UserID, s.ID, h.app.IDs.UUID(), s.ExpiresAt)
		if err != nil {
			return "", err
		}
		err = h.app.Store.RotateSession(ctx, s.ID, s.CurrentHash, authn.HashToken(next), now)
		if err == nil {
			return next, nil
		}
		if !librechat.IsConflict(err) {
			if librechat.IsNotFound(err) {
				return "", errReuse
			}
			return "", err
		}
		// Another request rotated first: look again.
		if s, err = h.app.Store.SessionByID(ctx, s.ID); err != nil {
			if librechat.IsNotFound(err) {
				return "", errReuse
			}
			return "", err
		}
	}
	return "", librechat.E(librechat.KindConflict, "Too many concurrent refreshes")
}

// ---- logout ----------------------------------------------------------------

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieRefresh); err == nil && c.Value != "" {
		if claims, err := h.signer.VerifyRefresh(c.Value); err == nil {
			u, _ := authn.UserFrom(r.Context())
			if s, err := h.app.Store.SessionByID(r.Context(), claims.SessionID); err == nil && s.UserID == u.ID {
				if err := h.app.Store.DeleteSession(r.Context(), s.ID); err != nil {
					httpx.Error(w, r, err)
					return
				}
			}
		}
	}
	clearCookies(w)
	httpx.JSON(w, http.StatusOK, map[string]string{"message": msgLogout})
}

// ---- register --------------------------------------------------------------

type registerBody struct {
	Name            string `json:"name"`
	Email           string `json:"email"`
	Username        string `json:"username"`
	Password        string `json:"password"`
	ConfirmPassword string `json:"confirm_password"`
}

func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	if h.limited(w, r, "register:"+clientIP(r), h.cfg.RegisterMax, h.cfg.RegisterWindow, "accounts created") {
		return
	}
	var body registerBody
	if !decode(w, r, &body) {
		return
	}
	if !h.cfg.AllowRegistration {
		message(w, http.StatusForbidden, "Registration is not allowed.")
		return
	}
	var is issues
	checkLength(&is, "name", body.Name, 3, 80)
	checkUsername(&is, body.Username)
	checkEmail(&is, strings.TrimSpace(body.Email))
	h.checkNewPassword(&is, body.Password, body.ConfirmPassword, true)
	if len(is) > 0 {
		message(w, http.StatusNotFound, is.String())
		return
	}
	email := normalizeEmail(body.Email)
	if !h.domainAllowed(email) {
		message(w, http.StatusForbidden, "The email address provided cannot be used. Please use a different email address.")
		return
	}
	ctx := r.Context()
	if _, err := h.app.Store.UserByEmail(ctx, email); err == nil {
		h.answerDuplicate(w, r)
		return
	} else if !librechat.IsNotFound(err) {
		httpx.Error(w, r, err)
		return
	}
	hash, err := h.passwords.Hash(body.Password)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	n, err := h.app.Store.CountUsers(ctx)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	role := librechat.RoleUser
	if n == 0 {
		role = librechat.RoleAdmin
	}
	now := h.app.Clock.Now()
	u := &librechat.User{
		ID: h.app.IDs.ObjectID(), Name: strings.TrimSpace(body.Name), Username: body.Username, Email: email,
		EmailVerified: !h.cfg.EmailEnabled, Provider: librechat.ProviderLocal, Role: role,
		PasswordHash: hash, PersonalizationID: h.app.IDs.ObjectID(), Memories: true, Plugins: []string{},
		CreatedAt: now, UpdatedAt: now,
	}
	if err := h.app.Store.CreateUser(ctx, u); librechat.IsConflict(err) {
		h.answerDuplicate(w, r)
		return
	} else if err != nil {
		httpx.Error(w, r, err)
		return
	}
	if h.cfg.EmailEnabled {
		if err := h.sendVerification(ctx, u); err != nil {
			h.app.Log.WarnContext(ctx, "send verification email", "err", err, "user", u.ID)
		}
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"message": msgRegistered})
}

// checkNewPassword checks a chosen password against MIN_PASSWORD_LENGTH
// and its confirmation (whose own length is checked too when checkConfirm).
func (h *Handler) checkNewPassword(is *issues, password, confirm string, checkConfirm bool) {
	minLen := h.cfg.MinPasswordLength
	if minLen <= 0 {
		minLen = 8
	}
	checkPassword(is, "password", password, minLen)
	if checkConfirm {
		checkPassword(is, "confirm_password", confirm, minLen)
	}
	if password != confirm {
		*is = append(*is, ": The passwords did not match")
	}
}

func (h *Handler) answerDuplicate(w http.ResponseWriter, r *http.Request) {
	if h.DuplicateDelay > 0 {
		t := time.NewTimer(h.DuplicateDelay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"message": msgRegistered})
}

func (h *Handler) domainAllowed(email string) bool {
	allowed := h.app.Config.File.Registration.AllowedDomains
	if len(allowed) == 0 {
		return true
	}
	domain := email[strings.LastIndex(email, "@")+1:]
	for _, d := range allowed {
		if strings.EqualFold(strings.TrimSpace(d), domain) {
			return true
		}
	}
	return false
}

// ---- user ------------------------------------------------------------------

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) {
	u, _ := authn.UserFrom(r.Context())
	httpx.JSON(w, http.StatusOK, sanitize(u, shapeGetUser))
}

// ---- one-time tokens: password reset and email verification ----------------

func (h *Handler) issueToken(ctx context.Context, u *librechat.User, purpose string, ttl time.Duration) (string, error) {
	tok, err := randomToken()
	if err != nil {
		return "", err
	}
	now := h.app.Clock.Now()
	t := &librechat.Token{UserID: u.ID, Purpose: purpose, Hash: authn.HashToken(tok), ExpiresAt: now.Add(ttl), CreatedAt: now}
	if err := h.app.Store.PutToken(ctx, t); err != nil {
		return "", err
	}
	return tok, nil
}

// takeToken consumes the user's token of that purpose and reports whether
// tok matched it and was still valid. A wrong guess also uses up the token.
func (h *Handler) takeToken(ctx context.Context, userID, purpose, tok string) (bool, error) {
	t, err := h.app.Store.TakeToken(ctx, userID, purpose)
	if librechat.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return t.Hash == authn.HashToken(tok) && h.app.Clock.Now().Before(t.ExpiresAt), nil
}

func (h *Handler) clientURL(path string) string {
	base := strings.TrimRight(h.app.Config.DomainClient, "/")
	if base == "" {
		base = strings.TrimRight(h.app.Config.DomainServer, "/")
	}
	return base + path
}

type emailBody struct {
	Email string `json:"email"`
	Token string `json:"token"`
}

func (h *Handler) requestPasswordReset(w http.ResponseWriter, r *http.Request) {
	if h.limited(w, r, "reset:"+clientIP(r), h.cfg.LoginMax, h.cfg.LoginWindow, "password reset requests") {
		return
	}
	var body emailBody
	if !decode(w, r, &body) {
		return
	}
	if !h.cfg.AllowPasswordReset {
		message(w, http.StatusForbidden, "Password reset is not allowed.")
		return
	}
	ctx := r.Context()
	u, err := h.app.Store.UserByEmail(ctx, normalizeEmail(body.Email))
	if err != nil && !librechat.IsNotFound(err) {
		httpx.Error(w, r, err)
		return
	}
	if err == nil && !u.Disabled {
		tok, err := h.issueToken(ctx, u, librechat.TokenPasswordReset, 15*time.Minute)
		if err != nil {
			httpx.Error(w, r, err)
			return
		}
		link := h.clientURL("/reset-password?token=" + tok + "&userId=" + u.ID)
		if err := h.app.Mailer.Send(ctx, mail.Message{To: u.Email, Subject: "Password Reset Request", Link: link,
			Body: "Use this link within 15 minutes to choose a new password: " + link}); err != nil {
			h.app.Log.WarnContext(ctx, "send password reset email", "err", err)
		}
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"message": msgResetRequested})
}

type resetBody struct {
	UserID          string `json:"userId"`
	Token           string `json:"token"`
	Password        string `json:"password"`
	ConfirmPassword string `json:"confirm_password"`
}

func (h *Handler) resetPassword(w http.ResponseWriter, r *http.Request) {
	if h.limited(w, r, "reset:"+clientIP(r), h.cfg.LoginMax, h.cfg.LoginWindow, "password reset requests") {
		return
	}
	var body resetBody
	if !decode(w, r, &body) {
		return
	}
	if !h.cfg.AllowPasswordReset {
		message(w, http.StatusForbidden, "Password reset is not allowed.")
		return
	}
	var is issues
	h.checkNewPassword(&is, body.Password, body.ConfirmPassword, false)
	if len(is) > 0 {
		message(w, http.StatusBadRequest, is.String())
		return
	}
	if body.UserID == "" || body.Token == "" {
		message(w, http.StatusBadRequest, msgResetInvalid)
		return
	}
	ctx := r.Context()
	ok, err := h.takeToken(ctx, body.UserID, librechat.TokenPasswordReset, body.Token)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	if !ok {
		message(w, http.StatusBadRequest, msgResetInvalid)
		return
	}
	u, err := h.app.Store.UserByID(ctx, body.UserID)
	if err != nil {
		if librechat.IsNotFound(err) {
			message(w, http.StatusBadRequest, msgResetInvalid)
			return
		}
		httpx.Error(w, r, err)
		return
	}
	hash, err := h.passwords.Hash(body.Password)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	u.PasswordHash, u.UpdatedAt = hash, h.app.Clock.Now()
	if err := h.app.Store.UpdateUser(ctx, u); err != nil {
		httpx.Error(w, r, err)
		return
	}
	if err := h.app.Store.DeleteUserSessions(ctx, u.ID); err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"message": msgResetDone})
}

func (h *Handler) sendVerification(ctx context.Context, u *librechat.User) error {
	tok, err := h.issueToken(ctx, u, librechat.TokenVerifyEmail, 24*time.Hour)
	if err != nil {
		return err
	}
	link := h.clientURL("/verify?token=" + tok + "&email=" + u.Email)
	return h.app.Mailer.Send(ctx, mail.Message{To: u.Email, Subject: "Verify your email", Link: link,
		Body: "Confirm your email address: " + link})
}

func (h *Handler) verifyEmail(w http.ResponseWriter, r *http.Request) {
	var body emailBody
	if !decode(w, r, &body) {
		return
	}
	ctx := r.Context()
	u, err := h.app.Store.UserByEmail(ctx, normalizeEmail(body.Email))
	if err != nil && !librechat.IsNotFound(err) {
		httpx.Error(w, r, err)
		return
	}
	if err == nil && u.EmailVerified {
		httpx.JSON(w, http.StatusOK, map[string]string{"message": "Email already verified", "status": "success"})
		return
	}
	ok := false
	if err == nil && body.Token != "" {
		if ok, err = h.takeToken(ctx, u.ID, librechat.TokenVerifyEmail, body.Token); err != nil {
			httpx.Error(w, r, err)
			return
		}
	}
	if !ok {
		message(w, http.StatusBadRequest, "Invalid or expired email verification token")
		return
	}
	u.EmailVerified, u.UpdatedAt = true, h.app.Clock.Now()
	if err := h.app.Store.UpdateUser(ctx, u); err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"message": "Email verification was successful", "status": "success"})
}

func (h *Handler) resendVerification(w http.ResponseWriter, r *http.Request) {
	if h.limited(w, r, "verify:"+clientIP(r), h.cfg.LoginMax, h.cfg.LoginWindow, "verification requests") {
		return
	}
	var body emailBody
	if !decode(w, r, &body) {
		return
	}
	ctx := r.Context()
	u, err := h.app.Store.UserByEmail(ctx, normalizeEmail(body.Email))
	if err != nil && !librechat.IsNotFound(err) {
		httpx.Error(w, r, err)
		return
	}
	if err == nil && !u.EmailVerified && h.cfg.EmailEnabled {
		if err := h.sendVerification(ctx, u); err != nil {
			h.app.Log.WarnContext(ctx, "send verification email", "err", err)
		}
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"message": "If the email is registered and not yet verified, a verification link has been sent."})
}
