package admin

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

type groupDoc struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	CreatedAt   string `json:"createdAt"`
	UpdatedAt   string `json:"updatedAt"`
}

func groupOf(g *librechat.Group) *groupDoc {
	return &groupDoc{
		ID: g.ID, Name: g.Name, Description: g.Description,
		CreatedAt: wire.Time(g.CreatedAt), UpdatedAt: wire.Time(g.UpdatedAt),
	}
}

// groupFields is a group in an audit entry.
type groupFields struct {
	Name        *string  `json:"name,omitempty"`
	Description *string  `json:"description,omitempty"`
	Members     []string `json:"members,omitempty"`
}

func (h *handler) listGroups(w http.ResponseWriter, r *http.Request) {
	groups, err := h.store.Groups(r.Context())
	if err != nil {
		fail(w, r, err)
		return
	}
	out := struct {
		Groups []*groupDoc `json:"groups"`
	}{make([]*groupDoc, 0, len(groups))}
	for _, g := range groups {
		out.Groups = append(out.Groups, groupOf(g))
	}
	httpx.JSON(w, http.StatusOK, out)
}

// group loads a group by a path id.
func (h *handler) group(r *http.Request) (*librechat.Group, error) {
	id, err := pathID(r, "id", "group")
	if err != nil {
		return nil, err
	}
	return h.groupByID(r.Context(), id)
}

func (h *handler) groupByID(ctx context.Context, id string) (*librechat.Group, error) {
	g, err := h.store.Group(ctx, id)
	if librechat.IsNotFound(err) {
		return nil, notFound("Group")
	}
	return g, err
}

func (h *handler) getGroup(w http.ResponseWriter, r *http.Request) {
	g, err := h.group(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, groupOf(g))
}

type groupBody struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// check validates the present fields, trimming them.
func (b *groupBody) check() error {
	if b.Name != nil {
		s, err := text("name", *b.Name, maxNameLen, false, false)
		if err != nil {
			return err
		}
		b.Name = &s
	}
	if b.Description != nil {
		s, err := text("description", *b.Description, maxDescriptionLen, true, true)
		if err != nil {
			return err
		}
		b.Description = &s
	}
	return nil
}

func nameTaken(name string) error {
	return librechat.E(librechat.KindConflict, "A group named %q already exists", name)
}

func (h *handler) createGroup(w http.ResponseWriter, r *http.Request) {
	var body groupBody
	if err := decode(r, &body, "name", "description"); err != nil {
		fail(w, r, err)
		return
	}
	if body.Name == nil {
		fail(w, r, invalid("name is required"))
		return
	}
	if err := body.check(); err != nil {
		fail(w, r, err)
		return
	}
	now := h.now()
	g := &librechat.Group{ID: h.app.IDs.ObjectID(), Name: *body.Name, CreatedAt: now, UpdatedAt: now}
	if body.Description != nil {
		g.Description = *body.Description
	}
	c := h.begin(r)
	if err := h.store.CreateGroup(c.ctx, g); err != nil {
		if librechat.IsConflict(err) {
			err = nameTaken(g.Name)
		}
		fail(w, r, err)
		return
	}
	c.onFail(func(ctx context.Context) error { return h.store.DeleteGroup(ctx, g.ID) })
	after := groupFields{Name: &g.Name, Description: &g.Description}
	if err := c.commit(actor(r).ID, "group.create", g.ID, beforeAfter{After: after}); err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, groupOf(g))
}

func (h *handler) patchGroup(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "group")
	if err != nil {
		fail(w, r, err)
		return
	}
	var body groupBody
	if err := decode(r, &body, "name", "description"); err != nil {
		fail(w, r, err)
		return
	}
	if body.Name == nil && body.Description == nil {
		fail(w, r, invalid("Nothing to change: give name or description"))
		return
	}
	if err := body.check(); err != nil {
		fail(w, r, err)
		return
	}
	g, err := h.groupByID(r.Context(), id)
	if err != nil {
		fail(w, r, err)
		return
	}
	before := *g
	var b, a groupFields
	if body.Name != nil && *body.Name != g.Name {
		b.Name, a.Name = &before.Name, body.Name
		g.Name = *body.Name
	}
	if body.Description != nil && *body.Description != g.Description {
		b.Description, a.Description = &before.Description, body.Description
		g.Description = *body.Description
	}
	if a.Name == nil && a.Description == nil {
		httpx.JSON(w, http.StatusOK, groupOf(g))
		return
	}
	g.UpdatedAt = h.now()
	c := h.begin(r)
	if err := h.store.UpdateGroup(c.ctx, g); err != nil {
		switch {
		case librechat.IsConflict(err):
			err = nameTaken(g.Name)
		case librechat.IsNotFound(err):
			err = notFound("Group")
		}
		fail(w, r, err)
		return
	}
	c.onFail(func(ctx context.Context) error { return h.store.UpdateGroup(ctx, &before) })
	if err := c.commit(actor(r).ID, "group.update", g.ID, beforeAfter{Before: b, After: a}); err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, groupOf(g))
}

func (h *handler) deleteGroup(w http.ResponseWriter, r *http.Request) {
	g, err := h.group(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	ctx := r.Context()
	cfgs, err := h.store.ModelConfigs(ctx, librechat.ScopeGroup, g.ID)
	if err != nil {
		fail(w, r, err)
		return
	}
	if len(cfgs) > 0 {
		names := make([]string, len(cfgs))
		for i, c := range cfgs {
			names[i] = c.Name
		}
		fail(w, r, librechat.E(librechat.KindConflict,
			"The group has model configurations (%s); delete them first", strings.Join(names, ", ")))
		return
	}
	members, err := h.store.Members(ctx, g.ID)
	if err != nil {
		fail(w, r, err)
		return
	}
	c := h.begin(r)
	if err := h.store.DeleteGroup(c.ctx, g.ID); err != nil {
		if librechat.IsNotFound(err) {
			err = notFound("Group")
		}
		fail(w, r, err)
		return
	}
	c.onFail(func(ctx context.Context) error {
		if err := h.store.CreateGroup(ctx, g); err != nil {
			return err
		}
		for _, m := range members {
			if err := h.store.AddMember(ctx, g.ID, m); err != nil {
				return err
			}
		}
		return nil
	})
	before := groupFields{Name: &g.Name, Description: &g.Description, Members: members}
	if err := c.commit(actor(r).ID, "group.delete", g.ID, beforeAfter{Before: before}); err != nil {
		fail(w, r, err)
		return
	}
	noContent(w)
}

// memberDoc is one member; a membership whose account is gone shows the id
// alone, so that it can still be removed.
type memberDoc struct {
	ID string `json:"id"`
	*memberInfo
}

type memberInfo struct {
	Name     string `json:"name"`
	Username string `json:"username"`
	Email    string `json:"email"`
	Role     string `json:"role"`
	Disabled bool   `json:"disabled"`
}

func (h *handler) listMembers(w http.ResponseWriter, r *http.Request) {
	g, err := h.group(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	ctx := r.Context()
	ids, err := h.store.Members(ctx, g.ID)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := struct {
		Members []memberDoc `json:"members"`
	}{make([]memberDoc, 0, len(ids))}
	for _, id := range ids {
		d := memberDoc{ID: id}
		u, err := h.store.UserByID(ctx, id)
		switch {
		case err == nil:
			d.memberInfo = &memberInfo{Name: u.Name, Username: u.Username, Email: u.Email, Role: u.Role, Disabled: u.Disabled}
		case !librechat.IsNotFound(err):
			fail(w, r, err)
			return
		}
		out.Members = append(out.Members, d)
	}
	httpx.JSON(w, http.StatusOK, out)
}

// membership loads the group and the member id of a members route, and
// whether the user is a member. An unknown user is 404 unless a stale
// membership of theirs remains.
func (h *handler) membership(r *http.Request) (g *librechat.Group, userID string, member, exists bool, err error) {
	if g, err = h.group(r); err != nil {
		return nil, "", false, false, err
	}
	if userID, err = pathID(r, "userId", "user"); err != nil {
		return nil, "", false, false, err
	}
	ctx := r.Context()
	ids, err := h.store.Members(ctx, g.ID)
	if err != nil {
		return nil, "", false, false, err
	}
	member = slices.Contains(ids, userID)
	_, err = h.store.UserByID(ctx, userID)
	switch {
	case err == nil:
		exists = true
	case !librechat.IsNotFound(err):
		return nil, "", false, false, err
	}
	return g, userID, member, exists, nil
}

type memberDetail struct {
	UserID string `json:"userId"`
}

func (h *handler) addMember(w http.ResponseWriter, r *http.Request) {
	g, userID, member, exists, err := h.membership(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	if !exists {
		fail(w, r, notFound("User"))
		return
	}
	if member {
		noContent(w)
		return
	}
	c := h.begin(r)
	if err := h.store.AddMember(c.ctx, g.ID, userID); err != nil {
		if librechat.IsNotFound(err) {
			err = notFound("Group")
		}
		fail(w, r, err)
		return
	}
	c.onFail(func(ctx context.Context) error { return h.store.RemoveMember(ctx, g.ID, userID) })
	if err := c.commit(actor(r).ID, "group.member.add", g.ID, memberDetail{userID}); err != nil {
		fail(w, r, err)
		return
	}
	noContent(w)
}

func (h *handler) removeMember(w http.ResponseWriter, r *http.Request) {
	g, userID, member, exists, err := h.membership(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	if !member {
		if !exists {
			fail(w, r, notFound("User"))
			return
		}
		fail(w, r, librechat.E(librechat.KindNotFound, "The user is not a member of this group"))
		return
	}
	c := h.begin(r)
	if err := h.store.RemoveMember(c.ctx, g.ID, userID); err != nil {
		fail(w, r, err)
		return
	}
	c.onFail(func(ctx context.Context) error { return h.store.AddMember(ctx, g.ID, userID) })
	if err := c.commit(actor(r).ID, "group.member.remove", g.ID, memberDetail{userID}); err != nil {
		fail(w, r, err)
		return
	}
	noContent(w)
}
