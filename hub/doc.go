// Package hub checks local model files against the Hugging Face Hub's record
// of a repository at a pinned revision.
//
// The Hub gives every file two identities that can be checked without
// trusting the transport: LFS files are named by the sha256 of their content,
// every other file by its git blob id, sha1("blob <len>\x00" + content). A
// [Snapshot] holds those identities for one commit. It comes either from the
// Hub's HTTP API ([Client.Files]) or, with no network, from a local Hugging
// Face cache ([FromCache]), whose blobs/ folder names each file by the same
// hashes. [Compare] then hashes a local folder with flat memory and reports
// every file that is modified, missing or extra.
//
// Revisions should be 40-hex commits: a branch or tag moves, so verifying
// against "main" today and tomorrow can give different answers. [ParseRef]
// reports whether a reference is pinned.
//
// The client never follows redirects on resolve URLs, because the headers that
// carry the commit and the hashes (X-Repo-Commit, X-Linked-Etag) are on the
// first response, not on the CDN's.
package hub
