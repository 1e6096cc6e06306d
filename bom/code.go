package bom

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/pysrc"
	"github.com/aigis-sec/aigis/hub"
	"github.com/aigis-sec/aigis/internal/safeio"
)

// hubRef is a Hub model named in code, at one revision.
type hubRef struct {
	id, commit string
	revisions  []string // unpinned revisions as written ("main", "v2.1")
	locations  []string // file:line
	calls      []string
	files      []string // hf_hub_download filenames
}

func (r *hubRef) component() cdx.Component {
	c := cdx.Component{BOMRef: modelRef(r.id, r.commit), Type: cdx.ComponentTypeMachineLearningModel,
		Version: r.commit, PackageURL: hfPurl(r.id, r.commit)}
	c.Group, c.Name = splitID(r.id)
	props := []cdx.Property{prop("aigis:hub:repo", r.id), prop("aigis:source", "code")}
	props = appendProps(props, "aigis:location", r.locations...)
	props = appendProps(props, "aigis:hub:revision", r.revisions...)
	props = appendProps(props, "aigis:call", r.calls...)
	props = appendProps(props, "aigis:hub:file", r.files...)
	c.Properties = &props
	c.ExternalReferences = &[]cdx.ExternalReference{{Type: cdx.ERTypeDistribution, URL: "https://huggingface.co/" + r.id}}
	return c
}

func modelRef(id, commit string) string {
	if commit == "" {
		return "model:hf:" + id
	}
	return "model:hf:" + id + "@" + commit
}

// loader describes a call that downloads a Hub repository: which argument
// holds the repository id, and what kind of repository it is.
type loader struct {
	pos      int      // positional index of the id (-1: keyword only)
	keywords []string // keyword names of the id
	dataset  bool     // the repository is a dataset unless repo_type says otherwise
	typeKw   bool     // a repo_type keyword chooses model or dataset
	fileKw   bool     // filename is argument 1 or keyword filename
}

// loaderFor matches a resolved callee against the calls that download from
// the Hub. Only names resolved through an import count: a local function
// called from_pretrained is not transformers'.
func loaderFor(c pysrc.Call) (loader, bool) {
	if c.Origin != "import" || strings.Contains(c.Resolved, "()") {
		return loader{}, false
	}
	r := c.Resolved
	root, _, _ := strings.Cut(r, ".")
	last := r[strings.LastIndex(r, ".")+1:]
	switch {
	case root == "peft" && last == "from_pretrained":
		return loader{pos: 1, keywords: []string{"model_id"}}, true
	case last == "from_pretrained":
		return loader{pos: 0, keywords: []string{"pretrained_model_name_or_path"}}, true
	case r == "transformers.pipeline":
		return loader{pos: 1, keywords: []string{"model"}}, true
	case root == "huggingface_hub" && last == "hf_hub_download":
		return loader{pos: 0, keywords: []string{"repo_id"}, typeKw: true, fileKw: true}, true
	case root == "huggingface_hub" && last == "snapshot_download":
		return loader{pos: 0, keywords: []string{"repo_id"}, typeKw: true}, true
	case root == "datasets" && last == "load_dataset":
		return loader{pos: 0, keywords: []string{"path"}, dataset: true}, true
	case root == "sentence_transformers" && (last == "SentenceTransformer" || last == "CrossEncoder" || last == "SparseEncoder"):
		return loader{pos: 0, keywords: []string{"model_name_or_path", "model_name"}}, true
	}
	return loader{}, false
}

// packagedBuilders are load_dataset names that read local files, not a
// Hub repository.
var packagedBuilders = map[string]bool{
	"csv": true, "json": true, "parquet": true, "text": true, "arrow": true, "pandas": true, "sql": true,
	"imagefolder": true, "audiofolder": true, "videofolder": true, "webdataset": true, "generator": true,
	"xml": true, "pdffolder": true, "cache": true, "spark": true,
}

// event is one thing found in one file, merged in file order.
type event struct {
	ref     *codeRef
	svc     *svcUse
	finding *finding.Finding
}

type codeRef struct {
	id, commit, revision, call, file, loc string
	dataset                               bool
}

// addCode analyses every Python file, in parallel, and merges the results
// in path order so the output does not depend on scheduling.
func (b *builder) addCode(ctx context.Context, files []string) error {
	workers := b.opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	results := make([][]event, len(files))
	idx := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				results[i] = b.analyseFile(files[i])
			}
		}()
	}
	var err error
	for i := range files {
		if err = ctx.Err(); err != nil {
			break
		}
		idx <- i
	}
	close(idx)
	wg.Wait()
	if err != nil {
		return err
	}
	for _, evs := range results {
		for _, e := range evs {
			switch {
			case e.finding != nil:
				b.findings = append(b.findings, *e.finding)
			case e.ref != nil:
				b.addRef(e.ref)
			case e.svc != nil:
				b.addService(e.svc)
			}
		}
	}
	return nil
}

func (b *builder) addRef(r *codeRef) {
	if r.dataset {
		d := b.dataset(r.id, r.commit)
		props := append(*d.Properties, prop("aigis:location", r.loc), prop("aigis:call", r.call))
		if r.revision != "" {
			props = append(props, prop("aigis:hub:revision", r.revision))
		}
		d.Properties = &props
		return
	}
	key := modelRef(r.id, r.commit)
	h := b.refs[key]
	if h == nil {
		h = &hubRef{id: r.id, commit: r.commit}
		b.refs[key] = h
	}
	h.locations = append(h.locations, r.loc)
	h.calls = append(h.calls, r.call)
	if r.revision != "" {
		h.revisions = append(h.revisions, r.revision)
	}
	if r.file != "" {
		h.files = append(h.files, r.file)
	}
}

// analyseFile reads one Python file and lists its Hub references, API
// clients and findings.
func (b *builder) analyseFile(rel string) []event {
	abs := filepath.Join(b.root, filepath.FromSlash(rel))
	lim := b.opt.Python
	if lim.MaxBytes == 0 {
		lim.MaxBytes = pysrc.DefaultLimits().MaxBytes
	}
	src, err := readLimited(abs, int64(lim.MaxBytes))
	var evs []event
	fail := func(err error) {
		f := finding.New(RuleIncomplete, RuleIncomplete.Severity, finding.Location{Path: b.findingPath(rel)},
			fmt.Sprintf("python source: %v", err), map[string]string{"file": rel, "error": err.Error()})
		evs = append(evs, event{finding: &f})
	}
	if err != nil {
		fail(err)
		if src == nil {
			return evs
		}
	}
	m, err := pysrc.Analyze(src, lim)
	if err != nil {
		fail(err)
	}
	if m == nil {
		return evs
	}
	fa := fileAnalysis{b: b, rel: rel}
	for _, c := range m.Calls {
		if l, ok := loaderFor(c); ok {
			fa.hubCall(c, l)
		}
		fa.serviceCall(c)
	}
	fa.attachModels(m.Calls)
	return append(evs, fa.events...)
}

func readLimited(p string, max int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return data[:max], &safeio.LimitError{Limit: "MaxBytes", Value: max, Detail: "rest of the Python file not analysed"}
	}
	return data, nil
}

type fileAnalysis struct {
	b      *builder
	rel    string
	events []event
	svcs   []*svcUse
}

func (fa *fileAnalysis) loc(c pysrc.Call) string { return fa.rel + ":" + strconv.Itoa(c.Line) }

func (fa *fileAnalysis) emit(r finding.Rule, c pysrc.Call, msg string, ev map[string]string) {
	ev["file"], ev["line"], ev["call"] = fa.rel, strconv.Itoa(c.Line), c.Resolved
	f := finding.New(r, r.Severity, finding.Location{Path: fa.b.findingPath(fa.rel), Offset: int64(c.Offset)}, msg, ev)
	fa.events = append(fa.events, event{finding: &f})
}

// argument returns the argument at pos or one of the keywords: its
// constant value, the text as written, and whether it is present.
func argument(c pysrc.Call, pos int, keywords ...string) (val, text string, present, constant bool) {
	for _, k := range keywords {
		if t, ok := c.Keywords[k]; ok {
			v, isConst := c.StringKeyword(k)
			return v, t, true, isConst
		}
	}
	if pos >= 0 && pos < len(c.Args) {
		v, isConst := c.StringArg(pos)
		return v, c.Args[pos], true, isConst
	}
	return "", "", false, false
}

func (fa *fileAnalysis) hubCall(c pysrc.Call, l loader) {
	id, text, present, constant := argument(c, l.pos, l.keywords...)
	if !present {
		return
	}
	if !constant {
		fa.emit(RuleUnresolvedReference, c, fmt.Sprintf("%s loads a repository named by %s, which is not known before run time", c.Resolved, text),
			map[string]string{"argument": text})
		return
	}
	if fa.isLocal(id) {
		return
	}
	dataset := l.dataset
	if l.typeKw {
		if t, ok := c.StringKeyword("repo_type"); ok {
			dataset = t == "dataset"
			if t == "space" {
				return
			}
		}
	}
	if dataset && packagedBuilders[id] {
		return
	}
	if hub.ValidRepoID(id) != nil {
		return
	}
	r := &codeRef{id: id, call: c.Resolved, loc: fa.loc(c), dataset: dataset}
	if l.fileKw {
		if f, _, ok, isConst := argument(c, 1, "filename"); ok && isConst {
			r.file = f
		}
	}
	kind := "model"
	if dataset {
		kind = "dataset"
	}
	rev, revText, hasRev, revConst := argument(c, -1, "revision")
	switch {
	case hasRev && !revConst:
		fa.emit(RuleUnresolvedReference, c, fmt.Sprintf("%s loads %s %s at a revision given by %s, which is not known before run time", c.Resolved, kind, id, revText),
			map[string]string{"repo": id, "revision": revText})
	case hasRev && hub.IsCommit(rev):
		r.commit = strings.ToLower(rev)
	default:
		shown := rev
		if !hasRev {
			shown = hub.DefaultRevision + " (no revision given)"
			rev = ""
		}
		r.revision = rev
		if r.revision == "" {
			r.revision = hub.DefaultRevision
		}
		fa.emit(RuleUnpinnedModel, c, fmt.Sprintf("%s loads %s %s at %s, which can change after review", c.Resolved, kind, id, shown),
			map[string]string{"repo": id, "revision": shown, "kind": kind})
	}
	fa.events = append(fa.events, event{ref: r})
}

// isLocal: the id is a path to a folder of the project (next to the file
// or below root), or looks like a path.
func (fa *fileAnalysis) isLocal(id string) bool {
	if isLocalPath(id) {
		return true
	}
	for _, p := range []string{
		filepath.Join(fa.b.root, filepath.FromSlash(id)),
		filepath.Join(fa.b.root, filepath.FromSlash(path.Dir(fa.rel)), filepath.FromSlash(id)),
	} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}
