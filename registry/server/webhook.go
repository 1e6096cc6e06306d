package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Webhook is an endpoint that receives alerts. Each delivery is a JSON POST
//
//	{"id": "...", "event": "artifact.quarantined", "time": "...", "subject": "hf:model/org/name@commit", "details": {...}}
//
// signed in the header
//
//	X-Aigis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// so a receiver can check it came from this registry and is fresh
// (VerifyWebhookSignature). Events: artifact.quarantined,
// artifact.newly-failing (an approved revision fails under new rules or
// policy), upstream.moved, ref.moved, download.denied.
type Webhook struct {
	URL    string
	Secret []byte
	// Events limits deliveries to these events; empty: all.
	Events []string
}

// webhookQueue bounds pending deliveries; beyond it alerts are dropped
// (and logged): the audit log keeps every event regardless.
const webhookQueue = 1024

type delivery struct {
	hook Webhook
	body []byte
	id   string
	evt  string
}

type webhooks struct {
	hooks  []Webhook
	log    *slog.Logger
	queue  chan delivery
	client *http.Client
	wg     sync.WaitGroup
	once   sync.Once
}

func newWebhooks(hooks []Webhook, log *slog.Logger) *webhooks {
	w := &webhooks{hooks: hooks, log: log, queue: make(chan delivery, webhookQueue), client: &http.Client{Timeout: 10 * time.Second}}
	if len(hooks) > 0 {
		w.wg.Add(1)
		go w.run()
	}
	return w
}

func (w *webhooks) send(event, subject string, details map[string]string) {
	if len(w.hooks) == 0 {
		return
	}
	id := newRequestID()
	body, _ := json.Marshal(map[string]any{"id": id, "event": event, "time": time.Now().UTC().Format(time.RFC3339Nano), "subject": subject, "details": details})
	for _, h := range w.hooks {
		if len(h.Events) > 0 && !slices.Contains(h.Events, event) {
			continue
		}
		select {
		case w.queue <- delivery{hook: h, body: body, id: id, evt: event}:
		default:
			w.log.Error("webhook queue full: alert dropped (it is in the audit log)", "event", event, "subject", subject)
		}
	}
}

func (w *webhooks) run() {
	defer w.wg.Done()
	for d := range w.queue {
		w.deliver(d)
	}
}

// deliver posts with up to 4 attempts and exponential backoff.
func (w *webhooks) deliver(d delivery) {
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(1<<attempt) * 250 * time.Millisecond)
		}
		if err = w.post(d); err == nil {
			return
		}
	}
	w.log.Error("webhook delivery failed", "url", d.hook.URL, "event", d.evt, "err", err)
}

func (w *webhooks) post(d delivery) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.hook.URL, bytes.NewReader(d.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "aigis-webhook")
	req.Header.Set("X-Aigis-Event", d.evt)
	req.Header.Set("X-Aigis-Delivery", d.id)
	req.Header.Set("X-Aigis-Signature", SignWebhook(d.hook.Secret, time.Now(), d.body))
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", d.hook.URL, resp.Status)
	}
	return nil
}

func (w *webhooks) close() {
	w.once.Do(func() {
		close(w.queue)
		w.wg.Wait()
	})
}

// SignWebhook returns the X-Aigis-Signature value for body sent at t.
func SignWebhook(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhookSignature checks an X-Aigis-Signature header against body
// and secret, and that it is at most tolerance old (replays).
func VerifyWebhookSignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errors.New("webhook signature: malformed header, want t=<unix>,v1=<hex>")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook signature: timestamp %s is outside the %s tolerance (replayed or clock skew)", time.Unix(sec, 0).UTC(), tolerance)
	}
	want := SignWebhook(secret, time.Unix(sec, 0), body)
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return errors.New("webhook signature: does not match the body and secret")
	}
	return nil
}
