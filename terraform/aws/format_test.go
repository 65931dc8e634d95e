package terraform

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// TestFormat checks that every .tf file is formatted as `terraform fmt`
// leaves it: hclwrite's formatter (the one terraform fmt runs) changes
// nothing, and, checked on its own, indentation is two spaces per nesting
// level with no tabs, no trailing blanks, no CR, no runs of blank lines,
// and one final newline.
func TestFormat(t *testing.T) {
	paths, err := filepath.Glob("*.tf")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no .tf files (%v)", err)
	}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		checkFormat(t, p, 1, src)
	}
}

// TestReadmeExamples checks that the HCL examples of the READMEs parse and
// are formatted.
func TestReadmeExamples(t *testing.T) {
	fence := regexp.MustCompile("(?s)```hcl\n(.*?)```")
	examples := 0
	for _, p := range []string{"README.md", filepath.Join("..", "README.md")} {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		blocks := fence.FindAllSubmatchIndex(src, -1)
		examples += len(blocks)
		for _, b := range blocks {
			code := src[b[2]:b[3]]
			line := 1 + bytes.Count(src[:b[2]], []byte("\n"))
			where := fmt.Sprintf("%s:%d", p, line)
			if _, diags := hclsyntax.ParseConfig(code, where, hcl.InitialPos); diags.HasErrors() {
				t.Errorf("%s: %s", where, diags.Error())
				continue
			}
			checkFormat(t, p, line, code)
		}
	}
	if examples == 0 {
		t.Error("the READMEs have no ```hcl example")
	}
}

func checkFormat(t *testing.T, name string, first int, src []byte) {
	t.Helper()
	if f := hclwrite.Format(src); !bytes.Equal(f, src) {
		t.Errorf("%s:%d: not formatted as terraform fmt would; formatted:\n%s", name, first, diffLines(src, f))
	}
	if len(src) == 0 || src[len(src)-1] != '\n' || bytes.HasSuffix(src, []byte("\n\n")) {
		t.Errorf("%s: must end with exactly one newline", name)
	}
	// A line that opens brackets indents the lines after it by one level,
	// however many it opens; the line that closes them goes back.
	lines := strings.Split(strings.TrimSuffix(string(src), "\n"), "\n")
	var open []int // brackets still open, per opening line
	inHeredoc := ""
	for i, l := range lines {
		where := fmt.Sprintf("%s:%d", name, first+i)
		if inHeredoc != "" {
			if strings.TrimSpace(l) == inHeredoc {
				inHeredoc = ""
			}
			continue
		}
		switch {
		case strings.Contains(l, "\r"):
			t.Errorf("%s: CR", where)
		case strings.Contains(l, "\t"):
			t.Errorf("%s: tab", where)
		case strings.TrimRight(l, " ") != l:
			t.Errorf("%s: trailing spaces", where)
		}
		if l == "" {
			if i > 0 && lines[i-1] == "" {
				t.Errorf("%s: two blank lines in a row", where)
			}
			continue
		}
		body := strings.TrimLeft(l, " ")
		indent := len(l) - len(body)
		want := len(open)
		if strings.IndexAny(body, "}])") == 0 {
			want--
		}
		if indent%2 != 0 {
			t.Errorf("%s: indentation of %d spaces is not a multiple of two", where, indent)
		} else if indent != 2*want {
			t.Errorf("%s: indented %d spaces, want %d (two per nesting level)", where, indent, 2*want)
		}
		opened := 0
		for _, d := range brackets(body) {
			switch {
			case d > 0:
				opened++
			case opened > 0:
				opened--
			case len(open) > 0:
				if open[len(open)-1]--; open[len(open)-1] == 0 {
					open = open[:len(open)-1]
				}
			default:
				t.Errorf("%s: closes a bracket that is not open", where)
			}
		}
		if opened > 0 {
			open = append(open, opened)
		}
		if m := heredoc.FindStringSubmatch(body); m != nil {
			inHeredoc = m[1]
		}
	}
	if len(open) != 0 {
		t.Errorf("%s: brackets left open at the end", name)
	}
}

var heredoc = regexp.MustCompile(`<<-?([A-Z_]+)$`)

// brackets lists the brackets of a line outside strings and comments,
// in order: +1 for an opening one, -1 for a closing one.
func brackets(line string) []int {
	var out []int
	inString := false
	interp := 0
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case inString && c == '\\':
			i++
		case inString && c == '"' && interp == 0:
			inString = false
		case inString && c == '$' && i+1 < len(line) && line[i+1] == '{':
			interp++
			i++
		case inString && interp > 0 && c == '}':
			interp--
		case inString:
		case c == '"':
			inString = true
		case c == '#' || (c == '/' && i+1 < len(line) && line[i+1] == '/'):
			return out
		case c == '{' || c == '[' || c == '(':
			out = append(out, 1)
		case c == '}' || c == ']' || c == ')':
			out = append(out, -1)
		}
	}
	return out
}

// diffLines shows the lines of want that differ from have.
func diffLines(have, want []byte) string {
	h := strings.Split(string(have), "\n")
	w := strings.Split(string(want), "\n")
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		if i >= len(h) || h[i] != w[i] {
			fmt.Fprintf(&b, "  line %d: %q\n", i+1, w[i])
			if b.Len() > 2000 {
				break
			}
		}
	}
	return b.String()
}
