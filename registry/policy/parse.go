package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/hub"
)

// Bounds on what Parse reads. A policy is written by an administrator, but
// it is still parsed strictly and within limits.
const (
	// MaxFileSize caps the policy file.
	MaxFileSize = 1 << 20
	// maxMaterialSize caps each key, certificate or trusted-root file.
	maxMaterialSize = 1 << 20
	// maxProblems caps the problems one ParseError reports.
	maxProblems = 50
	// maxString caps any single string value.
	maxString = 4096
)

// Problem is one thing wrong in a policy file.
type Problem struct {
	Line    int    // 1-based; 0 when the problem is the whole file
	Key     string // the key in dotted form: gate.fail_on, exceptions[2].expires
	Message string // what is wrong and what to write instead
}

// ParseError lists every problem found in a policy file; Parse reports them
// all at once so a file can be fixed in one pass.
type ParseError struct {
	File     string
	Problems []Problem
}

func (e *ParseError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
		if p.Key != "" {
			b.WriteString(p.Key + ": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

// Load reads and validates the policy file at path; keys and certificates
// it names are read relative to the file's folder.
func Load(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w (give the path of a policy YAML file; docs/policy.md has an example)", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("policy: read %s: %w", path, err)
	}
	return Parse(path, data, filepath.Dir(path))
}

// Parse validates a policy file's bytes. name is how errors refer to the
// file; relative key, certificate and trusted-root paths are read from
// baseDir (the working directory when baseDir is ""). Every problem is
// reported in one *ParseError, each with its line.
func Parse(name string, data []byte, baseDir string) (*Policy, error) {
	ps := &parser{file: name, base: baseDir}
	p := ps.parse(data)
	if len(ps.problems) > 0 {
		slices.SortStableFunc(ps.problems, func(a, b Problem) int { return a.Line - b.Line })
		return nil, &ParseError{File: name, Problems: ps.problems}
	}
	p.name = name
	p.digest = ps.digest(data)
	return p, nil
}

type parser struct {
	file     string
	base     string
	problems []Problem
	files    []materialFile // files the policy names, for the digest
}

type materialFile struct {
	path   string
	sha256 [32]byte
}

func (ps *parser) add(line int, key, format string, a ...any) {
	if len(ps.problems) < maxProblems {
		ps.problems = append(ps.problems, Problem{Line: line, Key: key, Message: fmt.Sprintf(format, a...)})
	}
}

// full says whether no more problems will be reported, so the work of
// describing one (suggestions) can be skipped.
func (ps *parser) full() bool { return len(ps.problems) >= maxProblems }

func (ps *parser) digest(data []byte) string {
	h := sha256.New()
	h.Write(data)
	for _, m := range ps.files {
		fmt.Fprintf(h, "\n%s %x", m.path, m.sha256)
	}
	if len(ps.files) == 0 {
		sum := sha256.Sum256(data)
		return hex.EncodeToString(sum[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (ps *parser) parse(data []byte) *Policy {
	p := &Policy{
		sources:             map[string]*sourceRule{},
		lookalikes:          LookalikeBlock,
		failOn:              finding.High,
		ignoreRules:         map[string]bool{},
		licenseAllow:        map[string]bool{},
		unknownLicenseAllow: true,
	}
	if len(data) > MaxFileSize {
		ps.add(0, "", "the file is larger than %d bytes; a policy is a few KiB: split long lists or remove expired exceptions", MaxFileSize)
		return p
	}
	if !utf8.Valid(data) {
		ps.add(0, "", "the file is not UTF-8 text")
		return p
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := decodeSafe(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			ps.add(0, "", "the file is empty: start with `apiVersion: %s` and `version: \"…\"` (see docs/policy.md)", APIVersion)
			return p
		}
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			ps.add(line, "", "not valid YAML: %s", m[2])
		} else {
			ps.add(0, "", "not valid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
		}
		return p
	}
	var extra yaml.Node
	if err := decodeSafe(dec, &extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		ps.add(line, "", "the file holds more than one YAML document (a `---` line); keep one policy per file")
		return p
	}
	if len(doc.Content) != 1 {
		ps.add(0, "", "the file is empty: start with `apiVersion: %s`", APIVersion)
		return p
	}
	root := doc.Content[0]
	var haveAPI, haveVersion bool
	ps.mapping(root, "", []field{
		{"apiVersion", func(k, v *yaml.Node) {
			haveAPI = true
			if s, ok := ps.str(v, "apiVersion"); ok && s != APIVersion {
				ps.add(v.Line, "apiVersion", "unsupported version %q: this aigis reads `apiVersion: %s`", s, APIVersion)
			}
		}},
		{"version", func(k, v *yaml.Node) {
			haveVersion = true
			if s, ok := ps.str(v, "version"); ok {
				if !validVersion(s) {
					ps.add(v.Line, "version", "%q is not a usable version: use 1 to 128 letters, digits, '.', '-', '_' or ':' (for example \"2026-11-22.1\")", s)
				} else {
					p.version = s
				}
			}
		}},
		{"sources", func(k, v *yaml.Node) { ps.sources(v, p) }},
		{"lookalikes", func(k, v *yaml.Node) {
			if s, ok := ps.enum(v, "lookalikes", "block", "warn", "off"); ok {
				p.lookalikes = LookalikeMode(s)
			}
		}},
		{"lookalike_names", func(k, v *yaml.Node) { ps.lookalikeNames(v, p) }},
		{"gate", func(k, v *yaml.Node) { ps.gate(v, p) }},
		{"signatures", func(k, v *yaml.Node) { ps.signatures(v, p) }},
		{"licenses", func(k, v *yaml.Node) { ps.licenses(v, p) }},
		{"limits", func(k, v *yaml.Node) { ps.limits(v, p) }},
		{"exceptions", func(k, v *yaml.Node) { ps.exceptions(v, p) }},
	})
	if root.Kind == yaml.MappingNode {
		if !haveAPI {
			ps.add(root.Line, "", "missing `apiVersion: %s` (the first line of every policy file)", APIVersion)
		}
		if !haveVersion {
			ps.add(root.Line, "", "missing `version:`: name this revision of the policy, for example `version: \"2026-11-22.1\"`; it is recorded with every decision")
		}
	}
	return p
}

// decodeSafe decodes one document; a panic inside the YAML library on
// hostile bytes becomes an error.
func decodeSafe(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return dec.Decode(n)
}

func validVersion(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == '_' || r == ':') {
			return false
		}
	}
	return true
}

// field is one key a mapping may hold.
type field struct {
	name string
	set  func(k, v *yaml.Node)
}

// mapping checks that n is a mapping whose keys are all known and appear
// once, and hands each value to its field in file order.
func (ps *parser) mapping(n *yaml.Node, at string, fields []field) {
	if !ps.kind(n, at, yaml.MappingNode, "a mapping of keys (key: value)") {
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			ps.add(k.Line, at, "a key must be a plain name")
			continue
		}
		key := join(at, k.Value)
		if first, dup := seen[k.Value]; dup {
			ps.add(k.Line, key, "set twice (first on line %d); keep one", first)
			continue
		}
		seen[k.Value] = k.Line
		i := slices.IndexFunc(fields, func(f field) bool { return f.name == k.Value })
		if i < 0 && ps.full() {
			continue
		}
		if i < 0 {
			names := make([]string, len(fields))
			for j, f := range fields {
				names[j] = f.name
			}
			msg := fmt.Sprintf("unknown key %q", k.Value)
			if s := closest(k.Value, names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			where := "here"
			if at != "" {
				where = "in " + at
			}
			ps.add(k.Line, "", "%s (known keys %s: %s)", msg, where, strings.Join(names, ", "))
			continue
		}
		if v.Kind == yaml.AliasNode {
			ps.add(v.Line, key, "YAML aliases (*name) are not supported in a policy: write the value out")
			continue
		}
		fields[i].set(k, v)
	}
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

var kindNames = map[yaml.Kind]string{
	yaml.DocumentNode: "a document", yaml.SequenceNode: "a list", yaml.MappingNode: "a mapping",
	yaml.ScalarNode: "a single value", yaml.AliasNode: "an alias",
}

func (ps *parser) kind(n *yaml.Node, at string, want yaml.Kind, what string) bool {
	if n.Kind == yaml.AliasNode {
		ps.add(n.Line, at, "YAML aliases (*name) are not supported in a policy: write the value out")
		return false
	}
	if n.Kind == want {
		return true
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		ps.add(n.Line, at, "is empty: write %s, or remove the key", what)
		return false
	}
	ps.add(n.Line, at, "is %s: write %s", kindNames[n.Kind], what)
	return false
}

// str reads a non-empty scalar as text.
func (ps *parser) str(n *yaml.Node, at string) (string, bool) {
	if !ps.kind(n, at, yaml.ScalarNode, "a value") {
		return "", false
	}
	if n.Tag == "!!null" || n.Value == "" {
		ps.add(n.Line, at, "is empty: write a value, or remove the key")
		return "", false
	}
	if len(n.Value) > maxString {
		ps.add(n.Line, at, "is longer than %d bytes", maxString)
		return "", false
	}
	return n.Value, true
}

// list reads a sequence of strings; a missing or empty list is fine.
func (ps *parser) list(n *yaml.Node, at string) ([]string, []int) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if !ps.kind(n, at, yaml.SequenceNode, `a list, for example ["a", "b"] or one "- a" line per item`) {
		return nil, nil
	}
	var out []string
	var lines []int
	for i, c := range n.Content {
		if s, ok := ps.str(c, fmt.Sprintf("%s[%d]", at, i)); ok {
			out = append(out, s)
			lines = append(lines, c.Line)
		}
	}
	return out, lines
}

func (ps *parser) enum(n *yaml.Node, at string, values ...string) (string, bool) {
	s, ok := ps.str(n, at)
	if !ok {
		return "", false
	}
	if !slices.Contains(values, s) {
		ps.add(n.Line, at, "%q is not one of: %s", s, strings.Join(values, ", "))
		return "", false
	}
	return s, true
}

func (ps *parser) boolean(n *yaml.Node, at string) (bool, bool) {
	if !ps.kind(n, at, yaml.ScalarNode, "true or false") {
		return false, false
	}
	switch n.Value {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	ps.add(n.Line, at, "%q is not true or false", n.Value)
	return false, false
}

func (ps *parser) globs(n *yaml.Node, at string) []glob {
	items, lines := ps.list(n, at)
	var out []glob
	for i, s := range items {
		g, msg := compileGlob(s)
		if msg != "" {
			ps.add(lines[i], fmt.Sprintf("%s[%d]", at, i), "%s", msg)
			continue
		}
		g.line = lines[i]
		out = append(out, g)
	}
	return out
}

func compileGlob(s string) (glob, string) {
	if s == "*" || s == "**" {
		return glob{}, fmt.Sprintf("%q matches only single-word ids: write \"*/*\" for every repository", s)
	}
	if strings.Contains(s, "**") {
		return glob{}, fmt.Sprintf("%q: '**' is not supported; '*' matches within the organisation or the name (\"acme/*\", \"*/*-uncensored\")", s)
	}
	if strings.Count(s, "/") > 1 || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") {
		return glob{}, fmt.Sprintf("%q is not an org/name pattern: write \"org/name\", \"org/*\" or \"*/name-*\" (no \"datasets/\" prefix)", s)
	}
	pat := strings.ToLower(s)
	if _, err := path.Match(pat, ""); err != nil {
		return glob{}, fmt.Sprintf("%q is not a valid pattern (%v): use '*', '?' and [a-z] classes", s, err)
	}
	return glob{text: s, pattern: pat}, ""
}

// material reads a key, certificate or trusted-root file named in the
// policy (relative to the policy's folder), or takes an inline PEM block.
func (ps *parser) material(s string, line int, at, what string) ([]byte, string, bool) {
	if strings.HasPrefix(strings.TrimSpace(s), "-----BEGIN ") {
		return []byte(s), "inline " + what, true
	}
	p := s
	if !filepath.IsAbs(p) && ps.base != "" {
		p = filepath.Join(ps.base, p)
	}
	fi, err := os.Stat(p)
	if err != nil {
		ps.add(line, at, "%s file %q: %v (paths are relative to the policy file's folder)", what, s, unwrapPathError(err))
		return nil, "", false
	}
	if !fi.Mode().IsRegular() {
		ps.add(line, at, "%s file %q is not a regular file", what, s)
		return nil, "", false
	}
	if fi.Size() == 0 {
		// Also keeps /proc and /sys files, which report size 0, out.
		ps.add(line, at, "%s file %q is empty", what, s)
		return nil, "", false
	}
	if fi.Size() > maxMaterialSize {
		ps.add(line, at, "%s file %q is larger than %d bytes", what, s, maxMaterialSize)
		return nil, "", false
	}
	f, err := os.Open(p)
	if err != nil {
		ps.add(line, at, "%s file %q: %v", what, s, unwrapPathError(err))
		return nil, "", false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMaterialSize+1))
	if err != nil || len(data) > maxMaterialSize {
		ps.add(line, at, "%s file %q could not be read within %d bytes", what, s, maxMaterialSize)
		return nil, "", false
	}
	ps.files = append(ps.files, materialFile{path: s, sha256: sha256.Sum256(data)})
	return data, s, true
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// reported says whether a problem was already reported for key.
func (ps *parser) reported(key string) bool {
	return slices.ContainsFunc(ps.problems, func(p Problem) bool { return p.Key == key })
}

// reportedUnder says whether a problem was already reported for a key
// below prefix: a missing key file should not also read as "no keys".
func (ps *parser) reportedUnder(prefix string) bool {
	return slices.ContainsFunc(ps.problems, func(p Problem) bool { return strings.HasPrefix(p.Key, prefix) })
}

// parseExpiry returns the first instant at which an exception no longer
// applies: the day after a date (UTC), or the time itself.
func parseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.AddDate(0, 0, 1), nil
	}
	return time.Parse(time.RFC3339, s)
}

// validRepoID accepts "org/name" and legacy single-word ids made of the
// characters the Hub allows (hub.ValidRepoID), with segments of at most 96
// bytes.
func validRepoID(s string) bool {
	if hub.ValidRepoID(s) != nil {
		return false
	}
	org, name, _ := strings.Cut(s, "/")
	return len(org) <= 96 && len(name) <= 96
}

var sizeUnits = []struct {
	name string
	mult int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"kB", 1e3},
	{"B", 1},
}

// ParseSize reads a size such as "100GiB", "500 MB" or "1024" (bytes).
// Units: B, KB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB (powers of
// 1024). Only whole numbers are accepted.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.name) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.name)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || t == "" || t[0] == '+' || t[0] == '-' {
		return 0, fmt.Errorf("%q is not a size: write a whole number with a unit, such as 100GiB, 500MB or 1536MiB (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", s)
	}
	if n > (1<<63-1)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

// closest returns the candidate nearest to s, when it is a plausible typo.
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c), bestD); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it is
// at least limit.
func editDistance(a, b string, limit int) int {
	if len(a) > 64 || len(b) > 64 {
		return limit
	}
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(rb)], limit)
}
