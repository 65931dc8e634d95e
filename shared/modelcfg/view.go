package modelcfg

import (
	"github.com/lcgo/lcgo/shared/config"
)

// SpecsView is the modelSpecs object of the signed-in /api/config.
type SpecsView struct {
	Enforce        bool            `json:"enforce"`
	Prioritize     bool            `json:"prioritize"`
	List           []config.Object `json:"list"`
	AddedEndpoints []string        `json:"addedEndpoints,omitempty"`
}

// Sanitized is what the browser may see of resolved configurations, in
// LibreChat's TModelSpec shape: name, label, description, order, default,
// group, iconURL and a preset with the endpoint, the model and the
// configured parameters. System messages, constraints, allowed models and
// tools never appear. librechat.yaml entries keep their presentation keys
// as written, without LibreChat's private preset fields. Nil when there is
// nothing to show.
func (r *Resolver) Sanitized(resolved []Resolved) *SpecsView {
	if len(resolved) == 0 {
		return nil
	}
	v := &SpecsView{Enforce: r.enforce, Prioritize: r.prioritize, AddedEndpoints: r.added, List: make([]config.Object, 0, len(resolved))}
	for i := range resolved {
		v.List = append(v.List, r.clientSpec(&resolved[i]))
	}
	return v
}

func (r *Resolver) clientSpec(res *Resolved) config.Object {
	if res.hasRaw {
		o := sanitizeRaw(res.raw)
		if p, ok := o.Object("preset"); ok {
			if e, _ := p.String("endpoint"); e != res.Spec.Endpoint {
				p.Set("endpoint", res.Spec.Endpoint) // as the endpoint menu spells it
				o.Set("preset", p)
			}
		}
		return o
	}
	s := res.Spec
	o := config.NewObject()
	o.Set("name", s.Name)
	o.Set("label", s.LabelOrName())
	if s.Description != "" {
		o.Set("description", s.Description)
	}
	if s.Order != nil {
		o.Set("order", *s.Order)
	}
	if s.Default {
		o.Set("default", true)
	}
	if s.Group != "" {
		o.Set("group", s.Group)
	}
	if s.IconURL != "" {
		o.Set("iconURL", s.IconURL)
	}
	p := config.NewObject()
	p.Set("endpoint", s.Endpoint)
	if e, ok := r.cfg.Endpoint(s.Endpoint); ok && e.IsCustom() {
		p.Set("endpointType", config.EndpointCustom)
	}
	p.Set("model", s.Model)
	for i := range paramDefs {
		def := &paramDefs[i]
		if val, ok := s.Parameters[def.name]; ok {
			p.Set(clientKey(def, s.Endpoint), val)
		}
	}
	o.Set("preset", p)
	return o
}

// clientKey is the key the client's schema for endpoint uses for a
// parameter.
func clientKey(def *paramDef, endpoint string) string {
	switch endpoint {
	case config.EndpointGoogle, config.EndpointAnthropic:
		switch def.name {
		case "top_p":
			return "topP"
		case "max_tokens":
			return "maxOutputTokens"
		}
	case config.EndpointBedrock:
		switch def.name {
		case "top_p":
			return "topP"
		case "max_tokens":
			return "maxTokens"
		}
	}
	return def.name
}

// sanitizeRaw is a librechat.yaml model spec as the browser may see it:
// without LibreChat's private preset fields, skills and subagent ids (as
// LibreChat's sanitizeModelSpecs does), and without this server's Spec
// fields.
func sanitizeRaw(raw config.Object) config.Object {
	s := raw.Clone()
	for _, k := range extensionFields {
		s.Delete(k)
	}
	s.Delete("skills")
	if sub, ok := s.Object("subagents"); ok {
		kept := config.NewObject()
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

// Narrowing limits the endpoint and model menus of one user while the
// operator enforces configurations: only the endpoints and models some
// configuration the user sees uses. Its zero value narrows nothing.
type Narrowing struct {
	active bool
	models map[string][]string
}

// Narrowing returns the menus' limits for resolved configurations.
func (r *Resolver) Narrowing(resolved []Resolved) Narrowing {
	if !r.enforce {
		return Narrowing{}
	}
	n := Narrowing{active: true, models: map[string][]string{}}
	for i := range resolved {
		s := resolved[i].Spec
		n.models[s.Endpoint] = dedupe(append(n.models[s.Endpoint], s.Models()...))
	}
	return n
}

// Active reports whether the menus are narrowed.
func (n Narrowing) Active() bool { return n.active }

// Endpoint reports whether the endpoint stays in the menu.
func (n Narrowing) Endpoint(name string) bool {
	if !n.active {
		return true
	}
	_, ok := n.models[name]
	return ok
}

// Models narrows an endpoint's model list: the configurations' models, those
// the list has first, in its order.
func (n Narrowing) Models(endpoint string, listed []string) []string {
	if !n.active {
		return listed
	}
	want := n.models[endpoint]
	out := make([]string, 0, len(want))
	in := map[string]bool{}
	for _, m := range want {
		in[m] = true
	}
	for _, m := range listed {
		if in[m] {
			out = append(out, m)
			delete(in, m)
		}
	}
	for _, m := range want {
		if in[m] {
			out = append(out, m)
		}
	}
	return out
}
