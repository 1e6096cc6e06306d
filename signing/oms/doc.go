// Package oms signs models and verifies their signatures in the OpenSSF
// Model Signing (OMS) v1.0 format, compatibly with the reference
// implementation (sigstore model_signing v0.2 to v1.1).
//
// A signature file (model.sig) has three layers:
//
//   - a Sigstore bundle v0.3 (JSON) whose verificationMaterial says how it
//     was signed: a public-key hint (key method), an X.509 chain (certificate
//     method) or a Fulcio certificate with a Rekor entry (sigstore method);
//   - a DSSE envelope, signed with ECDSA over the pre-authentication
//     encoding (PAE) of its payload;
//   - an in-toto Statement v1 with predicate
//     https://model_signing/signature/v1.0: the manifest (one resource per
//     file or shard, see package manifest) and its root digest as subject.
//
// Sign writes the key and certificate methods; the statement, resource
// names, order and root digest are the reference's for the same model.
// Shard resources carry the bare hash_type (the spec's schema) unless
// SignOptions.ReferenceShardAlgorithm asks for the reference's
// "sha256-sharded-N".
//
// Verify accepts every form the reference has written: pre-1.1 publicKey
// rawBytes, certificate chains under a v0.3 media type, keyid absent, null
// or empty, the v0.2 "Digests/v0.1" predicate and its "DSSEV1" compat
// encoding, float shard sizes, "sha256-sharded-N" algorithms, and "." or
// the basename for a single-file model. Key and certificate bundles are
// verified with the standard library (sigstore-go refuses these older
// shapes); certificate chains are checked at the leaf's notBefore, as the
// reference does. Sigstore bundles are verified offline by sigstore-go
// against a trusted root (the embedded public-good root by default) with an
// identity and issuer policy. The root digest is always recomputed from
// the resources in payload order, and the local model is hashed with the
// signature's own serialization, its recorded ignore_paths, the caller's
// ignores, the git paths and the signature file left out.
package oms
