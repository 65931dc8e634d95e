package dynamo

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// item is one DynamoDB item.
type item = map[string]types.AttributeValue

// key is a primary key.
type key struct{ pk, sk string }

func (k key) av() item { return item{AttrPK: sv(k.pk), AttrSK: sv(k.sk)} }

// Key size limits of DynamoDB, in bytes of UTF-8.
const (
	maxPartitionKey = 2048
	maxSortKey      = 1024
)

// maxName is the longest id or name accepted as a key part.
const maxName = 255

// esc makes a value safe as one '#'-separated component of a key: '%' and
// '#' are percent-escaped, so components never run into each other.
func esc(s string) string {
	if !strings.ContainsAny(s, "%#") {
		return s
	}
	return strings.NewReplacer("%", "%25", "#", "%23").Replace(s)
}

// checkPart validates one id or name that goes into a key.
func checkPart(op, what, s string) error {
	switch {
	case s == "":
		return invalid(op, what+" is required")
	case len(s) > maxName:
		return invalid(op, what+" is too long")
	case !utf8.ValidString(s):
		return invalid(op, what+" is not valid UTF-8")
	}
	return nil
}

// checkKey validates a built key against DynamoDB's limits.
func checkKey(op string, k key) error {
	if len(k.pk) > maxPartitionKey || len(k.sk) > maxSortKey || !utf8.ValidString(k.pk) || !utf8.ValidString(k.sk) {
		return invalid(op, "an id or name is too long")
	}
	return nil
}

// Keys of every item type; infra/dynamodb.md lists them.
func userKey(id string) key              { return key{"U#" + esc(id), "U"} }
func emailKey(email string) key          { return key{"E#" + esc(email), "E"} }
func counterKey() key                    { return key{"META", "USERS"} }
func sessionKey(id string) key           { return key{"S#" + esc(id), "S"} }
func sessionRefKey(uid, id string) key   { return key{"U#" + esc(uid), "S#" + esc(id)} }
func tokenKey(uid, purpose string) key   { return key{"U#" + esc(uid), "K#" + esc(purpose)} }
func bookmarkKey(uid, name string) key   { return key{"U#" + esc(uid), "T#" + esc(name)} }
func balanceKey(uid string) key          { return key{"U#" + esc(uid), "B"} }
func txKey(uid, id string) key           { return key{"U#" + esc(uid), "X#" + esc(id)} }
func convRefKey(uid, cid string) key     { return key{"U#" + esc(uid), "C#" + esc(cid)} }
func roleKey(name string) key            { return key{"R#" + esc(name), "R"} }
func settingKey(k string) key            { return key{"V#" + esc(k), "V"} }
func convPK(cid string) string           { return "C#" + esc(cid) }
func convKey(cid string) key             { return key{convPK(cid), "C"} }
func memberKey(cid, uid, tag string) key { return key{convPK(cid), "T#" + esc(uid) + "#" + esc(tag)} }
func messageKey(cid, mid string) key     { return key{convPK(cid), "M#" + esc(mid)} }
func chunkPrefix(mid, gen string) string { return "Z#" + esc(mid) + "#" + gen + "#" }
func chunkKey(cid, mid, gen string, i int) key {
	return key{convPK(cid), chunkPrefix(mid, gen) + fmt.Sprintf("%04d", i)}
}

// Keys of the library items.
func fileKey(id string) key              { return key{"F#" + esc(id), "F"} }
func presetKey(uid, id string) key       { return key{"U#" + esc(uid), "P#" + esc(id)} }
func presetClaimKey(id string) key       { return key{"P#" + esc(id), "P"} }
func defaultPresetKey(uid string) key    { return key{"U#" + esc(uid), "PD"} }
func shareKey(id string) key             { return key{"SH#" + esc(id), "SH"} }
func shareClaimKey(uid, cid string) key  { return key{"U#" + esc(uid), "SH#" + esc(cid)} }
func groupPK(id string) string           { return "G#" + esc(id) }
func groupKey(id string) key             { return key{groupPK(id), "G"} }
func groupNameKey(name string) key       { return key{"GN#" + esc(name), "GN"} }
func groupMemberKey(gid, uid string) key { return key{groupPK(gid), "M#" + esc(uid)} }
func groupRefKey(uid, gid string) key    { return key{"U#" + esc(uid), "G#" + esc(gid)} }
func modelConfigKey(id string) key       { return key{"MC#" + esc(id), "MC"} }
func auditKey(id string) key             { return key{"A#" + esc(id), "A"} }
func wordPK(uid string) string           { return "W#" + esc(uid) }
func titleWordPK(uid string) string      { return "WT#" + esc(uid) }
func wordKey(uid, word, cid, mid string) key {
	return key{wordPK(uid), word + "#" + esc(cid) + "#" + esc(mid)}
}
func titleWordKey(uid, word, cid string) key { return key{titleWordPK(uid), word + "#" + esc(cid)} }
func modelConfigNameKey(scope, scopeID, name string) key {
	return key{"MCN#" + esc(scope) + "#" + esc(scopeID) + "#" + esc(name), "MCN"}
}

// Sort-key prefixes inside a user's partition.
const (
	prefixSessionRef = "S#"
	prefixBookmark   = "T#"
	prefixTx         = "X#"
	prefixConvRef    = "C#"
	prefixPresets    = "P" // the presets (P#) and the default pointer (PD)
	prefixGroupRef   = "G#"
	prefixMember     = "M#" // inside a group's partition
)

// Partitions of the list indexes.
func listPK(uid string, archived bool) string { return "L#" + esc(uid) + "#" + archivedFlag(archived) }
func tagListPK(uid string, archived bool, tag string) string {
	return "LT#" + esc(uid) + "#" + archivedFlag(archived) + "#" + esc(tag)
}

// Constant partitions of the list indexes: every user, group, model
// configuration and audit entry is listed in one partition of its kind.
const (
	usersPK        = "USERS"
	groupsPK       = "GROUPS"
	modelConfigsPK = "MODELCONFIGS"
	auditPK        = "AUDIT"
)

func fileListPK(uid string) string  { return "FL#" + esc(uid) }
func shareListPK(uid string) string { return "SHL#" + esc(uid) }

func archivedFlag(a bool) string {
	if a {
		return "1"
	}
	return "0"
}

// timeKey is a fixed-width string that sorts like the time at millisecond
// precision (the zero time included): the unix milliseconds with the sign
// bit flipped, in hex.
func timeKey(t time.Time) string {
	return fmt.Sprintf("%016x", uint64(t.UnixMilli())^(1<<63))
}

// maxTitleKey is how many bytes of a title its sort key keeps.
const maxTitleKey = 256

// titleKey is a string that sorts bytewise like the title and never
// contains the byte 0x01, which ends it in a sort key: the bytes 0x00, 0x01
// and 0x02 become 0x02 followed by 0x01, 0x02 or 0x03. Only the first
// maxTitleKey bytes (cut at a character boundary) count.
func titleKey(title string) string {
	if len(title) > maxTitleKey {
		cut := maxTitleKey
		for cut > 0 && !utf8.RuneStart(title[cut]) {
			cut--
		}
		title = title[:cut]
	}
	if !strings.ContainsAny(title, "\x00\x01\x02") {
		return title
	}
	var b strings.Builder
	for i := 0; i < len(title); i++ {
		c := title[i]
		if c <= 2 {
			b.WriteByte(2)
			b.WriteByte(c + 1)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Sort keys of the list indexes: the order key, then the id as tie-breaker.
func sortKeyTime(t time.Time, id string) string { return timeKey(t) + "#" + id }
func sortKeyTitle(title, id string) string      { return titleKey(title) + "\x01" + id }

// ---- attribute values ----

func sv(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func nv(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
func bv(b []byte) types.AttributeValue  { return &types.AttributeValueMemberB{Value: b} }
func boolv(b bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: b} }
func ssv(s ...string) types.AttributeValue {
	return &types.AttributeValueMemberSS{Value: s}
}

func listv(s []string) types.AttributeValue {
	l := make([]types.AttributeValue, len(s))
	for i, v := range s {
		l[i] = sv(v)
	}
	return &types.AttributeValueMemberL{Value: l}
}

func newItem(k key, typ string) item {
	return item{AttrPK: sv(k.pk), AttrSK: sv(k.sk), "type": sv(typ)}
}

func setStr(it item, name, s string) {
	if s != "" {
		it[name] = sv(s)
	}
}

func setNum(it item, name string, n int64) {
	if n != 0 {
		it[name] = nv(n)
	}
}

func setFlag(it item, name string, b bool) {
	if b {
		it[name] = boolv(true)
	}
}

func setBin(it item, name string, b []byte) {
	if len(b) > 0 {
		it[name] = bv(b)
	}
}

// setTime stores unix milliseconds; the zero time is no attribute.
func setTime(it item, name string, t time.Time) {
	if !t.IsZero() {
		it[name] = nv(t.UnixMilli())
	}
}

func setList(it item, name string, s []string) {
	if len(s) > 0 {
		it[name] = listv(s)
	}
}

func getStr(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getNum(it item, name string) int64 {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		if n, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(v.Value, 64); err == nil {
			return int64(f)
		}
	}
	return 0
}

func hasAttr(it item, name string) bool {
	_, ok := it[name]
	return ok
}

func getFlag(it item, name string) bool {
	v, ok := it[name].(*types.AttributeValueMemberBOOL)
	return ok && v.Value
}

func getBin(it item, name string) []byte {
	if v, ok := it[name].(*types.AttributeValueMemberB); ok {
		return append([]byte(nil), v.Value...)
	}
	return nil
}

func getTime(it item, name string) time.Time {
	if _, ok := it[name]; !ok {
		return time.Time{}
	}
	return time.UnixMilli(getNum(it, name)).UTC()
}

func getList(it item, name string) []string {
	switch v := it[name].(type) {
	case *types.AttributeValueMemberL:
		out := make([]string, 0, len(v.Value))
		for _, e := range v.Value {
			if s, ok := e.(*types.AttributeValueMemberS); ok {
				out = append(out, s.Value)
			}
		}
		return out
	case *types.AttributeValueMemberSS:
		return append([]string(nil), v.Value...)
	}
	return nil
}

// itemSize approximates DynamoDB's size of an item: attribute names plus
// values.
func itemSize(it item) int {
	n := 0
	for name, v := range it {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberSS:
		n := 0
		for _, e := range v.Value {
			n += len(e)
		}
		return n
	}
	return 1
}

// ---- expressions ----

// expr collects the placeholders of one request's expressions. Every
// attribute name goes through a placeholder, so reserved words (TTL, name,
// type…) never matter.
type expr struct {
	names  map[string]string
	values map[string]types.AttributeValue
}

func newExpr() *expr {
	return &expr{names: map[string]string{}, values: map[string]types.AttributeValue{}}
}

// n is the placeholder of an attribute name.
func (e *expr) n(attr string) string {
	ph := "#" + attr
	if !plainName(attr) {
		for p, a := range e.names {
			if a == attr {
				return p
			}
		}
		for i := len(e.names); ; i++ {
			ph = "#n" + strconv.Itoa(i)
			if _, taken := e.names[ph]; !taken {
				break
			}
		}
	}
	e.names[ph] = attr
	return ph
}

// plainName reports whether a name can follow '#' in a placeholder.
func plainName(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// v is a fresh placeholder for a value.
func (e *expr) v(val types.AttributeValue) string {
	ph := ":v" + strconv.Itoa(len(e.values))
	e.values[ph] = val
	return ph
}

func (e *expr) nameMap() map[string]string {
	if e == nil || len(e.names) == 0 {
		return nil
	}
	return e.names
}

func (e *expr) valueMap() map[string]types.AttributeValue {
	if e == nil || len(e.values) == 0 {
		return nil
	}
	return e.values
}

// absent is a condition that holds when the item does not exist or has
// expired.
func (e *expr) absent(now time.Time) string {
	return fmt.Sprintf("(attribute_not_exists(%s) OR %s <= %s)", e.n(AttrPK), e.n(AttrTTL), e.v(nv(now.Unix())))
}

// live is a condition that holds when the item exists and has not expired.
func (e *expr) live(now time.Time) string {
	return fmt.Sprintf("(attribute_exists(%s) AND (attribute_not_exists(%s) OR %s > %s))",
		e.n(AttrPK), e.n(AttrTTL), e.n(AttrTTL), e.v(nv(now.Unix())))
}

// eq is "name = value".
func (e *expr) eq(name string, val types.AttributeValue) string {
	return e.n(name) + " = " + e.v(val)
}
