package server

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/signing/oms"
)

// Signer signs approved internal revisions with the server's key, in the
// OpenSSF model signing format: `aigis verify DIR --signature model.sig
// --key server.pub` (or model_signing) checks a downloaded copy.
type Signer struct {
	Key *ecdsa.PrivateKey
}

// LoadSigner reads an ECDSA private key (PEM, unencrypted).
func LoadSigner(path string) (*Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	k, err := oms.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w (make one with: openssl ecparam -name prime256v1 -genkey -noout -out key.pem)", path, err)
	}
	return &Signer{Key: k}, nil
}

// signatureStore is implemented by stores that keep a signature per
// revision.
type signatureStore interface {
	PutSignature(ctx context.Context, repoID, commit string, bundle []byte) error
	Signature(ctx context.Context, repoID, commit string) ([]byte, error)
}

// signApproved signs an approved internal revision when a signer is
// configured.
func (s *Server) signApproved(ctx context.Context, typ, repo, commit string) error {
	if s.cfg.Signer == nil {
		return nil
	}
	ss, ok := s.cfg.Store.(signatureStore)
	if !ok {
		return errors.New("this store cannot keep signatures")
	}
	key := repoKey(typ, repo)
	dir, _, cleanup, err := s.materialize(ctx, key, commit)
	if err != nil {
		return err
	}
	defer cleanup()
	signed, err := oms.Sign(ctx, dir, oms.SignOptions{Key: s.cfg.Signer.Key})
	if err != nil {
		return err
	}
	if _, err := s.cfg.Audit.Append(s.entry("system:signer", "artifact.sign", subjectRevision(typ, repo, commit), map[string]string{"method": "key"})); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return ss.PutSignature(ctx, key, commit, signed.Bundle)
}

// signatureOf returns the stored signature bundle, or "".
func (s *Server) signatureOf(ctx context.Context, key, commit string) string {
	ss, ok := s.cfg.Store.(signatureStore)
	if !ok {
		return ""
	}
	b, err := ss.Signature(ctx, key, commit)
	if err != nil {
		return ""
	}
	return string(b)
}

func (s *Server) apiSignature(w http.ResponseWriter, r *http.Request) {
	typ, repo, ok := s.repoFromPath(w, r, auth.ActRead)
	if !ok {
		return
	}
	commit := strings.ToLower(r.PathValue("commit"))
	sig := s.signatureOf(r.Context(), repoKey(typ, repo), commit)
	if sig == "" {
		apiError(w, http.StatusNotFound, "no signature: only approved internal revisions are signed, and only when the server has --sign-key")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="model.sig"`)
	http.ServeContent(w, r, "model.sig", time.Time{}, strings.NewReader(sig))
}
