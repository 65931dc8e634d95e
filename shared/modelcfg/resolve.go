package modelcfg

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
	"gopkg.in/yaml.v3"
)

// Where a configuration was defined.
const (
	SourceLibreChatYAML = "librechat.yaml"
	SourceModelsFile    = "models file"
	SourceStore         = "store"
)

// Resolved is one configuration a user sees. Its Spec is shared: read it,
// never change it.
type Resolved struct {
	Spec    *Spec
	Scope   string // librechat.ScopeSystem, ScopeGroup or ScopeUser
	ScopeID string // the group or user id; "" for system
	Source  string // SourceLibreChatYAML, SourceModelsFile or SourceStore
	ID      string // the stored configuration's id (SourceStore)

	raw    config.Object // the librechat.yaml entry as written
	hasRaw bool
	seq    int
}

// Options are the stores a Resolver reads. Either may be nil.
type Options struct {
	Groups  librechat.GroupStore
	Configs librechat.ModelConfigStore
	// File replaces the models file at cfg.ModelsConfigPath (tests).
	File *File
	Log  *slog.Logger
}

// Resolver finds the configurations each user sees. Build one at start
// with New; it is safe for concurrent use.
type Resolver struct {
	cfg        *config.Config
	groups     librechat.GroupStore
	configs    librechat.ModelConfigStore
	settings   Settings
	enforce    bool
	prioritize bool
	added      []string
	static     []Resolved
	log        *slog.Logger
}

// New builds a Resolver from the configuration: librechat.yaml's
// modelSpecs and the models file (cfg.ModelsConfigPath, read now) are the
// system scope together with the stored system configurations. An invalid
// entry in either file fails with an error naming the file, line and key.
func New(cfg *config.Config, opts Options) (*Resolver, error) {
	if cfg == nil {
		return nil, fmt.Errorf("modelcfg: configuration is required")
	}
	r := &Resolver{cfg: cfg, groups: opts.Groups, configs: opts.Configs, log: opts.Log, settings: DefaultSettings(), prioritize: true}
	if r.log == nil {
		r.log = slog.Default()
	}
	file := opts.File
	if file == nil {
		var err error
		if file, err = LoadFile(cfg.ModelsConfigPath); err != nil {
			return nil, err
		}
	}
	yamlNames := map[string]string{}
	if ms := cfg.File.ModelSpecs; ms != nil {
		r.enforce = ms.Enforce
		r.prioritize = ms.PrioritizeOrDefault()
		r.added = ms.AddedEndpoints
		for i := range ms.List {
			path := fmt.Sprintf("modelSpecs.list[%d]", i)
			s, ferr := librechatSpec(ms.List[i].Raw, path)
			if ferr != nil {
				return nil, r.yamlErr(ferr)
			}
			r.canonical(s)
			r.static = append(r.static, Resolved{
				Spec: s, Scope: librechat.ScopeSystem, Source: SourceLibreChatYAML,
				raw: ms.List[i].Raw, hasRaw: true,
			})
			yamlNames[s.Name] = path
		}
	}
	if file != nil {
		r.settings = file.Settings
		r.enforce = r.enforce || file.Settings.Enforce
		for i, s := range file.Defaults {
			if prev, ok := yamlNames[s.Name]; ok {
				return nil, &config.FileError{
					File: file.Name, Line: file.lines[i], Path: file.paths[i] + ".name",
					Msg: fmt.Sprintf("a configuration named %s is already defined in librechat.yaml at %s", quote(s.Name), prev),
				}
			}
			s = s.clone()
			r.canonical(s)
			r.static = append(r.static, Resolved{Spec: s, Scope: librechat.ScopeSystem, Source: SourceModelsFile})
		}
	}
	return r, nil
}

// yamlErr names the librechat.yaml line of a model spec problem.
func (r *Resolver) yamlErr(fe *fieldError) error {
	name := r.cfg.FilePath
	if name == "" {
		name = "librechat.yaml"
	}
	line := 0
	if r.cfg.FilePath != "" {
		if data, err := os.ReadFile(r.cfg.FilePath); err == nil {
			var doc yaml.Node
			if yaml.Unmarshal(data, &doc) == nil {
				line = lineOf(&doc, fe.path)
			}
		}
	}
	return &config.FileError{File: name, Line: line, Path: fe.path, Msg: fe.msg}
}

// canonical spells the endpoint as the configuration offers it (custom
// endpoint names are matched case-insensitively).
func (r *Resolver) canonical(s *Spec) {
	for i := range r.cfg.File.Endpoints.Custom {
		if n := r.cfg.File.Endpoints.Custom[i].Name; strings.EqualFold(n, s.Endpoint) {
			s.Endpoint = n
			return
		}
	}
	if strings.EqualFold(s.Endpoint, config.OfflineEndpoint) {
		s.Endpoint = config.OfflineEndpoint
	}
}

// Settings returns the models file's settings (the defaults without one).
func (r *Resolver) Settings() Settings { return r.settings }

// Enforce reports whether chats must go through a configuration.
func (r *Resolver) Enforce() bool { return r.enforce }

// For returns the configurations userID sees: the system ones, those of
// the user's groups and the user's own, one per name as the priority rule
// decides, ordered by order (those without one last), then by where the
// name was first defined: librechat.yaml in its order, the models file in
// its order, the stored system configurations, the groups' (by group id)
// and the user's, each by name.
func (r *Resolver) For(ctx context.Context, userID string) ([]Resolved, error) {
	cands := make([]Resolved, 0, len(r.static)+8)
	cands = append(cands, r.static...)
	if r.configs != nil {
		sys, err := r.configs.ModelConfigs(ctx, librechat.ScopeSystem, "")
		if err != nil {
			return nil, err
		}
		cands = r.addStored(cands, sys, librechat.ScopeSystem, "")
		if r.settings.GroupPresetsEnabled && r.groups != nil && userID != "" {
			gids, err := r.groups.GroupsOf(ctx, userID)
			if err != nil {
				return nil, err
			}
			gids = append([]string(nil), gids...)
			sort.Strings(gids)
			for _, gid := range dedupe(gids) {
				mcs, err := r.configs.ModelConfigs(ctx, librechat.ScopeGroup, gid)
				if err != nil {
					return nil, err
				}
				cands = r.addStored(cands, mcs, librechat.ScopeGroup, gid)
			}
		}
		if r.settings.UserPresetsEnabled && userID != "" {
			mcs, err := r.configs.ModelConfigs(ctx, librechat.ScopeUser, userID)
			if err != nil {
				return nil, err
			}
			cands = r.addStored(cands, mcs, librechat.ScopeUser, userID)
		}
	}
	for i := range cands {
		cands[i].seq = i
	}
	return r.pick(cands), nil
}

// addStored parses stored configurations of one scope. One that no longer
// parses (stored before a rule changed) is left out and logged.
func (r *Resolver) addStored(out []Resolved, mcs []*librechat.ModelConfig, scope, scopeID string) []Resolved {
	sort.SliceStable(mcs, func(i, j int) bool { return mcs[i].Name < mcs[j].Name })
	for _, mc := range mcs {
		if mc == nil || mc.Scope != scope || mc.ScopeID != scopeID {
			continue
		}
		s, err := ParseSpec(mc.Spec)
		if err != nil {
			r.log.Warn("modelcfg: stored model configuration is invalid; ignored", "id", mc.ID, "err", err)
			continue
		}
		if mc.Name != "" {
			s.Name = mc.Name
		}
		r.canonical(s)
		out = append(out, Resolved{Spec: s, Scope: scope, ScopeID: scopeID, Source: SourceStore, ID: mc.ID})
	}
	return out
}

// scopeRank orders scopes under the priority rule (lower wins).
func (r *Resolver) scopeRank(scope string) int {
	order := map[string][]string{
		PriorityUser:   {librechat.ScopeUser, librechat.ScopeGroup, librechat.ScopeSystem},
		PriorityGroup:  {librechat.ScopeGroup, librechat.ScopeUser, librechat.ScopeSystem},
		PrioritySystem: {librechat.ScopeSystem, librechat.ScopeGroup, librechat.ScopeUser},
	}[r.settings.Priority]
	if order == nil {
		order = []string{librechat.ScopeUser, librechat.ScopeGroup, librechat.ScopeSystem}
	}
	for i, s := range order {
		if s == scope {
			return i
		}
	}
	return len(order)
}

// sourceRank orders the system scope's sources: the admin API's stored
// configurations replace the files' ones of the same name.
func sourceRank(src string) int {
	switch src {
	case SourceStore:
		return 0
	case SourceModelsFile:
		return 1
	}
	return 2
}

// beats reports whether a wins over b for the same name.
func (r *Resolver) beats(a, b *Resolved) bool {
	if ra, rb := r.scopeRank(a.Scope), r.scopeRank(b.Scope); ra != rb {
		return ra < rb
	}
	if ra, rb := sourceRank(a.Source), sourceRank(b.Source); ra != rb {
		return ra < rb
	}
	if a.Spec.Priority != b.Spec.Priority {
		return a.Spec.Priority > b.Spec.Priority
	}
	return a.seq < b.seq
}

func (r *Resolver) pick(cands []Resolved) []Resolved {
	operator := map[string]bool{} // names defined at system or group scope
	for i := range cands {
		if cands[i].Scope != librechat.ScopeUser {
			operator[cands[i].Spec.Name] = true
		}
	}
	best := map[string]int{}
	var names []string
	for i := range cands {
		c := &cands[i]
		if c.Scope == librechat.ScopeUser && !r.settings.AllowOverride && operator[c.Spec.Name] {
			continue
		}
		j, ok := best[c.Spec.Name]
		if !ok {
			best[c.Spec.Name] = i
			names = append(names, c.Spec.Name)
			continue
		}
		if r.beats(c, &cands[j]) {
			best[c.Spec.Name] = i
		}
	}
	// names is in order of first definition: a configuration that replaces
	// another takes its place.
	out := make([]Resolved, 0, len(names))
	for _, n := range names {
		out = append(out, cands[best[n]])
	}
	sort.SliceStable(out, func(i, j int) bool {
		oi, oj := out[i].Spec.Order, out[j].Spec.Order
		switch {
		case oi != nil && oj != nil:
			return *oi < *oj
		case (oi == nil) != (oj == nil):
			return oi != nil
		}
		return false
	})
	return out
}

// Find returns the configuration named name among those userID sees.
func (r *Resolver) Find(ctx context.Context, userID, name string) (*Resolved, error) {
	all, err := r.For(ctx, userID)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Spec.Name == name {
			return &all[i], nil
		}
	}
	return nil, librechat.E(librechat.KindNotFound, "model configuration %q is not available", name)
}
