package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"

	authn "github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/userkeys"
)

func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

type codeBody struct {
	Token      string `json:"token"`
	BackupCode string `json:"backupCode"`
	TempToken  string `json:"tempToken"`
}

// currentUser reloads the authenticated user so that changes are made to
// the stored copy.
func (h *Handler) currentUser(w http.ResponseWriter, r *http.Request) (*librechat.User, bool) {
	u, _ := authn.UserFrom(r.Context())
	fresh, err := h.app.Store.UserByID(r.Context(), u.ID)
	if err != nil {
		httpx.Error(w, r, err)
		return nil, false
	}
	return fresh, true
}

func (h *Handler) save(w http.ResponseWriter, r *http.Request, u *librechat.User) bool {
	u.UpdatedAt = h.app.Clock.Now()
	if err := h.app.Store.UpdateUser(r.Context(), u); err != nil {
		httpx.Error(w, r, err)
		return false
	}
	return true
}

// sealSecret encrypts a TOTP secret for storage, bound to its user.
func (h *Handler) sealSecret(u *librechat.User, secret string) (string, error) {
	b, err := userkeys.Seal(h.secrets, []byte(secret), []byte("totp:"+u.ID))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// totpSecret decrypts the user's stored TOTP secret ("" if unreadable).
func (h *Handler) totpSecret(u *librechat.User) string {
	b, err := base64.StdEncoding.DecodeString(u.TOTPSecret)
	if err != nil {
		return ""
	}
	plain, err := userkeys.Open(h.secrets, b, []byte("totp:"+u.ID))
	if err != nil {
		return ""
	}
	return string(plain)
}

// checkCode accepts a TOTP code or an unused backup code (which it marks
// used; the caller saves the user).
func (h *Handler) checkCode(u *librechat.User, body codeBody) bool {
	now := h.app.Clock.Now()
	if body.Token != "" {
		return authn.CheckTOTP(h.totpSecret(u), body.Token, now)
	}
	if body.BackupCode != "" {
		return authn.UseBackupCode(u, body.BackupCode, now)
	}
	return false
}

func (h *Handler) enable2FA(w http.ResponseWriter, r *http.Request) {
	u, ok := h.currentUser(w, r)
	if !ok {
		return
	}
	if u.TwoFactorEnabled {
		message(w, http.StatusBadRequest, "2FA is already enabled")
		return
	}
	issuer := strings.Join(strings.Fields(h.app.Config.AppTitle), "")
	if issuer == "" {
		issuer = "LibreChat"
	}
	secret, url, err := authn.NewTOTPSecret(issuer, u.Email)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	plain, stored, err := authn.NewBackupCodes(10)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	sealed, err := h.sealSecret(u, secret)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	u.TOTPSecret, u.BackupCodes, u.TwoFactorEnabled = sealed, stored, false
	if !h.save(w, r, u) {
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"otpauthUrl": url, "backupCodes": plain})
}

// settingUp decodes a code body and loads the caller, who must have a TOTP
// secret (answering 400 with missing otherwise).
func (h *Handler) settingUp(w http.ResponseWriter, r *http.Request, missing string) (*librechat.User, codeBody, bool) {
	var body codeBody
	if !decode(w, r, &body) {
		return nil, body, false
	}
	u, ok := h.currentUser(w, r)
	if !ok {
		return nil, body, false
	}
	if u.TOTPSecret == "" {
		message(w, http.StatusBadRequest, missing)
		return nil, body, false
	}
	return u, body, true
}

func (h *Handler) verify2FA(w http.ResponseWriter, r *http.Request) {
	u, body, ok := h.settingUp(w, r, "2FA not initiated")
	if !ok {
		return
	}
	usedBackup := body.Token == "" && body.BackupCode != ""
	if !h.checkCode(u, body) {
		message(w, http.StatusBadRequest, "Invalid token or backup code.")
		return
	}
	if usedBackup && !h.save(w, r, u) {
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"message": "2FA code verified"})
}

func (h *Handler) confirm2FA(w http.ResponseWriter, r *http.Request) {
	u, body, ok := h.settingUp(w, r, "2FA not initiated")
	if !ok {
		return
	}
	if !authn.CheckTOTP(h.totpSecret(u), body.Token, h.app.Clock.Now()) {
		message(w, http.StatusBadRequest, "Invalid token.")
		return
	}
	u.TwoFactorEnabled = true
	if !h.save(w, r, u) {
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"message": "2FA enabled"})
}

func (h *Handler) disable2FA(w http.ResponseWriter, r *http.Request) {
	u, body, ok := h.settingUp(w, r, "2FA is not setup for this user")
	if !ok {
		return
	}
	if u.TwoFactorEnabled {
		if body.Token == "" && body.BackupCode == "" {
			message(w, http.StatusBadRequest, "Either token or backup code is required to disable 2FA")
			return
		}
		if !h.checkCode(u, body) {
			message(w, http.StatusUnauthorized, "Invalid token or backup code")
			return
		}
	}
	u.TOTPSecret, u.BackupCodes, u.TwoFactorEnabled = "", nil, false
	if !h.save(w, r, u) {
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"message": "2FA disabled"})
}

func (h *Handler) regenerateBackupCodes(w http.ResponseWriter, r *http.Request) {
	u, ok := h.currentUser(w, r)
	if !ok {
		return
	}
	if u.TOTPSecret == "" {
		message(w, http.StatusBadRequest, "2FA is not setup for this user")
		return
	}
	plain, stored, err := authn.NewBackupCodes(10)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	u.BackupCodes = stored
	if !h.save(w, r, u) {
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"backupCodes": plain, "backupCodesHash": stored})
}

// verifyTemp is the second step of a login with two-factor on.
func (h *Handler) verifyTemp(w http.ResponseWriter, r *http.Request) {
	var body codeBody
	if !decode(w, r, &body) {
		return
	}
	if body.TempToken == "" {
		message(w, http.StatusBadRequest, "Missing temporary token")
		return
	}
	userID, err := h.signer.VerifyTemp(body.TempToken)
	if err != nil {
		message(w, http.StatusUnauthorized, "Invalid or expired temporary token")
		return
	}
	if h.limited(w, r, "2fa:"+userID, h.cfg.LoginMax, h.cfg.LoginWindow, "two-factor attempts") {
		return
	}
	u, err := h.app.Store.UserByID(r.Context(), userID)
	if librechat.IsNotFound(err) {
		message(w, http.StatusUnauthorized, "Invalid or expired temporary token")
		return
	}
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	if !u.TwoFactorEnabled || u.TOTPSecret == "" {
		message(w, http.StatusBadRequest, "2FA is not enabled for this user")
		return
	}
	if u.Disabled {
		message(w, http.StatusForbidden, msgBanned)
		return
	}
	usedBackup := body.Token == "" && body.BackupCode != ""
	if !h.checkCode(u, body) {
		message(w, http.StatusUnauthorized, "Invalid 2FA code or backup code")
		return
	}
	if usedBackup && !h.save(w, r, u) {
		return
	}
	h.startSession(w, r, u)
}
