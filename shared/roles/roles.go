// Package roles holds the permission switches of the USER and ADMIN roles:
// LibreChat's defaults, with the features this server does not serve yet
// switched off, and librechat.yaml's interface section applied. Seed writes
// them to the store at every start. Interface builds the matching interface
// object of /api/config, so the two never disagree.
package roles

import (
	"context"
	"sort"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
)

// Permission types, as the client names them.
const (
	Bookmarks     = "BOOKMARKS"
	Prompts       = "PROMPTS"
	Memories      = "MEMORIES"
	Agents        = "AGENTS"
	MultiConvo    = "MULTI_CONVO"
	TemporaryChat = "TEMPORARY_CHAT"
	RunCode       = "RUN_CODE"
	WebSearch     = "WEB_SEARCH"
	PeoplePicker  = "PEOPLE_PICKER"
	Marketplace   = "MARKETPLACE"
	FileSearch    = "FILE_SEARCH"
	FileCitations = "FILE_CITATIONS"
	MCPServers    = "MCP_SERVERS"
	RemoteAgents  = "REMOTE_AGENTS"
	Skills        = "SKILLS"
	SharedLinks   = "SHARED_LINKS"
)

// Permissions, as the client names them.
const (
	Use          = "USE"
	Create       = "CREATE"
	Update       = "UPDATE"
	Read         = "READ"
	OptOut       = "OPT_OUT"
	Share        = "SHARE"
	SharePublic  = "SHARE_PUBLIC"
	ConfigureOBO = "CONFIGURE_OBO"
	ViewUsers    = "VIEW_USERS"
	ViewGroups   = "VIEW_GROUPS"
	ViewRoles    = "VIEW_ROLES"
)

// implemented is the set of features this server serves. A feature type
// missing here is switched off (every permission false) for every role, and
// its interface switch is turned off in /api/config, so the client neither
// shows it nor calls its routes. Add a type here when its area exists.
var implemented = map[string]bool{
	Bookmarks:     true, // /api/tags
	TemporaryChat: true, // temporary conversations: stored with an expiry, never listed
	SharedLinks:   true, // /api/share
}

// features are the permission types that gate a feature of their own. The
// other types (PEOPLE_PICKER) only refine features and keep their defaults.
var features = []string{
	Bookmarks, Prompts, Memories, Agents, MultiConvo, TemporaryChat, RunCode, WebSearch,
	Marketplace, FileSearch, FileCitations, MCPServers, RemoteAgents, Skills, SharedLinks,
}

// IsImplemented reports whether the feature of a permission type is served.
// Types that are not features (PEOPLE_PICKER) count as implemented.
func IsImplemented(permType string) bool {
	for _, f := range features {
		if f == permType {
			return implemented[permType]
		}
	}
	return true
}

// typeOrder is the order of permission types in LibreChat's role document;
// permOrder the order of each type's permissions.
var typeOrder = []string{
	Bookmarks, Prompts, Memories, Agents, MultiConvo, TemporaryChat, RunCode, WebSearch,
	PeoplePicker, Marketplace, FileSearch, FileCitations, MCPServers, RemoteAgents, Skills, SharedLinks,
}

var permOrder = map[string][]string{
	Bookmarks:     {Use},
	Prompts:       {Use, Create, Share, SharePublic},
	Memories:      {Use, Create, Update, Read, OptOut},
	Agents:        {Use, Create, Share, SharePublic},
	MultiConvo:    {Use},
	TemporaryChat: {Use},
	RunCode:       {Use},
	WebSearch:     {Use},
	PeoplePicker:  {ViewUsers, ViewGroups, ViewRoles},
	Marketplace:   {Use},
	FileSearch:    {Use},
	FileCitations: {Use},
	MCPServers:    {Use, Create, Share, SharePublic, ConfigureOBO},
	RemoteAgents:  {Use, Create, Share, SharePublic},
	Skills:        {Use, Create, Share, SharePublic},
	SharedLinks:   {Create, Share, SharePublic},
}

// userDefaults are LibreChat's USER defaults (roleDefaults).
func userDefaults() map[string]map[string]bool {
	return map[string]map[string]bool{
		Bookmarks:     {Use: true},
		Prompts:       {Use: true, Create: true, Share: false, SharePublic: false},
		Memories:      {Use: true, Create: true, Update: true, Read: true, OptOut: true},
		Agents:        {Use: true, Create: true, Share: false, SharePublic: false},
		MultiConvo:    {Use: true},
		TemporaryChat: {Use: true},
		RunCode:       {Use: true},
		WebSearch:     {Use: true},
		PeoplePicker:  {ViewUsers: false, ViewGroups: false, ViewRoles: false},
		Marketplace:   {Use: false},
		FileSearch:    {Use: true},
		FileCitations: {Use: true},
		MCPServers:    {Use: true, Create: false, Share: false, SharePublic: false, ConfigureOBO: false},
		RemoteAgents:  {Use: false, Create: false, Share: false, SharePublic: false},
		Skills:        {Use: true, Create: true, Share: false, SharePublic: false},
		SharedLinks:   {Create: true, Share: true, SharePublic: true},
	}
}

// adminDefaults has the USER key set with every permission true.
func adminDefaults() map[string]map[string]bool {
	out := userDefaults()
	for _, perms := range out {
		for p := range perms {
			perms[p] = true
		}
	}
	return out
}

// Defaults returns the USER role's permissions for cfg (see DefaultsFor).
func Defaults(cfg *config.Config) map[string]map[string]bool {
	return DefaultsFor(librechat.RoleUser, cfg)
}

// DefaultsFor returns a role's permissions for cfg: LibreChat's defaults
// (ADMIN: all true; any other role: USER's), then the switches configured in
// librechat.yaml's interface section, then every feature this server does
// not implement switched off.
func DefaultsFor(role string, cfg *config.Config) map[string]map[string]bool {
	var perms map[string]map[string]bool
	if role == librechat.RoleAdmin {
		perms = adminDefaults()
	} else {
		perms = userDefaults()
	}
	if cfg != nil {
		applyInterface(perms, &cfg.File.Interface)
	}
	for _, t := range features {
		if implemented[t] {
			continue
		}
		for p := range perms[t] {
			perms[t][p] = false
		}
	}
	return perms
}

func set(perms map[string]map[string]bool, t, p string, v *bool) {
	if v == nil {
		return
	}
	if _, ok := perms[t][p]; ok {
		perms[t][p] = *v
	}
}

func applySwitch(perms map[string]map[string]bool, t string, s *config.Switch) {
	if s == nil {
		return
	}
	if s.Bool != nil {
		set(perms, t, Use, s.Bool)
		return
	}
	set(perms, t, Use, s.Use)
	set(perms, t, Create, s.Create)
	set(perms, t, Share, s.Share)
	set(perms, t, SharePublic, s.Public)
}

// applyInterface copies the configured interface switches into the
// permissions, as LibreChat's updateInterfacePermissions does: an explicit
// value wins over the role default, in either direction.
func applyInterface(perms map[string]map[string]bool, in *config.Interface) {
	set(perms, Bookmarks, Use, in.Bookmarks)
	set(perms, Memories, Use, in.Memories)
	set(perms, MultiConvo, Use, in.MultiConvo)
	set(perms, TemporaryChat, Use, in.TemporaryChat)
	set(perms, RunCode, Use, in.RunCode)
	set(perms, WebSearch, Use, in.WebSearch)
	set(perms, FileSearch, Use, in.FileSearch)
	set(perms, FileCitations, Use, in.FileCitations)
	applySwitch(perms, Prompts, in.Prompts)
	applySwitch(perms, Agents, in.Agents)
	applySwitch(perms, MCPServers, in.MCPServers)
	applySwitch(perms, RemoteAgents, in.RemoteAgents)
	applySwitch(perms, Skills, in.Skills)
	applySwitch(perms, Marketplace, in.Marketplace)
	if pp := in.PeoplePicker; pp != nil {
		set(perms, PeoplePicker, ViewUsers, pp.Users)
		set(perms, PeoplePicker, ViewGroups, pp.Groups)
		set(perms, PeoplePicker, ViewRoles, pp.Roles)
	}
	if sl := in.SharedLinks; sl != nil {
		set(perms, SharedLinks, Create, sl.Create)
		set(perms, SharedLinks, Share, sl.Share)
		set(perms, SharedLinks, SharePublic, sl.Public)
	}
}

// Seed creates the USER and ADMIN roles when missing and writes the current
// defaults over their permission types, so a changed configuration (or a
// newly implemented feature) takes effect at the next start. Permission
// types a role has beyond the defaults are kept.
func Seed(ctx context.Context, st librechat.RoleStore, ids librechat.IDs, cfg *config.Config) error {
	for _, name := range []string{librechat.RoleUser, librechat.RoleAdmin} {
		r, err := st.RoleByName(ctx, name)
		switch {
		case librechat.IsNotFound(err):
			r = &librechat.Role{ID: ids.ObjectID(), Name: name}
		case err != nil:
			return librechat.Wrap(librechat.KindOther, "roles.Seed", err)
		}
		if r.ID == "" {
			r.ID = ids.ObjectID()
		}
		if r.Permissions == nil {
			r.Permissions = map[string]map[string]bool{}
		}
		for t, perms := range DefaultsFor(name, cfg) {
			r.Permissions[t] = perms
		}
		if err := st.PutRole(ctx, r); err != nil {
			return librechat.Wrap(librechat.KindOther, "roles.Seed", err)
		}
	}
	return nil
}

// Ordered returns permissions as a JSON object in LibreChat's key order
// (unknown types and permissions follow, sorted).
func Ordered(perms map[string]map[string]bool) config.Object {
	out := config.NewObject()
	add := func(t string) {
		ps, ok := perms[t]
		if !ok {
			return
		}
		o := config.NewObject()
		for _, p := range permOrder[t] {
			if v, ok := ps[p]; ok {
				o.Set(p, v)
			}
		}
		for _, p := range sortedKeys(ps) {
			if !o.Has(p) {
				o.Set(p, ps[p])
			}
		}
		out.Set(t, o)
	}
	for _, t := range typeOrder {
		add(t)
	}
	for _, t := range sortedKeys(perms) {
		if !out.Has(t) {
			add(t)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
