package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/aigis-sec/aigis/hub"
	"github.com/aigis-sec/aigis/lookalike"
	"github.com/aigis-sec/aigis/signing/oms"
)

func newVerifyCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		hf                         hashFlags
		sigPath, keyPath, rootPath string
		caPaths                    []string
		identity, issuer           string
		ignoreUnsigned             bool
		hfRef, endpoint, cacheDir  string
		offline                    bool
	)
	c := &cobra.Command{
		Use:   "verify PATH",
		Short: "Verify a model against its OpenSSF Model Signing (OMS) signature",
		Long: `Verify a model folder or file against an OpenSSF Model Signing signature
(model.sig, as written by aigis sign or sigstore's model_signing v0.2 to v1.1):
the signature must verify, and every file must be exactly what it signs —
none modified, none missing, none added (unless --ignore-unsigned-files).

Verify with one of:
  --key PUBLIC.pem                 a key-method signature (ECDSA)
  --cert-chain CA.pem              a certificate-method signature, chained to these CAs
  --identity ID --issuer URL       a Sigstore signature, checked offline against
                                   --trusted-root (default: the public-good root aigis embeds)

The signature's recorded ignore_paths, the git paths, the signature file and
every --ignore path are left out of the model.

Exit codes: 0 verified; 1 verification failed (the message names the file or
the check); 2 usage error; 3 the model or the signature could not be read.`,
		Example: `  aigis verify ./my-model --signature model.sig --key signing-key-pub.pem
  aigis verify ./my-model --signature model.sig --cert-chain ca-cert.pem
  aigis verify ./my-model --signature model.sig --identity me@example.com --issuer https://accounts.google.com`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if hfRef != "" {
				if keyPath != "" || len(caPaths) > 0 || identity != "" || issuer != "" || rootPath != "" {
					return usagef("verify: --hf compares with the hub's record; it does not go with --key, --cert-chain or --identity")
				}
				return verifyHub(cmd.Context(), stdout, stderr, args[0], hfRef, endpoint, cacheDir, offline)
			}
			methods := 0
			for _, set := range []bool{keyPath != "", len(caPaths) > 0, identity != "" || issuer != ""} {
				if set {
					methods++
				}
			}
			if methods != 1 {
				return usagef("verify: give exactly one of --key, --cert-chain or --identity with --issuer")
			}
			if (identity == "") != (issuer == "") {
				return usagef("verify: --identity and --issuer go together")
			}
			if rootPath != "" && identity == "" {
				return usagef("verify: --trusted-root is for Sigstore signatures (--identity, --issuer)")
			}
			opt := oms.VerifyOptions{SignaturePath: sigPath, IgnoreUnsignedFiles: ignoreUnsigned, Identity: identity, Issuer: issuer}
			opt.Hash = hf.options()
			switch {
			case keyPath != "":
				data, err := os.ReadFile(keyPath)
				if err != nil {
					return usagef("verify: --key: %v", err)
				}
				if opt.PublicKey, err = oms.ParsePublicKey(data); err != nil {
					return usagef("verify: --key %s: %v", keyPath, err)
				}
			case len(caPaths) > 0:
				for _, p := range caPaths {
					data, err := os.ReadFile(p)
					if err != nil {
						return usagef("verify: --cert-chain: %v", err)
					}
					certs, err := oms.ParseCertificates(data)
					if err != nil {
						return usagef("verify: --cert-chain %s: %v", p, err)
					}
					opt.Roots = append(opt.Roots, certs...)
				}
			case rootPath != "":
				data, err := os.ReadFile(rootPath)
				if err != nil {
					return usagef("verify: --trusted-root: %v", err)
				}
				opt.TrustedRoot = data
			}
			bundle, err := readSignature(sigPath)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			res, err := oms.Verify(ctx, args[0], bundle, opt)
			if errors.Is(err, oms.ErrVerification) {
				fmt.Fprintf(stderr, "aigis: verify %s: %v\n", args[0], err)
				return exitError{ExitFindings}
			}
			if err != nil {
				return fmt.Errorf("verify %s: %w", args[0], err)
			}
			format := "OMS v1.0"
			if res.Statement.Legacy() {
				format = "legacy v0.2"
			}
			fmt.Fprintf(stdout, "verified %s: %d resources match the %s signature %s (%s method, sha256:%s)\n",
				args[0], len(res.Statement.Resources), format, sigPath, res.Method, hex.EncodeToString(res.Statement.RootDigest))
			return nil
		},
	}
	hf.register(c)
	f := c.Flags()
	f.StringVar(&sigPath, "signature", "model.sig", "the signature file")
	f.StringVar(&keyPath, "key", "", "public key (PEM) of a key-method signature")
	f.StringArrayVar(&caPaths, "cert-chain", nil, "trusted CA certificates (PEM) of a certificate-method signature; repeatable")
	f.StringVar(&identity, "identity", "", "Sigstore: the signer's identity (certificate SAN: an email, a workflow URI)")
	f.StringVar(&issuer, "issuer", "", "Sigstore: the OIDC issuer that vouched for --identity")
	f.StringVar(&rootPath, "trusted-root", "", "Sigstore: trusted root JSON (default: the embedded public-good root)")
	f.BoolVar(&ignoreUnsigned, "ignore-unsigned-files", false, "accept files the signature does not list")
	f.StringVar(&hfRef, "hf", "", "compare with the Hugging Face Hub's record of ORG/NAME@REVISION (pin a commit) instead of a signature")
	f.StringVar(&endpoint, "endpoint", "", "with --hf: the hub or mirror URL (default $HF_ENDPOINT or https://huggingface.co); token from $HF_TOKEN")
	f.StringVar(&cacheDir, "cache-dir", "", "with --hf: read the expected hashes from this Hugging Face cache instead of the network")
	f.BoolVar(&offline, "offline", false, "with --hf: use the local Hugging Face cache ($HF_HUB_CACHE, ~/.cache/huggingface/hub), no network")
	return c
}

// verifyHub compares a local model with the hub's record at a revision:
// LFS files by SHA-256, others by git blob SHA-1, from the hub's API or,
// offline, from a Hugging Face cache, which names blobs by those hashes.
func verifyHub(ctx context.Context, stdout, stderr io.Writer, local, ref, endpoint, cacheDir string, offline bool) error {
	repoID, rev, pinned, err := hub.ParseRef(ref)
	if err != nil {
		return usagef("verify: --hf %q: %v", ref, err)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	for _, m := range lookalike.Check(repoID) {
		fmt.Fprintf(stderr, "aigis: warning: %s looks like %s (%s): check the id letter by letter\n", m.Input, m.LooksLike, m.Reason)
	}
	var snap *hub.Snapshot
	if offline || cacheDir != "" {
		if cacheDir == "" {
			cacheDir = hub.DefaultCacheDir()
		}
		snap, err = hub.FromCache(cacheDir, repoID, rev)
	} else {
		c := hub.NewClient()
		if endpoint != "" {
			c.Endpoint = endpoint
		}
		snap, err = c.Files(ctx, repoID, rev)
	}
	if err != nil {
		return fmt.Errorf("verify %s against %s: %w", local, ref, err)
	}
	if !pinned {
		if w := hub.UnpinnedWarning(repoID, rev, snap.Commit); w != "" {
			fmt.Fprintf(stderr, "aigis: warning: %s\n", w)
		}
	}
	mismatches, err := hub.Compare(ctx, local, snap)
	if err != nil {
		return fmt.Errorf("verify %s against %s: %w", local, ref, err)
	}
	if len(mismatches) > 0 {
		for _, m := range mismatches {
			fmt.Fprintf(stderr, "aigis: verify %s: %s\n", local, m)
		}
		return exitError{ExitFindings}
	}
	fmt.Fprintf(stdout, "verified %s: %d files match %s at commit %s (%s)\n", local, len(snap.Files), repoID, snap.Commit, snap.Source)
	return nil
}

// readSignature reads a signature file within the format's size cap.
func readSignature(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("verify: signature: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, oms.MaxBundleSize+1))
	if err != nil {
		return nil, fmt.Errorf("verify: signature: %w", err)
	}
	return data, nil
}
