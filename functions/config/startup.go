package config

import (
	"context"
	"net/http"
	"time"

	"github.com/lcgo/lcgo/shared/auth"
	cfgpkg "github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/modelcfg"
	"github.com/lcgo/lcgo/shared/roles"
)

// The startup configuration is written from structs so that its keys come
// out in the order LibreChat's server sends them.

// preLogin are the fields every caller of /api/config sees.
type preLogin struct {
	AppTitle             string `json:"appTitle"`
	DiscordLoginEnabled  bool   `json:"discordLoginEnabled"`
	FacebookLoginEnabled bool   `json:"facebookLoginEnabled"`
	GithubLoginEnabled   bool   `json:"githubLoginEnabled"`
	GoogleLoginEnabled   bool   `json:"googleLoginEnabled"`
	AppleLoginEnabled    bool   `json:"appleLoginEnabled"`
	OpenidLoginEnabled   bool   `json:"openidLoginEnabled"`
	OpenidLabel          string `json:"openidLabel"`
	OpenidImageURL       string `json:"openidImageUrl"`
	OpenidAutoRedirect   bool   `json:"openidAutoRedirect"`
	SamlLoginEnabled     bool   `json:"samlLoginEnabled"`
	SamlLabel            string `json:"samlLabel"`
	SamlImageURL         string `json:"samlImageUrl"`
	ServerDomain         string `json:"serverDomain"`
	EmailLoginEnabled    bool   `json:"emailLoginEnabled"`
	RegistrationEnabled  bool   `json:"registrationEnabled"`
	SocialLoginEnabled   bool   `json:"socialLoginEnabled"`
	EmailEnabled         bool   `json:"emailEnabled"`
	PasswordResetEnabled bool   `json:"passwordResetEnabled"`
	MinPasswordLength    *int   `json:"minPasswordLength,omitempty"`
	LDAP                 ldap   `json:"ldap"`
}

type ldap struct {
	Enabled bool `json:"enabled"`
}

// turnstile is always empty: this server does not verify Turnstile tokens.
type turnstile struct{}

type anonConfig struct {
	preLogin
	SocialLogins []string       `json:"socialLogins"`
	Turnstile    turnstile      `json:"turnstile"`
	Interface    *cfgpkg.Object `json:"interface,omitempty"`
}

type authConfig struct {
	preLogin
	ShowBirthdayIcon                bool                `json:"showBirthdayIcon"`
	HelpAndFaqURL                   string              `json:"helpAndFaqURL"`
	SharedLinksEnabled              bool                `json:"sharedLinksEnabled"`
	PublicSharedLinksEnabled        bool                `json:"publicSharedLinksEnabled"`
	OpenidReuseTokens               bool                `json:"openidReuseTokens"`
	AllowAccountDeletion            bool                `json:"allowAccountDeletion"`
	SharedLinksSnapshotFilesEnabled bool                `json:"sharedLinksSnapshotFilesEnabled"`
	SocialLogins                    []string            `json:"socialLogins"`
	Interface                       cfgpkg.Object       `json:"interface"`
	TitleGenerationTiming           string              `json:"titleGenerationTiming"`
	Turnstile                       turnstile           `json:"turnstile"`
	ModelSpecs                      *modelcfg.SpecsView `json:"modelSpecs,omitempty"`
	Balance                         balanceView         `json:"balance"`
	SharePointFilePickerEnabled     bool                `json:"sharePointFilePickerEnabled"`
	ConversationImportMaxFileSize   int64               `json:"conversationImportMaxFileSize"`
}

type balanceView struct {
	Enabled             bool    `json:"enabled"`
	StartBalance        *int64  `json:"startBalance,omitempty"`
	AutoRefillEnabled   *bool   `json:"autoRefillEnabled,omitempty"`
	RefillIntervalValue *int64  `json:"refillIntervalValue,omitempty"`
	RefillIntervalUnit  *string `json:"refillIntervalUnit,omitempty"`
	RefillAmount        *int64  `json:"refillAmount,omitempty"`
}

func (h *handler) preLogin() preLogin {
	c := h.cfg
	p := preLogin{
		AppTitle:             c.AppTitle,
		OpenidLabel:          "Continue with OpenID",
		ServerDomain:         c.DomainServer,
		EmailLoginEnabled:    c.Auth.AllowEmailLogin,
		RegistrationEnabled:  c.Auth.AllowRegistration,
		SocialLoginEnabled:   c.Auth.AllowSocialLogin,
		EmailEnabled:         c.Auth.EmailEnabled,
		PasswordResetEnabled: c.Auth.AllowPasswordReset,
	}
	if c.Auth.MinPasswordLengthSet {
		n := c.Auth.MinPasswordLength
		p.MinPasswordLength = &n
	}
	return p
}

func (h *handler) socialLogins() []string {
	if s := h.cfg.File.Registration.SocialLogins; s != nil {
		return s
	}
	return []string{}
}

func (h *handler) startupConfig(w http.ResponseWriter, r *http.Request) {
	u, ok := auth.UserFrom(r.Context())
	if !ok {
		httpx.JSON(w, http.StatusOK, h.anonConfig())
		return
	}
	out, err := h.authConfig(r.Context(), u.ID)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, out)
}

func (h *handler) anonConfig() anonConfig {
	out := anonConfig{preLogin: h.preLogin(), SocialLogins: h.socialLogins()}
	in := &h.cfg.File.Interface
	buildInfoOff := in.BuildInfo != nil && !*in.BuildInfo
	if in.PrivacyPolicy != nil || in.TermsOfService != nil || buildInfoOff {
		o := cfgpkg.NewObject()
		if v, ok := in.Raw.Get("privacyPolicy"); ok && in.PrivacyPolicy != nil {
			o.Set("privacyPolicy", v)
		}
		if v, ok := in.Raw.Get("termsOfService"); ok && in.TermsOfService != nil {
			o.Set("termsOfService", v)
		}
		if buildInfoOff {
			o.Set("buildInfo", false)
		}
		out.Interface = &o
	}
	return out
}

// AccountDeletionImplemented turns on the client's "delete account" button
// once DELETE /api/user/delete removes an account and everything it owns.
const AccountDeletionImplemented = false

// authConfig is the startup configuration of a signed-in user: modelSpecs
// lists the model configurations that user sees (librechat.yaml's, the
// models file's, the stored system ones, their groups' and their own),
// sanitized.
func (h *handler) authConfig(ctx context.Context, userID string) (authConfig, error) {
	c := h.cfg
	out := authConfig{
		preLogin:              h.preLogin(),
		ShowBirthdayIcon:      c.ShowBirthdayIcon || isBirthday(h.now()),
		HelpAndFaqURL:         c.HelpAndFAQURL,
		AllowAccountDeletion:  c.Auth.AllowAccountDeletion && AccountDeletionImplemented,
		SocialLogins:          h.socialLogins(),
		Interface:             roles.Interface(c),
		TitleGenerationTiming: c.File.TitleTiming(),
		Balance:               balanceConfig(c.File.Balance),
	}
	// Sharing is switched on with the SHARED_LINKS feature.
	// Links are public (the role's SHARE_PUBLIC decides per link); files
	// are not snapshotted, so the client offers no switch for them.
	if roles.IsImplemented(roles.SharedLinks) {
		out.SharedLinksEnabled = true
		out.PublicSharedLinksEnabled = true
	}
	specs, err := h.specs.For(ctx, userID)
	if err != nil {
		return authConfig{}, err
	}
	out.ModelSpecs = h.specs.Sanitized(specs)
	return out, nil
}

func (h *handler) now() time.Time {
	if h.app.Clock != nil {
		return h.app.Clock.Now()
	}
	return time.Now()
}

// isBirthday is LibreChat's birthday (February 11), when the icon shows.
func isBirthday(t time.Time) bool { return t.Month() == time.February && t.Day() == 11 }

func balanceConfig(b cfgpkg.Balance) balanceView {
	if !b.Set {
		return balanceView{}
	}
	start, auto, amount := b.Start(), b.AutoRefill(), b.Refill()
	value, unit := b.Interval()
	return balanceView{
		Enabled: b.IsEnabled(), StartBalance: &start, AutoRefillEnabled: &auto,
		RefillIntervalValue: &value, RefillIntervalUnit: &unit, RefillAmount: &amount,
	}
}
