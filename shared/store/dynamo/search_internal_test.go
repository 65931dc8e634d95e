package dynamo

import (
	"slices"
	"strings"
	"testing"
)

func words(s string) []string {
	var out []string
	tokenize(s, func(w string) bool {
		out = append(out, w)
		return true
	})
	return out
}

// TestTokenize: words are runs of letters and digits, lower-cased and
// without diacritics, cut at maxWordBytes.
func TestTokenize(t *testing.T) {
	long := strings.Repeat("ab", 40)
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Hello, World!", []string{"hello", "world"}},
		{"Über café NAÏVE façade", []string{"uber", "cafe", "naive", "facade"}},
		{"e\u0301te\u0301 q\u0301 Ελληνικά α\u0301 \u0301x", []string{"ete", "q", "ελληνικά", "ά", "\u0301x"}},
		{"Tiếng Việt", []string{"tieng", "viet"}},
		{"한국어 日本語 русский ёлка", []string{"한국어", "日本語", "русский", "ёлка"}},
		{"don't a_b x-y 3.14 ½", []string{"don", "t", "a", "b", "x", "y", "3", "14", "½"}},
		{"\x00hello\x00world☃🙂", []string{"hello", "world"}},
		{long + " z", []string{long[:maxWordBytes], "z"}},
		{strings.Repeat("é", 40), []string{strings.Repeat("e", 40)}},
		{strings.Repeat("日", 30), []string{strings.Repeat("日", maxWordBytes/3)}},
		{`"" ( ) * : ^ -`, nil},
	} {
		if got := words(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("tokenize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestBagOf: a bag keeps the first distinct words and counts every
// occurrence of those.
func TestBagOf(t *testing.T) {
	bag := bagOf("a b a c b a d", 3, maxWordBytes)
	if !slices.Equal(bag.words, []string{"a", "b", "c"}) || !slices.Equal(bag.counts, []int{3, 2, 1}) {
		t.Fatalf("bagOf = %q %v", bag.words, bag.counts)
	}
	it := item{}
	setBag(it, "w", "n", bag)
	got := getBag(it, "w", "n")
	if !slices.Equal(got.words, bag.words) || !slices.Equal(got.counts, bag.counts) {
		t.Fatalf("getBag = %q %v, want %q %v", got.words, got.counts, bag.words, bag.counts)
	}
	if q := queryWords(`"Hel" hello HEL wor`); !slices.Equal(q, []string{"hello", "hel", "wor"}) {
		t.Fatalf("queryWords = %q", q)
	}
}

// TestWordIDs: the ids come back from an index item's sort key, escaped
// separators included.
func TestWordIDs(t *testing.T) {
	for _, ids := range [][2]string{{"c1", "m1"}, {"c#1", "m%23#"}, {"%25", ""}, {"a#b%c", "#"}} {
		k := wordKey("u", "word", ids[0], ids[1])
		if ids[1] == "" {
			k = titleWordKey("u", "word", ids[0])
		}
		cid, mid := wordIDs(indexed{k: k}.item())
		if cid != ids[0] || mid != ids[1] {
			t.Errorf("wordIDs(%q) = %q, %q; want %q, %q", k.sk, cid, mid, ids[0], ids[1])
		}
	}
}
