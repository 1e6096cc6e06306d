package auth

import (
	"container/list"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LimitConfig configures a [Limiter].
type LimitConfig struct {
	// Name is the policy name in the RateLimit headers ("api", "resolve").
	// huggingface_hub only parses word characters, so it must match \w+.
	Name string
	// Rate is the sustained number of requests per second per key.
	Rate rate.Limit
	// Burst is how many requests a key may make at once (the bucket size).
	Burst int
	// MaxKeys bounds how many keys are tracked; the least recently seen key
	// is dropped beyond it, so a flood of distinct addresses costs bounded
	// memory. A dropped key starts again with a full bucket. Default 100000.
	MaxKeys int
	// Now is the clock; nil means time.Now. Tests inject their own.
	Now func() time.Time
}

// DefaultMaxKeys is the number of keys a [Limiter] tracks when
// LimitConfig.MaxKeys is zero (about 20 MB).
const DefaultMaxKeys = 100_000

var policyName = regexp.MustCompile(`^\w+$`)

// Limiter keeps one token bucket per key. It is safe for concurrent use.
type Limiter struct {
	cfg    LimitConfig
	policy string // RateLimit-Policy value, fixed for the limiter

	mu    sync.Mutex
	lru   *list.List // of *bucket, most recently used at the front
	byKey map[string]*list.Element
}

type bucket struct {
	key string
	lim *rate.Limiter
}

// NewLimiter returns a limiter for cfg, or an error naming the field to fix.
func NewLimiter(cfg LimitConfig) (*Limiter, error) {
	if !policyName.MatchString(cfg.Name) {
		return nil, fmt.Errorf("auth: rate limit name %q: use letters, digits and underscores only (huggingface_hub parses \\w+)", cfg.Name)
	}
	if cfg.Rate <= 0 || cfg.Rate == rate.Inf || math.IsNaN(float64(cfg.Rate)) {
		return nil, fmt.Errorf("auth: rate limit %q: rate %v per second must be positive and finite", cfg.Name, cfg.Rate)
	}
	if cfg.Burst < 1 {
		return nil, fmt.Errorf("auth: rate limit %q: burst %d must be at least 1", cfg.Name, cfg.Burst)
	}
	if cfg.MaxKeys < 0 {
		return nil, fmt.Errorf("auth: rate limit %q: max keys %d must not be negative", cfg.Name, cfg.MaxKeys)
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// The quota a client sees: a full bucket, refilled in Burst/Rate seconds.
	window := int64(math.Ceil(float64(cfg.Burst) / float64(cfg.Rate)))
	return &Limiter{
		cfg:    cfg,
		policy: fmt.Sprintf("%q;q=%d;w=%d", cfg.Name, cfg.Burst, max(window, 1)),
		lru:    list.New(),
		byKey:  make(map[string]*list.Element),
	}, nil
}

// Decision is the outcome of one [Limiter.Allow].
type Decision struct {
	OK         bool          // the request may proceed
	Remaining  int           // whole requests left in the bucket after this one
	RetryAfter time.Duration // when !OK: how long until one request is allowed
	Reset      time.Duration // how long until the bucket is full again
}

// Allow takes one request from key's bucket. An empty key is a key like any
// other: callers that cannot identify a client share one bucket.
func (l *Limiter) Allow(key string) Decision {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.bucketLocked(key)
	res := lim.ReserveN(now, 1)
	d := Decision{OK: true}
	if delay := res.DelayFrom(now); delay > 0 {
		res.CancelAt(now)
		d.OK = false
		d.RetryAfter = delay
	}
	tokens := lim.TokensAt(now)
	d.Remaining = max(int(math.Floor(tokens)), 0)
	missing := float64(l.cfg.Burst) - tokens
	d.Reset = time.Duration(missing / float64(l.cfg.Rate) * float64(time.Second))
	return d
}

// Len is the number of keys currently tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

func (l *Limiter) bucketLocked(key string) *rate.Limiter {
	if e, ok := l.byKey[key]; ok {
		l.lru.MoveToFront(e)
		return e.Value.(*bucket).lim
	}
	if l.lru.Len() >= l.cfg.MaxKeys {
		oldest := l.lru.Back()
		l.lru.Remove(oldest)
		delete(l.byKey, oldest.Value.(*bucket).key)
	}
	b := &bucket{key: key, lim: rate.NewLimiter(l.cfg.Rate, l.cfg.Burst)}
	l.byKey[key] = l.lru.PushFront(b)
	return b.lim
}

// Middleware limits next per key(r). Every response carries
//
//	RateLimit-Policy: "<name>";q=<burst>;w=<seconds to refill>
//	RateLimit: "<name>";r=<remaining>;t=<seconds>
//
// (draft-ietf-httpapi-ratelimit-headers, as huggingface_hub parses them). A
// refused request gets 429 with Retry-After in whole seconds, rounded up, an
// X-Error-Message header (which huggingface_hub shows to the user) and a
// JSON body {"error": "..."}.
func (l *Limiter) Middleware(key func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := l.Allow(key(r))
		h := w.Header()
		h.Set("RateLimit-Policy", l.policy)
		t := d.Reset
		if !d.OK {
			t = d.RetryAfter
		}
		h.Set("RateLimit", fmt.Sprintf("%q;r=%d;t=%d", l.cfg.Name, d.Remaining, ceilSeconds(t)))
		if d.OK {
			next.ServeHTTP(w, r)
			return
		}
		secs := max(ceilSeconds(d.RetryAfter), 1)
		msg := fmt.Sprintf("rate limit %q exceeded: retry in %d s, or lower the request rate", l.cfg.Name, secs)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
		h.Set("X-Error-Message", msg)
		h.Set("Content-Type", "application/json")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusTooManyRequests)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg}) // the client is gone if this fails
	})
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// RemoteAddrKey is a key function for [Limiter.Middleware]: the client's IP
// address as the server saw it (r.RemoteAddr without the port). IPv6
// addresses are cut to their /64 prefix, since one client usually holds a
// whole /64 and could otherwise rotate through it. Behind a reverse proxy,
// use a key function that reads the proxy's trusted header instead.
func RemoteAddrKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		return netip.PrefixFrom(ip.WithZone(""), 64).Masked().String()
	}
	return ip.String()
}
