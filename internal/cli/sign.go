package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/aigis-sec/aigis/signing/manifest"
	"github.com/aigis-sec/aigis/signing/oms"
)

// hashFlags are the manifest options sign and verify share.
type hashFlags struct {
	ignore          []string
	includeGitPaths bool
}

func (h *hashFlags) register(c *cobra.Command) {
	f := c.Flags()
	f.StringArrayVar(&h.ignore, "ignore", nil, "leave this path (relative to the model, or inside it) out; a folder drops its subtree; repeatable")
	f.BoolVar(&h.includeGitPaths, "no-ignore-git-paths", false, "include .git, .gitattributes, .github and .gitignore at the model root")
}

func (h *hashFlags) options() manifest.Options {
	return manifest.Options{Ignore: h.ignore, IncludeGitPaths: h.includeGitPaths}
}

func newSignCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		hf                        hashFlags
		sigPath, keyPath, certPth string
		chain                     []string
		alg, ser                  string
		shardSize                 int64
		allowSymlinks, refShards  bool
	)
	c := &cobra.Command{
		Use:   "sign PATH",
		Short: "Sign a model folder or file in the OpenSSF Model Signing (OMS) format",
		Long: `Sign a model folder or file in the OpenSSF Model Signing v1.0 format: every
file (or shard) is hashed into an in-toto statement, which is signed in a DSSE
envelope inside a Sigstore bundle (model.sig), as sigstore's model_signing
writes it.

Methods: --key PRIVATE.pem alone (ECDSA P-256, P-384 or P-521; the bundle
carries the public-key hint), or --certificate CERT.pem with --key and any
--chain intermediates (the bundle carries the chain).

The signature file is left out of the manifest, and so are .git,
.gitattributes, .github and .gitignore at the model root and every --ignore
path; all are recorded in the signature.

Exit codes: 0 signed; 2 usage error; 3 the model or a key could not be read.`,
		Example: `  aigis sign ./my-model --key signing-key.pem --signature my-model.sig
  aigis sign ./my-model --key key.pem --certificate cert.pem --chain intermediate.pem
  aigis sign ./my-model --key key.pem --serialization shards --shard-size 1000000000`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyPath == "" {
				return usagef("sign: --key PRIVATE.pem is required")
			}
			if certPth == "" && len(chain) > 0 {
				return usagef("sign: --chain needs --certificate")
			}
			keyPEM, err := os.ReadFile(keyPath)
			if err != nil {
				return usagef("sign: --key: %v", err)
			}
			key, err := oms.ParsePrivateKey(keyPEM)
			if err != nil {
				return usagef("sign: --key %s: %v", keyPath, err)
			}
			opt := oms.SignOptions{Key: key, SignaturePath: sigPath, ReferenceShardAlgorithm: refShards}
			opt.Hash = hf.options()
			opt.Hash.Algorithm, opt.Hash.Serialization, opt.Hash.ShardSize, opt.Hash.AllowSymlinks = alg, ser, shardSize, allowSymlinks
			if certPth != "" {
				for _, p := range append([]string{certPth}, chain...) {
					data, err := os.ReadFile(p)
					if err != nil {
						return usagef("sign: %v", err)
					}
					certs, err := oms.ParseCertificates(data)
					if err != nil {
						return usagef("sign: %s: %v", p, err)
					}
					opt.Certificates = append(opt.Certificates, certs...)
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			signed, err := oms.Sign(ctx, args[0], opt)
			if err != nil {
				return err
			}
			if err := os.WriteFile(sigPath, signed.Bundle, 0o644); err != nil {
				return fmt.Errorf("sign: write signature: %w", err)
			}
			root, _ := signed.Manifest.RootDigest()
			method := "key"
			if len(opt.Certificates) > 0 {
				method = "certificate"
			}
			fmt.Fprintf(stdout, "signed %s (%d resources, %s method, sha256:%s) into %s\n",
				args[0], len(signed.Manifest.Resources), method, hex.EncodeToString(root), sigPath)
			return nil
		},
	}
	hf.register(c)
	f := c.Flags()
	f.StringVar(&sigPath, "signature", "model.sig", "where to write the signature")
	f.StringVar(&keyPath, "key", "", "ECDSA private key (PEM, unencrypted)")
	f.StringVar(&certPth, "certificate", "", "signing certificate for --key (PEM): the certificate method")
	f.StringArrayVar(&chain, "chain", nil, "intermediate certificates to include after --certificate (PEM); repeatable")
	f.StringVar(&alg, "hash", manifest.SHA256, "file hash: sha256, blake2b or blake3")
	f.StringVar(&ser, "serialization", manifest.MethodFiles, "files (one digest per file) or shards (one per --shard-size bytes)")
	f.Int64Var(&shardSize, "shard-size", manifest.DefaultShardSize, "bytes per shard with --serialization shards")
	f.BoolVar(&allowSymlinks, "allow-symlinks", false, "hash the targets of symbolic links instead of refusing them")
	f.BoolVar(&refShards, "reference-shard-names", false, `write shard algorithms as "sha256-sharded-N" like the reference (its verifier needs it; the spec's schema rejects it)`)
	_ = stderr // sign reports nothing on stderr: its errors go through Main
	return c
}
