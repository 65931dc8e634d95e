package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/lcgo/lcgo/shared/librechat"
)

// rowsAffected returns how many rows an Exec changed.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// pageLimit is limit, or defaultPageSize when limit <= 0.
func pageLimit(limit int) int {
	if limit <= 0 {
		return defaultPageSize
	}
	return limit
}

// cursorTime parses the key of a time cursor.
func cursorTime(c *librechat.Cursor) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, c.Key)
	if err != nil {
		return time.Time{}, errors.New("cursor key is not an RFC 3339 time")
	}
	return t, nil
}

// ---- files ----

const fileColumns = `id, user_id, object_id, temp_file_id, filename, filepath, storage_key, source, type,
	bytes, width, height, context, conversation_id, text, embedded, fields, created_at, updated_at`

func scanFile(sc scanner) (*librechat.File, error) {
	var (
		f        librechat.File
		embedded int
		fields   string
		created  int64
		updated  sql.NullInt64
	)
	err := sc.Scan(&f.ID, &f.UserID, &f.ObjectID, &f.TempFileID, &f.Filename, &f.Filepath, &f.StorageKey, &f.Source, &f.Type,
		&f.Bytes, &f.Width, &f.Height, &f.Context, &f.ConversationID, &f.Text, &embedded, &fields, &created, &updated)
	if err != nil {
		return nil, err
	}
	f.Embedded = embedded != 0
	f.CreatedAt, f.UpdatedAt = keyTime(created), timeOf(updated)
	if f.Fields, err = decodeFields(fields); err != nil {
		return nil, err
	}
	return &f, nil
}

// PutFile creates or replaces (f.UserID, f.ID). The upsert only updates a
// row of the same user, so an id of another user is KindConflict.
func (s *Store) PutFile(ctx context.Context, f *librechat.File) error {
	const op = "sqlite.PutFile"
	if f == nil || f.ID == "" || f.UserID == "" {
		return invalid(op, "file id and user are required")
	}
	fields, err := encodeFields(f.Fields)
	if err != nil {
		return encodeError(op, "a file field", err)
	}
	n, err := rowsAffected(s.w.ExecContext(ctx, `INSERT INTO files (`+fileColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			object_id = excluded.object_id, temp_file_id = excluded.temp_file_id, filename = excluded.filename,
			filepath = excluded.filepath, storage_key = excluded.storage_key, source = excluded.source,
			type = excluded.type, bytes = excluded.bytes, width = excluded.width, height = excluded.height,
			context = excluded.context, conversation_id = excluded.conversation_id, text = excluded.text,
			embedded = excluded.embedded, fields = excluded.fields, created_at = excluded.created_at,
			updated_at = excluded.updated_at
		WHERE files.user_id = excluded.user_id`,
		f.ID, f.UserID, f.ObjectID, f.TempFileID, f.Filename, f.Filepath, f.StorageKey, f.Source, f.Type,
		f.Bytes, f.Width, f.Height, f.Context, f.ConversationID, f.Text, boolInt(f.Embedded), fields,
		keyMS(f.CreatedAt), msOf(f.UpdatedAt)))
	if err != nil {
		return other(op, err)
	}
	if n == 0 {
		return conflict(op, "file id is taken", nil)
	}
	return nil
}

// File fails with KindNotFound when the user has no file with that id.
func (s *Store) File(ctx context.Context, userID, id string) (*librechat.File, error) {
	const op = "sqlite.File"
	f, err := scanFile(s.r.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE id = ? AND user_id = ?`, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "file not found")
	}
	if err != nil {
		return nil, other(op, err)
	}
	return f, nil
}

// filesQuery lists a user's files, newest first, by walking
// files_user_created backwards.
const filesQuery = `SELECT ` + fileColumns + ` FROM files WHERE user_id = ? ORDER BY created_at DESC, id DESC`

// Files lists the user's files by created_at descending, then id descending.
func (s *Store) Files(ctx context.Context, userID string) ([]*librechat.File, error) {
	const op = "sqlite.Files"
	rows, err := s.r.QueryContext(ctx, filesQuery, userID)
	if err != nil {
		return nil, other(op, err)
	}
	defer rows.Close()
	out := []*librechat.File{}
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, other(op, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, other(op, err)
	}
	return out, nil
}

// DeleteFile fails with KindNotFound when the user has no such file.
func (s *Store) DeleteFile(ctx context.Context, userID, id string) error {
	const op = "sqlite.DeleteFile"
	n, err := rowsAffected(s.w.ExecContext(ctx, `DELETE FROM files WHERE id = ? AND user_id = ?`, id, userID))
	if err != nil {
		return other(op, err)
	}
	if n == 0 {
		return notFound(op, "file not found")
	}
	return nil
}

// ---- presets ----

const presetColumns = `id, user_id, object_id, title, endpoint, is_default, position, fields, created_at, updated_at`

func scanPreset(sc scanner) (*librechat.Preset, error) {
	var (
		p         librechat.Preset
		isDefault int
		fields    string
		created   sql.NullInt64
		updated   int64
	)
	err := sc.Scan(&p.ID, &p.UserID, &p.ObjectID, &p.Title, &p.Endpoint, &isDefault, &p.Order, &fields, &created, &updated)
	if err != nil {
		return nil, err
	}
	p.IsDefault = isDefault != 0
	p.CreatedAt, p.UpdatedAt = timeOf(created), keyTime(updated)
	if p.Fields, err = decodeFields(fields); err != nil {
		return nil, err
	}
	return &p, nil
}

// presetsQuery lists a user's presets, in order, by walking presets_order.
const presetsQuery = `SELECT ` + presetColumns + ` FROM presets WHERE user_id = ?
	ORDER BY position, updated_at DESC, id`

// Presets lists the user's presets by Order, then UpdatedAt descending,
// then id.
func (s *Store) Presets(ctx context.Context, userID string) ([]*librechat.Preset, error) {
	const op = "sqlite.Presets"
	rows, err := s.r.QueryContext(ctx, presetsQuery, userID)
	if err != nil {
		return nil, other(op, err)
	}
	defer rows.Close()
	out := []*librechat.Preset{}
	for rows.Next() {
		p, err := scanPreset(rows)
		if err != nil {
			return nil, other(op, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, other(op, err)
	}
	return out, nil
}

// PutPreset creates or replaces (p.UserID, p.ID) in one transaction that,
// when p.IsDefault, first clears the flag on the user's other presets. The
// presets_default index allows one default per user. An id of another
// user is KindConflict and changes nothing.
func (s *Store) PutPreset(ctx context.Context, p *librechat.Preset) error {
	const op = "sqlite.PutPreset"
	if p == nil || p.ID == "" || p.UserID == "" {
		return invalid(op, "preset id and user are required")
	}
	fields, err := encodeFields(p.Fields)
	if err != nil {
		return encodeError(op, "a preset field", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return other(op, err)
	}
	defer tx.Rollback()
	if p.IsDefault {
		if _, err := tx.ExecContext(ctx, `UPDATE presets SET is_default = 0
			WHERE user_id = ? AND is_default = 1 AND id <> ?`, p.UserID, p.ID); err != nil {
			return other(op, err)
		}
	}
	n, err := rowsAffected(tx.ExecContext(ctx, `INSERT INTO presets (`+presetColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			object_id = excluded.object_id, title = excluded.title, endpoint = excluded.endpoint,
			is_default = excluded.is_default, position = excluded.position, fields = excluded.fields,
			created_at = excluded.created_at, updated_at = excluded.updated_at
		WHERE presets.user_id = excluded.user_id`,
		p.ID, p.UserID, p.ObjectID, p.Title, p.Endpoint, boolInt(p.IsDefault), p.Order, fields,
		msOf(p.CreatedAt), keyMS(p.UpdatedAt)))
	if err != nil {
		return other(op, err)
	}
	if n == 0 {
		return conflict(op, "preset id is taken", nil)
	}
	if err := tx.Commit(); err != nil {
		return other(op, err)
	}
	return nil
}

// DeletePreset fails with KindNotFound when the user has no such preset.
func (s *Store) DeletePreset(ctx context.Context, userID, id string) error {
	const op = "sqlite.DeletePreset"
	n, err := rowsAffected(s.w.ExecContext(ctx, `DELETE FROM presets WHERE id = ? AND user_id = ?`, id, userID))
	if err != nil {
		return other(op, err)
	}
	if n == 0 {
		return notFound(op, "preset not found")
	}
	return nil
}

// DeletePresets removes every preset of the user and reports how many.
func (s *Store) DeletePresets(ctx context.Context, userID string) (int, error) {
	const op = "sqlite.DeletePresets"
	n, err := rowsAffected(s.w.ExecContext(ctx, `DELETE FROM presets WHERE user_id = ?`, userID))
	if err != nil {
		return 0, other(op, err)
	}
	return int(n), nil
}

// ---- shared links ----

const shareColumns = `share_id, user_id, conversation_id, object_id, title, is_public, message_ids,
	target_message_id, created_at, updated_at`

// shareRow is a scanned row whose JSON column is not decoded yet, so that
// a list can filter on the title first.
type shareRow struct {
	s                librechat.SharedLink
	public           int
	messageIDs       string
	created, updated int64
}

func scanShareRow(sc scanner) (*shareRow, error) {
	var r shareRow
	err := sc.Scan(&r.s.ShareID, &r.s.UserID, &r.s.ConversationID, &r.s.ObjectID, &r.s.Title, &r.public, &r.messageIDs,
		&r.s.TargetMessageID, &r.created, &r.updated)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *shareRow) decode() (*librechat.SharedLink, error) {
	sl := r.s
	sl.IsPublic = r.public != 0
	sl.CreatedAt, sl.UpdatedAt = keyTime(r.created), keyTime(r.updated)
	if err := json.Unmarshal([]byte(r.messageIDs), &sl.MessageIDs); err != nil {
		return nil, err
	}
	return &sl, nil
}

func scanShare(sc scanner) (*librechat.SharedLink, error) {
	r, err := scanShareRow(sc)
	if err != nil {
		return nil, err
	}
	return r.decode()
}

// PutShare creates or replaces the link s.ShareID. The upsert only updates
// a row of the same user (KindConflict otherwise), and the unique index on
// (user_id, conversation_id) turns a second link for one conversation into
// KindConflict too.
func (s *Store) PutShare(ctx context.Context, sl *librechat.SharedLink) error {
	const op = "sqlite.PutShare"
	if sl == nil || sl.ShareID == "" || sl.UserID == "" || sl.ConversationID == "" {
		return invalid(op, "share id, user and conversation are required")
	}
	ids, err := encodeJSON(sl.MessageIDs)
	if err != nil {
		return other(op, err)
	}
	n, err := rowsAffected(s.w.ExecContext(ctx, `INSERT INTO shared_links (`+shareColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (share_id) DO UPDATE SET
			conversation_id = excluded.conversation_id, object_id = excluded.object_id, title = excluded.title,
			is_public = excluded.is_public, message_ids = excluded.message_ids,
			target_message_id = excluded.target_message_id, created_at = excluded.created_at,
			updated_at = excluded.updated_at
		WHERE shared_links.user_id = excluded.user_id`,
		sl.ShareID, sl.UserID, sl.ConversationID, sl.ObjectID, sl.Title, boolInt(sl.IsPublic), ids,
		sl.TargetMessageID, keyMS(sl.CreatedAt), keyMS(sl.UpdatedAt)))
	if isUnique(err) {
		return conflict(op, "the conversation already has a shared link", err)
	}
	if err != nil {
		return other(op, err)
	}
	if n == 0 {
		return conflict(op, "share id is taken", nil)
	}
	return nil
}

// Share finds a link by its id alone, public or not.
func (s *Store) Share(ctx context.Context, shareID string) (*librechat.SharedLink, error) {
	const op = "sqlite.Share"
	sl, err := scanShare(s.r.QueryRowContext(ctx, `SELECT `+shareColumns+` FROM shared_links WHERE share_id = ?`, shareID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "shared link not found")
	}
	if err != nil {
		return nil, other(op, err)
	}
	return sl, nil
}

// ShareOf finds the user's link for a conversation through
// shared_links_conversation.
func (s *Store) ShareOf(ctx context.Context, userID, conversationID string) (*librechat.SharedLink, error) {
	const op = "sqlite.ShareOf"
	sl, err := scanShare(s.r.QueryRowContext(ctx, `SELECT `+shareColumns+` FROM shared_links
		WHERE user_id = ? AND conversation_id = ?`, userID, conversationID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "shared link not found")
	}
	if err != nil {
		return nil, other(op, err)
	}
	return sl, nil
}

// shareOrder is one ShareQuery.SortBy: its column and the cursor key of a link.
type shareOrder struct {
	column string
	isTime bool
	key    func(sl *librechat.SharedLink) string
}

var shareOrders = map[string]shareOrder{
	librechat.SortCreatedAt: {"created_at", true, func(sl *librechat.SharedLink) string { return timeKey(sl.CreatedAt) }},
	librechat.SortUpdatedAt: {"updated_at", true, func(sl *librechat.SharedLink) string { return timeKey(sl.UpdatedAt) }},
	librechat.SortTitle:     {"title", false, func(sl *librechat.SharedLink) string { return sl.Title }},
}

// sharesQuery builds the SELECT of one page, walking one of the
// shared_links_* indexes like listQuery does for conversations: equality
// on user_id, a row-value range after the cursor, the index order. Without
// a search it fetches limit+1 rows; with one the title is matched in Go.
func sharesQuery(userID string, q librechat.ShareQuery) (query string, args []any, order shareOrder, limit int, err error) {
	sortBy := q.SortBy
	if sortBy == "" {
		sortBy = librechat.SortCreatedAt
	}
	order, ok := shareOrders[sortBy]
	if !ok {
		return "", nil, order, 0, errors.New("unknown sort order " + sortBy)
	}
	limit = pageLimit(q.Limit)
	cmp, dir := ">", "ASC"
	if !q.Asc {
		cmp, dir = "<", "DESC"
	}
	var b strings.Builder
	b.WriteString(`SELECT ` + shareColumns + ` FROM shared_links WHERE user_id = ?`)
	args = []any{userID}
	if q.After != nil {
		var key any = q.After.Key
		if order.isTime {
			t, err := cursorTime(q.After)
			if err != nil {
				return "", nil, order, 0, err
			}
			key = keyMS(t)
		}
		b.WriteString(` AND (` + order.column + `, share_id) ` + cmp + ` (?, ?)`)
		args = append(args, key, q.After.ID)
	}
	b.WriteString(` ORDER BY ` + order.column + ` ` + dir + `, share_id ` + dir)
	if q.Search == "" {
		b.WriteString(` LIMIT ?`)
		args = append(args, limit+1)
	}
	return b.String(), args, order, limit, nil
}

// Shares returns one page of the user's links and the cursor of the next
// page, nil on the last one. The cursor key is timeKey of the sort time, or
// the title; its id is the share id.
func (s *Store) Shares(ctx context.Context, userID string, q librechat.ShareQuery) ([]*librechat.SharedLink, *librechat.Cursor, error) {
	const op = "sqlite.Shares"
	query, args, order, limit, err := sharesQuery(userID, q)
	if err != nil {
		return nil, nil, invalid(op, err.Error())
	}
	out, more, err := page(ctx, s.r, query, args, limit, q.Search, func(sc scanner) (string, func() (*librechat.SharedLink, error), error) {
		r, err := scanShareRow(sc)
		if err != nil {
			return "", nil, err
		}
		return r.s.Title, r.decode, nil
	})
	if err != nil {
		return nil, nil, other(op, err)
	}
	if !more {
		return out, nil, nil
	}
	last := out[len(out)-1]
	return out, &librechat.Cursor{Key: order.key(last), ID: last.ShareID}, nil
}

// DeleteShare fails with KindNotFound when the user has no such link.
func (s *Store) DeleteShare(ctx context.Context, userID, shareID string) error {
	const op = "sqlite.DeleteShare"
	n, err := rowsAffected(s.w.ExecContext(ctx, `DELETE FROM shared_links WHERE share_id = ? AND user_id = ?`, shareID, userID))
	if err != nil {
		return other(op, err)
	}
	if n == 0 {
		return notFound(op, "shared link not found")
	}
	return nil
}

// ---- groups ----

const groupColumns = `id, name, description, created_at, updated_at`

func scanGroup(sc scanner) (*librechat.Group, error) {
	var (
		g                librechat.Group
		created, updated sql.NullInt64
	)
	if err := sc.Scan(&g.ID, &g.Name, &g.Description, &created, &updated); err != nil {
		return nil, err
	}
	g.CreatedAt, g.UpdatedAt = timeOf(created), timeOf(updated)
	return &g, nil
}

// CreateGroup fails with KindConflict when the name (or the id) is taken.
func (s *Store) CreateGroup(ctx context.Context, g *librechat.Group) error {
	const op = "sqlite.CreateGroup"
	if g == nil || g.ID == "" || g.Name == "" {
		return invalid(op, "group id and name are required")
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO groups (`+groupColumns+`) VALUES (?, ?, ?, ?, ?)`,
		g.ID, g.Name, g.Description, msOf(g.CreatedAt), msOf(g.UpdatedAt))
	if isUnique(err) {
		return conflict(op, "a group with this name already exists", err)
	}
	if err != nil {
		return other(op, err)
	}
	return nil
}

// UpdateGroup replaces every field of the group g.ID.
func (s *Store) UpdateGroup(ctx context.Context, g *librechat.Group) error {
	const op = "sqlite.UpdateGroup"
	if g == nil || g.ID == "" || g.Name == "" {
		return invalid(op, "group id and name are required")
	}
	n, err := rowsAffected(s.w.ExecContext(ctx, `UPDATE groups SET name = ?, description = ?, created_at = ?, updated_at = ?
		WHERE id = ?`, g.Name, g.Description, msOf(g.CreatedAt), msOf(g.UpdatedAt), g.ID))
	if isUnique(err) {
		return conflict(op, "a group with this name already exists", err)
	}
	if err != nil {
		return other(op, err)
	}
	if n == 0 {
		return notFound(op, "group not found")
	}
	return nil
}

// Group fails with KindNotFound when there is no such group.
func (s *Store) Group(ctx context.Context, id string) (*librechat.Group, error) {
	const op = "sqlite.Group"
	g, err := scanGroup(s.r.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM groups WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "group not found")
	}
	if err != nil {
		return nil, other(op, err)
	}
	return g, nil
}

// groupsQuery lists every group by name, walking groups_name.
const groupsQuery = `SELECT ` + groupColumns + ` FROM groups ORDER BY name`

// Groups lists every group by name (bytewise).
func (s *Store) Groups(ctx context.Context) ([]*librechat.Group, error) {
	const op = "sqlite.Groups"
	rows, err := s.r.QueryContext(ctx, groupsQuery)
	if err != nil {
		return nil, other(op, err)
	}
	defer rows.Close()
	out := []*librechat.Group{}
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, other(op, err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, other(op, err)
	}
	return out, nil
}

// DeleteGroup removes the group and its memberships in one transaction.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	const op = "sqlite.DeleteGroup"
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return other(op, err)
	}
	defer tx.Rollback()
	n, err := rowsAffected(tx.ExecContext(ctx, `DELETE FROM groups WHERE id = ?`, id))
	if err != nil {
		return other(op, err)
	}
	if n == 0 {
		return notFound(op, "group not found")
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = ?`, id); err != nil {
		return other(op, err)
	}
	if err := tx.Commit(); err != nil {
		return other(op, err)
	}
	return nil
}

// AddMember checks that the group exists and adds the membership in one
// transaction; an existing membership is left as it is.
func (s *Store) AddMember(ctx context.Context, groupID, userID string) error {
	const op = "sqlite.AddMember"
	if groupID == "" || userID == "" {
		return invalid(op, "group and user are required")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return other(op, err)
	}
	defer tx.Rollback()
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM groups WHERE id = ?`, groupID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(op, "group not found")
	}
	if err != nil {
		return other(op, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id) VALUES (?, ?)
		ON CONFLICT DO NOTHING`, groupID, userID); err != nil {
		return other(op, err)
	}
	if err := tx.Commit(); err != nil {
		return other(op, err)
	}
	return nil
}

// RemoveMember removes a membership; removing an absent one is not an error.
func (s *Store) RemoveMember(ctx context.Context, groupID, userID string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = ? AND user_id = ?`, groupID, userID); err != nil {
		return other("sqlite.RemoveMember", err)
	}
	return nil
}

// membersQuery lists a group's user ids in order, from the primary key.
const membersQuery = `SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id`

// groupsOfQuery lists a user's group ids in order, walking group_members_user.
const groupsOfQuery = `SELECT group_id FROM group_members WHERE user_id = ? ORDER BY group_id`

// Members lists the user ids of a group, sorted; an unknown group has none.
func (s *Store) Members(ctx context.Context, groupID string) ([]string, error) {
	return s.textColumn(ctx, "sqlite.Members", membersQuery, groupID)
}

// GroupsOf lists the ids of the user's groups, sorted.
func (s *Store) GroupsOf(ctx context.Context, userID string) ([]string, error) {
	return s.textColumn(ctx, "sqlite.GroupsOf", groupsOfQuery, userID)
}

// textColumn runs a query of one text column.
func (s *Store) textColumn(ctx context.Context, op, query string, args ...any) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, other(op, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, other(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, other(op, err)
	}
	return out, nil
}

// ---- model configurations ----

const modelConfigColumns = `id, scope, scope_id, name, spec, created_at, updated_at, updated_by`

func scanModelConfig(sc scanner) (*librechat.ModelConfig, error) {
	var (
		c                librechat.ModelConfig
		spec             sql.NullString
		created, updated sql.NullInt64
	)
	if err := sc.Scan(&c.ID, &c.Scope, &c.ScopeID, &c.Name, &spec, &created, &updated, &c.UpdatedBy); err != nil {
		return nil, err
	}
	if spec.Valid {
		c.Spec = json.RawMessage(spec.String)
	}
	c.CreatedAt, c.UpdatedAt = timeOf(created), timeOf(updated)
	return &c, nil
}

// modelConfigArgs checks c and returns the values of modelConfigColumns
// but the id, then the id.
func modelConfigArgs(op string, c *librechat.ModelConfig) ([]any, error) {
	if c == nil || c.ID == "" || c.Name == "" {
		return nil, invalid(op, "model configuration id and name are required")
	}
	switch c.Scope {
	case librechat.ScopeSystem:
		if c.ScopeID != "" {
			return nil, invalid(op, "a system model configuration has no scope id")
		}
	case librechat.ScopeGroup, librechat.ScopeUser:
		if c.ScopeID == "" {
			return nil, invalid(op, "a "+c.Scope+" model configuration needs a scope id")
		}
	default:
		return nil, invalid(op, "unknown model configuration scope "+c.Scope)
	}
	spec, err := encodeContent(c.Spec)
	if err != nil {
		return nil, encodeError(op, "the model configuration spec", err)
	}
	return []any{c.Scope, c.ScopeID, c.Name, spec, msOf(c.CreatedAt), msOf(c.UpdatedAt), c.UpdatedBy, c.ID}, nil
}

// CreateModelConfig fails with KindConflict when (Scope, ScopeID, Name) or
// the id is taken, and with KindInvalid on an unknown scope, a system
// configuration with a scope id, or a group or user one without.
func (s *Store) CreateModelConfig(ctx context.Context, c *librechat.ModelConfig) error {
	const op = "sqlite.CreateModelConfig"
	args, err := modelConfigArgs(op, c)
	if err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO model_configs
		(scope, scope_id, name, spec, created_at, updated_at, updated_by, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if isUnique(err) {
		return conflict(op, "a model configuration with this name already exists", err)
	}
	if err != nil {
		return other(op, err)
	}
	return nil
}

// UpdateModelConfig replaces every field of the configuration c.ID, its
// scope included.
func (s *Store) UpdateModelConfig(ctx context.Context, c *librechat.ModelConfig) error {
	const op = "sqlite.UpdateModelConfig"
	args, err := modelConfigArgs(op, c)
	if err != nil {
		return err
	}
	n, err := rowsAffected(s.w.ExecContext(ctx, `UPDATE model_configs SET
		scope = ?, scope_id = ?, name = ?, spec = ?, created_at = ?, updated_at = ?, updated_by = ?
		WHERE id = ?`, args...))
	if isUnique(err) {
		return conflict(op, "a model configuration with this name already exists", err)
	}
	if err != nil {
		return other(op, err)
	}
	if n == 0 {
		return notFound(op, "model configuration not found")
	}
	return nil
}

// ModelConfig fails with KindNotFound when there is no such configuration.
func (s *Store) ModelConfig(ctx context.Context, id string) (*librechat.ModelConfig, error) {
	const op = "sqlite.ModelConfig"
	c, err := scanModelConfig(s.r.QueryRowContext(ctx, `SELECT `+modelConfigColumns+` FROM model_configs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "model configuration not found")
	}
	if err != nil {
		return nil, other(op, err)
	}
	return c, nil
}

// modelConfigsQuery lists one scope's configurations by name and
// allModelConfigsQuery every configuration by scope, scope id and name;
// both walk model_configs_name.
const (
	modelConfigsQuery = `SELECT ` + modelConfigColumns + ` FROM model_configs
		WHERE scope = ? AND scope_id = ? ORDER BY name`
	allModelConfigsQuery = `SELECT ` + modelConfigColumns + ` FROM model_configs
		ORDER BY scope, scope_id, name`
)

// ModelConfigs lists the configurations of (scope, scopeID) by name; an
// empty scope lists every configuration by scope, scope id, then name.
func (s *Store) ModelConfigs(ctx context.Context, scope, scopeID string) ([]*librechat.ModelConfig, error) {
	const op = "sqlite.ModelConfigs"
	query, args := modelConfigsQuery, []any{scope, scopeID}
	if scope == "" {
		query, args = allModelConfigsQuery, nil
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, other(op, err)
	}
	defer rows.Close()
	out := []*librechat.ModelConfig{}
	for rows.Next() {
		c, err := scanModelConfig(rows)
		if err != nil {
			return nil, other(op, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, other(op, err)
	}
	return out, nil
}

// DeleteModelConfig fails with KindNotFound when there is no such configuration.
func (s *Store) DeleteModelConfig(ctx context.Context, id string) error {
	const op = "sqlite.DeleteModelConfig"
	n, err := rowsAffected(s.w.ExecContext(ctx, `DELETE FROM model_configs WHERE id = ?`, id))
	if err != nil {
		return other(op, err)
	}
	if n == 0 {
		return notFound(op, "model configuration not found")
	}
	return nil
}

// ---- audit ----

// AddAudit records e; a taken id is KindConflict.
func (s *Store) AddAudit(ctx context.Context, e *librechat.AuditEntry) error {
	const op = "sqlite.AddAudit"
	if e == nil || e.ID == "" {
		return invalid(op, "audit entry id is required")
	}
	detail, err := encodeContent(e.Detail)
	if err != nil {
		return encodeError(op, "the audit detail", err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO audit (id, actor_id, action, target, detail, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, e.ID, e.ActorID, e.Action, e.Target, detail, keyMS(e.CreatedAt))
	if isUnique(err) {
		return conflict(op, "audit entry already recorded", err)
	}
	if err != nil {
		return other(op, err)
	}
	return nil
}

// auditQuery builds the SELECT of one audit page, newest first, walking
// audit_created backwards from the cursor; it fetches limit+1 rows.
func auditQuery(after *librechat.Cursor, limit int) (string, []any, error) {
	const columns = `SELECT id, actor_id, action, target, detail, created_at FROM audit`
	if after == nil {
		return columns + ` ORDER BY created_at DESC, id DESC LIMIT ?`, []any{limit + 1}, nil
	}
	t, err := cursorTime(after)
	if err != nil {
		return "", nil, err
	}
	return columns + ` WHERE (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?`,
		[]any{keyMS(t), after.ID, limit + 1}, nil
}

// Audit lists entries by created_at descending, then id descending, one
// page at a time (limit <= 0: 25). The cursor key is timeKey of the last
// entry's CreatedAt; its id is the entry's id.
func (s *Store) Audit(ctx context.Context, after *librechat.Cursor, limit int) ([]*librechat.AuditEntry, *librechat.Cursor, error) {
	const op = "sqlite.Audit"
	limit = pageLimit(limit)
	query, args, err := auditQuery(after, limit)
	if err != nil {
		return nil, nil, invalid(op, err.Error())
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, other(op, err)
	}
	defer rows.Close()
	out := []*librechat.AuditEntry{}
	for rows.Next() {
		var (
			e       librechat.AuditEntry
			detail  sql.NullString
			created int64
		)
		if err := rows.Scan(&e.ID, &e.ActorID, &e.Action, &e.Target, &detail, &created); err != nil {
			return nil, nil, other(op, err)
		}
		if detail.Valid {
			e.Detail = json.RawMessage(detail.String)
		}
		e.CreatedAt = keyTime(created)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, other(op, err)
	}
	if len(out) <= limit {
		return out, nil, nil
	}
	out = out[:limit]
	last := out[limit-1]
	return out, &librechat.Cursor{Key: timeKey(last.CreatedAt), ID: last.ID}, nil
}

// ---- user list ----

// usersQueries returns the SELECTs of one page of users by created_at,
// then id, each walking users_created and fetching at most limit+1 rows.
// users.created_at is NULL for the zero time, and NULL sorts first: after a
// cursor on a zero-time user the page continues with the remaining NULL
// rows, then with every dated row, so that case takes two queries.
func usersQueries(after *librechat.Cursor, limit int) ([]string, [][]any, error) {
	const columns = `SELECT ` + userColumns + ` FROM users`
	if after == nil {
		return []string{columns + ` ORDER BY created_at, id LIMIT ?`}, [][]any{{limit + 1}}, nil
	}
	t, err := cursorTime(after)
	if err != nil {
		return nil, nil, err
	}
	if t.IsZero() {
		return []string{
				columns + ` WHERE created_at IS NULL AND id > ? ORDER BY created_at, id LIMIT ?`,
				columns + ` WHERE created_at IS NOT NULL ORDER BY created_at, id LIMIT ?`,
			},
			[][]any{{after.ID, limit + 1}, {limit + 1}}, nil
	}
	return []string{columns + ` WHERE (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`},
		[][]any{{t.UnixMilli(), after.ID, limit + 1}}, nil
}

// ListUsers returns one page of users by CreatedAt, then id (limit <= 0:
// 25), and the cursor of the next page, nil on the last one. The cursor
// key is timeKey of the last user's CreatedAt (the zero time included).
func (s *Store) ListUsers(ctx context.Context, q librechat.UserQuery) ([]*librechat.User, *librechat.Cursor, error) {
	const op = "sqlite.ListUsers"
	limit := pageLimit(q.Limit)
	queries, args, err := usersQueries(q.After, limit)
	if err != nil {
		return nil, nil, invalid(op, err.Error())
	}
	out := []*librechat.User{}
	for i, query := range queries {
		if len(out) > limit {
			break
		}
		a := args[i]
		a[len(a)-1] = limit + 1 - len(out)
		if err := s.appendUsers(ctx, &out, query, a...); err != nil {
			return nil, nil, other(op, err)
		}
	}
	if len(out) <= limit {
		return out, nil, nil
	}
	out = out[:limit]
	last := out[limit-1]
	return out, &librechat.Cursor{Key: timeKey(last.CreatedAt), ID: last.ID}, nil
}

func (s *Store) appendUsers(ctx context.Context, out *[]*librechat.User, query string, args ...any) error {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return err
		}
		*out = append(*out, u)
	}
	return rows.Err()
}
