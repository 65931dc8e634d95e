// Package routes is the routing table: which API area serves which path
// prefix. The local runner, the SAM template test, the Terraform test and the
// tests of every area use this one table.
package routes

import "strings"

// Areas, one deployable function each.
const (
	Auth     = "auth"
	Config   = "config"
	Chat     = "chat"
	Convos   = "convos"
	Messages = "messages"
	Presets  = "presets"
	Share    = "share"
	Admin    = "admin"
	Files    = "files"
)

// Route sends every path equal to Prefix or below it to Area.
type Route struct {
	Prefix string
	Area   string
}

// Table is the routing table. Longer prefixes win over shorter ones.
var Table = []Route{
	{"/api/auth", Auth},
	{"/api/user", Auth},

	{"/health", Config},
	{"/api/config", Config},
	{"/api/endpoints", Config},
	{"/api/models", Config},
	{"/api/banner", Config},
	{"/api/roles", Config},
	{"/api/balance", Config},
	{"/api/keys", Config},
	{"/api/agents/chat", Chat},

	{"/api/convos", Convos},
	{"/api/tags", Convos},

	{"/api/messages", Messages},

	{"/api/presets", Presets},
	{"/api/share", Share},

	{"/api/admin", Admin},

	{"/api/files", Files},

	// Features answered "off" until their own areas exist.
	{"/api/user/settings", Config},
	{"/api/user/terms", Config},
	{"/api/agents", Config},
	{"/api/assistants", Config},
	{"/api/search", Config},
	{"/api/prompts", Config},
	{"/api/categories", Config},
	{"/api/mcp", Config},
	{"/api/memories", Config},
	{"/api/plugins", Config},
	{"/api/skills", Config},
	{"/api/permissions", Config},
}

// Areas lists every area named in the table, in first-seen order.
func Areas() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range Table {
		if !seen[r.Area] {
			seen[r.Area] = true
			out = append(out, r.Area)
		}
	}
	return out
}

// Lookup returns the area serving path, or "" when no prefix matches.
func Lookup(path string) string {
	best, area := -1, ""
	for _, r := range Table {
		if (path == r.Prefix || strings.HasPrefix(path, r.Prefix+"/")) && len(r.Prefix) > best {
			best, area = len(r.Prefix), r.Area
		}
	}
	return area
}
