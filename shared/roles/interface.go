package roles

import "github.com/lcgo/lcgo/shared/config"

// interfaceKey ties a feature permission type to its switch in the
// interface object: a boolean, or an object of the listed flags.
type interfaceKey struct {
	key   string
	flags []string // nil: a plain boolean
}

var interfaceKeys = map[string]interfaceKey{
	Bookmarks:     {key: "bookmarks"},
	Memories:      {key: "memories"},
	MultiConvo:    {key: "multiConvo"},
	TemporaryChat: {key: "temporaryChat"},
	RunCode:       {key: "runCode"},
	WebSearch:     {key: "webSearch"},
	FileSearch:    {key: "fileSearch"},
	FileCitations: {key: "fileCitations"},
	Prompts:       {key: "prompts", flags: []string{"use", "create", "share", "public"}},
	Agents:        {key: "agents", flags: []string{"use", "create", "share", "public"}},
	MCPServers:    {key: "mcpServers", flags: []string{"use", "create", "share", "public"}},
	RemoteAgents:  {key: "remoteAgents", flags: []string{"use", "create", "share", "public"}},
	Skills:        {key: "skills", flags: []string{"use", "create", "share", "public"}},
	Marketplace:   {key: "marketplace", flags: []string{"use"}},
	SharedLinks:   {key: "sharedLinks", flags: []string{"create", "share", "public", "snapshotFiles"}},
}

// Interface returns the interface object of the logged-in /api/config:
// LibreChat's loaded defaults, overlaid with librechat.yaml's interface
// section as written, with the switch of every feature this server does not
// implement turned off (matching the role permissions of DefaultsFor).
func Interface(cfg *config.Config) config.Object {
	in := &cfg.File.Interface
	specs := cfg.File.ModelSpecs
	hasSpecs := specs != nil && len(specs.List) > 0

	out := config.NewObject()
	modelSelect, parameters, presets := true, true, true
	if hasSpecs {
		modelSelect = len(specs.AddedEndpoints) > 0
		parameters, presets = false, false
	}
	out.Set("modelSelect", modelSelect)
	out.Set("parameters", parameters)
	out.Set("presets", presets)
	mcp := config.NewObject()
	mcp.Set("use", true)
	mcp.Set("create", true)
	mcp.Set("share", false)
	mcp.Set("public", false)
	out.Set("mcpServers", mcp)
	out.Set("autoSubmitFromUrl", true)
	out.Set("buildInfo", true)
	out.Set("contextUsage", true)
	out.Set("contextCost", false)

	raw := in.Raw.Clone()
	for _, k := range raw.Keys() {
		v, _ := raw.Get(k)
		out.Set(k, v)
	}

	for _, t := range features {
		if implemented[t] {
			continue
		}
		ik := interfaceKeys[t]
		if ik.flags == nil {
			out.Set(ik.key, false)
			continue
		}
		o, ok := out.Object(ik.key)
		if !ok {
			o = config.NewObject()
		}
		for _, f := range ik.flags {
			o.Set(f, false)
		}
		out.Set(ik.key, o)
	}
	// Saved presets have no storage yet: hide the menu rather than offer
	// a save that fails.
	if !PresetsImplemented {
		out.Set("presets", false)
	}
	return out
}

// PresetsImplemented turns the presets menu on once /api/presets stores them.
const PresetsImplemented = true
