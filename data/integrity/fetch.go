package integrity

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aigis-sec/aigis/finding"
)

// Defaults of FetchOptions.
const (
	DefaultConcurrency = 8
	DefaultTimeout     = 30 * time.Second
	DefaultMaxBytes    = 64 << 20
	DefaultMaxURLs     = 1000
)

// retries is how many times a transient failure (network error, timeout,
// 429, 5xx) is retried; retryDelay is the pause before a retry.
const retries = 1

var retryDelay = 200 * time.Millisecond

// FetchOptions bound the downloads of Fetch. Zero values take the defaults.
type FetchOptions struct {
	Concurrency int           // parallel downloads (default 8)
	Timeout     time.Duration // per request, body included (default 30s)
	MaxBytes    int64         // bytes read from one URL (default 64 MiB); more is a finding
	// Client does the requests. The default client refuses to connect to
	// loopback, private, link-local and other non-public addresses, so a
	// hostile URL list cannot make aigis probe the local network or a cloud
	// metadata service; it uses no proxy. Pass a client to change either.
	Client *http.Client
	// MaxURLs is how many items are verified (default 1000; negative: all).
	// When there are more, an evenly spaced sample is verified and a
	// data-url-sampled finding says so.
	MaxURLs int
}

func (o FetchOptions) withDefaults() FetchOptions {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Client == nil {
		o.Client = publicClient
	}
	if o.MaxURLs == 0 {
		o.MaxURLs = DefaultMaxURLs
	}
	return o
}

// ErrNonPublic is returned by the default client's dialer for an address
// that is not a public unicast address.
var ErrNonPublic = errors.New("refusing to connect to a non-public address")

var publicClient = &http.Client{
	Transport: &http.Transport{
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout: 10 * time.Second,
			Control: func(network, address string, _ syscall.RawConn) error {
				host, _, err := net.SplitHostPort(address)
				if err != nil {
					return err
				}
				ip, err := netip.ParseAddr(host)
				if err != nil {
					return err
				}
				if !isPublic(ip) {
					return fmt.Errorf("%s: %w", ip, ErrNonPublic)
				}
				return nil
			},
		}).DialContext,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	},
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("more than 5 redirects")
		}
		return nil
	},
}

func isPublic(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() &&
		!(ip.Is4() && ip.As4()[0] == 100 && ip.As4()[1]&0xc0 == 64) // 100.64/10, carrier-grade NAT
}

// outcome of verifying one item.
type outcome int

const (
	skipped outcome = iota // not attempted: the context ended
	verified
	mismatched
	unreachable
	tooLarge
)

type result struct {
	outcome outcome
	sev     finding.Severity // of an unreachable item
	reason  string
	actual  string
	size    int64
}

// Fetch downloads the items and checks each against its digest. It reports
// content that differs (data-url-mismatch, one finding per item), items that
// could not be downloaded and items over the size limit (one finding per
// dataset file and severity, with counts and examples). Items not attempted
// because ctx ended are not reported: check ctx.Err().
func Fetch(ctx context.Context, rows []URLItem, opt FetchOptions) []finding.Finding {
	opt = opt.withDefaults()
	var out []finding.Finding
	items := rows
	if opt.MaxURLs > 0 && len(rows) > opt.MaxURLs {
		items = sample(rows, opt.MaxURLs)
		out = append(out, finding.New(RuleURLSampled, RuleURLSampled.Severity, rows[0].Loc,
			fmt.Sprintf("%d of %d hashed URLs were verified (an evenly spaced sample)", len(items), len(rows)),
			map[string]string{"verified": strconv.Itoa(len(items)), "hashed": strconv.Itoa(len(rows))}))
	}
	res := make([]result, len(items))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < opt.Concurrency && w < len(items); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				res[i] = verify(ctx, items[i], opt)
			}
		}()
	}
dispatch:
	for i := range items {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break dispatch
		}
	}
	close(jobs)
	wg.Wait()
	return append(out, summarize(items, res)...)
}

// sample picks n items evenly spaced over rows, first included.
func sample(rows []URLItem, n int) []URLItem {
	out := make([]URLItem, n)
	for i := range out {
		out[i] = rows[int(int64(i)*int64(len(rows))/int64(n))]
	}
	return out
}

func verify(ctx context.Context, it URLItem, opt FetchOptions) result {
	var r result
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(retryDelay):
			case <-ctx.Done():
				return result{outcome: skipped}
			}
		}
		var transient bool
		r, transient = fetchOnce(ctx, it, opt)
		if ctx.Err() != nil {
			return result{outcome: skipped}
		}
		if !transient {
			break
		}
	}
	return r
}

// fetchOnce downloads it once; transient says a retry may help.
func fetchOnce(ctx context.Context, it URLItem, opt FetchOptions) (r result, transient bool) {
	u, err := url.Parse(it.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return result{outcome: unreachable, sev: finding.Low, reason: "not an http(s) URL"}, false
	}
	h := newHash(it.Algo)
	if h == nil {
		return result{outcome: unreachable, sev: finding.Low, reason: "unknown hash algorithm " + it.Algo}, false
	}
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return result{outcome: unreachable, sev: finding.Low, reason: err.Error()}, false
	}
	req.Header.Set("User-Agent", "aigis (dataset integrity check)")
	resp, err := opt.Client.Do(req)
	if err != nil {
		return netFailure(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tr := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		return result{outcome: unreachable, sev: finding.Low, reason: "HTTP " + strconv.Itoa(resp.StatusCode)}, tr
	}
	if resp.ContentLength > opt.MaxBytes {
		return result{outcome: tooLarge, reason: fmt.Sprintf("%d bytes, limit %d", resp.ContentLength, opt.MaxBytes)}, false
	}
	n, err := io.Copy(h, io.LimitReader(resp.Body, opt.MaxBytes+1))
	if n > opt.MaxBytes {
		return result{outcome: tooLarge, reason: fmt.Sprintf("more than the limit of %d bytes", opt.MaxBytes)}, false
	}
	if err != nil {
		return netFailure(err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != it.Digest {
		return result{outcome: mismatched, actual: got, size: n}, false
	}
	return result{outcome: verified, size: n}, false
}

// netFailure classifies a transport error. A name that does not resolve is
// medium: the domain may have expired, and whoever registers it next serves
// the content.
func netFailure(err error) (result, bool) {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return result{outcome: unreachable, sev: finding.Medium, reason: "domain does not resolve: " + dns.Name}, false
	}
	if errors.Is(err, ErrNonPublic) {
		return result{outcome: unreachable, sev: finding.Medium, reason: "points to a non-public address"}, false
	}
	reason := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		reason = "timeout"
	}
	return result{outcome: unreachable, sev: finding.Low, reason: reason}, true
}

func newHash(algo string) hash.Hash {
	switch algo {
	case "sha256":
		return sha256.New()
	case "sha512":
		return sha512.New()
	case "sha1":
		return sha1.New()
	case "md5":
		return md5.New()
	}
	return nil
}

type groupKey struct {
	loc     finding.Location
	outcome outcome
	sev     finding.Severity
}

type group struct {
	n        int
	examples []string
}

func summarize(items []URLItem, res []result) []finding.Finding {
	var out []finding.Finding
	groups := map[groupKey]*group{}
	var keys []groupKey
	for i, r := range res {
		it := items[i]
		switch r.outcome {
		case mismatched:
			out = append(out, finding.New(RuleURLMismatch, RuleURLMismatch.Severity, it.Loc,
				fmt.Sprintf("row %d: the content at %s does not match its published %s: it changed since the dataset was published", it.Row, shorten(it.URL), it.Algo),
				map[string]string{
					"url": it.URL, "row": strconv.FormatInt(it.Row, 10), "algorithm": it.Algo,
					"expected": it.Digest, "actual": r.actual, "bytes": strconv.FormatInt(r.size, 10),
				}))
		case unreachable, tooLarge:
			k := groupKey{it.Loc, r.outcome, r.sev}
			g := groups[k]
			if g == nil {
				g = &group{}
				groups[k] = g
				keys = append(keys, k)
			}
			g.n++
			if len(g.examples) < maxExamples {
				g.examples = append(g.examples, fmt.Sprintf("row %d: %s (%s)", it.Row, shorten(it.URL), r.reason))
			}
		}
	}
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].outcome != keys[j].outcome {
			return keys[i].outcome < keys[j].outcome
		}
		return keys[i].sev > keys[j].sev
	})
	for _, k := range keys {
		g := groups[k]
		ev := map[string]string{"count": strconv.Itoa(g.n), "examples": strings.Join(g.examples, "; ")}
		if k.outcome == tooLarge {
			out = append(out, finding.New(RuleURLTooLarge, RuleURLTooLarge.Severity, k.loc,
				fmt.Sprintf("%d items are larger than the download limit and were not verified", g.n), ev))
			continue
		}
		msg := fmt.Sprintf("%d items could not be downloaded", g.n)
		if k.sev >= finding.Medium {
			msg = fmt.Sprintf("%d items are on domains that no longer resolve or on non-public addresses: an expired domain can be registered by anyone and serve new content", g.n)
		}
		out = append(out, finding.New(RuleURLUnreachable, k.sev, k.loc, msg, ev))
	}
	return out
}
