package checks

import (
	"fmt"
	"strings"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/pickle"
)

// PickleChecker judges every name a pickle makes a real load look up or
// call, with the policy in picklepolicy.go.
type PickleChecker struct{}

// Name implements Checker.
func (PickleChecker) Name() string { return "pickle" }

// Accepts implements Checker.
func (PickleChecker) Accepts(kind string) bool { return kind == KindPickle }

// Rules implements Checker.
func (PickleChecker) Rules() []finding.Rule {
	return []finding.Rule{RulePickleExec, RulePickleNested, RulePickleFile, RulePickleNetwork,
		RulePickleResolver, RulePickleStdlib, RulePickleUnknown, RulePickleMalformed,
		RulePickleAnomaly, RulePickleFormat}
}

// Check implements Checker.
func (PickleChecker) Check(a *Artifact) []finding.Finding {
	res := a.Pickle
	if res == nil {
		return nil
	}
	var out []finding.Finding
	prefix := ""
	if a.Nested != "" {
		prefix = "in a pickle passed to " + a.Nested + ": "
	}

	// The first call of each import, for the evidence; and whether every
	// call of it was resolved statically.
	firstCall := map[int]pickle.CallRecord{}
	unresolvedCall := map[int]bool{}
	for _, c := range res.Calls {
		if c.Import < 0 {
			continue
		}
		if !c.Resolved && c.Op != "BUILD" {
			unresolvedCall[c.Import] = true
		}
		if _, ok := firstCall[c.Import]; !ok || (firstCall[c.Import].Op == "BUILD" && c.Op != "BUILD") {
			firstCall[c.Import] = c
		}
	}
	seen := map[string]bool{}
	clean := true
	for i, imp := range res.Imports {
		var v Verdict
		if !imp.Resolved {
			v = Verdict{Severity: finding.High, Rule: RulePickleResolver, Why: imp.Why, Canonical: imp.Qualified()}
		} else {
			v = Judge(imp.Module, imp.Name)
		}
		call, called := firstCall[i]
		if v.Allowed || (v.Rule.ID == RulePickleResolver.ID && imp.Resolved && called && !unresolvedCall[i]) {
			// A resolver whose every use was resolved: what it reached is
			// judged on its own (getattr(SomeEnum, "MEMBER") pickles enums).
			continue
		}
		clean = false
		key := v.Canonical + "\x00" + call.Args
		if seen[key] {
			continue
		}
		seen[key] = true
		name := imp.Qualified()
		ev := map[string]string{"callable": name, "opcode": imp.Op}
		if v.Canonical != name && imp.Resolved {
			ev["resolves_to"] = v.Canonical
		}
		var msg string
		switch {
		case !imp.Resolved:
			msg = fmt.Sprintf("%sthe callable cannot be resolved statically: %s", prefix, imp.Why)
			if called && call.Args != "" {
				msg += fmt.Sprintf(", with arguments (%s)", call.Args)
				ev["args"] = call.Args
			}
		case called && call.Op == "BUILD":
			msg = fmt.Sprintf("%s%s is called when the file is loaded (restoring an object's state)", prefix, name)
		case called:
			msg = fmt.Sprintf("%s%s(%s) is called when the file is loaded", prefix, name, call.Args)
			ev["args"] = call.Args
		default:
			msg = fmt.Sprintf("%s%s is imported when the file is loaded", prefix, name)
		}
		if called {
			ev["call_opcode"] = call.Op
			if call.Via != "" {
				ev["via"] = call.Via
				msg += " through " + call.Via
			}
		}
		if v.Canonical != name && imp.Resolved {
			msg += fmt.Sprintf(" (%s)", v.Canonical)
		}
		if strings.Contains(imp.Op, ".") {
			msg += " (reached through " + imp.Op + ")"
		}
		if v.Why != "" && imp.Resolved {
			msg += ": " + v.Why
		}
		off := imp.Offset
		if called {
			off = call.Offset
		}
		out = append(out, finding.New(v.Rule, v.Severity, a.Loc.At(off), msg, ev))
	}

	if e := res.Err; e != nil && e.Limit == nil && res.Identified {
		calls := len(res.Calls)
		msg := fmt.Sprintf("%sthe pickle breaks at offset %d (%s)", prefix, e.Offset, e.Msg)
		if calls > 0 {
			msg += fmt.Sprintf("; a real load makes the %d calls before the break and then fails", calls)
		}
		out = append(out, finding.New(RulePickleMalformed, RulePickleMalformed.Severity, a.Loc.At(e.Offset), msg,
			map[string]string{"error": e.Msg, "opcode": e.Op}))
		clean = false
	}
	if e := res.Err; e != nil && e.Limit != nil {
		out = append(out, finding.New(RuleLimit, RuleLimit.Severity, a.Loc.At(e.Offset),
			fmt.Sprintf("%sanalysis stopped at offset %d: %v", prefix, e.Offset, e.Limit),
			map[string]string{"limit": e.Limit.Limit}))
		clean = false
	}
	for _, an := range res.Anomalies {
		if an.Kind == pickle.AnomalyTrailingData && a.TrailingExpected {
			continue
		}
		out = append(out, finding.New(RulePickleAnomaly, RulePickleAnomaly.Severity, a.Loc.At(an.Offset),
			prefix+an.Detail, map[string]string{"anomaly": an.Kind}))
	}
	if clean && a.Nested == "" && len(res.Streams) > 0 {
		names := allowedNames(res)
		msg := "pickle with only allowed callables"
		if len(names) > 0 {
			msg += ": " + strings.Join(names, ", ")
		}
		out = append(out, finding.New(RulePickleFormat, RulePickleFormat.Severity, a.Loc, msg, nil))
	}
	return out
}

func allowedNames(res *pickle.Result) []string {
	seen := map[string]bool{}
	var names []string
	for _, imp := range res.Imports {
		q := imp.Qualified()
		if !seen[q] {
			seen[q] = true
			names = append(names, q)
		}
		if len(names) == 8 {
			names = append(names, "…")
			break
		}
	}
	return names
}
