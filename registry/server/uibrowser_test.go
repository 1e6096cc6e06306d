package server

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/aigis-sec/aigis/hub/hubtest"
	"github.com/aigis-sec/aigis/registry/store"
)

// chromiumPath finds a Chromium binary, or skips the test (fails it when
// AIGIS_REQUIRE_BROWSER=1, as in CI).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (/usr/bin/chromium, chromium, chromium-browser, google-chrome): install it with apt-get install chromium to run the browser test"
	if os.Getenv("AIGIS_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + " (AIGIS_REQUIRE_BROWSER=1)")
	}
	t.Skip(msg)
	return ""
}

// Badge colours from static/aigis.css.
var (
	quarantinedRed = [3]uint8{0xb3, 0x26, 0x1e}
	approvedGreen  = [3]uint8{0x1b, 0x7f, 0x3b}
)

// TestUIBrowser signs in through the fake OIDC provider in headless
// Chromium, looks at the artifact list and a quarantined artifact, takes
// screenshots and checks them, and approves the artifact through the htmx
// form.
func TestUIBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	if testing.Short() {
		t.Skip("the browser test starts Chromium; skipped with -short")
	}
	e, _ := oidcEnv(t)
	bad := hubtest.CommitID("evil/bert")

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	defer cancelBrowser()

	// Collect what the console reports: a CSP violation or a script error
	// means a page broke in a way the DOM checks below might not notice.
	var (
		mu       sync.Mutex
		problems []string
	)
	if err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *cdplog.EventEntryAdded:
			if strings.Contains(ev.Entry.Text, "Content Security Policy") {
				problems = append(problems, ev.Entry.Text)
			}
		case *cdpruntime.EventExceptionThrown:
			problems = append(problems, "script error: "+ev.ExceptionDetails.Text)
		}
	}); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("browser console: %s", p)
		}
	}()

	// Sign in: /ui/login → provider → /ui/callback → /ui/.
	if err := chromedp.Do(bctx, chromedp.Navigate(e.http.URL+"/ui/login"), chromedp.WaitVisible(chromedp.CSS("section.repo"))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	loc := run(t, bctx, chromedp.Location())
	if loc != e.http.URL+"/ui/" {
		t.Fatalf("after sign-in the browser is at %s, want %s/ui/", loc, e.http.URL)
	}
	list := run(t, bctx, chromedp.Text(chromedp.CSS("body")))
	for _, want := range []string{"user:alice@example.com", "acme/bert", "evil/bert", "approved", "quarantined", "Sign out"} {
		if !strings.Contains(list, want) {
			t.Errorf("artifact list lacks %q:\n%s", want, list)
		}
	}
	// The CSP let the page's own script and style in.
	if !run(t, bctx, chromedp.Evaluate[bool](`typeof htmx === "object"`)) {
		t.Error("htmx did not load: check the CSP and /ui/static/htmx.min.js")
	}
	if bg := run(t, bctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".st-quarantined")).backgroundColor`)); bg != "rgb(179, 38, 30)" {
		t.Errorf("quarantined badge background %q, want rgb(179, 38, 30): is aigis.css served?", bg)
	}
	listShot := run(t, bctx, chromedp.FullScreenshot(100))
	saveScreenshot(t, "artifacts.png", listShot)
	checkScreenshot(t, "artifact list", listShot, quarantinedRed, approvedGreen)

	// Open the quarantined artifact from the list and see its finding.
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`a[href="/ui/repos/models/evil/bert/revisions/`+bad+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.findings"))); err != nil {
		t.Fatalf("open the quarantined artifact: %v", err)
	}
	findings := run(t, bctx, chromedp.Text(chromedp.CSS("table.findings")))
	if !strings.Contains(findings, "pytorch_model.bin") || !strings.Contains(findings, "critical") {
		t.Errorf("findings table:\n%s", findings)
	}
	pageShot := run(t, bctx, chromedp.FullScreenshot(100))
	saveScreenshot(t, "artifact.png", pageShot)
	checkScreenshot(t, "artifact page", pageShot, quarantinedRed)

	// Approve with a reason through the htmx form: the answer replaces
	// <main> in place.
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.CSS(`form.decide textarea[name="reason"]`), "pickle reviewed by hand: false positive"),
		chromedp.Click(chromedp.CSS("button.approve")),
		chromedp.WaitVisible(chromedp.CSS("p.notice"))); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if notice := run(t, bctx, chromedp.Text(chromedp.CSS("p.notice"))); notice != "Approved: the revision is approved." {
		t.Errorf("notice after approval: %q", notice)
	}
	// htmx posted the form and swapped <main>: the browser did not
	// navigate to the form's action.
	if loc := run(t, bctx, chromedp.Location()); loc != e.http.URL+"/ui/repos/models/evil/bert/revisions/"+bad {
		t.Errorf("after approving, the browser is at %s: the form was not submitted by htmx", loc)
	}
	if status := run(t, bctx, chromedp.Text(chromedp.CSS("#status"))); status != "approved" {
		t.Errorf("status badge after approval: %q", status)
	}
	rv, err := e.store.GetRevision(context.Background(), "models/evil/bert", bad)
	if err != nil || rv.Status != store.Approved || rv.Reason != "waived by user:alice@example.com: pickle reviewed by hand: false positive" {
		t.Errorf("stored after the browser's approval: %+v %v", rv, err)
	}
}

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func saveScreenshot(t *testing.T, name string, b []byte) {
	t.Helper()
	dirs := []string{t.TempDir()}
	if d := os.Getenv("AIGIS_SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkScreenshot decodes a PNG and checks that a page was drawn: a
// window-sized image with many colours, among them each of want (within a
// small tolerance, for colour management).
func checkScreenshot(t *testing.T, what string, b []byte, want ...[3]uint8) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: screenshot is not a PNG: %v", what, err)
	}
	bounds := img.Bounds()
	if bounds.Dx() < 1000 || bounds.Dy() < 500 || bounds.Dx() > 4000 || bounds.Dy() > 40000 {
		t.Errorf("%s: screenshot is %dx%d, want about 1280 wide and at least 500 high", what, bounds.Dx(), bounds.Dy())
	}
	colours := map[[3]uint8]int{}
	found := make([]int, len(want))
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			c := [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)}
			colours[c]++
			for i, w := range want {
				if near(c, w) {
					found[i]++
				}
			}
		}
	}
	if len(colours) < 16 {
		t.Errorf("%s: screenshot has %d distinct colours: the page did not render", what, len(colours))
	}
	// A badge is about 80x18 pixels; its background fills most of them.
	for i, w := range want {
		if found[i] < 200 {
			t.Errorf("%s: %d pixels of colour #%02x%02x%02x, want a badge's worth (200+)", what, found[i], w[0], w[1], w[2])
		}
	}
}

func near(a, b [3]uint8) bool {
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < -3 || d > 3 {
			return false
		}
	}
	return true
}
