package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fileFunc matches a `path/to/file.go:Function` reference in docs/development.md.
var fileFunc = regexp.MustCompile("`([A-Za-z0-9_./-]+\\.go):([A-Za-z_][A-Za-z0-9_]*)`")

// TestFileTable checks that every file:function named in
// docs/development.md's "Which file enforces what" section (the README links
// to it) exists: the file, and in it a function or method of that name.
func TestFileTable(t *testing.T) {
	section := readSection(t, "development.md", "## Which file enforces what")
	refs := fileFunc.FindAllStringSubmatch(section, -1)
	// The table names about two dozen functions: far fewer means the
	// pattern no longer matches how the table is written.
	if len(refs) < 20 {
		t.Fatalf("found %d file:function references in docs/development.md's table, want at least 20", len(refs))
	}
	funcs := map[string]map[string]bool{}
	for _, r := range refs {
		file, name := r[1], r[2]
		if funcs[file] == nil {
			funcs[file] = declaredFuncs(t, filepath.Join("..", filepath.FromSlash(file)))
		}
		if !funcs[file][name] {
			t.Errorf("docs/development.md names %s:%s, but %s declares no function or method %s", file, name, file, name)
		}
	}
}

// declaredFuncs returns the names of the functions and methods a Go file
// declares (an empty set, with a test error, when the file cannot be read).
func declaredFuncs(t *testing.T, path string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Errorf("docs/development.md names %s, which cannot be parsed: %v", path, err)
		return out
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok {
			out[fd.Name.Name] = true
		}
	}
	return out
}

// readSection returns the text of a Markdown file's section, from its
// heading line (given without the newline) to the next "## " heading.
func readSection(t *testing.T, path, heading string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	_, section, ok := strings.Cut(string(raw), heading+"\n")
	if !ok {
		t.Fatalf("%s has no section %q", path, heading)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	return section
}
