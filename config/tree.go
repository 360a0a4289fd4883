package config

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// The configuration is first read into a small TOML document tree that
// remembers the line of every key, table and array element; the schema is
// then decoded from the tree (see decode.go). go-toml's unstable parser
// provides the syntax and the positions; duplicate keys and tables are
// detected here so that they get clear messages, and go-toml's decoder checks
// each number and date/time literal (see checkLiteral).

// kind is the type of a TOML value.
type kind uint8

const (
	kindString kind = iota + 1
	kindInteger
	kindFloat
	kindBool
	kindDatetime
	kindArray
	kindTable
	kindArrayOfTables // [[name]]
)

// String names the kind for messages.
func (k kind) String() string {
	switch k {
	case kindString:
		return "a string"
	case kindInteger:
		return "an integer"
	case kindFloat:
		return "a float"
	case kindBool:
		return "a boolean"
	case kindDatetime:
		return "a date/time"
	case kindArray:
		return "an array"
	case kindTable:
		return "a table"
	case kindArrayOfTables:
		return "an array of tables"
	}
	return "an unknown value"
}

// value is one TOML value and the line where it was set.
type value struct {
	kind kind
	line int
	text string   // string content, or the literal for numbers, booleans, dates
	arr  []*value // array elements, or the tables of an array of tables
	tbl  *table   // for kindTable
}

// origin records how a table came to exist, which decides whether it may
// be defined or extended later (TOML 1.0, "Table").
type origin uint8

const (
	originImplicit origin = iota // parent of a [header], not yet defined itself
	originHeader                 // defined by its own [header]
	originDotted                 // created by a dotted key
	originInline                 // inline table value, closed
	originArray                  // element of an array of tables
)

// table is a TOML table with its keys in file order. A table of a few keys (a tunnel's)
// is searched in order; a large one (the tunnels) gets a map once it grows past smallTable.
type table struct {
	origin origin
	line   int
	order  []string       // keys in file order
	vals   []*value       // their values
	index  map[string]int // position by key, for tables of more than smallTable keys
}

const smallTable = 16

func newTable(o origin, line int) *table { return &table{origin: o, line: line} }

// get returns the value of key k, or nil.
func (t *table) get(k string) *value {
	if t.index != nil {
		if i, ok := t.index[k]; ok {
			return t.vals[i]
		}
		return nil
	}
	for i, o := range t.order {
		if o == k {
			return t.vals[i]
		}
	}
	return nil
}

func (t *table) set(k string, v *value) {
	if t.index == nil && len(t.order) >= smallTable {
		t.index = make(map[string]int, 2*len(t.order))
		for i, o := range t.order {
			t.index[o] = i
		}
	}
	if t.index != nil {
		t.index[k] = len(t.order)
	}
	t.order = append(t.order, k)
	t.vals = append(t.vals, v)
}

// builder turns the parser's expressions into a tree.
type builder struct {
	data     []byte
	newlines []int // offsets of '\n' in data
	errs     *errList
	p        unstable.Parser
	root     *table
	cur      *table   // table receiving key/values
	curPath  []string // its key path
	// badLiteral: a number or date/time breaks TOML's rules (see checkLiteral).
	badLiteral bool
}

// parseTree parses data into a tree, recording problems in errs. It
// returns nil after a syntax error.
func parseTree(data []byte, errs *errList) *table {
	data = data[:len(data):len(data)] // make offsets computable from capacities
	b := &builder{data: data, errs: errs, root: newTable(originHeader, 1)}
	for i, c := range data {
		if c == '\n' {
			b.newlines = append(b.newlines, i)
		}
	}
	b.cur = b.root
	b.p.Reset(data)
	for b.p.NextExpression() {
		e := b.p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			b.header(e)
		case unstable.KeyValue:
			b.keyValue(b.cur, b.curPath, e)
		}
	}
	if err := b.p.Error(); err != nil {
		b.syntaxError(err)
		return nil
	}
	if b.badLiteral {
		return nil
	}
	return b.root
}

// checkLiteral records an error at line if text, a number or date/time literal as the
// parser delimited it, breaks a TOML rule the parser leaves to the decoder (digits and
// underscores, ranges, impossible dates). go-toml's decoder checks it, alone: run on the
// whole document, its table tracking costs O(n²) in the number of tables (10,000 tunnels
// took 1.5 s), while each literal costs O(1).
func (b *builder) checkLiteral(text []byte, line int) {
	doc := make([]byte, 0, len(text)+4)
	doc = append(append(doc, "v = "...), text...)
	var m map[string]any
	if err := toml.Unmarshal(doc, &m); err != nil {
		b.errs.add(line, "invalid TOML: %s", strings.TrimPrefix(err.Error(), "toml: "))
		b.badLiteral = true
	}
}

// syntaxError records a parser error at its line.
func (b *builder) syntaxError(err error) {
	line := 0
	var pe *unstable.ParserError
	if errors.As(err, &pe) {
		line = b.lineOfSlice(pe.Highlight)
	}
	b.errs.add(line, "TOML syntax error: %s", strings.TrimPrefix(err.Error(), "toml: "))
}

// lineAt returns the 1-based line of byte offset off.
func (b *builder) lineAt(off int) int {
	return sort.SearchInts(b.newlines, off) + 1
}

// lineOfSlice returns the line where h, a sub-slice of the data, starts;
// the last line when h is not part of the data.
func (b *builder) lineOfSlice(h []byte) int {
	off := cap(b.data) - cap(h)
	if cap(h) == 0 || off < 0 || off > len(b.data) {
		off = len(b.data)
	}
	return b.lineAt(off)
}

// nodeLine returns the line of n, or def when the parser recorded no
// position for it.
func (b *builder) nodeLine(n *unstable.Node, def int) int {
	if n.Raw.Length == 0 || int(n.Raw.Offset) >= len(b.data) {
		return def
	}
	return b.lineAt(int(n.Raw.Offset))
}

// keyParts returns the parts of a (dotted) key and the line of its start.
func (b *builder) keyParts(n *unstable.Node) ([]string, int) {
	var parts []string
	line := 0
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if line == 0 {
			line = b.nodeLine(k, 0)
		}
		parts = append(parts, string(k.Data))
	}
	return parts, line
}

// header handles [a.b] and [[a.b]].
func (b *builder) header(e *unstable.Node) {
	parts, line := b.keyParts(e)
	isArray := e.Kind == unstable.ArrayTable
	// On error, the following key/values go to a table nobody reads.
	b.cur, b.curPath = newTable(originHeader, line), parts
	if len(parts) == 0 {
		return
	}
	t := b.root
	for i, k := range parts[:len(parts)-1] {
		v := t.get(k)
		switch {
		case v == nil:
			nt := newTable(originImplicit, line)
			t.set(k, &value{kind: kindTable, line: line, tbl: nt})
			t = nt
		case v.kind == kindTable && v.tbl.origin != originInline:
			t = v.tbl
		case v.kind == kindArrayOfTables && len(v.arr) > 0:
			t = v.arr[len(v.arr)-1].tbl
		default:
			b.errs.add(line, "cannot define table [%s]: %s is already %s (line %d)",
				joinKey(parts), joinKey(parts[:i+1]), describe(v), v.line)
			return
		}
	}
	last := parts[len(parts)-1]
	v := t.get(last)
	if isArray {
		nt := newTable(originArray, line)
		elem := &value{kind: kindTable, line: line, tbl: nt}
		switch {
		case v == nil:
			t.set(last, &value{kind: kindArrayOfTables, line: line, arr: []*value{elem}})
		case v.kind == kindArrayOfTables:
			v.arr = append(v.arr, elem)
		default:
			b.errs.add(line, "cannot define array of tables [[%s]]: %s is already %s (line %d)",
				joinKey(parts), joinKey(parts), describe(v), v.line)
			return
		}
		b.cur = nt
		return
	}
	switch {
	case v == nil:
		nt := newTable(originHeader, line)
		t.set(last, &value{kind: kindTable, line: line, tbl: nt})
		b.cur = nt
	case v.kind == kindTable && v.tbl.origin == originImplicit:
		v.tbl.origin, v.tbl.line, v.line = originHeader, line, line
		b.cur = v.tbl
	case len(parts) == 2 && parts[0] == "tunnel" && v.kind == kindTable:
		b.errs.add(line, "duplicate tunnel %q: already defined at line %d", last, v.line)
	case v.kind == kindTable && v.tbl.origin == originHeader:
		b.errs.add(line, "table [%s] is defined twice (first at line %d)", joinKey(parts), v.line)
	default:
		b.errs.add(line, "cannot define table [%s]: it is already %s (line %d)", joinKey(parts), describe(v), v.line)
	}
}

// describe names what v is, for messages about conflicting definitions.
func describe(v *value) string {
	if v.kind == kindTable {
		switch v.tbl.origin {
		case originDotted:
			return "a table defined by dotted keys"
		case originInline:
			return "an inline table"
		}
	}
	return v.kind.String()
}

// keyValue stores "key = value" (key possibly dotted) into t, whose path
// is path.
func (b *builder) keyValue(t *table, path []string, e *unstable.Node) {
	parts, line := b.keyParts(e)
	if len(parts) == 0 {
		return
	}
	full := append(append([]string(nil), path...), parts...)
	for i, k := range parts[:len(parts)-1] {
		v := t.get(k)
		switch {
		case v == nil:
			nt := newTable(originDotted, line)
			t.set(k, &value{kind: kindTable, line: line, tbl: nt})
			t = nt
		case v.kind == kindTable && v.tbl.origin == originDotted:
			t = v.tbl
		default:
			b.errs.add(line, "cannot set %s: %s is already %s (line %d)",
				joinKey(full), joinKey(full[:len(path)+i+1]), describe(v), v.line)
			return
		}
	}
	last := parts[len(parts)-1]
	if prev := t.get(last); prev != nil {
		b.errs.add(line, "duplicate key %s (first set at line %d)", joinKey(full), prev.line)
		return
	}
	t.set(last, b.value(e.Value(), line, full))
}

// value converts a value node; line is used when the node has no position
// of its own.
func (b *builder) value(n *unstable.Node, line int, path []string) *value {
	switch n.Kind {
	case unstable.String:
		return &value{kind: kindString, line: line, text: string(n.Data)}
	case unstable.Integer:
		b.checkLiteral(n.Data, line)
		return &value{kind: kindInteger, line: line, text: string(n.Data)}
	case unstable.Float:
		b.checkLiteral(n.Data, line)
		return &value{kind: kindFloat, line: line, text: string(n.Data)}
	case unstable.Bool:
		return &value{kind: kindBool, line: line, text: string(n.Data)}
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		b.checkLiteral(n.Data, line)
		return &value{kind: kindDatetime, line: line, text: string(n.Data)}
	case unstable.Array:
		v := &value{kind: kindArray, line: line}
		it := n.Children()
		for i := 0; it.Next(); i++ {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			v.arr = append(v.arr, b.value(c, b.nodeLine(c, line), append(path[:len(path):len(path)], strconv.Itoa(len(v.arr)))))
		}
		return v
	case unstable.InlineTable:
		nt := newTable(originInline, line)
		it := n.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				b.keyValue(nt, path, c)
			}
		}
		return &value{kind: kindTable, line: line, tbl: nt}
	}
	return &value{line: line}
}

// joinKey formats a key path, quoting parts that are not bare keys.
func joinKey(parts []string) string {
	var sb strings.Builder
	for i, p := range parts {
		if i > 0 {
			sb.WriteByte('.')
		}
		if isBareKey(p) {
			sb.WriteString(p)
		} else {
			sb.WriteString(strconv.Quote(p))
		}
	}
	return sb.String()
}

// isBareKey reports whether k can be written unquoted in TOML.
func isBareKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
