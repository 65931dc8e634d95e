// Package config is the config area: /health, the startup configuration
// (/api/config), the endpoint and model lists, roles, balance, banner,
// user-provided keys, and the minimal "feature off" answers for the
// features other areas do not serve yet.
package config

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/cache/memcache"
	cfgpkg "github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/modelcfg"
	"github.com/lcgo/lcgo/shared/userkeys"
)

type handler struct {
	app    *app.App
	cfg    *cfgpkg.Config
	authn  *auth.Authenticator
	keys   *userkeys.Keys
	models *modelCache
	// specs are the model configurations: modelSpecs of /api/config, and
	// the narrowed endpoint and model menus while they are enforced.
	specs *modelcfg.Resolver
}

// New builds the config area.
func New(a *app.App) (http.Handler, error) {
	if a == nil || a.Config == nil || a.Store == nil {
		return nil, errors.New("config: app, configuration and store are required")
	}
	_, authn, err := auth.FromApp(a)
	if err != nil {
		return nil, err
	}
	keys, err := userkeys.New(a.Store, a.Config.CredsKey)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	specs, err := modelcfg.New(a.Config, modelcfg.Options{Groups: a.Store, Configs: a.Store, Log: a.Log})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	client := a.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	// Fetched model lists go through the App's cache (shared by every
	// instance when it is Redis), else through one of this handler's own.
	mc := a.Cache
	if mc == nil {
		mc = memcache.New(memcache.Options{Clock: a.Clock})
	}
	h := &handler{
		app: a, cfg: a.Config, authn: authn, keys: keys,
		models: newModelCache(client, mc, a.Log), specs: specs,
	}

	public := http.NewServeMux()
	public.HandleFunc("GET /health", h.health)
	public.Handle("GET /api/config", authn.Optional(http.HandlerFunc(h.startupConfig)))
	public.HandleFunc("GET /api/banner", h.banner)

	private := http.NewServeMux()
	h.routes(private)
	private.HandleFunc("/", httpx.NotFound)
	protected := authn.Require(private)

	return httpx.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := public.Handler(r); pattern != "" {
			public.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	})), nil
}

// routes registers every route that needs a signed-in user.
func (h *handler) routes(m *http.ServeMux) {
	m.HandleFunc("GET /api/endpoints", h.endpoints)
	m.HandleFunc("GET /api/endpoints/token-config", h.tokenConfig)
	m.HandleFunc("POST /api/endpoints/context-projection", h.contextProjection)
	m.HandleFunc("GET /api/models", h.modelsList)
	m.HandleFunc("GET /api/roles/{name}", h.role)
	m.HandleFunc("GET /api/balance", h.balance)

	m.HandleFunc("GET /api/keys", h.keyExpiry)
	m.HandleFunc("PUT /api/keys", h.putKey)
	m.HandleFunc("DELETE /api/keys/{name}", h.deleteKey)
	m.HandleFunc("DELETE /api/keys", h.deleteAllKeys)

	h.featureOffRoutes(m)
}

func (h *handler) health(w http.ResponseWriter, _ *http.Request) {
	httpx.Text(w, http.StatusOK, "OK")
}

func (h *handler) banner(w http.ResponseWriter, _ *http.Request) {
	httpx.JSON(w, http.StatusOK, nil)
}

// jsonConst answers 200 with a fixed JSON value.
func jsonConst(v any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { httpx.JSON(w, http.StatusOK, v) }
}

// user returns the signed-in user (Require guarantees one).
func user(r *http.Request) *librechat.User {
	u, _ := auth.UserFrom(r.Context())
	return u
}
