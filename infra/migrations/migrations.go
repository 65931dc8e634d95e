// Package migrations holds the versioned SQL schema shared by the SQL
// adapters (SQLite locally, Cloudflare D1 in the cloud). Files are named
// NNNN_description.sql; the numeric prefix is the version, applied in
// ascending order. The SQL is plain SQLite that D1 also accepts: no PRAGMA,
// no ATTACH, only CREATE TABLE and CREATE INDEX style statements.
//
// The package depends only on the standard library's embed, io/fs, sort and
// strconv so that it builds for GOOS=js GOARCH=wasm.
package migrations

import (
	"embed"
	"io/fs"
	"sort"
	"strconv"
)

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS

// Migration is one versioned schema change.
type Migration struct {
	Version int    // from the file-name prefix: 1 for 0001_init.sql
	Name    string // the file name, e.g. "0001_init.sql"
	SQL     string // the statements, separated by semicolons
}

// Error reports a migration file that cannot be used.
type Error struct {
	Name   string
	Reason string
}

func (e *Error) Error() string { return "migrations: " + e.Name + ": " + e.Reason }

// All returns the embedded migrations in ascending version order.
func All() ([]Migration, error) { return List(FS) }

// List reads every *.sql file at the root of fsys and returns them in
// ascending version order. A file whose name does not start with a number
// followed by '_', or two files with the same version, is an error.
func List(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	out := make([]Migration, 0, len(names))
	seen := make(map[int]string, len(names))
	for _, name := range names {
		v, ok := version(name)
		if !ok {
			return nil, &Error{Name: name, Reason: "name must start with a positive version number and '_'"}
		}
		if prev, dup := seen[v]; dup {
			return nil, &Error{Name: name, Reason: "version " + strconv.Itoa(v) + " already used by " + prev}
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// version parses the digits before the first '_' of name.
func version(name string) (int, bool) {
	i := 0
	for i < len(name) && name[i] >= '0' && name[i] <= '9' {
		i++
	}
	if i == 0 || i >= len(name) || name[i] != '_' {
		return 0, false
	}
	v, err := strconv.Atoi(name[:i])
	if err != nil || v <= 0 {
		return 0, false
	}
	return v, true
}
