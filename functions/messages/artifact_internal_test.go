package messages

import (
	"encoding/json"
	"testing"
)

func replaceIn(t *testing.T, text string, index int, original, updated string) (string, bool) {
	t.Helper()
	spans := findArtifacts(nil, text)
	if index >= len(spans) {
		t.Fatalf("%d artifacts in %q", len(spans), text)
	}
	return replaceArtifact(spans[index], original, updated)
}

func TestReplaceArtifact(t *testing.T) {
	const open = ":::artifact{identifier=\"a\"}\n"
	cases := []struct {
		name, text, original, updated, want string
		index                               int
		ok                                  bool
	}{
		{
			name: "fenced block", text: "x\n" + open + "```js\nlet a = 1;\n```\n:::\ny",
			original: "let a = 1;\n", updated: "let a = 2;",
			want: "x\n" + open + "```js\nlet a = 2;\n```\n:::\ny", ok: true,
		},
		{
			name: "updated with a trailing newline is not doubled", text: open + "```\nold\n```\n:::",
			original: "old", updated: "new\n\n",
			want: open + "```\nnew\n```\n:::", ok: true,
		},
		{
			name: "a ::: line inside the fence does not end the artifact",
			text: open + "```md\nbefore\n:::\nafter\n```\n:::\nrest", original: "after", updated: "changed",
			want: open + "```md\nbefore\n:::\nchanged\n```\n:::\nrest", ok: true,
		},
		{
			name: "no fence: whole content", text: open + "plain old text\n:::", original: "old", updated: "new",
			want: open + "plain new\n text\n:::", ok: true,
		},
		{
			name: "second artifact", text: open + "```\none\n```\n:::\n" + open + "```\ntwo\n```\n:::", index: 1,
			original: "two", updated: "2",
			want: open + "```\none\n```\n:::\n" + open + "```\n2\n```\n:::", ok: true,
		},
		{
			name: "only the addressed artifact is searched", text: open + "```\none\n```\n:::\n" + open + "```\ntwo\n```\n:::",
			original: "two", ok: false,
		},
		{
			name: "unclosed artifact runs to the end", text: open + "```\nstreaming", original: "streaming", updated: "done",
			want: open + "```\ndone\n", ok: true,
		},
		{
			name: "empty original in a non-empty artifact", text: open + "```\ncode\n```\n:::", original: "", ok: false,
		},
		{
			name: "opening line only", text: ":::artifact{}", original: "x", ok: false,
		},
	}
	for _, c := range cases {
		got, ok := replaceIn(t, c.text, c.index, c.original, c.updated)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("%s: got %q, %v\nwant %q, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestFindArtifactsPrefersContent(t *testing.T) {
	parts := []json.RawMessage{
		json.RawMessage(`{"type":"think","think":":::artifact{}\nx\n:::"}`),
		json.RawMessage(`null`),
		json.RawMessage(`"loose"`),
		json.RawMessage(`{"type":"text","text":"a\n:::artifact{}\n1\n:::\nb\n:::artifact{}\n2\n:::"}`),
	}
	spans := findArtifacts(parts, ":::artifact{}\ntext\n:::")
	if len(spans) != 2 || spans[0].part != 3 || spans[1].part != 3 {
		t.Fatalf("spans %+v", spans)
	}
	if spans := findArtifacts(parts[:3], ":::artifact{}\ntext\n:::"); len(spans) != 1 || spans[0].part != -1 {
		t.Fatalf("text spans %+v", spans)
	}
}

func TestUnescapeLaTeX(t *testing.T) {
	for in, want := range map[string]string{
		`costs \$5`:             `costs $5`,
		`costs \\$5`:            `costs $5`,
		`$$\\ce{H2O}$$ and $x$`: `$\ce{H2O}$ and $x$`,
		`$$\\pu{5 kg}$$`:        `$\pu{5 kg}$`,
		``:                      ``,
	} {
		if got := unescapeLaTeX(in); got != want {
			t.Errorf("unescapeLaTeX(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCollapseBeforeClose(t *testing.T) {
	for in, want := range map[string]string{
		"a\n\n\n```\n:::":  "a\n```\n:::",
		"a\n\n```js\n:::":  "a\n\n```js\n:::",
		"a\n\nb\n```\n:::": "a\n\nb\n```\n:::",
		"no breaks":        "no breaks",
	} {
		if got := collapseBeforeClose(in); got != want {
			t.Errorf("collapseBeforeClose(%q) = %q, want %q", in, got, want)
		}
	}
}
