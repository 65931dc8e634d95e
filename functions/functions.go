// Package functions knows every API area: it builds one by name, or all of
// them behind the routing table, for the local runner, Cloud Functions and
// the tests. A Lambda binary imports only its own area.
package functions

import (
	"fmt"
	"net/http"
	"strings"

	adminfn "github.com/lcgo/lcgo/functions/admin"
	authfn "github.com/lcgo/lcgo/functions/auth"
	chatfn "github.com/lcgo/lcgo/functions/chat"
	configfn "github.com/lcgo/lcgo/functions/config"
	convosfn "github.com/lcgo/lcgo/functions/convos"
	filesfn "github.com/lcgo/lcgo/functions/files"
	messagesfn "github.com/lcgo/lcgo/functions/messages"
	presetsfn "github.com/lcgo/lcgo/functions/presets"
	sharefn "github.com/lcgo/lcgo/functions/share"
	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/routes"
)

// New builds the handler of one area.
func New(area string, a *app.App) (http.Handler, error) {
	switch area {
	case routes.Auth:
		return authfn.New(a)
	case routes.Config:
		return configfn.New(a)
	case routes.Chat:
		return chatfn.New(a)
	case routes.Convos:
		return convosfn.New(a)
	case routes.Messages:
		return messagesfn.New(a, messagesfn.WithActiveJobs(messagesfn.AppJobs(a)))
	case routes.Presets:
		return presetsfn.New(a)
	case routes.Share:
		return sharefn.New(a)
	case routes.Admin:
		return adminfn.New(a)
	case routes.Files:
		return filesfn.New(a)
	}
	return nil, fmt.Errorf("unknown area %q", area)
}

// Router serves every area behind the routing table, as API Gateway does.
// Paths no area claims go to fallback (nil: the API's 404).
func Router(a *app.App, fallback http.Handler) (http.Handler, error) {
	handlers := map[string]http.Handler{}
	for _, name := range routes.Areas() {
		h, err := New(name, a)
		if err != nil {
			return nil, err
		}
		handlers[name] = h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := handlers[routes.Lookup(r.URL.Path)]; h != nil {
			h.ServeHTTP(w, r)
			return
		}
		if fallback == nil || strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/api" {
			httpx.NotFound(w, r)
			return
		}
		fallback.ServeHTTP(w, r)
	}), nil
}
