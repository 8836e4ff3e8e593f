package offers

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file is the filter and ordering language of `gpumesh offers`:
//
//	filter  = { clause }                     (whitespace-separated, all must hold)
//	clause  = field op value | field ("in" | "notin" | "not in") list
//	op      = "=" | "==" | "!=" | "<" | "<=" | ">" | ">="
//	list    = "[" value { "," value } "]"
//	value   = word | quoted
//	word    = a run of characters other than space and = ! < > [ ] , "
//	quoted  = `"` { any character, \" or \\ } `"`
//	field   = one of Fields(), or attr.<key>
//
// Field names, operators, true and false are lower case; string values
// compare case-insensitively. One table (fields below) drives parsing,
// matching, sorting, Fields() and the error listings.

// FieldType is the type of a filter field; it decides which operators and
// values the field takes.
type FieldType string

// Field types.
const (
	// TypeString is a text value compared case-insensitively.
	TypeString FieldType = "string"
	// TypeInt is a whole number.
	TypeInt FieldType = "int"
	// TypeNumber is a decimal number.
	TypeNumber FieldType = "number"
	// TypeBool is true or false.
	TypeBool FieldType = "bool"
	// TypeSet is a set of strings: = asks that the set contain the value.
	TypeSet FieldType = "set"
	// TypeAttr is a provider attribute (attr.<key>): a string, or a number
	// for <, <=, > and >=.
	TypeAttr FieldType = "attr"
)

// Op is a comparison operator, in canonical spelling.
type Op string

// Operators. "==" parses as OpEq and "not in" as OpNotIn.
const (
	OpEq    Op = "="
	OpNe    Op = "!="
	OpLt    Op = "<"
	OpLe    Op = "<="
	OpGt    Op = ">"
	OpGe    Op = ">="
	OpIn    Op = "in"
	OpNotIn Op = "notin"
)

var allOps = []Op{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpIn, OpNotIn}

// Ops lists the operators a field of type t takes.
func (t FieldType) Ops() []Op {
	switch t {
	case TypeString, TypeSet:
		return []Op{OpEq, OpNe, OpIn, OpNotIn}
	case TypeBool:
		return []Op{OpEq, OpNe}
	case TypeInt, TypeNumber, TypeAttr:
		return slices.Clone(allOps)
	}
	return nil
}

// Field describes one field of the filter language, for help text.
type Field struct {
	// Name is the field as written in a filter ("attr.<key>" for attributes).
	Name string
	// Type decides the operators and values the field takes.
	Type FieldType
	// Doc is a one-line description.
	Doc string
	// Sortable is whether ParseOrder takes the field.
	Sortable bool
}

// fieldSpec is a Field with the functions that read it from an Offer.
// Exactly one of str/strs, num or boolean is set, except attr, which has
// none.
type fieldSpec struct {
	Field
	// str is a string field's value; strs, when set, is every value the
	// field matches against (executor, region) and str is only the sort key.
	str  func(o *Offer) string
	strs func(o *Offer) []string
	// num is a numeric field's value; ok is false when it is unknown.
	num     func(o *Offer) (v float64, ok bool)
	boolean func(o *Offer) bool
	// enum, when set, is the values the field can take.
	enum []string
}

const attrPrefix = "attr."

// fields is the language's one table; its order is the order of Fields()
// and of every listing in error messages.
var fields = []fieldSpec{
	{Field: Field{Name: "gpu_class", Type: TypeString, Doc: "device class: A100-80GB, RTX-4090, M2-Max, CPU-x86, ..."},
		str: func(o *Offer) string { return o.Class }},
	{Field: Field{Name: "pool", Type: TypeString, Doc: "device pool: gpu, apple or cpu"},
		str: func(o *Offer) string { return o.Pool }, enum: []string{"gpu", "apple", "cpu"}},
	{Field: Field{Name: "model", Type: TypeString, Doc: "device name as the driver reports it"},
		str: func(o *Offer) string { return o.Model }},
	{Field: Field{Name: "num_gpus", Type: TypeInt, Doc: "devices of the class the provider has (0 for CPU offers)"},
		num: func(o *Offer) (float64, bool) { return float64(o.NumGPUs), true }},
	{Field: Field{Name: "free_gpus", Type: TypeInt, Doc: "devices of the class free now"},
		num: func(o *Offer) (float64, bool) { return float64(o.FreeGPUs), true }},
	{Field: Field{Name: "vram_gb", Type: TypeNumber, Doc: "memory of one device in whole GB (0 for CPU offers)"},
		num: func(o *Offer) (float64, bool) { return o.VRAMGB, true }},
	{Field: Field{Name: "total_vram_gb", Type: TypeNumber, Doc: "vram_gb times num_gpus"},
		num: func(o *Offer) (float64, bool) { return math.Round(o.VRAMGB*float64(o.NumGPUs)*1000) / 1000, true }},
	{Field: Field{Name: "cores", Type: TypeInt, Doc: "CPU cores (CPU offers)"},
		num: func(o *Offer) (float64, bool) { return float64(o.Cores), true }},
	{Field: Field{Name: "compute_cap", Type: TypeNumber, Doc: "CUDA compute capability (8.0, 9.0), 0 if none"},
		num: func(o *Offer) (float64, bool) { return o.ComputeCap, true }},
	{Field: Field{Name: "price", Type: TypeNumber, Doc: "ask in USD per device-hour"},
		num: func(o *Offer) (float64, bool) { return o.Price, true }},
	{Field: Field{Name: "region", Type: TypeString, Doc: "market region or country code: matches if either equals the value"},
		str:  func(o *Offer) string { return o.Region },
		strs: func(o *Offer) []string { return []string{o.Region, o.Country} }},
	{Field: Field{Name: "country", Type: TypeString, Doc: "ISO 3166 country code"},
		str: func(o *Offer) string { return o.Country }},
	{Field: Field{Name: "executor", Type: TypeSet, Doc: "executors the provider runs: = and in ask for support, != and notin for none"},
		strs: func(o *Offer) []string { return o.Executors }},
	{Field: Field{Name: "available", Type: TypeBool, Doc: "whether the provider takes jobs now (its hours)"},
		boolean: func(o *Offer) bool { return o.Available }},
	{Field: Field{Name: "rtt_ms", Type: TypeNumber, Doc: "predicted round trip in ms; an unknown RTT matches no rtt_ms clause"},
		num: func(o *Offer) (float64, bool) { return o.RTTms, o.RTTms >= 0 }},
	{Field: Field{Name: "gflops", Type: TypeNumber, Doc: "best proof-of-compute throughput for the class, 0 if none"},
		num: func(o *Offer) (float64, bool) { return o.GFLOPS, true }},
	{Field: Field{Name: "verified", Type: TypeBool, Doc: "whether the class is checked by proof-of-compute: the provider answers challenges for it (a CPU class, or a GPU class with a proof helper), and requesters challenge it before an award"},
		boolean: func(o *Offer) bool { return o.Verified }},
	{Field: Field{Name: "staked", Type: TypeBool, Doc: "whether the provider's payout wallet is staked enough on the settlement contract (isEligible) for jobs that ask for staked providers; checked on chain by the searching node"},
		boolean: func(o *Offer) bool { return o.Staked }},
	{Field: Field{Name: attrPrefix + "<key>", Type: TypeAttr, Doc: "provider attribute: strings for =, !=, in, notin; numbers for <, <=, >, >=; a missing one matches only != and notin"}},
}

// attrField is the index of attr.<key> in fields.
var attrField = len(fields) - 1

func init() {
	for i := range fields {
		f := &fields[i]
		f.Sortable = f.str != nil || f.num != nil || f.boolean != nil
	}
}

// Fields lists the filter language's fields, for help text.
func Fields() []Field {
	out := make([]Field, len(fields))
	for i, f := range fields {
		out[i] = f.Field
	}
	return out
}

func lookupField(name string) (int, bool) {
	for i := range fields[:attrField] {
		if fields[i].Name == name {
			return i, true
		}
	}
	return 0, false
}

func fieldNames(sortableOnly bool) string {
	var names []string
	for _, f := range fields {
		if !sortableOnly || f.Sortable {
			names = append(names, f.Name)
		}
	}
	return strings.Join(names, ", ")
}

func opList(ops []Op) string {
	s := make([]string, len(ops))
	for i, op := range ops {
		s[i] = string(op)
	}
	return strings.Join(s, ", ")
}

// SyntaxError is a filter or sort order that does not parse. Pos is the
// byte offset in Input of the part that is wrong.
type SyntaxError struct {
	// Input is the text that was parsed.
	Input string
	// Pos is the byte offset of the problem in Input.
	Pos int
	// Msg says what is wrong.
	Msg string
	// what is "filter" or "sort order".
	what string
}

// Error says what is wrong and where, counting columns from 1.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s at column %d: %s", e.what, e.Pos+1, e.Msg)
}

// Filter is a parsed filter: a conjunction of clauses. A nil or empty
// Filter matches every offer.
type Filter struct {
	clauses []clause
}

// clause is one `field op value(s)`.
type clause struct {
	field int    // index in fields
	key   string // attribute key, for attr.<key>
	op    Op
	vals  []value // one value, or the list of in/notin
}

// value is one parsed value. text is the string as written for string,
// set and attribute fields, and canonical ("4", "true") for the others;
// num is set for numeric fields and for attribute values that parse as
// numbers (isNum).
type value struct {
	text  string
	num   float64
	isNum bool
}

// Parse reads a filter: whitespace-separated clauses `field op value`,
// all of which an offer must pass, for example
//
//	gpu_class=A100-80GB num_gpus >= 4 price<=1.2 region in [EU, US] executor=docker
//
// Operators are =, ==, !=, <, <=, >, >=, `in [a,b]`, `notin [a,b]` and
// `not in [a,b]`; spaces around them are optional. Values are numbers, bare
// words (A100-80GB, EU), "quoted strings" with \" and \\ escapes, and true
// or false. Fields() lists the fields and their types; a field takes only
// the operators of its type. String fields compare case-insensitively;
// region matches an offer's region or its country; executor = and in ask
// that the offer support (one of) the executors, != and notin that it
// support none; an offer whose RTT is unknown fails every rtt_ms clause;
// attr.<key> compares the provider attribute key as a string (=, !=, in,
// notin) or, for <, <=, > and >=, as a number, and a missing attribute
// passes only != and notin. An empty filter matches everything.
//
// The error for a filter that does not parse is a *SyntaxError naming the
// first problem.
func Parse(expr string) (*Filter, error) {
	p := &parser{s: expr}
	f := &Filter{}
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		if t.kind == tEOF {
			return f, nil
		}
		c, err := p.clause(t)
		if err != nil {
			return nil, err
		}
		f.clauses = append(f.clauses, c)
	}
}

type tokenKind int

const (
	tEOF tokenKind = iota
	tWord
	tString
	tOp
	tLBrack
	tRBrack
	tComma
)

type token struct {
	kind tokenKind
	text string // the word, the unquoted string, or the operator
	pos  int
}

// describe names a token in an error message.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tString:
		return strconv.Quote(t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

// special are the characters that end a bare word.
const special = `=!<>[],"`

type parser struct {
	s   string
	pos int
}

func (p *parser) errorf(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Input: p.s, Pos: pos, Msg: fmt.Sprintf(format, args...), what: "filter"}
}

// next scans the token at p.pos and moves past it.
func (p *parser) next() (token, error) {
	t, end, err := p.scan(p.pos)
	if err != nil {
		return token{}, err
	}
	p.pos = end
	return t, nil
}

// peek scans the token at p.pos without moving.
func (p *parser) peek() (token, error) {
	t, _, err := p.scan(p.pos)
	return t, err
}

// scan reads the token that starts at or after i and returns it with the
// offset just past it.
func (p *parser) scan(i int) (token, int, error) {
	s := p.s
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += w
	}
	if i == len(s) {
		return token{kind: tEOF, pos: i}, i, nil
	}
	start := i
	switch c := s[i]; c {
	case '[':
		return token{kind: tLBrack, text: "[", pos: i}, i + 1, nil
	case ']':
		return token{kind: tRBrack, text: "]", pos: i}, i + 1, nil
	case ',':
		return token{kind: tComma, text: ",", pos: i}, i + 1, nil
	case '=', '<', '>':
		if i+1 < len(s) && s[i+1] == '=' {
			return token{kind: tOp, text: s[i : i+2], pos: i}, i + 2, nil
		}
		return token{kind: tOp, text: s[i : i+1], pos: i}, i + 1, nil
	case '!':
		if i+1 < len(s) && s[i+1] == '=' {
			return token{kind: tOp, text: "!=", pos: i}, i + 2, nil
		}
		return token{}, 0, p.errorf(i, `"!" must be followed by "=" (quote values that contain "!")`)
	case '"':
		var b strings.Builder
		for i++; i < len(s); i++ {
			switch s[i] {
			case '"':
				return token{kind: tString, text: b.String(), pos: start}, i + 1, nil
			case '\\':
				if i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
					b.WriteByte(s[i])
					continue
				}
				return token{}, 0, p.errorf(i, `bad escape in quoted string: only \" and \\ are allowed`)
			default:
				b.WriteByte(s[i])
			}
		}
		return token{}, 0, p.errorf(start, "unterminated quoted string")
	}
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) || strings.ContainsRune(special, r) {
			break
		}
		i += w
	}
	return token{kind: tWord, text: s[start:i], pos: start}, i, nil
}

// clause parses one clause whose first token, t, has been read.
func (p *parser) clause(t token) (clause, error) {
	if t.kind != tWord {
		return clause{}, p.errorf(t.pos, "expected a field name, got %s", t.describe())
	}
	var c clause
	name := t.text
	if key, ok := strings.CutPrefix(name, attrPrefix); ok {
		if key == "" {
			return clause{}, p.errorf(t.pos, "attr. needs a key, as in attr.tier=soc2")
		}
		c.field, c.key = attrField, key
	} else if i, ok := lookupField(name); ok {
		c.field = i
	} else {
		hint := ""
		if i, ok := lookupField(strings.ToLower(name)); ok {
			hint = fmt.Sprintf("; field names are lower case: %s", fields[i].Name)
		}
		return clause{}, p.errorf(t.pos, "unknown field %q%s (fields: %s)", name, hint, fieldNames(false))
	}
	spec := &fields[c.field]

	opTok, err := p.next()
	if err != nil {
		return clause{}, err
	}
	switch {
	case opTok.kind == tOp:
		c.op = Op(opTok.text)
		if c.op == "==" {
			c.op = OpEq
		}
	case opTok.kind == tWord && opTok.text == "in":
		c.op = OpIn
	case opTok.kind == tWord && opTok.text == "notin":
		c.op = OpNotIn
	case opTok.kind == tWord && opTok.text == "not":
		in, err := p.next()
		if err != nil {
			return clause{}, err
		}
		if in.kind != tWord || in.text != "in" {
			return clause{}, p.errorf(in.pos, `expected "in" after "not", got %s`, in.describe())
		}
		c.op = OpNotIn
	case opTok.kind == tEOF:
		return clause{}, p.errorf(opTok.pos, "missing operator after %s (operators: %s)", name, opList(spec.Type.Ops()))
	default:
		hint := ""
		if opTok.kind == tWord && slices.Contains(allOps, Op(strings.ToLower(opTok.text))) {
			hint = "; operators are lower case"
		}
		return clause{}, p.errorf(opTok.pos, "expected an operator after %s, got %s%s (operators: %s)", name, opTok.describe(), hint, opList(spec.Type.Ops()))
	}
	if !slices.Contains(spec.Type.Ops(), c.op) {
		return clause{}, p.errorf(opTok.pos, "operator %s does not apply to %s (%s); it takes %s", c.op, name, spec.Type, opList(spec.Type.Ops()))
	}

	if c.op == OpIn || c.op == OpNotIn {
		c.vals, err = p.list(&c, name)
		return c, err
	}
	vt, err := p.next()
	if err != nil {
		return clause{}, err
	}
	switch vt.kind {
	case tWord, tString:
	case tLBrack:
		return clause{}, p.errorf(vt.pos, "%s takes one value; use in [a,b] for a list", c.op)
	default:
		return clause{}, p.errorf(vt.pos, "missing value for %s%s, got %s", name, c.op, vt.describe())
	}
	if vt.kind == tWord {
		// `gpu_class= num_gpus>=4`: the next clause's field was read as the
		// value; say the value is missing rather than that ">=" is out of place.
		if _, known := lookupField(vt.text); known || strings.HasPrefix(vt.text, attrPrefix) {
			if after, err := p.peek(); err == nil && after.kind == tOp {
				return clause{}, p.errorf(vt.pos, "missing value for %s%s", name, c.op)
			}
		}
	}
	v, err := p.value(&c, name, vt)
	if err != nil {
		return clause{}, err
	}
	c.vals = []value{v}
	return c, nil
}

// list parses the `[a, b, ...]` of an in or notin clause.
func (p *parser) list(c *clause, name string) ([]value, error) {
	open, err := p.next()
	if err != nil {
		return nil, err
	}
	switch open.kind {
	case tLBrack:
	case tEOF:
		return nil, p.errorf(open.pos, "missing list after %s %s, as in [a,b]", name, c.op)
	default:
		return nil, p.errorf(open.pos, "%s takes a list like [a,b], got %s", c.op, open.describe())
	}
	var vals []value
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t.kind {
		case tWord, tString:
		case tRBrack:
			if len(vals) == 0 {
				return nil, p.errorf(open.pos, "empty list after %s %s", name, c.op)
			}
			return nil, p.errorf(t.pos, "missing value after \",\" in list")
		case tEOF:
			return nil, p.errorf(open.pos, "unterminated list: missing \"]\"")
		default:
			return nil, p.errorf(t.pos, "expected a value in list, got %s", t.describe())
		}
		v, err := p.value(c, name, t)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
		sep, err := p.next()
		if err != nil {
			return nil, err
		}
		switch sep.kind {
		case tComma:
		case tRBrack:
			return vals, nil
		case tEOF:
			return nil, p.errorf(open.pos, "unterminated list: missing \"]\"")
		default:
			return nil, p.errorf(sep.pos, "expected \",\" or \"]\" in list, got %s", sep.describe())
		}
	}
}

// value converts a value token to the clause's field type.
func (p *parser) value(c *clause, name string, t token) (value, error) {
	spec := &fields[c.field]
	switch spec.Type {
	case TypeInt, TypeNumber:
		n, err := parseNumber(t.text)
		if err != nil {
			return value{}, p.errorf(t.pos, "%s takes a number, got %s", name, t.describe())
		}
		if spec.Type == TypeInt && (n != math.Trunc(n) || math.Abs(n) > 1<<53) {
			return value{}, p.errorf(t.pos, "%s takes a whole number, got %s", name, t.describe())
		}
		return value{text: formatNumber(n), num: n, isNum: true}, nil
	case TypeBool:
		if t.text != "true" && t.text != "false" {
			return value{}, p.errorf(t.pos, "%s takes true or false, got %s", name, t.describe())
		}
		return value{text: t.text}, nil
	case TypeAttr:
		v := value{text: t.text}
		if n, err := parseNumber(t.text); err == nil {
			v.num, v.isNum = n, true
		} else if c.op != OpEq && c.op != OpNe && c.op != OpIn && c.op != OpNotIn {
			return value{}, p.errorf(t.pos, "%s%s takes a number, got %s", name, c.op, t.describe())
		}
		return v, nil
	}
	if spec.enum != nil && !slices.ContainsFunc(spec.enum, func(e string) bool { return strings.EqualFold(e, t.text) }) {
		return value{}, p.errorf(t.pos, "%s is one of %s, got %s", name, strings.Join(spec.enum, ", "), t.describe())
	}
	return value{text: t.text}, nil
}

// parseNumber reads a finite decimal number, with surrounding spaces.
func parseNumber(s string) (float64, error) {
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, err
	}
	if math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("not a finite number: %q", s)
	}
	return n, nil
}

// formatNumber writes n so that parseNumber reads back exactly n.
func formatNumber(n float64) string { return strconv.FormatFloat(n, 'g', -1, 64) }

// Quote writes s as a filter value: a bare word when it reads back as one,
// quoted otherwise. Use it to build filters from untrusted strings.
func Quote(s string) string { return quote(s) }

// quote writes a string value as a bare word when it reads back as one,
// and quoted otherwise.
func quote(s string) string {
	bare := s != ""
	for _, r := range s {
		if unicode.IsSpace(r) || r == '\\' || strings.ContainsRune(special, r) {
			bare = false
			break
		}
	}
	if bare {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// String is the filter in canonical form, which Parse reads back as the
// same filter: one space between clauses, none around symbolic operators,
// = for ==, notin for not in, numbers in shortest form, values quoted only
// where needed.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	s := make([]string, len(f.clauses))
	for i, c := range f.clauses {
		s[i] = c.String()
	}
	return strings.Join(s, " ")
}

func (c clause) String() string {
	var b strings.Builder
	if c.field == attrField {
		b.WriteString(attrPrefix + c.key)
	} else {
		b.WriteString(fields[c.field].Name)
	}
	if c.op == OpIn || c.op == OpNotIn {
		b.WriteString(" " + string(c.op) + " [")
		for i, v := range c.vals {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quote(v.text))
		}
		b.WriteByte(']')
		return b.String()
	}
	b.WriteString(string(c.op))
	b.WriteString(quote(c.vals[0].text))
	return b.String()
}

// Uses reports whether a clause of f tests the field named name.
func (f *Filter) Uses(name string) bool {
	if f == nil {
		return false
	}
	for _, c := range f.clauses {
		if fields[c.field].Name == name {
			return true
		}
	}
	return false
}

// Match reports whether o passes every clause of f.
func (f *Filter) Match(o Offer) bool {
	return f.Reject(o) == ""
}

// Reject returns the first clause of f that o fails, in canonical form,
// or "" if o matches: the reason a search gives for leaving o out.
func (f *Filter) Reject(o Offer) string {
	if f == nil {
		return ""
	}
	for _, c := range f.clauses {
		if !c.match(&o) {
			return c.String()
		}
	}
	return ""
}

func (c clause) match(o *Offer) bool {
	spec := &fields[c.field]
	switch spec.Type {
	case TypeString, TypeSet:
		has := func(want string) bool {
			if spec.strs != nil {
				return slices.ContainsFunc(spec.strs(o), func(s string) bool { return strings.EqualFold(s, want) })
			}
			return strings.EqualFold(spec.str(o), want)
		}
		return c.matchEach(has)
	case TypeInt, TypeNumber:
		x, ok := spec.num(o)
		if !ok {
			return false
		}
		return c.compare(x)
	case TypeBool:
		eq := strconv.FormatBool(spec.boolean(o)) == c.vals[0].text
		return eq == (c.op == OpEq)
	case TypeAttr:
		a, ok := o.Attributes[c.key]
		if !ok {
			return c.op == OpNe || c.op == OpNotIn
		}
		switch c.op {
		case OpEq, OpNe, OpIn, OpNotIn:
			return c.matchEach(func(want string) bool { return strings.EqualFold(a, want) })
		}
		x, err := parseNumber(a)
		if err != nil {
			return false
		}
		return c.compare(x)
	}
	return false
}

// matchEach applies an equality operator given whether the offer has a
// value: = and in ask for one of c.vals, != and notin for none.
func (c clause) matchEach(has func(string) bool) bool {
	hit := slices.ContainsFunc(c.vals, func(v value) bool { return has(v.text) })
	return hit == (c.op == OpEq || c.op == OpIn)
}

// compare applies c's operator to the offer's number x.
func (c clause) compare(x float64) bool {
	y := c.vals[0].num
	switch c.op {
	case OpEq:
		return x == y
	case OpNe:
		return x != y
	case OpLt:
		return x < y
	case OpLe:
		return x <= y
	case OpGt:
		return x > y
	case OpGe:
		return x >= y
	}
	hit := slices.ContainsFunc(c.vals, func(v value) bool { return v.num == x })
	return hit == (c.op == OpIn)
}

// Hints is what a filter says about the capability keys worth searching:
// every offer the filter matches satisfies each non-empty hint, so a
// search may look up only the matching keys. Hints only narrow which keys
// are searched; the search still applies Match to every offer it fetches.
type Hints struct {
	// Classes: the offer's class is one of these (from gpu_class = and in).
	Classes []string
	// Pools: the offer's pool is one of these (from pool = and in).
	Pools []string
	// Executors: the offer runs at least one of these (from executor = and
	// in; with several such clauses, the shortest list).
	Executors []string
	// Regions: the offer's region or its country is one of these (from
	// region = and in; with several such clauses, the shortest list), so a
	// search looks each value up as both a region and a country.
	Regions []string
	// Countries: the offer's country is one of these (from country = and in).
	Countries []string
	// MinVRAMGB is the largest lower bound on vram_gb (from >=, >, = and
	// the smallest value of in), 0 if none.
	MinVRAMGB float64
	// None is true when the equality clauses contradict each other
	// (gpu_class=A100-80GB gpu_class=H100), so that nothing can match; the
	// other fields then mean nothing.
	None bool
}

// Hints derives search hints from f's = and in clauses and its vram_gb
// lower bounds (all clauses of a filter must hold, so each one narrows the
// search). Lists keep the
// spelling of the filter, without case-insensitive duplicates. A nil
// Filter gives empty Hints.
func (f *Filter) Hints() Hints {
	var h Hints
	if f == nil {
		return h
	}
	for _, c := range f.clauses {
		if c.op != OpEq && c.op != OpIn && c.op != OpGe && c.op != OpGt {
			continue
		}
		name := fields[c.field].Name
		if name == "vram_gb" {
			h.MinVRAMGB = max(h.MinVRAMGB, slices.MinFunc(c.vals, func(a, b value) int { return cmp.Compare(a.num, b.num) }).num)
			continue
		}
		if c.op != OpEq && c.op != OpIn {
			continue
		}
		var vals []string
		for _, v := range c.vals {
			if !slices.ContainsFunc(vals, func(s string) bool { return strings.EqualFold(s, v.text) }) {
				vals = append(vals, v.text)
			}
		}
		switch name {
		case "gpu_class":
			h.Classes = intersect(h.Classes, vals, &h.None)
		case "pool":
			h.Pools = intersect(h.Pools, vals, &h.None)
		case "country":
			h.Countries = intersect(h.Countries, vals, &h.None)
		case "executor":
			h.Executors = shortest(h.Executors, vals)
		case "region":
			h.Regions = shortest(h.Regions, vals)
		}
	}
	return h
}

// intersect narrows the hint have (nil: no hint yet) to the values also in
// vals, setting *none when nothing is left.
func intersect(have, vals []string, none *bool) []string {
	if have == nil {
		return vals
	}
	out := []string{}
	for _, s := range have {
		if slices.ContainsFunc(vals, func(v string) bool { return strings.EqualFold(s, v) }) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		*none = true
	}
	return out
}

// shortest keeps the shorter of two "at least one of" hints.
func shortest(have, vals []string) []string {
	if have == nil || len(vals) < len(have) {
		return vals
	}
	return have
}

// SortKey is one key of an Order: a sortable field and its direction.
type SortKey struct {
	// Field is a field whose Sortable is true.
	Field string
	// Desc sorts from largest to smallest.
	Desc bool
}

// Order is how offers are sorted: by each key in turn, then by peer ID,
// then by class. An empty Order sorts like DefaultOrder.
type Order []SortKey

// DefaultOrder is the order of a search with no sort spec: cheapest first,
// then nearest (unknown RTT last), then by peer.
var DefaultOrder = Order{{Field: "price"}, {Field: "rtt_ms"}}

// ParseOrder reads a sort spec: comma-separated sortable fields, each
// ascending or, with a leading "-", descending ("+" is also ascending),
// e.g. `price,-num_gpus,rtt_ms`. An empty spec gives DefaultOrder. The
// error for a spec that does not parse is a *SyntaxError.
func ParseOrder(spec string) (Order, error) {
	if strings.TrimSpace(spec) == "" {
		return slices.Clone(DefaultOrder), nil
	}
	errorf := func(pos int, format string, args ...any) error {
		return &SyntaxError{Input: spec, Pos: pos, Msg: fmt.Sprintf(format, args...), what: "sort order"}
	}
	var ord Order
	pos := 0
	for part := range strings.SplitSeq(spec, ",") {
		start := pos + len(part) - len(strings.TrimLeftFunc(part, unicode.IsSpace))
		pos += len(part) + 1
		name := strings.TrimSpace(part)
		var k SortKey
		if rest, ok := strings.CutPrefix(name, "-"); ok {
			name, k.Desc = strings.TrimSpace(rest), true
		} else if rest, ok := strings.CutPrefix(name, "+"); ok {
			name = strings.TrimSpace(rest)
		}
		if name == "" {
			return nil, errorf(start, "missing field name (sortable: %s)", fieldNames(true))
		}
		i, ok := lookupField(name)
		if !ok || !fields[i].Sortable {
			return nil, errorf(start, "unknown sort field %q (sortable: %s)", name, fieldNames(true))
		}
		if slices.ContainsFunc(ord, func(o SortKey) bool { return o.Field == name }) {
			return nil, errorf(start, "%s appears twice", name)
		}
		k.Field = name
		ord = append(ord, k)
	}
	return ord, nil
}

// String is the order as ParseOrder reads it.
func (ord Order) String() string {
	s := make([]string, len(ord))
	for i, k := range ord {
		s[i] = k.Field
		if k.Desc {
			s[i] = "-" + k.Field
		}
	}
	return strings.Join(s, ",")
}

// Sort sorts offers by ord, stably. Ties are broken by peer ID, then by
// class, so the result does not depend on the input order of distinct
// offers. Strings compare case-insensitively and false sorts before true;
// an unknown RTT sorts last in either direction. Keys that name no
// sortable field are ignored.
func (ord Order) Sort(offers []Offer) {
	if len(ord) == 0 {
		ord = DefaultOrder
	}
	specs := make([]*fieldSpec, 0, len(ord))
	for _, k := range ord {
		if i, ok := lookupField(k.Field); ok && fields[i].Sortable {
			specs = append(specs, &fields[i])
		} else {
			specs = append(specs, nil)
		}
	}
	slices.SortStableFunc(offers, func(a, b Offer) int {
		for i, spec := range specs {
			if spec == nil {
				continue
			}
			if c := compareBy(spec, &a, &b, ord[i].Desc); c != 0 {
				return c
			}
		}
		if c := strings.Compare(string(a.Peer), string(b.Peer)); c != 0 {
			return c
		}
		return strings.Compare(a.Class, b.Class)
	})
}

// compareBy compares two offers on one field; unknown numbers sort last
// whatever the direction.
func compareBy(spec *fieldSpec, a, b *Offer, desc bool) int {
	var c int
	switch {
	case spec.num != nil:
		x, xok := spec.num(a)
		y, yok := spec.num(b)
		switch {
		case !xok && !yok:
			return 0
		case !xok:
			return 1
		case !yok:
			return -1
		}
		c = cmp.Compare(x, y)
	case spec.boolean != nil:
		x, y := spec.boolean(a), spec.boolean(b)
		switch {
		case x == y:
		case x:
			c = 1
		default:
			c = -1
		}
	case spec.str != nil:
		c = strings.Compare(strings.ToLower(spec.str(a)), strings.ToLower(spec.str(b)))
	}
	if desc {
		return -c
	}
	return c
}
