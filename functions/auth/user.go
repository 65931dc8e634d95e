package auth

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/lcgo/lcgo/shared/librechat"
)

// userJSON is the sanitized user the client receives: no password hash, no
// TOTP secret, no backup code hashes. Field order follows the Node server.
type userJSON struct {
	MongoID          string          `json:"_id"`
	ID               string          `json:"id,omitempty"`
	Name             string          `json:"name"`
	Username         string          `json:"username"`
	Email            string          `json:"email"`
	EmailVerified    bool            `json:"emailVerified"`
	Avatar           *string         `json:"avatar"`
	Provider         string          `json:"provider"`
	Role             string          `json:"role"`
	Plugins          []string        `json:"plugins"`
	TwoFactorEnabled bool            `json:"twoFactorEnabled"`
	BackupCodes      []backupCodeOut `json:"backupCodes,omitempty"`
	TermsAccepted    bool            `json:"termsAccepted"`
	Personalization  personalization `json:"personalization"`
	RefreshToken     *[]string       `json:"refreshToken,omitempty"`
	Favorites        []any           `json:"favorites"`
	SkillStates      struct{}        `json:"skillStates"`
	CreatedAt        string          `json:"createdAt"`
	UpdatedAt        string          `json:"updatedAt"`
}

type personalization struct {
	ID       string `json:"_id"`
	Memories bool   `json:"memories"`
}

type backupCodeOut struct {
	Used   bool       `json:"used"`
	UsedAt *time.Time `json:"usedAt"`
}

// isoMillis formats a time as the client expects: UTC, milliseconds, Z.
func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// userShape says where the Node server puts the plain "id" key: first after
// "_id" (GET /api/user), last (login), or nowhere (refresh).
type userShape int

const (
	shapeGetUser userShape = iota
	shapeLogin
	shapeRefresh
)

func sanitize(u *librechat.User, shape userShape) json.RawMessage {
	out := userJSON{
		MongoID: u.ID, Name: u.Name, Username: u.Username, Email: u.Email,
		EmailVerified: u.EmailVerified, Provider: u.Provider, Role: u.Role,
		Plugins: u.Plugins, TwoFactorEnabled: u.TwoFactorEnabled, TermsAccepted: u.TermsAccepted,
		Personalization: personalization{ID: u.PersonalizationID, Memories: u.Memories},
		Favorites:       []any{},
		CreatedAt:       isoMillis(u.CreatedAt), UpdatedAt: isoMillis(u.UpdatedAt),
	}
	if out.Plugins == nil {
		out.Plugins = []string{}
	}
	if u.Avatar != "" {
		a := u.Avatar
		out.Avatar = &a
	}
	if u.TwoFactorEnabled {
		for _, c := range u.BackupCodes {
			out.BackupCodes = append(out.BackupCodes, backupCodeOut{Used: c.Used, UsedAt: c.UsedAt})
		}
	}
	if shape != shapeGetUser {
		out.RefreshToken = &[]string{}
	}
	if shape == shapeGetUser {
		out.ID = u.ID
	}
	b, _ := json.Marshal(out)
	if shape == shapeLogin {
		idJSON, _ := json.Marshal(u.ID)
		b = append(bytes.TrimSuffix(b, []byte("}")), []byte(`,"id":`+string(idJSON)+"}")...)
	}
	return b
}
