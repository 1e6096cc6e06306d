package cli

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/aigis-sec/aigis/registry/audit"
	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/registry/blob"
	"github.com/aigis-sec/aigis/registry/policy"
	"github.com/aigis-sec/aigis/registry/server"
	"github.com/aigis-sec/aigis/registry/store"
)

type serveFlags struct {
	addr, data, upstream, upstreamTokenFile, policyFile       string
	db, s3Endpoint, s3Bucket, s3Prefix, s3Region, blobKeyFile string
	s3PathStyle                                               bool
	auditKey, role, anonymous, signKey, publicURL, auditIn    string
	tlsCert, tlsKey                                           string
	workers, approvals, rateBurst                             int
	rateLimit                                                 float64
	wait, checkpointEvery, upstreamEvery                      time.Duration
	webhooks                                                  []string
	webhookSecretFile                                         string
	oidcIssuer, oidcClientID, oidcSecretFile                  string
	offline                                                   bool
}

func newServeCmd(stdout, stderr io.Writer) *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the registry gate: a Hugging Face-compatible server that serves only scanned, approved revisions",
		Long: `Run the registry gate. Point Hugging Face clients at it with
HF_ENDPOINT=http://HOST:PORT and an aigis token in HF_TOKEN.

The first request for org/name@revision pins it to a commit upstream, fetches
and scans every file, applies the policy, and answers 503 with Retry-After
meanwhile (huggingface_hub retries). Approved revisions are served from local
storage, never again from upstream; quarantined ones answer 403 with the
reason. Internal artifacts are pushed with "aigis push" and approved by
reviewers. Every download and decision goes into a signed Merkle audit log:
check it with "aigis audit verify --data DIR".

Storage is embedded by default (SQLite and files under --data). For several
server and worker processes, use --db postgres://… and --s3-endpoint/--s3-bucket.

On first start an admin token is printed once; keep it.

Exit codes: 0 stopped cleanly; 2 usage error; 3 could not start.`,
		Example: `  aigis serve --data ./aigis-data
  HF_ENDPOINT=http://127.0.0.1:8080 HF_TOKEN=aigis_pat_… huggingface-cli download org/model
  aigis serve --db postgres://aigis@db/aigis --s3-endpoint http://minio:9000 --s3-bucket models --role worker`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), f, stdout, stderr)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address")
	fl.StringVar(&f.data, "data", "aigis-data", "data folder: database, blobs, audit log, keys, checkpoints")
	fl.StringVar(&f.upstream, "upstream", "https://huggingface.co", "hub to pull through from (any Hugging Face-compatible endpoint)")
	fl.BoolVar(&f.offline, "offline", false, "no pull-through: serve only what is stored or pushed")
	fl.StringVar(&f.upstreamTokenFile, "upstream-token-file", "", "file with the token for the upstream hub (default: $AIGIS_UPSTREAM_TOKEN)")
	fl.StringVar(&f.policyFile, "policy", "", "policy file (docs/policy.md); default: the built-in policy")
	fl.StringVar(&f.db, "db", "", "PostgreSQL URL (postgres://…); default: SQLite in --data")
	fl.StringVar(&f.s3Endpoint, "s3-endpoint", "", "S3-compatible endpoint URL for blobs (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
	fl.StringVar(&f.s3Bucket, "s3-bucket", "", "S3 bucket for blobs (enables S3 storage)")
	fl.StringVar(&f.s3Prefix, "s3-prefix", "aigis/", "key prefix in the S3 bucket")
	fl.StringVar(&f.s3Region, "s3-region", "us-east-1", "S3 region")
	fl.BoolVar(&f.s3PathStyle, "s3-path-style", true, "path-style S3 URLs (self-hosted servers)")
	fl.StringVar(&f.blobKeyFile, "blob-key", "", "32-byte key file (hex or base64, mode 0600): encrypt blobs at rest with AES-256-GCM")
	fl.StringVar(&f.auditKey, "audit-key", "", "audit checkpoint signing key (sumdb note key); default DATA/keys/audit.key, created on first start — keep it outside DATA in production")
	fl.StringVar(&f.auditIn, "audit-in", "", "where the audit log lives: files (DATA/audit, one process) or database (shared by every process on --db); default database with --db, else files")
	fl.StringVar(&f.role, "role", "all", "all (server and workers), server (HTTP only) or worker (scan jobs only)")
	fl.IntVar(&f.workers, "workers", 2, "scan workers in this process")
	fl.StringVar(&f.anonymous, "anonymous", "read", "what clients without a token may do: none, read (download approved revisions) or request (also trigger pull-through)")
	fl.DurationVar(&f.wait, "wait", 20*time.Second, "how long a request for a revision being scanned waits for the decision before 503 Retry-After")
	fl.Float64Var(&f.rateLimit, "rate-limit", 50, "requests per second per token (anonymous: per address); 0 turns limits off")
	fl.IntVar(&f.rateBurst, "rate-burst", 500, "requests a client may send at once before --rate-limit applies")
	fl.IntVar(&f.approvals, "approvals", 1, "reviewer approvals an internal revision needs (2: four-eyes)")
	fl.StringArrayVar(&f.webhooks, "webhook", nil, "URL that receives signed alerts (quarantines, upstream moves, denied downloads); repeatable")
	fl.StringVar(&f.webhookSecretFile, "webhook-secret-file", "", "file with the HMAC secret for --webhook signatures")
	fl.StringVar(&f.signKey, "sign-key", "", "ECDSA private key (PEM): sign approved internal revisions (OMS format)")
	fl.StringVar(&f.publicURL, "public-url", "", "URL clients use to reach this server (Link headers, messages, OIDC redirect)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate (PEM); with --tls-key serves HTTPS")
	fl.StringVar(&f.tlsKey, "tls-key", "", "TLS private key (PEM)")
	fl.DurationVar(&f.checkpointEvery, "checkpoint-interval", time.Minute, "how often a signed audit checkpoint is published to DATA/checkpoints")
	fl.DurationVar(&f.upstreamEvery, "upstream-interval", 10*time.Minute, "how often pinned upstream branches are checked for moves (0: never)")
	fl.StringVar(&f.oidcIssuer, "oidc-issuer", "", "OIDC issuer URL for UI login")
	fl.StringVar(&f.oidcClientID, "oidc-client-id", "", "OIDC client id")
	fl.StringVar(&f.oidcSecretFile, "oidc-client-secret-file", "", "file with the OIDC client secret")
	return c
}

// auditLog is the audit log of aigis serve: a directory (*audit.Log) or
// the database (*audit.Shared).
type auditLog interface {
	server.Auditor
	server.LogReader
}

// registry is everything aigis serve opened.
type registry struct {
	store    store.Store
	blobs    blob.Store
	log      auditLog
	verifier note.Verifier
	// urlKey signs upload URLs; derived from the audit key, so every
	// process sharing that key accepts the others' URLs.
	urlKey  []byte
	closers []func()
}

func (r *registry) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

// openRegistry opens the store, blobs and audit log named by the flags.
func openRegistry(ctx context.Context, f serveFlags, stderr io.Writer) (*registry, error) {
	reg := &registry{}
	if f.auditIn == "" {
		f.auditIn = "files"
		if f.db != "" {
			f.auditIn = "database"
		}
	}
	if err := os.MkdirAll(f.data, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	var err error
	if f.db != "" {
		var pg *store.Postgres
		pg, err = store.OpenPostgres(ctx, f.db)
		if err == nil {
			reg.store = pg
		}
	} else {
		var sq *store.SQLite
		sq, err = store.OpenSQLite(filepath.Join(f.data, "aigis.db"))
		if err == nil {
			reg.store = sq
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	reg.closers = append(reg.closers, func() { reg.store.Close() })

	if f.s3Bucket != "" {
		s3, err := blob.NewS3(ctx, blob.S3Config{Endpoint: f.s3Endpoint, Bucket: f.s3Bucket, Prefix: f.s3Prefix, Region: f.s3Region, PathStyle: f.s3PathStyle})
		if err != nil {
			reg.close()
			return nil, err
		}
		reg.blobs = s3
	} else {
		fs, err := blob.NewFS(filepath.Join(f.data, "blobs"))
		if err != nil {
			reg.close()
			return nil, err
		}
		reg.blobs = fs
	}
	if f.blobKeyFile != "" {
		key, err := blob.LoadKeyFile(f.blobKeyFile)
		if err != nil {
			reg.close()
			return nil, err
		}
		enc, err := blob.NewEncrypted(reg.blobs, key)
		if err != nil {
			reg.close()
			return nil, err
		}
		reg.blobs = enc
	}

	signer, verifier, skey, err := auditKeys(f, stderr)
	if err != nil {
		reg.close()
		return nil, err
	}
	reg.verifier = verifier
	k := sha256.Sum256([]byte("aigis upload URLs\x00" + skey))
	reg.urlKey = k[:]
	switch f.auditIn {
	case "database":
		b, ok := reg.store.(audit.Backend)
		if !ok {
			reg.close()
			return nil, usagef("--audit-in database: this store cannot keep the audit log")
		}
		reg.log = audit.NewShared(b, signer)
	case "files":
		lg, err := audit.Open(filepath.Join(f.data, "audit"), signer)
		if err != nil {
			reg.close()
			return nil, fmt.Errorf("open audit log: %w (one writer per folder: several processes share a log with --db and --audit-in database)", err)
		}
		for _, p := range lg.Recovered() {
			fmt.Fprintf(stderr, "aigis serve: audit log recovered from a crash: %s\n", p)
		}
		reg.log = lg
		reg.closers = append(reg.closers, func() { lg.Close() })
	default:
		reg.close()
		return nil, usagef("--audit-in %q: use files or database", f.auditIn)
	}
	return reg, nil
}

// auditKeys loads the checkpoint signing key, creating one (and its public
// half next to it) on first start.
func auditKeys(f serveFlags, stderr io.Writer) (note.Signer, note.Verifier, string, error) {
	path := f.auditKey
	if path == "" {
		path = filepath.Join(f.data, "keys", "audit.key")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && f.auditKey == "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, nil, "", err
		}
		host, _ := os.Hostname()
		skey, vkey, err := audit.GenerateKey("aigis-audit/" + host)
		if err != nil {
			return nil, nil, "", err
		}
		if err := os.WriteFile(path, []byte(skey+"\n"), 0o600); err != nil {
			return nil, nil, "", err
		}
		if err := os.WriteFile(strings.TrimSuffix(path, ".key")+".pub", []byte(vkey+"\n"), 0o644); err != nil {
			return nil, nil, "", err
		}
		fmt.Fprintf(stderr, "aigis serve: created the audit signing key %s (public key %s.pub); in production keep it outside the data folder and pass --audit-key\n", path, strings.TrimSuffix(path, ".key"))
		b = []byte(skey)
	} else if err != nil {
		return nil, nil, "", fmt.Errorf("audit key: %w", err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, nil, "", fmt.Errorf("audit key %s: %v (it must be a sumdb note signer key, as aigis serve creates)", path, err)
	}
	pubPath := strings.TrimSuffix(path, ".key") + ".pub"
	vb, err := os.ReadFile(pubPath)
	if err != nil {
		return nil, nil, "", fmt.Errorf("audit public key %s: %w", pubPath, err)
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vb)))
	if err != nil {
		return nil, nil, "", fmt.Errorf("audit public key %s: %w", pubPath, err)
	}
	return signer, verifier, strings.TrimSpace(string(b)), nil
}

func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func runServe(ctx context.Context, f serveFlags, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	switch f.role {
	case "all", "server", "worker":
	default:
		return usagef("--role %q: use all, server or worker", f.role)
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	reg, err := openRegistry(ctx, f, stderr)
	if err != nil {
		return err
	}
	defer reg.close()

	cfg := server.Config{Store: reg.store, Blobs: reg.blobs, Audit: reg.log, Upstream: f.upstream, WorkDir: filepath.Join(f.data, "work"),
		Anonymous: f.anonymous, Approvals: f.approvals, RateLimit: f.rateLimit, RateBurst: f.rateBurst, Wait: f.wait, BaseURL: f.publicURL, URLKey: reg.urlKey, Logger: logger, Version: version()}
	if f.offline {
		cfg.Upstream = ""
	}
	if f.upstreamTokenFile != "" {
		if cfg.UpstreamToken, err = readSecretFile(f.upstreamTokenFile); err != nil {
			return usagef("--upstream-token-file: %v", err)
		}
	} else {
		cfg.UpstreamToken = os.Getenv("AIGIS_UPSTREAM_TOKEN")
	}
	if f.policyFile != "" {
		if cfg.Policy, err = policy.Load(f.policyFile); err != nil {
			return usageError{err}
		}
	}
	if f.signKey != "" {
		if cfg.Signer, err = server.LoadSigner(f.signKey); err != nil {
			return usageError{err}
		}
	}
	if len(f.webhooks) > 0 {
		if f.webhookSecretFile == "" {
			return usagef("--webhook needs --webhook-secret-file: receivers check the signature")
		}
		secret, err := readSecretFile(f.webhookSecretFile)
		if err != nil {
			return usagef("--webhook-secret-file: %v", err)
		}
		for _, u := range f.webhooks {
			cfg.Webhooks = append(cfg.Webhooks, server.Webhook{URL: u, Secret: []byte(secret)})
		}
	}
	secure := f.tlsCert != "" || strings.HasPrefix(f.publicURL, "https://")
	cfg.Sessions = &auth.Sessions{Store: server.SessionStore(reg.store), Secure: secure}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	if f.oidcIssuer != "" {
		if err := enableOIDC(ctx, srv, f); err != nil {
			return err
		}
	}
	if err := bootstrapAdmin(ctx, srv, reg.store, stderr); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "aigis serve: policy %s, rules %s\n", srv.Policy().Version(), srv.RulesetVersion())

	done := make(chan struct{})
	background := 0
	if f.role != "server" && f.workers > 0 {
		background++
		host, _ := os.Hostname()
		go func() {
			srv.RunWorkers(ctx, f.workers, fmt.Sprintf("%s-%d", host, os.Getpid()))
			done <- struct{}{}
		}()
	}
	if f.role != "worker" {
		background++
		go func() {
			srv.RunMonitor(ctx, server.MonitorOptions{UpstreamEvery: f.upstreamEvery})
			done <- struct{}{}
		}()
		background++
		go func() {
			publishCheckpoints(ctx, reg.log, filepath.Join(f.data, "checkpoints"), f.checkpointEvery, logger)
			done <- struct{}{}
		}()
	}
	if f.policyFile != "" {
		// SIGHUP reloads the policy file; every stored revision is
		// re-judged under it.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
				}
				p, err := policy.Load(f.policyFile)
				if err != nil {
					logger.Error("policy reload refused; the previous policy stays in force", "err", err)
					continue
				}
				n, err := srv.SetPolicy(ctx, p, "system:sighup")
				if err != nil {
					logger.Error("policy reload", "err", err)
					continue
				}
				logger.Info("policy reloaded", "version", p.Version(), "rejudging", n)
			}
		}()
	}
	var serveErr error
	if f.role != "worker" {
		serveErr = listenAndServe(ctx, f, srv.Handler(), stderr)
	} else {
		fmt.Fprintf(stderr, "aigis serve: worker with %d scan workers\n", f.workers)
		<-ctx.Done()
	}
	stop()
	for i := 0; i < background; i++ {
		<-done
	}
	publishCheckpoint(reg.log, filepath.Join(f.data, "checkpoints"), logger)
	return serveErr
}

func listenAndServe(ctx context.Context, f serveFlags, h http.Handler, stderr io.Writer) error {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (pick another --addr)", f.addr, err)
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second, // slow clients cannot hold connections open
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	fmt.Fprintf(stderr, "aigis serve: listening on %s://%s — set HF_ENDPOINT=%s://%s\n", scheme, ln.Addr(), scheme, ln.Addr())
	errc := make(chan error, 1)
	go func() {
		if f.tlsCert != "" {
			errc <- hs.ServeTLS(ln, f.tlsCert, f.tlsKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

// bootstrapAdmin creates the first admin and prints its token once, when
// the registry has no tokens yet.
func bootstrapAdmin(ctx context.Context, srv *server.Server, st store.Store, stderr io.Writer) error {
	ts, err := st.ListTokens(ctx, "")
	if err != nil {
		return err
	}
	if len(ts) > 0 {
		return nil
	}
	if err := srv.AddBinding(ctx, "system:bootstrap", store.RoleBinding{Principal: "user:admin", Namespace: "*", Role: auth.RoleAdmin}); err != nil {
		return err
	}
	secret, _, err := srv.CreateToken(ctx, "system:bootstrap", server.TokenRequest{Owner: "user:admin", Name: "bootstrap admin", Scopes: []string{"admin"}, ExpiresIn: "2160h"})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "aigis serve: first start — admin token (shown once, valid 90 days):\n\n    %s\n\n", secret)
	return nil
}

// publishCheckpoints writes a signed checkpoint whenever the log grew:
// DIR/<size>.note files are the log's commitments outside the log.
func publishCheckpoints(ctx context.Context, lg auditLog, dir string, every time.Duration, logger *slog.Logger) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		publishCheckpoint(lg, dir, logger)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func publishCheckpoint(lg auditLog, dir string, logger *slog.Logger) {
	n := lg.Size()
	if n == 0 {
		return
	}
	path := filepath.Join(dir, fmt.Sprintf("%012d.note", n))
	if _, err := os.Stat(path); err == nil {
		return
	}
	cp, err := lg.Checkpoint()
	if err == nil {
		err = os.MkdirAll(dir, 0o700)
	}
	if err == nil {
		err = os.WriteFile(path, cp, 0o444)
	}
	if err != nil {
		logger.Error("publish audit checkpoint", "err", err)
		return
	}
	logger.Info("audit checkpoint", "size", n, "file", path)
}

// enableOIDC turns on UI login with an OIDC provider.
func enableOIDC(ctx context.Context, srv *server.Server, f serveFlags) error {
	if f.oidcClientID == "" || f.publicURL == "" {
		return usagef("--oidc-issuer needs --oidc-client-id and --public-url (the redirect URL is PUBLIC-URL/ui/callback)")
	}
	secret := ""
	if f.oidcSecretFile != "" {
		var err error
		if secret, err = readSecretFile(f.oidcSecretFile); err != nil {
			return usagef("--oidc-client-secret-file: %v", err)
		}
	}
	o, err := auth.NewOIDC(ctx, auth.OIDCConfig{Issuer: f.oidcIssuer, ClientID: f.oidcClientID, ClientSecret: secret,
		RedirectURL: strings.TrimRight(f.publicURL, "/") + "/ui/callback", CookieSecure: strings.HasPrefix(f.publicURL, "https://")})
	if err != nil {
		return fmt.Errorf("OIDC provider %s: %w", f.oidcIssuer, err)
	}
	if e, ok := any(srv).(interface{ EnableOIDC(*auth.OIDC) error }); ok {
		return e.EnableOIDC(o)
	}
	return errors.New("this build of aigis serve has no UI login")
}
