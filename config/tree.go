package config

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// The configuration is first read into a small TOML document tree that
// remembers the line of every key, table and array element; the schema is
// then decoded from the tree (see parse.go). go-toml's unstable parser
// provides the syntax and the positions; duplicate keys and tables are
// detected here so that they get clear messages, and go-toml's decoder checks
// each number and date/time literal (see checkLiteral).
//
// A file of 100,000 tunnels has a million keys, so the tree is built for that: its values and
// tables live in two flat slices and refer to each other, and to their text in the document,
// by index. It holds no pointers but the few indexes of large tables, which spares the
// garbage collector from scanning it, and grows by doubling rather than by one allocation
// per key.

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

// str is a string of the document by position, src[off:off+n]; a negative off stands for
// escaped[-off-1], a string the parser had to unescape into a copy of its own.
type str struct{ off, n int32 }

// value is one TOML value and the line where it was set. Index 0 of tree.vals is no value,
// so that 0 can mean "none" in next, sub and last.
type value struct {
	key  str   // its key, when it is in a table
	text str   // string content, or the literal for numbers, booleans, dates
	next int32 // the next key of its table, or the next element of its array
	line int32
	kind kind
	// sub is the table of a kindTable (index in tree.tables), and the first element of a
	// kindArray or kindArrayOfTables.
	sub  int32
	last int32 // last element of an array
	n    int32 // number of elements of an array
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

// table is a TOML table: its keys are values linked in file order. A table of a few keys (a
// tunnel's) is searched in order; a large one (the tunnels) gets a map once it grows past
// smallTable.
type table struct {
	origin      origin
	line        int32
	first, last int32            // its first and last key (values), 0 when empty
	n           int32            // number of keys
	keys        uint64           // keyBit of every key: most lookups of a new key end here
	index       map[string]int32 // value by key, for tables of more than smallTable keys
}

// keyBit is one bit of 64 chosen by k, for table.keys.
func keyBit(k string) uint64 {
	if k == "" {
		return 1
	}
	return 1 << ((uint(len(k))*7 + uint(k[0]) + uint(k[len(k)-1])) & 63)
}

const smallTable = 16

// tree is a parsed document. tables[0] is the root.
type tree struct {
	src     string   // the document
	escaped []string // strings that are not verbatim in src, see str
	vals    []value
	tables  []table
}

// s returns the string x stands for.
func (tr *tree) s(x str) string {
	if x.off < 0 {
		return tr.escaped[-x.off-1]
	}
	return tr.src[x.off : x.off+x.n]
}

// val returns value i, or nil for 0. Pointers are only taken once the tree is complete:
// adding values moves them.
func (tr *tree) val(i int32) *value {
	if i == 0 {
		return nil
	}
	return &tr.vals[i]
}

// get returns the value of key k in table t, or 0.
func (tr *tree) get(t int32, k string) int32 { return tr.lookup(&tr.tables[t], k) }

// lookup returns the value of key k in table tb, or 0.
func (tr *tree) lookup(tb *table, k string) int32 {
	if tb.index != nil {
		return tb.index[k]
	}
	if tb.keys&keyBit(k) == 0 {
		return 0
	}
	for i := tb.first; i != 0; i = tr.vals[i].next {
		if tr.s(tr.vals[i].key) == k {
			return i
		}
	}
	return 0
}

// set adds value v under key k, which t does not have yet, to table t.
func (tr *tree) set(t int32, k str, v int32) {
	tb := &tr.tables[t]
	tr.vals[v].key = k
	tb.keys |= keyBit(tr.s(k))
	if tb.index == nil && tb.n >= smallTable {
		tb.index = make(map[string]int32, 2*tb.n)
		for i := tb.first; i != 0; i = tr.vals[i].next {
			tb.index[tr.s(tr.vals[i].key)] = i
		}
	}
	if tb.index != nil {
		tb.index[tr.s(k)] = v
	}
	tr.link(&tb.first, &tb.last, &tb.n, v)
}

// link appends value v to a list of values chained by next (a table's keys, an array's
// elements) whose first and last are *first and *last and length *n.
func (tr *tree) link(first, last, n *int32, v int32) {
	if *last == 0 {
		*first = v
	} else {
		tr.vals[*last].next = v
	}
	*last = v
	*n++
}

// addValue appends v and returns its index.
func (tr *tree) addValue(v value) int32 {
	tr.vals = append(tr.vals, v)
	return int32(len(tr.vals) - 1)
}

// addTable appends an empty table and returns its index.
func (tr *tree) addTable(o origin, line int) int32 {
	tr.tables = append(tr.tables, table{origin: o, line: int32(line)})
	return int32(len(tr.tables) - 1)
}

// names returns parts as strings, for messages.
func (tr *tree) names(parts []str) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = tr.s(p)
	}
	return out
}

// builder turns the parser's expressions into a tree.
type builder struct {
	tr      *tree
	data    []byte
	errs    *errList
	p       unstable.Parser
	cur     int32 // table receiving key/values
	curPath []str // its key path
	// badLiteral: a number or date/time breaks TOML's rules (see checkLiteral).
	badLiteral bool
	// lineOff and lineNo: byte offset lineOff is on line lineNo. Positions are asked for in
	// file order, so lines are counted from the last one asked for.
	lineOff, lineNo int
}

// parseTree parses data into a tree, recording problems in errs. It
// returns nil after a syntax error.
func parseTree(data []byte, errs *errList) *tree {
	data = data[:len(data):len(data)] // make offsets computable from capacities
	// A tunnel takes about ten keys in some 270 bytes.
	est := len(data)/24 + 16
	tr := &tree{src: string(data), vals: make([]value, 1, est), tables: make([]table, 0, est/10)}
	b := &builder{tr: tr, data: data, errs: errs, lineNo: 1}
	tr.addTable(originHeader, 1) // the root
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
	return tr
}

// checkLiteral records an error at line if text, a number or date/time literal as the
// parser delimited it, breaks a TOML rule the parser leaves to the decoder (digits and
// underscores, ranges, impossible dates). go-toml's decoder checks it, alone: run on the
// whole document, its table tracking costs O(n²) in the number of tables (10,000 tunnels
// took 1.5 s), while each literal costs O(1). Plain decimal integers, the common case, are
// valid by construction and skip the decoder.
func (b *builder) checkLiteral(text []byte, line int) {
	if plainInteger(text) {
		return
	}
	doc := make([]byte, 0, len(text)+4)
	doc = append(append(doc, "v = "...), text...)
	var m map[string]any
	if err := toml.Unmarshal(doc, &m); err != nil {
		b.errs.add(line, "invalid TOML: %s", strings.TrimPrefix(err.Error(), "toml: "))
		b.badLiteral = true
	}
}

// plainInteger reports whether text is a decimal integer without sign, underscores or
// leading zeros and short enough to fit an int64: always valid TOML.
func plainInteger(text []byte) bool {
	if len(text) == 0 || len(text) > 18 || (text[0] == '0' && len(text) > 1) {
		return false
	}
	for _, c := range text {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
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

var newline = []byte{'\n'}

// lineAt returns the 1-based line of byte offset off.
func (b *builder) lineAt(off int) int {
	if off < b.lineOff {
		b.lineOff, b.lineNo = 0, 1
	}
	b.lineNo += bytes.Count(b.data[b.lineOff:off], newline)
	b.lineOff = off
	return b.lineNo
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

// str returns d, a string the parser produced, as a str: by position when d is a
// sub-slice of the data (no escapes), else as a copy.
func (b *builder) str(d []byte) str {
	if len(d) == 0 {
		return str{}
	}
	if off := cap(b.data) - cap(d); off >= 0 && off+len(d) <= len(b.data) && &b.data[off] == &d[0] {
		return str{int32(off), int32(len(d))}
	}
	return b.escaped(string(d))
}

// escaped stores s among the strings not verbatim in the document.
func (b *builder) escaped(s string) str {
	b.tr.escaped = append(b.tr.escaped, s)
	return str{-int32(len(b.tr.escaped)), int32(len(s))}
}

// keyParts appends the parts of a (dotted) key to parts and returns them with the line of
// its start.
func (b *builder) keyParts(n *unstable.Node, parts []str) ([]str, int) {
	line := 0
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if line == 0 {
			line = b.nodeLine(k, 0)
		}
		parts = append(parts, b.str(k.Data))
	}
	return parts, line
}

// header handles [a.b] and [[a.b]].
func (b *builder) header(e *unstable.Node) {
	tr := b.tr
	parts, line := b.keyParts(e, b.curPath[:0])
	b.curPath = parts
	isArray := e.Kind == unstable.ArrayTable
	// On error, the following key/values go to a table nobody reads.
	sink := func() { b.cur = tr.addTable(originHeader, line) }
	if len(parts) == 0 {
		sink()
		return
	}
	t := int32(0)
	for i, k := range parts[:len(parts)-1] {
		vi := tr.get(t, tr.s(k))
		switch v := tr.vals[vi]; {
		case vi == 0:
			nt := tr.addTable(originImplicit, line)
			tr.set(t, k, tr.addValue(value{kind: kindTable, line: int32(line), sub: nt}))
			t = nt
		case v.kind == kindTable && tr.tables[v.sub].origin != originInline:
			t = v.sub
		case v.kind == kindArrayOfTables && v.n > 0:
			t = tr.vals[v.last].sub
		default:
			b.errs.add(line, "cannot define table [%s]: %s is already %s (line %d)",
				joinKey(tr.names(parts)), joinKey(tr.names(parts[:i+1])), b.describe(&v), v.line)
			sink()
			return
		}
	}
	last := parts[len(parts)-1]
	vi := tr.get(t, tr.s(last))
	v := tr.vals[vi]
	if isArray {
		nt := tr.addTable(originArray, line)
		elem := tr.addValue(value{kind: kindTable, line: int32(line), sub: nt})
		switch {
		case vi == 0:
			tr.set(t, last, tr.addValue(value{kind: kindArrayOfTables, line: int32(line), sub: elem, last: elem, n: 1}))
		case v.kind == kindArrayOfTables:
			tr.vals[v.last].next = elem
			tr.vals[vi].last = elem
			tr.vals[vi].n++
		default:
			b.errs.add(line, "cannot define array of tables [[%s]]: %s is already %s (line %d)",
				joinKey(tr.names(parts)), joinKey(tr.names(parts)), b.describe(&v), v.line)
			sink()
			return
		}
		b.cur = nt
		return
	}
	switch {
	case vi == 0:
		nt := tr.addTable(originHeader, line)
		tr.set(t, last, tr.addValue(value{kind: kindTable, line: int32(line), sub: nt}))
		b.cur = nt
	case v.kind == kindTable && tr.tables[v.sub].origin == originImplicit:
		tb := &tr.tables[v.sub]
		tb.origin, tb.line, tr.vals[vi].line = originHeader, int32(line), int32(line)
		b.cur = v.sub
	case len(parts) == 2 && tr.s(parts[0]) == "tunnel" && v.kind == kindTable:
		b.errs.add(line, "duplicate tunnel %q: already defined at line %d", tr.s(last), v.line)
		sink()
	case v.kind == kindTable && tr.tables[v.sub].origin == originHeader:
		b.errs.add(line, "table [%s] is defined twice (first at line %d)", joinKey(tr.names(parts)), v.line)
		sink()
	default:
		b.errs.add(line, "cannot define table [%s]: it is already %s (line %d)", joinKey(tr.names(parts)), b.describe(&v), v.line)
		sink()
	}
}

// describe names what v is, for messages about conflicting definitions.
func (b *builder) describe(v *value) string {
	if v.kind == kindTable {
		switch b.tr.tables[v.sub].origin {
		case originDotted:
			return "a table defined by dotted keys"
		case originInline:
			return "an inline table"
		}
	}
	return v.kind.String()
}

// isContainer reports whether n holds values that may need a key path in messages.
func isContainer(n *unstable.Node) bool {
	return n.Kind == unstable.Array || n.Kind == unstable.InlineTable
}

// keyValue stores "key = value" (key possibly dotted) into table t, whose path
// is path.
func (b *builder) keyValue(t int32, path []str, e *unstable.Node) {
	tr := b.tr
	var buf [4]str
	parts, line := b.keyParts(e, buf[:0])
	if len(parts) == 0 {
		return
	}
	full := func() []string { return tr.names(append(append([]str(nil), path...), parts...)) }
	for i, k := range parts[:len(parts)-1] {
		vi := tr.get(t, tr.s(k))
		switch v := tr.vals[vi]; {
		case vi == 0:
			nt := tr.addTable(originDotted, line)
			tr.set(t, k, tr.addValue(value{kind: kindTable, line: int32(line), sub: nt}))
			t = nt
		case v.kind == kindTable && tr.tables[v.sub].origin == originDotted:
			t = v.sub
		default:
			f := full()
			b.errs.add(line, "cannot set %s: %s is already %s (line %d)",
				joinKey(f), joinKey(f[:len(path)+i+1]), b.describe(&v), v.line)
			return
		}
	}
	last := parts[len(parts)-1]
	if prev := tr.get(t, tr.s(last)); prev != 0 {
		b.errs.add(line, "duplicate key %s (first set at line %d)", joinKey(full()), tr.vals[prev].line)
		return
	}
	vn := e.Value()
	var vpath []str // only containers need their path
	if isContainer(vn) {
		vpath = append(append(make([]str, 0, len(path)+len(parts)), path...), parts...)
	}
	tr.set(t, last, b.value(vn, line, vpath))
}

// value converts a value node and returns its index; line is used when the node has no
// position of its own. path is the value's key path when it is a container.
func (b *builder) value(n *unstable.Node, line int, path []str) int32 {
	tr := b.tr
	v := value{line: int32(line)}
	switch n.Kind {
	case unstable.String:
		v.kind = kindString
	case unstable.Integer:
		b.checkLiteral(n.Data, line)
		v.kind = kindInteger
	case unstable.Float:
		b.checkLiteral(n.Data, line)
		v.kind = kindFloat
	case unstable.Bool:
		v.kind = kindBool
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		b.checkLiteral(n.Data, line)
		v.kind = kindDatetime
	case unstable.Array:
		v.kind = kindArray
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			var cpath []str
			if isContainer(c) {
				cpath = append(path[:len(path):len(path)], b.escaped(strconv.Itoa(int(v.n))))
			}
			ei := b.value(c, b.nodeLine(c, line), cpath)
			tr.link(&v.sub, &v.last, &v.n, ei)
		}
		return tr.addValue(v)
	case unstable.InlineTable:
		nt := tr.addTable(originInline, line)
		it := n.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				b.keyValue(nt, path, c)
			}
		}
		return tr.addValue(value{kind: kindTable, line: int32(line), sub: nt})
	default:
		return tr.addValue(v)
	}
	v.text = b.str(n.Data)
	return tr.addValue(v)
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
