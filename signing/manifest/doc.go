// Package manifest computes the manifest of a model the way the OpenSSF
// Model Signing (OMS) reference implementation does (sigstore
// model_signing, v0.3 to v1.1): which files belong to the model, how each
// file or shard is hashed, how the resources are named and ordered, and the
// root digest that becomes the subject of the signed in-toto statement.
//
// A manifest made here is byte-for-byte the one the reference would sign for
// the same folder and options, so a signature made by either tool verifies
// with the other. The rules, with the reference's quirks kept on purpose:
//
//   - Files: every regular file below the model root, directories never.
//     A single-file model has one resource named "." (the reference's
//     path.relative_to(model_path)); the OMS spec says the basename, the
//     ecosystem's signatures say ".".
//   - Names are root-relative with '/' and sorted by path component, then by
//     numeric shard offsets (Python's PurePosixPath and tuple order), so
//     "a/b" < "a-b/c" and "f:8:16" < "f:16:23".
//   - Shards: "path:start:end" ranges of ShardSize bytes (default
//     1,000,000,000); empty files have no shard. Each shard resource's
//     algorithm is "<hash>-sharded-<size>", as the reference writes it,
//     while serialization.hash_type stays the bare name. BLAKE3 is never
//     sharded: the reference silently falls back to files, and so do we.
//   - Ignores: .git, .gitattributes, .github and .gitignore at the model
//     root (unless IncludeGitPaths), plus Options.Ignore: root-relative
//     paths, a directory drops its subtree, no globs. Paths that leave the
//     root are dropped. All of them are recorded in
//     serialization.ignore_paths (sorted; the reference's order is a set's).
//   - Symbolic links are an error naming the link unless AllowSymlinks; then
//     a link to a file is hashed under the link's name with the target's
//     bytes, and a link to a directory is not entered (the reference's
//     glob("**/*") does not recurse into linked directories).
//   - The root digest is SHA-256 over the concatenated raw resource digests
//     in manifest order, whatever the file hash.
//
// Hashing runs on Options.Workers goroutines over files and, in shards
// mode, over shards, reading with ReadAt into one buffer per worker: memory
// stays flat whatever the model size. A SHA-256 or BLAKE2b digest of a whole
// file is sequential, so in files mode one large file uses one core.
package manifest
