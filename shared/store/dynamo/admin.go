package dynamo

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lcgo/lcgo/shared/librechat"
)

// constantList is the Query of a constant partition of a list index, in
// order, bounded by a sort key when bound is set (after it, or before it
// when descending).
func constantList(table, pk, index, attr, bound string, asc bool, page int) *dynamodb.QueryInput {
	in := listQuery(table, pk, listOrder{index: index, attr: attr}, bound, asc, max(page, 1))
	if page <= 0 {
		in.Limit = nil
	}
	return in
}

// prefixList is the Query of the items of a list index partition whose
// sort key starts with prefix, in order.
func prefixList(table, pk, index, attr, prefix string) *dynamodb.QueryInput {
	e := newExpr()
	cond := e.eq(AttrGPK, sv(pk))
	if prefix != "" {
		cond += " AND begins_with(" + e.n(attr) + ", " + e.v(sv(prefix)) + ")"
	}
	return &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  e.nameMap(),
		ExpressionAttributeValues: e.valueMap(),
	}
}

// ---- groups ----

// groupItem is the stored group: gen is fixed when the group is created
// (memberships carry it, so those of a deleted group never count for a
// group re-created with its id), ver changes with every write. Groups are
// listed by name on Index3 in the constant partition GROUPS.
func groupItem(g *librechat.Group, gen, ver string) item {
	it := newItem(groupKey(g.ID), "group")
	it["id"] = sv(g.ID)
	it["name"] = sv(g.Name)
	it["gen"] = sv(gen)
	it["ver"] = sv(ver)
	setStr(it, "description", g.Description)
	setTime(it, "createdAt", g.CreatedAt)
	setTime(it, "updatedAt", g.UpdatedAt)
	it[AttrGPK] = sv(groupsPK)
	it[AttrGS3] = sv(sortKeyTitle(g.Name, g.ID))
	return it
}

func decodeGroup(it item) *librechat.Group {
	return &librechat.Group{
		ID:          getStr(it, "id"),
		Name:        getStr(it, "name"),
		Description: getStr(it, "description"),
		CreatedAt:   getTime(it, "createdAt"),
		UpdatedAt:   getTime(it, "updatedAt"),
	}
}

func checkGroup(op string, g *librechat.Group) error {
	if g == nil || g.ID == "" || g.Name == "" {
		return invalid(op, "group id and name are required")
	}
	if err := checkPart(op, "group id", g.ID); err != nil {
		return err
	}
	return checkPart(op, "group name", g.Name)
}

// groupConfirms reports whether the group other is named name, so that
// its claim on the name counts.
func (s *Store) groupConfirms(ctx context.Context, name string) func(other string) (bool, error) {
	return func(other string) (bool, error) {
		if checkKey("", groupKey(other)) != nil {
			return false, nil
		}
		it, err := s.get(ctx, groupKey(other))
		if err != nil {
			return false, err
		}
		return it != nil && getStr(it, "name") == name, nil
	}
}

// CreateGroup claims the name and writes the group (conditional on its id
// being new): in one transaction, or claim first. KindConflict when the
// name or the id is taken.
func (s *Store) CreateGroup(ctx context.Context, g *librechat.Group) error {
	const op = "dynamo.CreateGroup"
	if err := checkGroup(op, g); err != nil {
		return err
	}
	for attempt := 0; attempt < attempts; attempt++ {
		ne, ncond, prior, err := s.hold(ctx, groupNameKey(g.Name), g.ID, s.groupConfirms(ctx, g.Name))
		if err == errHeld {
			return conflict(op, "a group with this name already exists")
		}
		if err != nil {
			return fail(op, err)
		}
		claim := s.holdItem(groupNameKey(g.Name), "groupname", g.ID)
		retry, err := s.createClaimed(ctx, op, claim, ne, ncond, prior, groupItem(g, newGen(), newGen()), "a group")
		if !retry {
			return err
		}
	}
	return busy(op)
}

// createClaimed writes a name claim held with (ne, ncond) and the new item
// it names (conditional on the item's key being new): in one transaction,
// or the claim first and the item after, releasing the claim when the item
// cannot be written. retry reports that another writer took the claim in
// between, so the caller holds it again; what names the item in the
// conflict message.
func (s *Store) createClaimed(ctx context.Context, op string, claim item, ne *expr, ncond string, prior, it item, what string) (retry bool, err error) {
	ie := newExpr()
	icond := "attribute_not_exists(" + ie.n(AttrPK) + ")"
	if s.tx {
		err := s.transact(ctx, []types.TransactWriteItem{txPut(s.table, claim, ne, ncond), txPut(s.table, it, ie, icond)})
		if cerr, ok := err.(*canceledError); ok {
			if cerr.failedAt(1) {
				return false, conflict(op, what+" with this id already exists")
			}
			return true, nil
		}
		return false, fail(op, err)
	}
	if err := s.put(ctx, claim, ne, ncond); err == errCondition {
		return true, nil
	} else if err != nil {
		return false, fail(op, err)
	}
	if err := s.put(ctx, it, ie, icond); err != nil {
		s.release(ctx, claim, prior)
		if err == errCondition {
			return false, conflict(op, what+" with this id already exists")
		}
		return false, fail(op, err)
	}
	return false, nil
}

// UpdateGroup replaces the group if it did not change since it was read.
// A new name is claimed first and the old claim released after: in one
// transaction, or in that order.
func (s *Store) UpdateGroup(ctx context.Context, g *librechat.Group) error {
	const op = "dynamo.UpdateGroup"
	if err := checkGroup(op, g); err != nil {
		return err
	}
	for attempt := 0; attempt < attempts; attempt++ {
		old, err := s.get(ctx, groupKey(g.ID))
		if err != nil {
			return fail(op, err)
		}
		if old == nil {
			return notFound(op, "group not found")
		}
		it := groupItem(g, getStr(old, "gen"), newGen())
		ue := newExpr()
		ucond := ue.eq("ver", old["ver"])
		oldName := getStr(old, "name")
		if oldName == g.Name {
			if err := s.put(ctx, it, ue, ucond); err == errCondition {
				continue
			} else if err != nil {
				return fail(op, err)
			}
			return nil
		}
		ne, ncond, prior, err := s.hold(ctx, groupNameKey(g.Name), g.ID, s.groupConfirms(ctx, g.Name))
		if err == errHeld {
			return conflict(op, "a group with this name already exists")
		}
		if err != nil {
			return fail(op, err)
		}
		claim := s.holdItem(groupNameKey(g.Name), "groupname", g.ID)
		oe, ocond := unholdCond(g.ID)
		if s.tx {
			err := s.transact(ctx, []types.TransactWriteItem{
				txPut(s.table, claim, ne, ncond),
				txPut(s.table, it, ue, ucond),
				txDelete(s.table, groupNameKey(oldName), oe, ocond),
			})
			if _, ok := err.(*canceledError); ok {
				continue
			}
			return fail(op, err)
		}
		if err := s.put(ctx, claim, ne, ncond); err == errCondition {
			continue
		} else if err != nil {
			return fail(op, err)
		}
		if err := s.put(ctx, it, ue, ucond); err != nil {
			s.release(ctx, claim, prior)
			if err == errCondition {
				continue
			}
			return fail(op, err)
		}
		if _, err := s.del(ctx, groupNameKey(oldName), oe, ocond); err != nil && err != errCondition {
			return fail(op, err)
		}
		return nil
	}
	return busy(op)
}

// Group fails with KindNotFound when there is no such group.
func (s *Store) Group(ctx context.Context, id string) (*librechat.Group, error) {
	const op = "dynamo.Group"
	if id == "" || checkKey(op, groupKey(id)) != nil {
		return nil, notFound(op, "group not found")
	}
	it, err := s.get(ctx, groupKey(id))
	if err != nil {
		return nil, fail(op, err)
	}
	if it == nil {
		return nil, notFound(op, "group not found")
	}
	return decodeGroup(it), nil
}

// Groups reads the GROUPS partition of Index3: every group, by name
// (bytewise).
func (s *Store) Groups(ctx context.Context) ([]*librechat.Group, error) {
	const op = "dynamo.Groups"
	items, err := s.collect(ctx, prefixList(s.table, groupsPK, Index3, AttrGS3, ""), 0,
		func(it item) bool { return getStr(it, "type") == "group" })
	if err != nil {
		return nil, fail(op, err)
	}
	out := make([]*librechat.Group, 0, len(items))
	for _, it := range items {
		out = append(out, decodeGroup(it))
	}
	return out, nil
}

// DeleteGroup deletes the group (conditional on its generation) and its
// name claim, in one transaction or in that order, then its memberships:
// from then on they belong to no group, so they count nowhere even if an
// interruption leaves some.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	const op = "dynamo.DeleteGroup"
	if id == "" || checkKey(op, groupKey(id)) != nil {
		return notFound(op, "group not found")
	}
	deleted := false
	for attempt := 0; attempt < attempts && !deleted; attempt++ {
		old, err := s.get(ctx, groupKey(id))
		if err != nil {
			return fail(op, err)
		}
		if old == nil {
			return notFound(op, "group not found")
		}
		ge := newExpr()
		gcond := ge.eq("ver", old["ver"])
		ne, ncond := unholdCond(id)
		nk := groupNameKey(getStr(old, "name"))
		if s.tx {
			err := s.transact(ctx, []types.TransactWriteItem{txDelete(s.table, groupKey(id), ge, gcond), txDelete(s.table, nk, ne, ncond)})
			if _, ok := err.(*canceledError); ok {
				continue
			}
			if err != nil {
				return fail(op, err)
			}
			deleted = true
			continue
		}
		if _, err := s.del(ctx, groupKey(id), ge, gcond); err == errCondition {
			continue
		} else if err != nil {
			return fail(op, err)
		}
		if _, err := s.del(ctx, nk, ne, ncond); err != nil && err != errCondition {
			return fail(op, err)
		}
		deleted = true
	}
	if !deleted {
		return busy(op)
	}
	var keys []key
	err := s.queryPartition(ctx, groupPK(id), prefixMember, func(it item) bool {
		uid := getStr(it, "uid")
		keys = append(keys, groupMemberKey(id, uid), groupRefKey(uid, id))
		return true
	})
	if err == nil {
		err = s.batchDelete(ctx, keys)
	}
	return fail(op, err)
}

// membership returns the two items of a membership: the authoritative one
// in the group's partition and its reference in the user's partition,
// both stamped with the group's generation.
func membership(gid, uid, gen string) (member, ref item) {
	member = newItem(groupMemberKey(gid, uid), "member")
	member["uid"] = sv(uid)
	member["gen"] = sv(gen)
	ref = newItem(groupRefKey(uid, gid), "groupref")
	ref["gid"] = sv(gid)
	ref["gen"] = sv(gen)
	return member, ref
}

// AddMember writes the membership for the group's current generation:
// with transactions together with a check that the group still has it;
// without, the user's reference first and the membership item (which is
// what counts) last. KindNotFound when the group is absent.
func (s *Store) AddMember(ctx context.Context, groupID, userID string) error {
	const op = "dynamo.AddMember"
	if groupID == "" || userID == "" {
		return invalid(op, "group and user are required")
	}
	if err := checkPart(op, "group id", groupID); err != nil {
		return err
	}
	if err := checkPart(op, "user id", userID); err != nil {
		return err
	}
	for attempt := 0; attempt < attempts; attempt++ {
		g, err := s.get(ctx, groupKey(groupID))
		if err != nil {
			return fail(op, err)
		}
		if g == nil {
			return notFound(op, "group not found")
		}
		member, ref := membership(groupID, userID, getStr(g, "gen"))
		if s.tx {
			ce := newExpr()
			err := s.transact(ctx, []types.TransactWriteItem{
				txCheck(s.table, groupKey(groupID), ce, ce.eq("gen", g["gen"])),
				txPut(s.table, ref, nil, ""),
				txPut(s.table, member, nil, ""),
			})
			if _, ok := err.(*canceledError); ok {
				continue
			}
			return fail(op, err)
		}
		if err := s.put(ctx, ref, nil, ""); err != nil {
			return fail(op, err)
		}
		return fail(op, s.put(ctx, member, nil, ""))
	}
	return busy(op)
}

// RemoveMember deletes the membership item, then the user's reference.
func (s *Store) RemoveMember(ctx context.Context, groupID, userID string) error {
	const op = "dynamo.RemoveMember"
	if groupID == "" || userID == "" || checkKey(op, groupMemberKey(groupID, userID)) != nil || checkKey(op, groupRefKey(userID, groupID)) != nil {
		return nil
	}
	if s.tx {
		return fail(op, s.transact(ctx, []types.TransactWriteItem{
			txDelete(s.table, groupMemberKey(groupID, userID), nil, ""),
			txDelete(s.table, groupRefKey(userID, groupID), nil, ""),
		}))
	}
	if _, err := s.del(ctx, groupMemberKey(groupID, userID), nil, ""); err != nil {
		return fail(op, err)
	}
	_, err := s.del(ctx, groupRefKey(userID, groupID), nil, "")
	return fail(op, err)
}

// Members reads the group's partition (the group and its membership
// items) with one strongly consistent Query and keeps the memberships of
// the group's current generation.
func (s *Store) Members(ctx context.Context, groupID string) ([]string, error) {
	const op = "dynamo.Members"
	if groupID == "" || checkKey(op, groupMemberKey(groupID, "x")) != nil {
		return nil, nil
	}
	var (
		gen string
		ms  []item
	)
	err := s.queryPartition(ctx, groupPK(groupID), "", func(it item) bool {
		switch getStr(it, "type") {
		case "group":
			gen = getStr(it, "gen")
		case "member":
			ms = append(ms, it)
		}
		return true
	})
	if err != nil {
		return nil, fail(op, err)
	}
	var out []string
	for _, m := range ms {
		if gen != "" && getStr(m, "gen") == gen {
			out = append(out, getStr(m, "uid"))
		}
	}
	return out, nil
}

// GroupsOf reads the user's references (strongly consistent), then the
// groups and the membership items they point to, and keeps those whose
// membership exists for the group's current generation.
func (s *Store) GroupsOf(ctx context.Context, userID string) ([]string, error) {
	const op = "dynamo.GroupsOf"
	if userID == "" || checkKey(op, groupRefKey(userID, "x")) != nil {
		return nil, nil
	}
	var refs []item
	err := s.queryPartition(ctx, "U#"+esc(userID), prefixGroupRef, func(it item) bool {
		refs = append(refs, it)
		return true
	})
	if err != nil {
		return nil, fail(op, err)
	}
	if len(refs) == 0 {
		return nil, nil
	}
	keys := make([]key, 0, 2*len(refs))
	for _, r := range refs {
		gid := getStr(r, "gid")
		keys = append(keys, groupKey(gid), groupMemberKey(gid, userID))
	}
	got, err := s.batchGet(ctx, keys)
	if err != nil {
		return nil, fail(op, err)
	}
	var out []string
	for _, r := range refs {
		gid, gen := getStr(r, "gid"), getStr(r, "gen")
		g, m := got[groupKey(gid)], got[groupMemberKey(gid, userID)]
		if g != nil && m != nil && getStr(g, "gen") == gen && getStr(m, "gen") == gen {
			out = append(out, gid)
		}
	}
	return out, nil
}

// ---- model configurations ----

// modelConfigSortPrefix starts the Index3 sort key of every configuration
// of one scope: scope and scope id encoded like titles, each ended by
// 0x01, so that sort keys order by scope, scope id, then name, bytewise.
func modelConfigSortPrefix(scope, scopeID string) string {
	return titleKey(scope) + "\x01" + titleKey(scopeID) + "\x01"
}

// modelConfigItem is the stored configuration: global by id and listed on
// Index3 in the constant partition MODELCONFIGS by (scope, scope id,
// name).
func modelConfigItem(c *librechat.ModelConfig, ver string) item {
	it := newItem(modelConfigKey(c.ID), "modelconfig")
	it["id"] = sv(c.ID)
	it["scope"] = sv(c.Scope)
	it["name"] = sv(c.Name)
	it["ver"] = sv(ver)
	setStr(it, "scopeId", c.ScopeID)
	if len(c.Spec) > 0 {
		it["spec"] = sv(string(c.Spec))
	}
	setTime(it, "createdAt", c.CreatedAt)
	setTime(it, "updatedAt", c.UpdatedAt)
	setStr(it, "updatedBy", c.UpdatedBy)
	it[AttrGPK] = sv(modelConfigsPK)
	it[AttrGS3] = sv(modelConfigSortPrefix(c.Scope, c.ScopeID) + titleKey(c.Name) + "\x01" + c.ID)
	return it
}

func decodeModelConfig(it item) *librechat.ModelConfig {
	c := &librechat.ModelConfig{
		ID:        getStr(it, "id"),
		Scope:     getStr(it, "scope"),
		ScopeID:   getStr(it, "scopeId"),
		Name:      getStr(it, "name"),
		CreatedAt: getTime(it, "createdAt"),
		UpdatedAt: getTime(it, "updatedAt"),
		UpdatedBy: getStr(it, "updatedBy"),
	}
	if spec := getStr(it, "spec"); spec != "" {
		c.Spec = json.RawMessage(spec)
	}
	return c
}

func checkModelConfig(op string, c *librechat.ModelConfig) error {
	if c == nil || c.ID == "" || c.Name == "" {
		return invalid(op, "model configuration id and name are required")
	}
	switch c.Scope {
	case librechat.ScopeSystem:
		if c.ScopeID != "" {
			return invalid(op, "a system model configuration has no scope id")
		}
	case librechat.ScopeGroup, librechat.ScopeUser:
		if c.ScopeID == "" {
			return invalid(op, "a "+c.Scope+" model configuration needs a scope id")
		}
		if err := checkPart(op, "scope id", c.ScopeID); err != nil {
			return err
		}
	default:
		return invalid(op, "unknown model configuration scope "+c.Scope)
	}
	if err := checkPart(op, "model configuration id", c.ID); err != nil {
		return err
	}
	if err := checkPart(op, "model configuration name", c.Name); err != nil {
		return err
	}
	if len(c.Spec) > 0 && !json.Valid(c.Spec) {
		return invalid(op, "the model configuration spec is not valid JSON")
	}
	return nil
}

func sameModelConfigName(it item, c *librechat.ModelConfig) bool {
	return getStr(it, "scope") == c.Scope && getStr(it, "scopeId") == c.ScopeID && getStr(it, "name") == c.Name
}

// modelConfigConfirms reports whether the configuration other has c's
// scope, scope id and name, so that its claim on them counts.
func (s *Store) modelConfigConfirms(ctx context.Context, c *librechat.ModelConfig) func(other string) (bool, error) {
	return func(other string) (bool, error) {
		if checkKey("", modelConfigKey(other)) != nil {
			return false, nil
		}
		it, err := s.get(ctx, modelConfigKey(other))
		if err != nil {
			return false, err
		}
		return it != nil && sameModelConfigName(it, c), nil
	}
}

// CreateModelConfig claims (scope, scope id, name) and writes the
// configuration (conditional on its id being new): in one transaction, or
// claim first.
func (s *Store) CreateModelConfig(ctx context.Context, c *librechat.ModelConfig) error {
	const op = "dynamo.CreateModelConfig"
	if err := checkModelConfig(op, c); err != nil {
		return err
	}
	it := modelConfigItem(c, newGen())
	if itemSize(it) > maxItemBytes {
		return tooLarge(op, "the model configuration")
	}
	nk := modelConfigNameKey(c.Scope, c.ScopeID, c.Name)
	for attempt := 0; attempt < attempts; attempt++ {
		ne, ncond, prior, err := s.hold(ctx, nk, c.ID, s.modelConfigConfirms(ctx, c))
		if err == errHeld {
			return conflict(op, "a model configuration with this name already exists")
		}
		if err != nil {
			return fail(op, err)
		}
		claim := s.holdItem(nk, "modelconfigname", c.ID)
		retry, err := s.createClaimed(ctx, op, claim, ne, ncond, prior, it, "a model configuration")
		if !retry {
			return err
		}
	}
	return busy(op)
}

// UpdateModelConfig replaces the configuration c.ID (its scope included)
// if it did not change since it was read; a new (scope, scope id, name) is
// claimed first and the old claim released after, in one transaction or
// in that order.
func (s *Store) UpdateModelConfig(ctx context.Context, c *librechat.ModelConfig) error {
	const op = "dynamo.UpdateModelConfig"
	if err := checkModelConfig(op, c); err != nil {
		return err
	}
	nk := modelConfigNameKey(c.Scope, c.ScopeID, c.Name)
	for attempt := 0; attempt < attempts; attempt++ {
		old, err := s.get(ctx, modelConfigKey(c.ID))
		if err != nil {
			return fail(op, err)
		}
		if old == nil {
			return notFound(op, "model configuration not found")
		}
		it := modelConfigItem(c, newGen())
		if itemSize(it) > maxItemBytes {
			return tooLarge(op, "the model configuration")
		}
		ue := newExpr()
		ucond := ue.eq("ver", old["ver"])
		if sameModelConfigName(old, c) {
			if err := s.put(ctx, it, ue, ucond); err == errCondition {
				continue
			} else if err != nil {
				return fail(op, err)
			}
			return nil
		}
		ne, ncond, prior, err := s.hold(ctx, nk, c.ID, s.modelConfigConfirms(ctx, c))
		if err == errHeld {
			return conflict(op, "a model configuration with this name already exists")
		}
		if err != nil {
			return fail(op, err)
		}
		claim := s.holdItem(nk, "modelconfigname", c.ID)
		ok := modelConfigNameKey(getStr(old, "scope"), getStr(old, "scopeId"), getStr(old, "name"))
		oe, ocond := unholdCond(c.ID)
		if s.tx {
			err := s.transact(ctx, []types.TransactWriteItem{
				txPut(s.table, claim, ne, ncond),
				txPut(s.table, it, ue, ucond),
				txDelete(s.table, ok, oe, ocond),
			})
			if _, ok := err.(*canceledError); ok {
				continue
			}
			return fail(op, err)
		}
		if err := s.put(ctx, claim, ne, ncond); err == errCondition {
			continue
		} else if err != nil {
			return fail(op, err)
		}
		if err := s.put(ctx, it, ue, ucond); err != nil {
			s.release(ctx, claim, prior)
			if err == errCondition {
				continue
			}
			return fail(op, err)
		}
		if _, err := s.del(ctx, ok, oe, ocond); err != nil && err != errCondition {
			return fail(op, err)
		}
		return nil
	}
	return busy(op)
}

// ModelConfig fails with KindNotFound when there is no such configuration.
func (s *Store) ModelConfig(ctx context.Context, id string) (*librechat.ModelConfig, error) {
	const op = "dynamo.ModelConfig"
	if id == "" || checkKey(op, modelConfigKey(id)) != nil {
		return nil, notFound(op, "model configuration not found")
	}
	it, err := s.get(ctx, modelConfigKey(id))
	if err != nil {
		return nil, fail(op, err)
	}
	if it == nil {
		return nil, notFound(op, "model configuration not found")
	}
	return decodeModelConfig(it), nil
}

// ModelConfigs reads the MODELCONFIGS partition of Index3: the sort keys
// that begin with the scope's prefix (by name), or all of them (by scope,
// scope id, then name).
func (s *Store) ModelConfigs(ctx context.Context, scope, scopeID string) ([]*librechat.ModelConfig, error) {
	const op = "dynamo.ModelConfigs"
	prefix := ""
	if scope != "" {
		if len(scope) > maxName || len(scopeID) > maxName {
			return nil, nil
		}
		prefix = modelConfigSortPrefix(scope, scopeID)
	}
	items, err := s.collect(ctx, prefixList(s.table, modelConfigsPK, Index3, AttrGS3, prefix), 0, func(it item) bool {
		return getStr(it, "type") == "modelconfig" && (scope == "" || getStr(it, "scope") == scope && getStr(it, "scopeId") == scopeID)
	})
	if err != nil {
		return nil, fail(op, err)
	}
	out := make([]*librechat.ModelConfig, 0, len(items))
	for _, it := range items {
		out = append(out, decodeModelConfig(it))
	}
	return out, nil
}

// DeleteModelConfig deletes the configuration (conditional on its
// generation) and its name claim: in one transaction, or in that order.
func (s *Store) DeleteModelConfig(ctx context.Context, id string) error {
	const op = "dynamo.DeleteModelConfig"
	if id == "" || checkKey(op, modelConfigKey(id)) != nil {
		return notFound(op, "model configuration not found")
	}
	for attempt := 0; attempt < attempts; attempt++ {
		old, err := s.get(ctx, modelConfigKey(id))
		if err != nil {
			return fail(op, err)
		}
		if old == nil {
			return notFound(op, "model configuration not found")
		}
		ce := newExpr()
		ccond := ce.eq("ver", old["ver"])
		nk := modelConfigNameKey(getStr(old, "scope"), getStr(old, "scopeId"), getStr(old, "name"))
		ne, ncond := unholdCond(id)
		if s.tx {
			err := s.transact(ctx, []types.TransactWriteItem{txDelete(s.table, modelConfigKey(id), ce, ccond), txDelete(s.table, nk, ne, ncond)})
			if _, ok := err.(*canceledError); ok {
				continue
			}
			return fail(op, err)
		}
		if _, err := s.del(ctx, modelConfigKey(id), ce, ccond); err == errCondition {
			continue
		} else if err != nil {
			return fail(op, err)
		}
		if _, err := s.del(ctx, nk, ne, ncond); err != nil && err != errCondition {
			return fail(op, err)
		}
		return nil
	}
	return busy(op)
}

// ---- audit ----

// AddAudit writes the entry conditional on its id being new; it is listed
// newest first on Index2 in the constant partition AUDIT.
func (s *Store) AddAudit(ctx context.Context, a *librechat.AuditEntry) error {
	const op = "dynamo.AddAudit"
	if a == nil || a.ID == "" {
		return invalid(op, "audit entry id is required")
	}
	if err := checkPart(op, "audit entry id", a.ID); err != nil {
		return err
	}
	if len(a.Detail) > 0 && !json.Valid(a.Detail) {
		return invalid(op, "the audit detail is not valid JSON")
	}
	it := newItem(auditKey(a.ID), "audit")
	it["id"] = sv(a.ID)
	setStr(it, "actor", a.ActorID)
	setStr(it, "action", a.Action)
	setStr(it, "target", a.Target)
	if len(a.Detail) > 0 {
		it["detail"] = sv(string(a.Detail))
	}
	setTime(it, "createdAt", a.CreatedAt)
	it[AttrGPK] = sv(auditPK)
	it[AttrGS2] = sv(sortKeyTime(a.CreatedAt, a.ID))
	if itemSize(it) > maxItemBytes {
		return tooLarge(op, "the audit entry")
	}
	e := newExpr()
	if err := s.put(ctx, it, e, "attribute_not_exists("+e.n(AttrPK)+")"); err == errCondition {
		return conflict(op, "audit entry already recorded")
	} else if err != nil {
		return fail(op, err)
	}
	return nil
}

// Audit reads the AUDIT partition of Index2 backwards from the cursor:
// newest first, then by id descending.
func (s *Store) Audit(ctx context.Context, after *librechat.Cursor, limit int) ([]*librechat.AuditEntry, *librechat.Cursor, error) {
	const op = "dynamo.Audit"
	limit = pageLimit(limit)
	if err := checkCursor(op, after); err != nil {
		return nil, nil, err
	}
	bound := ""
	if after != nil {
		var err error
		if bound, err = timeBound(after); err != nil {
			return nil, nil, invalid(op, err.Error())
		}
	}
	items, err := s.collect(ctx, constantList(s.table, auditPK, Index2, AttrGS2, bound, false, min(limit+1, 500)), limit+1,
		func(it item) bool { return getStr(it, "type") == "audit" })
	if err != nil {
		return nil, nil, fail(op, err)
	}
	out := make([]*librechat.AuditEntry, 0, len(items))
	for _, it := range items {
		a := &librechat.AuditEntry{
			ID:        getStr(it, "id"),
			ActorID:   getStr(it, "actor"),
			Action:    getStr(it, "action"),
			Target:    getStr(it, "target"),
			CreatedAt: getTime(it, "createdAt"),
		}
		if d := getStr(it, "detail"); d != "" {
			a.Detail = json.RawMessage(d)
		}
		out = append(out, a)
	}
	if len(out) <= limit {
		return out, nil, nil
	}
	out = out[:limit]
	last := out[limit-1]
	return out, &librechat.Cursor{Key: timeCursor(last.CreatedAt), ID: last.ID}, nil
}

// ---- user list ----

// ListUsers reads the USERS partition of Index2 forwards from the cursor:
// by creation time (the zero time first), then id.
func (s *Store) ListUsers(ctx context.Context, q librechat.UserQuery) ([]*librechat.User, *librechat.Cursor, error) {
	const op = "dynamo.ListUsers"
	limit := pageLimit(q.Limit)
	if err := checkCursor(op, q.After); err != nil {
		return nil, nil, err
	}
	bound := ""
	if q.After != nil {
		var err error
		if bound, err = timeBound(q.After); err != nil {
			return nil, nil, invalid(op, err.Error())
		}
	}
	items, err := s.collect(ctx, constantList(s.table, usersPK, Index2, AttrGS2, bound, true, min(limit+1, 500)), limit+1,
		func(it item) bool { return getStr(it, "type") == "user" })
	if err != nil {
		return nil, nil, fail(op, err)
	}
	out := make([]*librechat.User, 0, len(items))
	for _, it := range items {
		u, err := decodeUser(it)
		if err != nil {
			return nil, nil, librechat.Wrap(librechat.KindOther, op, err)
		}
		out = append(out, u)
	}
	if len(out) <= limit {
		return out, nil, nil
	}
	out = out[:limit]
	last := out[limit-1]
	return out, &librechat.Cursor{Key: timeCursor(last.CreatedAt), ID: last.ID}, nil
}
