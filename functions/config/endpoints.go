package config

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	cfgpkg "github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/modelcfg"
)

// narrowing is the signed-in user's menu limits: while the operator
// enforces model configurations, only the endpoints and models of the
// configurations the user sees.
func (h *handler) narrowing(r *http.Request) (modelcfg.Narrowing, error) {
	if !h.specs.Enforce() {
		return modelcfg.Narrowing{}, nil
	}
	specs, err := h.specs.For(r.Context(), user(r).ID)
	if err != nil {
		return modelcfg.Narrowing{}, err
	}
	return h.specs.Narrowing(specs), nil
}

// endpoints answers GET /api/endpoints: each offered endpoint's TConfig,
// keyed by name, in LibreChat's key order (narrowed per user while model
// configurations are enforced).
func (h *handler) endpoints(w http.ResponseWriter, r *http.Request) {
	narrow, err := h.narrowing(r)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	out := cfgpkg.NewObject()
	for _, e := range h.cfg.Endpoints() {
		if !narrow.Endpoint(e.Name) {
			continue
		}
		o := cfgpkg.NewObject()
		if e.IsCustom() {
			o.Set("order", e.Order)
			o.Set("type", cfgpkg.EndpointCustom)
			o.Set("userProvide", e.UserProvide)
			o.Set("userProvideURL", e.UserProvideURL != nil && *e.UserProvideURL)
			if e.Offline {
				o.Set("modelDisplayLabel", cfgpkg.OfflineEndpoint)
			} else {
				c := e.Custom
				if c.CustomParams.IsSet() {
					o.Set("customParams", c.CustomParams)
				}
				if c.ModelDisplayLabel != "" {
					o.Set("modelDisplayLabel", c.ModelDisplayLabel)
				}
				if c.IconURL != "" {
					o.Set("iconURL", c.IconURL)
				}
			}
		} else {
			o.Set("userProvide", e.UserProvide)
			if e.UserProvideURL != nil {
				o.Set("userProvideURL", *e.UserProvideURL)
			}
			o.Set("order", e.Order)
			if e.Name == cfgpkg.EndpointBedrock {
				if e.AvailableRegions != nil {
					o.Set("availableRegions", e.AvailableRegions)
				}
				o.Set("userProvideAccessKeyId", e.UserProvideAccessKeyID)
				o.Set("userProvideSecretAccessKey", e.UserProvideSecretAccessKey)
				o.Set("userProvideSessionToken", false)
				o.Set("userProvideBearerToken", false)
			}
		}
		out.Set(e.Name, o)
	}
	httpx.JSON(w, http.StatusOK, out)
}

// modelsList answers GET /api/models: the models of every offered endpoint.
// Custom endpoints with models.fetch ask their API (cached), falling back to
// models.default.
func (h *handler) modelsList(w http.ResponseWriter, r *http.Request) {
	eps, lists, err := h.modelLists(r)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	out := cfgpkg.NewObject()
	for i, e := range eps {
		out.Set(e.Name, lists[i])
	}
	httpx.JSON(w, http.StatusOK, out)
}

// modelLists returns every offered endpoint with its models (never nil), as
// /api/models lists them: narrowed per user while model configurations are
// enforced.
func (h *handler) modelLists(r *http.Request) ([]cfgpkg.EndpointInfo, [][]string, error) {
	narrow, err := h.narrowing(r)
	if err != nil {
		return nil, nil, err
	}
	var eps []cfgpkg.EndpointInfo
	for _, e := range h.cfg.Endpoints() {
		if narrow.Endpoint(e.Name) {
			eps = append(eps, e)
		}
	}
	lists := make([][]string, len(eps))
	var wg sync.WaitGroup
	for i, e := range eps {
		c := e.Custom
		if c == nil || !c.Models.Fetch || c.UserProvidedKey() || c.UserProvidedURL() {
			lists[i] = h.cfg.StaticModels(e.Name)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			lists[i] = h.models.get(r.Context(), c, user(r).ID)
		}()
	}
	wg.Wait()
	for i := range lists {
		lists[i] = narrow.Models(eps[i].Name, lists[i])
		if lists[i] == nil {
			lists[i] = []string{}
		}
	}
	return eps, lists, nil
}

// Model list caching: successful fetches are kept for modelTTL, failures
// (answered with models.default) for failureTTL so a down API is not asked
// on every page load.
const (
	modelTTL     = 5 * time.Minute
	failureTTL   = 30 * time.Second
	fetchTimeout = 10 * time.Second
	maxModelBody = 8 << 20
)

type modelCache struct {
	client *http.Client
	clock  librechat.Clock
	log    *slog.Logger

	mu      sync.Mutex
	entries map[string]*modelEntry
}

type modelEntry struct {
	ready   chan struct{} // closed when models is set
	models  []string
	expires time.Time
}

func newModelCache(client *http.Client, clock librechat.Clock, log *slog.Logger) *modelCache {
	if log == nil {
		log = slog.Default()
	}
	return &modelCache{client: client, clock: clock, log: log, entries: map[string]*modelEntry{}}
}

func (m *modelCache) now() time.Time {
	if m.clock != nil {
		return m.clock.Now()
	}
	return time.Now()
}

// get returns the endpoint's fetched models, or models.default when the
// fetch fails or returns none. Concurrent callers share one fetch.
func (m *modelCache) get(ctx context.Context, c *cfgpkg.CustomEndpoint, userID string) []string {
	key := cacheKey(c, userID)
	m.mu.Lock()
	e, ok := m.entries[key]
	if ok {
		select {
		case <-e.ready:
			if m.now().Before(e.expires) {
				m.mu.Unlock()
				return append([]string{}, e.models...)
			}
			ok = false
		default:
		}
	}
	if !ok {
		e = &modelEntry{ready: make(chan struct{})}
		m.entries[key] = e
		m.mu.Unlock()
		models, err := fetchModels(context.WithoutCancel(ctx), m.client, c, userID)
		ttl := modelTTL
		if err != nil || len(models) == 0 {
			if err == nil {
				err = errors.New("no models listed")
			}
			m.log.Warn("fetch models failed; using models.default", "endpoint", c.Name, "err", err)
			models, ttl = append([]string{}, c.Models.Default...), failureTTL
		}
		m.mu.Lock()
		e.models, e.expires = models, m.now().Add(ttl)
		close(e.ready)
		m.mu.Unlock()
		return append([]string{}, models...)
	}
	m.mu.Unlock()
	select {
	case <-e.ready:
		return append([]string{}, e.models...)
	case <-ctx.Done():
		return append([]string{}, c.Models.Default...)
	}
}

func cacheKey(c *cfgpkg.CustomEndpoint, userID string) string {
	sum := sha256.New()
	fmt.Fprintf(sum, "%s\x00%s\x00%s", c.Name, c.BaseURL, c.APIKey)
	if c.Models.UserIDQuery {
		fmt.Fprintf(sum, "\x00%s", userID)
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// fetchModels asks an OpenAI-compatible API for its models:
// GET {baseURL}/models with the endpoint's key, answered {data:[{id}]}.
func fetchModels(ctx context.Context, client *http.Client, c *cfgpkg.CustomEndpoint, userID string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	u := strings.TrimRight(c.BaseURL, "/") + "/models"
	if c.Models.UserIDQuery && userID != "" {
		u += "?user=" + url.QueryEscape(userID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range c.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Authorization", "Bearer "+c.APIKey)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("GET %s: %s", redactURL(u), resp.Status)
	}
	var body struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxModelBody)).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET %s: %w", redactURL(u), err)
	}
	out := make([]string, 0, len(body.Data))
	for _, d := range body.Data {
		if d.ID != "" {
			out = append(out, d.ID)
		}
	}
	return out, nil
}

// redactURL drops the query and user info from a URL for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}
