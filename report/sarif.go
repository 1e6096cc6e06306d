package report

// SARIF 2.1.0 for GitHub code scanning.
//
// SARIF was designed for findings on lines of source code; aigis finds
// things at byte offsets of binary files, often inside archive members.
// The choices below follow the OASIS specification
// (https://docs.oasis-open.org/sarif/sarif/v2.1.0/, "the spec") and
// GitHub's "SARIF support for code scanning" page ("GitHub"):
//
//   - Region. GitHub requires startLine (and lists the columns as required),
//     so every result points at an insertion point at the start of the
//     file: {startLine 1, startColumn 1, endLine 1, endColumn 1} (spec
//     §3.30.2 EXAMPLE 7). The byte offset is NOT put in the same region:
//     spec §3.30.4 says text and binary properties of a region describe the
//     same bytes independently, so {startLine 1, byteOffset 57} is invalid
//     SARIF; and for a finding inside a member the offset is into the
//     decompressed member, not the file the URI names, so byteOffset would
//     point at the wrong bytes. Offset and member travel in the message
//     and in result.properties instead.
//   - Archive members. GitHub ignores logicalLocations and shows
//     relatedLocations only when the message links to them; the message
//     is what it shows as the alert title and in annotations. So the
//     member is appended to message.text ("… (in a.zip!b.npz at byte 57)")
//     for people and stored in properties.member for machines. The spec's
//     own model for members (nested artifacts linked by parentIndex,
//     §3.24.3) is not used: no consumer we target renders it.
//   - Fingerprints. GitHub uses only partialFingerprints.primaryLocationLineHash.
//     When it is missing, the upload action hashes the text of line 1 of
//     the file, which for a binary model changes whenever the model does
//     and is the same for every finding in the file, so two dangerous calls
//     in one pickle would merge into one alert. aigis therefore supplies
//     the value itself, from what the finding is rather than where its
//     bytes are: see fingerprint.
//   - Severity. results carry level (critical/high → error, medium →
//     warning, low/info → note); rules carry properties."security-severity",
//     which GitHub maps to its labels (over 9.0 critical, 7.0–8.9 high,
//     4.0–6.9 medium, 0.1–3.9 low; 0.0 means none). Info rules get none:
//     they are advice, not security alerts. GitHub reads the score from the
//     rule only, so a rule whose findings in this run rose above its default
//     is scored by its worst finding; each result also carries its own
//     score in properties for other consumers.
//   - Paths. A relative path stays relative (forward slashes, percent-
//     encoded, uriBaseId %SRCROOT%), which GitHub resolves against the
//     repository root; an absolute path becomes a file: URI without a
//     uriBaseId (spec §3.4.4). Targets are listed in run.artifacts with
//     their SHA-256, and every location carries the artifact's index.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/aigis-sec/aigis/finding"
)

const (
	sarifSchema    = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	sarifVersion   = "2.1.0"
	informationURI = "https://github.com/aigis-sec/aigis"
	// srcRoot is the uriBaseId of relative paths: the directory aigis was
	// run from, which in CI is the checkout that GitHub resolves relative
	// URIs against.
	srcRoot = "%SRCROOT%"
	// fingerprintKey names aigis's partial fingerprint; a new way of
	// computing it gets a new version (spec §3.5.4.2).
	fingerprintKey = "aigis/v1"
	// githubFingerprintKey is the only partial fingerprint GitHub reads.
	githubFingerprintKey = "primaryLocationLineHash"
	maxDescription       = 1024
)

// securitySeverity is the GitHub score of each severity: one value inside
// each of GitHub's bands, critical at the CVSS score of unauthenticated
// remote code execution because that is what loading such a model is.
var securitySeverity = map[finding.Severity]string{
	finding.Critical: "9.8",
	finding.High:     "8.0",
	finding.Medium:   "5.5",
	finding.Low:      "3.0",
}

func sarifLevel(s finding.Severity) string {
	switch {
	case s >= finding.High:
		return "error"
	case s == finding.Medium:
		return "warning"
	default:
		return "note"
	}
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Artifacts   []sarifArtifact   `json:"artifacts,omitempty"`
	// ColumnKind is required when results carry text regions (spec
	// §3.14.27); ours only ever say column 1, which is the same in both.
	ColumnKind string        `json:"columnKind"`
	Results    []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifMultiformat struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string           `json:"id"`
	Name                 string           `json:"name,omitempty"`
	ShortDescription     sarifText        `json:"shortDescription"`
	FullDescription      sarifText        `json:"fullDescription"`
	Help                 sarifMultiformat `json:"help"`
	DefaultConfiguration struct {
		Level string `json:"level"`
	} `json:"defaultConfiguration"`
	Properties sarifRuleProperties `json:"properties"`
}

type sarifRuleProperties struct {
	Tags             []string `json:"tags"`
	SecuritySeverity string   `json:"security-severity,omitempty"`
}

type sarifResult struct {
	RuleID              string                `json:"ruleId"`
	RuleIndex           int                   `json:"ruleIndex"`
	Level               string                `json:"level"`
	Message             sarifText             `json:"message"`
	Locations           []sarifLocation       `json:"locations"`
	PartialFingerprints map[string]string     `json:"partialFingerprints"`
	Properties          sarifResultProperties `json:"properties"`
}

type sarifResultProperties struct {
	Severity         string            `json:"severity"`
	SecuritySeverity string            `json:"security-severity,omitempty"`
	ATLAS            []string          `json:"atlas"`
	Member           string            `json:"member,omitempty"`
	Offset           int64             `json:"offset"`
	Evidence         map[string]string `json:"evidence,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysicalLocation `json:"physicalLocation"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           *sarifRegion          `json:"region,omitempty"`
}

type sarifArtifactLocation struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
	Index     *int   `json:"index,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
	EndLine     int `json:"endLine"`
	EndColumn   int `json:"endColumn"`
}

type sarifArtifact struct {
	Location   sarifArtifactLocation `json:"location"`
	Length     *int64                `json:"length,omitempty"`
	Roles      []string              `json:"roles,omitempty"`
	Hashes     map[string]string     `json:"hashes,omitempty"`
	Properties *sarifArtifactProps   `json:"properties,omitempty"`
}

type sarifArtifactProps struct {
	Kind string `json:"kind"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level      string                  `json:"level"`
	Message    sarifText               `json:"message"`
	Locations  []sarifLocation         `json:"locations,omitempty"`
	Properties *sarifNotificationProps `json:"properties,omitempty"`
}

type sarifNotificationProps struct {
	Member string `json:"member,omitempty"`
}

// writeSARIF writes one run. r comes from prepare: sorted, lists non-nil.
func writeSARIF(buf *bytes.Buffer, r *finding.Report) error {
	b := sarifBuilder{
		rules:         []sarifRule{}, // GitHub requires the list, even empty
		ruleIndex:     map[string]int{},
		artifactIndex: map[string]int{},
	}
	b.addRules(r)
	for _, t := range r.Targets {
		b.addTarget(t)
	}
	results := make([]sarifResult, 0, len(r.Findings))
	occurrences := map[string]int{}
	for _, f := range r.Findings {
		results = append(results, b.result(f, occurrences))
	}
	inv := sarifInvocation{
		// The tool ran to the end; work it could not finish is reported
		// as notifications, not as a failed execution, so that the results
		// it did produce are still taken.
		ExecutionSuccessful: true,
	}
	for _, in := range r.Incomplete {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, b.notification(in))
	}
	log := sarifLog{
		Schema:  sarifSchema,
		Version: sarifVersion,
		Runs: []sarifRun{{
			Tool: sarifTool{Driver: sarifDriver{
				Name:           r.Tool.Name,
				Version:        r.Tool.Version,
				InformationURI: informationURI,
				Rules:          b.rules,
			}},
			Invocations: []sarifInvocation{inv},
			Artifacts:   b.artifacts,
			ColumnKind:  "unicodeCodePoints",
			Results:     results,
		}},
	}
	return encodeJSON(buf, log)
}

type sarifBuilder struct {
	rules         []sarifRule
	ruleIndex     map[string]int
	artifacts     []sarifArtifact
	artifactIndex map[string]int // by uriBaseId + uri
}

// addRules lists every rule of the report, then any rule that a finding
// names but the report does not declare, so that every result's ruleIndex
// is valid and GitHub has a description to show.
func (b *sarifBuilder) addRules(r *finding.Report) {
	// GitHub reads security-severity from the rule only, but a checker may
	// emit a finding above its rule's default. The rule's score is the
	// highest severity its findings reached in this run, so the alert is
	// not labelled lower than the finding; with no findings, the default.
	worst := map[string]finding.Severity{}
	for _, f := range r.Findings {
		if s, ok := worst[f.RuleID]; !ok || f.Severity > s {
			worst[f.RuleID] = f.Severity
		}
	}
	add := func(rule finding.Rule) {
		if _, dup := b.ruleIndex[rule.ID]; dup {
			return
		}
		sev := rule.Severity
		if s, ok := worst[rule.ID]; ok {
			sev = s
		}
		b.ruleIndex[rule.ID] = len(b.rules)
		b.rules = append(b.rules, sarifRuleOf(rule, sev))
	}
	for _, rule := range r.Rules {
		add(rule)
	}
	for _, f := range r.Findings {
		add(finding.Rule{ID: f.RuleID, Severity: f.Severity, Title: f.Title, ATLAS: f.ATLAS, Remediation: f.Remediation})
	}
}

func sarifRuleOf(r finding.Rule, scoreSev finding.Severity) sarifRule {
	title := firstNonEmpty(r.Title, r.ID)
	var s sarifRule
	s.ID = r.ID
	s.Name = ruleName(title)
	// GitHub limits both descriptions to 1024 characters, requires
	// fullDescription and help.text, and rejects empty strings for
	// required properties.
	s.ShortDescription.Text = truncate(title, maxDescription)
	s.FullDescription.Text = truncate(firstNonEmpty(r.Description, title), maxDescription)
	s.Help = ruleHelp(r, title)
	s.DefaultConfiguration.Level = sarifLevel(r.Severity)
	s.Properties.Tags = uniqueStrings(append([]string{"security"}, r.ATLAS...))
	s.Properties.SecuritySeverity = securitySeverity[scoreSev]
	return s
}

// ruleName turns a title into the CamelCase identifier SARIF suggests for
// name (spec §3.49.7), which GitHub shows when filtering by rule.
func ruleName(title string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(title, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	s := b.String()
	if len(s) > 255 { // GitHub's limit
		s = s[:255]
	}
	return s
}

func ruleHelp(r finding.Rule, title string) sarifMultiformat {
	var text, md []string
	if r.Description != "" {
		text = append(text, r.Description)
		md = append(md, r.Description)
	}
	if r.Remediation != "" {
		text = append(text, "Remediation: "+r.Remediation)
		md = append(md, "**Remediation.** "+r.Remediation)
	}
	if len(r.ATLAS) > 0 {
		links := make([]string, len(r.ATLAS))
		for i, id := range r.ATLAS {
			links[i] = atlasLink(id)
		}
		text = append(text, "MITRE ATLAS: "+strings.Join(r.ATLAS, ", "))
		md = append(md, "**MITRE ATLAS:** "+strings.Join(links, ", "))
	}
	if len(text) == 0 {
		return sarifMultiformat{Text: title}
	}
	return sarifMultiformat{Text: strings.Join(text, "\n\n"), Markdown: strings.Join(md, "\n\n")}
}

// atlasLink links an ATLAS id to its page: tactics (AML.TA…), techniques
// and sub-techniques (AML.T…) and mitigations (AML.M…) live under
// different paths.
func atlasLink(id string) string {
	var dir string
	switch {
	case strings.HasPrefix(id, "AML.TA"):
		dir = "tactics"
	case strings.HasPrefix(id, "AML.T"):
		dir = "techniques"
	case strings.HasPrefix(id, "AML.M"):
		dir = "mitigations"
	default:
		return id
	}
	return "[" + id + "](https://atlas.mitre.org/" + dir + "/" + id + ")"
}

func (b *sarifBuilder) addTarget(t finding.Target) {
	loc := artifactLocation(t.Path)
	if _, dup := b.artifactIndex[loc.URIBaseID+" "+loc.URI]; dup {
		return
	}
	a := sarifArtifact{Location: loc, Roles: []string{"analysisTarget"}}
	size := t.Size
	a.Length = &size
	if t.SHA256 != "" {
		a.Hashes = map[string]string{"sha-256": t.SHA256}
	}
	if t.Kind != "" {
		a.Properties = &sarifArtifactProps{Kind: t.Kind}
	}
	b.artifactIndex[loc.URIBaseID+" "+loc.URI] = len(b.artifacts)
	b.artifacts = append(b.artifacts, a)
}

// location points at path; artifacts not among the targets are added so
// that every location can carry an index (spec §3.4.5: SHOULD).
func (b *sarifBuilder) location(p string, region bool) sarifLocation {
	loc := artifactLocation(p)
	key := loc.URIBaseID + " " + loc.URI
	i, ok := b.artifactIndex[key]
	if !ok {
		i = len(b.artifacts)
		b.artifactIndex[key] = i
		b.artifacts = append(b.artifacts, sarifArtifact{Location: loc})
	}
	loc.Index = &i
	pl := sarifPhysicalLocation{ArtifactLocation: loc}
	if region {
		pl.Region = &sarifRegion{StartLine: 1, StartColumn: 1, EndLine: 1, EndColumn: 1}
	}
	return sarifLocation{PhysicalLocation: pl}
}

func (b *sarifBuilder) result(f finding.Finding, occurrences map[string]int) sarifResult {
	msg := firstNonEmpty(f.Message, f.Title, f.RuleID)
	switch {
	case f.Member != "" && f.Offset > 0:
		msg += " (in " + f.Member + " at byte " + strconv.FormatInt(f.Offset, 10) + ")"
	case f.Member != "":
		msg += " (in " + f.Member + ")"
	case f.Offset > 0:
		msg += " (at byte " + strconv.FormatInt(f.Offset, 10) + ")"
	}
	fp := fingerprint(f)
	occurrences[fp]++
	atlas := f.ATLAS
	if atlas == nil {
		atlas = []string{}
	}
	return sarifResult{
		RuleID:    f.RuleID,
		RuleIndex: b.ruleIndex[f.RuleID],
		Level:     sarifLevel(f.Severity),
		Message:   sarifText{Text: msg},
		Locations: []sarifLocation{b.location(f.Path, true)},
		PartialFingerprints: map[string]string{
			fingerprintKey: fp,
			// The occurrence number keeps two findings of the same thing
			// in the same member apart, as CodeQL's ":n" suffix does; it
			// is stable because findings are sorted by offset.
			githubFingerprintKey: fp[:16] + ":" + strconv.Itoa(occurrences[fp]),
		},
		Properties: sarifResultProperties{
			Severity:         f.Severity.String(),
			SecuritySeverity: securitySeverity[f.Severity],
			ATLAS:            atlas,
			Member:           f.Member,
			Offset:           f.Offset,
			Evidence:         f.Evidence,
		},
	}
}

func (b *sarifBuilder) notification(in finding.Incomplete) sarifNotification {
	n := sarifNotification{
		Level:     "warning",
		Message:   sarifText{Text: "scan incomplete: " + where(in.Path, in.Member) + ": " + firstNonEmpty(in.Reason, "no reason given")},
		Locations: []sarifLocation{b.location(in.Path, false)},
	}
	if in.Member != "" {
		n.Properties = &sarifNotificationProps{Member: in.Member}
	}
	return n
}

// digits matches the numbers in a message, which can be offsets, sizes or
// counts that move when a file is rebuilt.
var digits = regexp.MustCompile(`0[xX][0-9a-fA-F]+|[0-9]+`)

// fingerprint identifies what a finding is, independent of where its bytes
// happen to sit: the rule, the file (as its SARIF URI, so "./m" and "m"
// agree), the archive member, and the callable that a load reaches — or,
// for findings without one, the message with its numbers blanked out. The
// byte offset is left out so that re-saving a model, which moves every
// opcode, keeps the alert; a different callable is a different alert.
func fingerprint(f finding.Finding) string {
	loc := artifactLocation(f.Path)
	what := "callable=" + f.Evidence["callable"]
	if f.Evidence["callable"] == "" {
		what = "message=" + digits.ReplaceAllString(f.Message, "N")
	}
	h := sha256.New()
	for _, part := range []string{f.RuleID, loc.URI, f.Member, what} {
		h.Write([]byte(part))
		h.Write([]byte{0}) // a separator no field contains, so fields cannot run together
	}
	return hex.EncodeToString(h.Sum(nil))
}

// uriScheme matches paths that are already URIs (hf://org/model); a
// Windows drive ("C:\…") has one letter and no "//", so it never matches.
var uriScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]+://`)

// artifactLocation turns a finding's path into a SARIF artifactLocation.
// A relative path stays relative, with forward slashes and %SRCROOT% as its
// base, because GitHub matches relative URIs against files in the
// repository; an absolute path becomes a file: URI, which SARIF requires to
// have no uriBaseId.
func artifactLocation(p string) sarifArtifactLocation {
	if uriScheme.MatchString(p) {
		return sarifArtifactLocation{URI: p}
	}
	s := filepath.ToSlash(p)
	if filepath.IsAbs(p) || strings.HasPrefix(s, "/") {
		s = path.Clean(s)
		switch {
		case strings.HasPrefix(s, "//"): // Windows UNC: //server/share/…
			return sarifArtifactLocation{URI: "file:" + escapePath(s)}
		case strings.HasPrefix(s, "/"):
			return sarifArtifactLocation{URI: "file://" + escapePath(s)}
		default: // Windows drive: C:/…
			return sarifArtifactLocation{URI: "file:///" + escapePath(s)}
		}
	}
	u := escapePath(path.Clean(s))
	// A colon in the first segment would make the reference parse as a
	// scheme (RFC 3986 §4.2): "a:b.pt" must be written "./a:b.pt".
	if first, _, _ := strings.Cut(u, "/"); strings.Contains(first, ":") {
		u = "./" + u
	}
	return sarifArtifactLocation{URI: u, URIBaseID: srcRoot}
}

// escapePath percent-encodes every byte of p that may not appear as itself
// in a URI path (RFC 3986 §3.3): spaces, '%', '?', '#', non-ASCII and
// control bytes. Slashes are kept as separators.
func escapePath(p string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func uniqueStrings(s []string) []string {
	seen := map[string]bool{}
	out := s[:0:0]
	for _, v := range s {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
