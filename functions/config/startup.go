package config

import (
	"net/http"
	"time"

	"github.com/lcgo/lcgo/shared/auth"
	cfgpkg "github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/httpx"
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
	ShowBirthdayIcon                bool            `json:"showBirthdayIcon"`
	HelpAndFaqURL                   string          `json:"helpAndFaqURL"`
	SharedLinksEnabled              bool            `json:"sharedLinksEnabled"`
	PublicSharedLinksEnabled        bool            `json:"publicSharedLinksEnabled"`
	OpenidReuseTokens               bool            `json:"openidReuseTokens"`
	AllowAccountDeletion            bool            `json:"allowAccountDeletion"`
	SharedLinksSnapshotFilesEnabled bool            `json:"sharedLinksSnapshotFilesEnabled"`
	SocialLogins                    []string        `json:"socialLogins"`
	Interface                       cfgpkg.Object   `json:"interface"`
	TitleGenerationTiming           string          `json:"titleGenerationTiming"`
	Turnstile                       turnstile       `json:"turnstile"`
	ModelSpecs                      *modelSpecsView `json:"modelSpecs,omitempty"`
	Balance                         balanceView     `json:"balance"`
	SharePointFilePickerEnabled     bool            `json:"sharePointFilePickerEnabled"`
	ConversationImportMaxFileSize   int64           `json:"conversationImportMaxFileSize"`
}

type modelSpecsView struct {
	Enforce        bool            `json:"enforce"`
	Prioritize     bool            `json:"prioritize"`
	List           []cfgpkg.Object `json:"list"`
	AddedEndpoints []string        `json:"addedEndpoints,omitempty"`
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
	if _, ok := auth.UserFrom(r.Context()); !ok {
		httpx.JSON(w, http.StatusOK, h.anonConfig())
		return
	}
	httpx.JSON(w, http.StatusOK, h.authConfig())
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

func (h *handler) authConfig() authConfig {
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
	if roles.IsImplemented(roles.SharedLinks) {
		out.SharedLinksEnabled = true
		out.SharedLinksSnapshotFilesEnabled = true
	}
	if ms := c.File.ModelSpecs; ms != nil && len(ms.List) > 0 {
		v := &modelSpecsView{
			Enforce: ms.Enforce, Prioritize: ms.PrioritizeOrDefault(),
			AddedEndpoints: ms.AddedEndpoints, List: make([]cfgpkg.Object, 0, len(ms.List)),
		}
		for i := range ms.List {
			v.List = append(v.List, sanitizeSpec(ms.List[i].Raw))
		}
		out.ModelSpecs = v
	}
	return out
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

// privatePresetFields never leave the server: the chat area re-applies them
// from the spec named in a request.
var privatePresetFields = []string{"promptPrefix", "instructions", "additional_instructions", "system", "context", "examples"}

// sanitizeSpec returns a model spec as the browser may see it, as
// LibreChat's sanitizeModelSpecs does.
func sanitizeSpec(raw cfgpkg.Object) cfgpkg.Object {
	s := raw.Clone()
	s.Delete("skills")
	if sub, ok := s.Object("subagents"); ok {
		kept := cfgpkg.NewObject()
		for _, k := range []string{"enabled", "allowSelf"} {
			if v, ok := sub.Get(k); ok {
				kept.Set(k, v)
			}
		}
		if kept.Len() > 0 {
			s.Set("subagents", kept)
		} else {
			s.Delete("subagents")
		}
	}
	if preset, ok := s.Object("preset"); ok {
		for _, f := range privatePresetFields {
			preset.Delete(f)
		}
		if sub, ok := preset.Object("subagents"); ok {
			sub.Delete("agent_ids")
			preset.Set("subagents", sub)
		}
		preset.Delete("skills")
		s.Set("preset", preset)
	}
	return s
}
