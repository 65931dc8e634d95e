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

	"github.com/lcgo/lcgo/shared/cache"
	cfgpkg "github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/httpx"
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
// on every page load. The lists live in the App's cache (Redis when
// configured, so every instance shares one fetch), JSON-encoded.
const (
	modelTTL     = 5 * time.Minute
	failureTTL   = 30 * time.Second
	fetchTimeout = 10 * time.Second
	cacheTimeout = time.Second
	maxModelBody = 8 << 20
)

type modelCache struct {
	client *http.Client
	cache  cache.Cache
	log    *slog.Logger

	mu       sync.Mutex
	inflight map[string]*modelFetch
}

// modelFetch is one fetch in progress; callers asking for the same key
// meanwhile wait for it.
type modelFetch struct {
	ready  chan struct{} // closed when models is set
	models []string
}

func newModelCache(client *http.Client, c cache.Cache, log *slog.Logger) *modelCache {
	if log == nil {
		log = slog.Default()
	}
	return &modelCache{client: client, cache: c, log: log, inflight: map[string]*modelFetch{}}
}

// get returns the endpoint's fetched models, or models.default when the
// fetch fails or returns none. Concurrent callers of one process share one
// fetch; a cache that fails is logged and the API asked.
func (m *modelCache) get(ctx context.Context, c *cfgpkg.CustomEndpoint, userID string) []string {
	key := "models:" + cacheKey(c, userID)
	cctx, cancel := context.WithTimeout(ctx, cacheTimeout)
	b, ok, err := m.cache.Get(cctx, key)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("model list cache read failed; fetching", "endpoint", c.Name, "err", err)
		}
	} else if ok {
		var models []string
		if err := json.Unmarshal(b, &models); err == nil {
			return models
		}
		m.log.Warn("cached model list does not decode; fetching", "endpoint", c.Name)
	}
	m.mu.Lock()
	f, ok := m.inflight[key]
	if ok {
		m.mu.Unlock()
		select {
		case <-f.ready:
			return append([]string{}, f.models...)
		case <-ctx.Done():
			return append([]string{}, c.Models.Default...)
		}
	}
	f = &modelFetch{ready: make(chan struct{})}
	m.inflight[key] = f
	m.mu.Unlock()

	bg := context.WithoutCancel(ctx)
	models, err := fetchModels(bg, m.client, c, userID)
	ttl := modelTTL
	if err != nil || len(models) == 0 {
		if err == nil {
			err = errors.New("no models listed")
		}
		m.log.Warn("fetch models failed; using models.default", "endpoint", c.Name, "err", err)
		models, ttl = append([]string{}, c.Models.Default...), failureTTL
	}
	if b, err := json.Marshal(models); err == nil {
		cctx, cancel := context.WithTimeout(bg, cacheTimeout)
		if err := m.cache.Set(cctx, key, b, ttl); err != nil {
			m.log.Warn("model list cache write failed", "endpoint", c.Name, "err", err)
		}
		cancel()
	}
	m.mu.Lock()
	f.models = models
	delete(m.inflight, key)
	close(f.ready)
	m.mu.Unlock()
	return append([]string{}, models...)
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
