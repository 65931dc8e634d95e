package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"golang.org/x/text/unicode/norm"

	"github.com/lcgo/lcgo/shared/librechat"
)

// Search works on an inverted index the adapter keeps next to the items
// it indexes (infra/dynamodb.md, "Search"):
//
//   - W#<uid> / <word>#<cid>#<mid>: one item per distinct word of a
//     non-temporary message, with its number of occurrences and the
//     message's creation time;
//   - WT#<uid> / <word>#<cid>: one item per distinct word of the title of
//     a non-temporary conversation.
//
// The message (conversation) item lists the words it is indexed under, so
// that a rewrite or a delete knows which index items to change, and so
// that a search can check every hit against the item itself. A query word
// is one strongly consistent Query with begins_with on the sort key, which
// is what makes every word a prefix; the words of a query intersect.

// Limits of the index.
const (
	// maxWordBytes is how much of a word is indexed (and of a query word
	// used), cut at a character boundary.
	maxWordBytes = 64
	// maxMessageWords and maxTitleWords bound the distinct words indexed
	// per message and title: the first ones in the text.
	maxMessageWords = 256
	maxTitleWords   = 64
	// maxSearchWords is how many words of a query are used.
	maxSearchWords = 32
	// maxWordHits is how many index items one query word reads at most.
	maxWordHits = 20000
	// maxSearchConversations is how many matching conversations
	// SearchConversations ranks at most (those with the highest scores).
	maxSearchConversations = 2000
)

// fold lower-cases r and removes its diacritics if it is a Latin letter,
// like SQLite's unicode61 tokenizer with remove_diacritics 2: a letter
// whose canonical decomposition is a Latin base letter followed by
// combining marks becomes the base letter.
func fold(r rune) rune {
	r = unicode.ToLower(r)
	if r < 0xC0 {
		return r
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	d := norm.NFD.Properties(buf[:n]).Decomposition()
	if len(d) == 0 {
		return r
	}
	base, size := utf8.DecodeRune(d)
	if !unicode.Is(unicode.Latin, base) {
		return r
	}
	for rest := d[size:]; len(rest) > 0; {
		m, sz := utf8.DecodeRune(rest)
		if !unicode.Is(unicode.Mn, m) {
			return r
		}
		rest = rest[sz:]
	}
	return unicode.ToLower(base)
}

// tokenize calls yield with each word of s (in NFC), folded: a word is a
// run of letters, digits, private-use characters and combining marks; the
// marks on Latin letters are dropped; anything else separates words.
// Words are cut to maxWordBytes. It stops when yield returns false.
func tokenize(s string, yield func(string) bool) {
	if !norm.NFC.IsNormalString(s) {
		s = norm.NFC.String(s)
	}
	var b []byte
	latin := false
	flush := func() bool {
		latin = false
		if len(b) == 0 {
			return true
		}
		w := string(b)
		b = b[:0]
		return yield(w)
	}
	add := func(r rune) {
		if len(b)+utf8.RuneLen(r) <= maxWordBytes {
			b = utf8.AppendRune(b, r)
		}
	}
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
			if !latin {
				add(r)
			}
		case unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Co, r):
			f := fold(r)
			latin = unicode.Is(unicode.Latin, f)
			add(f)
		default:
			if !flush() {
				return
			}
		}
	}
	flush()
}

// wordBag is what a text is indexed under: its first distinct words, in
// order, and how often each occurs in the whole text.
type wordBag struct {
	words  []string
	counts []int
}

// bagOf returns the first limit distinct words of text that fit in
// maxLen bytes.
func bagOf(text string, limit, maxLen int) wordBag {
	var bag wordBag
	at := map[string]int{}
	tokenize(text, func(w string) bool {
		if len(w) > maxLen {
			return true
		}
		if i, ok := at[w]; ok {
			bag.counts[i]++
			return true
		}
		if len(bag.words) < limit {
			at[w] = len(bag.words)
			bag.words = append(bag.words, w)
			bag.counts = append(bag.counts, 1)
		}
		return true
	})
	return bag
}

// setBag stores a bag on an item: the words as a list, the counts as a
// string of decimal numbers.
func setBag(it item, words, counts string, bag wordBag) {
	if len(bag.words) == 0 {
		return
	}
	setList(it, words, bag.words)
	ns := make([]string, len(bag.counts))
	for i, n := range bag.counts {
		ns[i] = strconv.Itoa(n)
	}
	it[counts] = sv(strings.Join(ns, " "))
}

// getBag reads what setBag stored.
func getBag(it item, words, counts string) wordBag {
	bag := wordBag{words: getList(it, words)}
	ns := strings.Fields(getStr(it, counts))
	bag.counts = make([]int, len(bag.words))
	for i := range bag.words {
		bag.counts[i] = 1
		if i < len(ns) {
			if n, err := strconv.Atoi(ns[i]); err == nil {
				bag.counts[i] = n
			}
		}
	}
	return bag
}

// hasPrefixes reports whether every query word is a prefix of one of the
// words.
func hasPrefixes(words, query []string) bool {
	for _, q := range query {
		if !slices.ContainsFunc(words, func(w string) bool { return strings.HasPrefix(w, q) }) {
			return false
		}
	}
	return true
}

// searchText is what a message is found by: its text, then the text of
// each "text" content part (a string, or an object's "value") that is not
// blank and differs from the text, one per line.
func searchText(text string, content json.RawMessage) string {
	parts := make([]string, 0, 2)
	if text != "" {
		parts = append(parts, text)
	}
	var items []json.RawMessage
	if len(content) > 0 && json.Unmarshal(content, &items) == nil {
		for _, it := range items {
			var part struct {
				Type string          `json:"type"`
				Text json.RawMessage `json:"text"`
			}
			if json.Unmarshal(it, &part) != nil || part.Type != "text" {
				continue
			}
			var s string
			if json.Unmarshal(part.Text, &s) != nil {
				var v struct {
					Value string `json:"value"`
				}
				if json.Unmarshal(part.Text, &v) != nil {
					continue
				}
				s = v.Value
			}
			if strings.TrimSpace(s) == "" || s == text {
				continue
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n")
}

// messageBag is what a message is indexed under: nothing for a temporary
// one; words that would make a key too long are left out.
func messageBag(m *librechat.Message) wordBag {
	if m.IsTemporary {
		return wordBag{}
	}
	room := maxSortKey - len(esc(m.ConversationID)) - len(esc(m.ID)) - 2
	return bagOf(searchText(m.Text, m.Content), maxMessageWords, min(room, maxWordBytes))
}

// titleBag is what a conversation's title is indexed under: nothing for a
// temporary conversation.
func titleBag(c *librechat.Conversation) wordBag {
	if c.IsTemporary {
		return wordBag{}
	}
	room := maxSortKey - len(esc(c.ID)) - 1
	return bagOf(c.Title, maxTitleWords, min(room, maxWordBytes))
}

// indexed is one index item that a message or conversation item implies.
type indexed struct {
	k     key
	n     int
	at    int64 // the message's creation time in Unix milliseconds
	hasAt bool
}

// messageIndex lists the index items of a stored message item (none when
// it is nil or has no words).
func messageIndex(it item) map[key]indexed {
	if it == nil {
		return nil
	}
	bag := getBag(it, "words", "wordN")
	uid, cid, mid := getStr(it, "uid"), getStr(it, "cid"), getStr(it, "id")
	at, hasAt := getNum(it, "createdAt"), hasAttr(it, "createdAt")
	out := make(map[key]indexed, len(bag.words))
	for i, w := range bag.words {
		k := wordKey(uid, w, cid, mid)
		out[k] = indexed{k: k, n: bag.counts[i], at: at, hasAt: hasAt}
	}
	return out
}

// titleIndex lists the index items of a stored conversation item.
func titleIndex(it item) map[key]indexed {
	if it == nil {
		return nil
	}
	bag := getBag(it, "twords", "twordN")
	uid, cid := getStr(it, "uid"), getStr(it, "id")
	out := make(map[key]indexed, len(bag.words))
	for i, w := range bag.words {
		k := titleWordKey(uid, w, cid)
		out[k] = indexed{k: k, n: bag.counts[i]}
	}
	return out
}

// item is the stored index item: its key, the count and the time. The
// ids are read back from the sort key (wordIDs), which keeps the items —
// read by the thousand per search — small.
func (x indexed) item() item {
	it := x.k.av()
	it["n"] = nv(int64(x.n))
	if x.hasAt {
		it["at"] = nv(x.at)
	}
	return it
}

var unesc = strings.NewReplacer("%23", "#", "%25", "%")

// wordIDs reads the conversation and message ids from the sort key of an
// index item: <word>#<cid>#<mid> or <word>#<cid>, each id escaped.
func wordIDs(it item) (cid, mid string) {
	parts := strings.SplitN(getStr(it, AttrSK), "#", 3)
	if len(parts) > 1 {
		cid = unesc.Replace(parts[1])
	}
	if len(parts) > 2 {
		mid = unesc.Replace(parts[2])
	}
	return cid, mid
}

// indexChange is how the index follows one write: items to put before the
// write (new words, or changed counts or times), keys to delete after it
// (words no longer there), and the keys that are new, which a failed
// write removes again.
type indexChange struct {
	puts  []item
	stale []key
	added []key
}

func (c *indexChange) diff(before, after map[key]indexed) {
	for k, x := range after {
		old, ok := before[k]
		if !ok {
			c.added = append(c.added, k)
		}
		if !ok || old != x {
			c.puts = append(c.puts, x.item())
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			c.stale = append(c.stale, k)
		}
	}
}

// prepareIndex writes the new index items before the write that needs
// them; undoIndex removes them after a failed write; finishIndex deletes
// the stale ones after a successful write. Deleting stale items is
// housekeeping: a search checks its hits against the items themselves.
func (s *Store) prepareIndex(ctx context.Context, c *indexChange) error {
	return s.batchWrite(ctx, c.puts, nil)
}

func (s *Store) undoIndex(ctx context.Context, c *indexChange) {
	_ = s.batchDelete(context.WithoutCancel(ctx), c.added)
}

func (s *Store) finishIndex(ctx context.Context, c *indexChange) {
	_ = s.batchDelete(ctx, c.stale)
}

// indexKeys are the keys of every index item of a stored message or
// conversation item.
func indexKeys(it item) []key {
	var out []key
	for k := range messageIndex(it) {
		out = append(out, k)
	}
	for k := range titleIndex(it) {
		out = append(out, k)
	}
	return out
}

// queryWords are the distinct words of a search, longest first (the most
// selective is read first, which bounds the candidates kept in memory).
func queryWords(q string) []string {
	var out []string
	tokenize(q, func(w string) bool {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
		return len(out) < maxSearchWords
	})
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// searchOffset reads the position a search cursor holds.
func searchOffset(after *librechat.Cursor) (int, error) {
	if after == nil {
		return 0, nil
	}
	n, err := strconv.Atoi(after.Key)
	if err != nil || n < 0 {
		return 0, errors.New("search cursor key is not a position")
	}
	return n, nil
}

// wordQuery reads the index items of one partition whose word starts with
// w, strongly consistent, at most maxWordHits of them.
func (s *Store) wordQuery(ctx context.Context, pk, w string, fn func(item)) error {
	e := newExpr()
	cond := e.eq(AttrPK, sv(pk)) + " AND begins_with(" + e.n(AttrSK) + ", " + e.v(sv(w)) + ")"
	n := 0
	return s.query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  e.nameMap(),
		ExpressionAttributeValues: e.valueMap(),
		ConsistentRead:            aws.Bool(true),
	}, func(it item) bool {
		fn(it)
		n++
		return n < maxWordHits
	})
}

// docHit is one indexed message or title matching every query word: its
// score is the number of occurrences of the words matched.
type docHit struct {
	cid, mid string
	score    int
	at       int64
	per      []int
}

// hits reads one index partition for each query word and keeps the
// documents (keyed by cid and mid) every word matched.
func (s *Store) hits(ctx context.Context, pk string, words []string) (map[[2]string]*docHit, error) {
	found := map[[2]string]*docHit{}
	for i, w := range words {
		err := s.wordQuery(ctx, pk, w, func(it item) {
			cid, mid := wordIDs(it)
			id := [2]string{cid, mid}
			h := found[id]
			if h == nil {
				if i > 0 {
					return
				}
				h = &docHit{cid: id[0], mid: id[1], at: getTime(it, "at").UnixMilli(), per: make([]int, len(words))}
				found[id] = h
			}
			h.per[i] += max(int(getNum(it, "n")), 1)
		})
		if err != nil {
			return nil, err
		}
		for id, h := range found {
			if h.per[i] == 0 {
				delete(found, id)
			}
		}
	}
	for _, h := range found {
		for _, n := range h.per {
			h.score += n
		}
	}
	return found, nil
}

// SearchMessages ranks the user's indexed messages matching every word of
// q by score (occurrences of the query words), then newest first, then by
// conversation and message id, and returns one page of those that the
// message and conversation items confirm: the message is the user's, live,
// not temporary and still has the words; its conversation, if the user
// has it, is neither temporary nor being deleted. The cursor key is the
// position in the ranked candidates after the page's last hit.
func (s *Store) SearchMessages(ctx context.Context, userID, q string, after *librechat.Cursor, limit int) ([]librechat.SearchHit, *librechat.Cursor, error) {
	const op = "dynamo.SearchMessages"
	offset, err := searchOffset(after)
	if err != nil {
		return nil, nil, invalid(op, err.Error())
	}
	limit = pageLimit(limit)
	out := []librechat.SearchHit{}
	words := queryWords(q)
	if len(words) == 0 || userID == "" || checkKey(op, key{wordPK(userID), "x"}) != nil {
		return out, nil, nil
	}
	found, err := s.hits(ctx, wordPK(userID), words)
	if err != nil {
		return nil, nil, fail(op, err)
	}
	ranked := make([]*docHit, 0, len(found))
	for _, h := range found {
		ranked = append(ranked, h)
	}
	slices.SortFunc(ranked, func(a, b *docHit) int {
		if a.score != b.score {
			return b.score - a.score
		}
		if c := cmpInt64(b.at, a.at); c != 0 {
			return c
		}
		if c := strings.Compare(a.cid, b.cid); c != 0 {
			return c
		}
		return strings.Compare(a.mid, b.mid)
	})
	lastAt, more := -1, false
	for i := offset; i < len(ranked) && !more; {
		n := min(len(ranked)-i, max(limit+1-len(out), 1), maxBatchGet/2)
		batch := ranked[i : i+n]
		keys := make([]key, 0, 2*n)
		for _, h := range batch {
			keys = append(keys, messageKey(h.cid, h.mid), convKey(h.cid))
		}
		got, err := s.batchGet(ctx, keys)
		if err != nil {
			return nil, nil, fail(op, err)
		}
		for j, h := range batch {
			m, c := got[messageKey(h.cid, h.mid)], got[convKey(h.cid)]
			if s.liveItem(m) == nil || getStr(m, "uid") != userID || getFlag(m, "temporary") || !hasPrefixes(getList(m, "words"), words) {
				continue
			}
			title := ""
			if c != nil && getStr(c, "uid") == userID {
				if getFlag(c, "temporary") || getFlag(c, "deleting") {
					continue
				}
				title = getStr(c, "title")
			}
			if len(out) == limit {
				more = true
				break
			}
			msg, err := s.decodeHit(ctx, userID, m)
			if err != nil {
				return nil, nil, fail(op, err)
			}
			if msg == nil {
				continue
			}
			out = append(out, librechat.SearchHit{Message: msg, Title: title})
			lastAt = i + j
		}
		i += n
	}
	if !more {
		return out, nil, nil
	}
	return out, &librechat.Cursor{Key: strconv.Itoa(lastAt + 1), ID: out[len(out)-1].Message.ID}, nil
}

// decodeHit decodes a found message item, reading its body chunks if it
// has any; nil when it went meanwhile.
func (s *Store) decodeHit(ctx context.Context, uid string, it item) (*librechat.Message, error) {
	if getNum(it, "zn") > 0 {
		return s.readMessage(ctx, uid, getStr(it, "cid"), getStr(it, "id"))
	}
	return decodeMessage(it, func(int) []byte { return nil })
}

// SearchConversations ranks the user's conversations whose title matches
// every word of q, or one of whose indexed messages does: the score is
// the title's score plus those of the matching messages. The candidates
// are read with one BatchGet and kept when the conversation is the user's,
// live, not temporary and not being deleted (and, for a title match, its
// title still has the words); they rank by score, then UpdatedAt
// descending, then id. The cursor key is the position in that ranking.
func (s *Store) SearchConversations(ctx context.Context, userID, q string, after *librechat.Cursor, limit int) ([]*librechat.Conversation, *librechat.Cursor, error) {
	const op = "dynamo.SearchConversations"
	offset, err := searchOffset(after)
	if err != nil {
		return nil, nil, invalid(op, err.Error())
	}
	limit = pageLimit(limit)
	out := []*librechat.Conversation{}
	words := queryWords(q)
	if len(words) == 0 || userID == "" || checkKey(op, key{titleWordPK(userID), "x"}) != nil {
		return out, nil, nil
	}
	msgs, err := s.hits(ctx, wordPK(userID), words)
	if err != nil {
		return nil, nil, fail(op, err)
	}
	titles, err := s.hits(ctx, titleWordPK(userID), words)
	if err != nil {
		return nil, nil, fail(op, err)
	}
	type cand struct {
		cid           string
		score, titled int
		messages      bool
		updated       int64
	}
	byID := map[string]*cand{}
	get := func(cid string) *cand {
		c := byID[cid]
		if c == nil {
			c = &cand{cid: cid}
			byID[cid] = c
		}
		return c
	}
	for _, h := range msgs {
		c := get(h.cid)
		c.score += h.score
		c.messages = true
	}
	for _, h := range titles {
		c := get(h.cid)
		c.score += h.score
		c.titled = h.score
	}
	cands := make([]*cand, 0, len(byID))
	for _, c := range byID {
		cands = append(cands, c)
	}
	slices.SortFunc(cands, func(a, b *cand) int {
		if a.score != b.score {
			return b.score - a.score
		}
		return strings.Compare(a.cid, b.cid)
	})
	cands = cands[:min(len(cands), maxSearchConversations)]
	keys := make([]key, len(cands))
	for i, c := range cands {
		keys[i] = convKey(c.cid)
	}
	got, err := s.batchGetAttrs(ctx, keys, "type", "uid", "temporary", "deleting", AttrTTL, "updatedAt", "twords")
	if err != nil {
		return nil, nil, fail(op, err)
	}
	ranked := cands[:0]
	for _, c := range cands {
		it := got[convKey(c.cid)]
		if !s.ownConv(it, userID) || getFlag(it, "temporary") {
			continue
		}
		if c.titled > 0 && !hasPrefixes(getList(it, "twords"), words) {
			c.score -= c.titled
			if !c.messages {
				continue
			}
		}
		c.updated = getTime(it, "updatedAt").UnixMilli()
		ranked = append(ranked, c)
	}
	slices.SortFunc(ranked, func(a, b *cand) int {
		if a.score != b.score {
			return b.score - a.score
		}
		if c := cmpInt64(b.updated, a.updated); c != 0 {
			return c
		}
		return strings.Compare(a.cid, b.cid)
	})
	if offset >= len(ranked) {
		return out, nil, nil
	}
	page := ranked[offset:min(len(ranked), offset+limit)]
	keys = keys[:0]
	for _, c := range page {
		keys = append(keys, convKey(c.cid))
	}
	if got, err = s.batchGet(ctx, keys); err != nil {
		return nil, nil, fail(op, err)
	}
	for _, c := range page {
		it := got[convKey(c.cid)]
		if !s.ownConv(it, userID) || getFlag(it, "temporary") {
			// Gone or changed since it was ranked; the page stays
			// positional, so it is left out rather than replaced.
			continue
		}
		conv, err := decodeConversation(it)
		if err != nil {
			return nil, nil, librechat.Wrap(librechat.KindOther, op, err)
		}
		out = append(out, conv)
	}
	if offset+limit >= len(ranked) {
		return out, nil, nil
	}
	next := &librechat.Cursor{Key: strconv.Itoa(offset + limit)}
	if len(page) > 0 {
		next.ID = page[len(page)-1].cid
	}
	return out, next, nil
}
