// Package auth decides who may do what in aigis serve: opaque API tokens,
// namespace roles and the permission check, per-client rate limits, OIDC
// login for the web UI, server-side sessions and CSRF protection.
//
// The package holds no global state and does not import the store: the
// server adapts its store to the small interfaces defined here
// ([SessionStore]) and loads a principal's bindings before calling
// [Allowed].
//
// # Tokens
//
// API clients send "Authorization: Bearer aigis_pat_…" (huggingface_hub
// reads it from HF_TOKEN). [NewToken] makes one, [ParseToken] rejects
// garbage without a database lookup, and the store keeps only [HashToken].
//
// # Roles
//
// A [Binding] gives a principal (a user, a service account, an OIDC group or
// everyone through "anonymous") a role on a namespace pattern ("*",
// "acme/*", "acme/bert"). What each role grants on a repository its pattern
// covers (Y), and what it adds on the "*" pattern (*):
//
//	| action           | reader | requester | publisher | reviewer | admin | auditor |
//	|------------------|--------|-----------|-----------|----------|-------|---------|
//	| read             | Y      | Y         | Y         | Y        | Y     |         |
//	| read-quarantined |        |           |           | Y        | Y     |         |
//	| request-ingest   |        | Y         |           |          | Y     |         |
//	| push             |        |           | Y         |          | Y     |         |
//	| approve          |        |           |           | Y (1)    | Y (1) |         |
//	| reject           |        |           |           | Y        | Y     |         |
//	| waive            |        |           |           | Y        | Y     |         |
//	| promote          |        |           |           |          | Y     |         |
//	| manage-policy    |        |           |           |          | Y     |         |
//	| manage-members   |        |           |           |          | Y     |         |
//	| manage-tokens    |        |           |           |          | Y (2) |         |
//	| read-audit       |        |           |           |          | *     | *       |
//	| admin            |        |           |           |          | *     |         |
//
// (1) Never on a revision the approver pushed or requested: [CanApprove].
// (2) Tokens of others, such as the namespace's service accounts; every
// signed-in principal manages its own tokens ([CanManageOwnTokens]).
//
// # Token scopes
//
// A token's scopes cap what its owner's roles allow; a UI session is not
// capped. Every scope includes read.
//
//	| action           | read | write | approve | admin |
//	|------------------|------|-------|---------|-------|
//	| read             | Y    | Y     | Y       | Y     |
//	| read-quarantined |      |       | Y       | Y     |
//	| request-ingest   |      | Y     |         | Y     |
//	| push             |      | Y     |         | Y     |
//	| approve          |      |       | Y       | Y     |
//	| reject           |      |       | Y       | Y     |
//	| waive            |      |       | Y       | Y     |
//	| promote          |      |       |         | Y     |
//	| manage-policy    |      |       |         | Y     |
//	| manage-members   |      |       |         | Y     |
//	| manage-tokens    |      |       |         | Y     |
//	| read-audit       | Y    |       |         | Y     |
//	| admin            |      |       |         | Y     |
//
// # Web login
//
// [OIDC] runs the authorization-code flow with PKCE (S256), state and nonce
// against any OpenID Connect provider; [Sessions] keeps the result in a
// server-side session whose random id lives in an HttpOnly cookie and is
// stored hashed; [CSRF] refuses cross-origin form posts. The oidctest
// package is a fake provider for tests.
//
// # Rate limits
//
// [Limiter] keeps a token bucket per key (token id or client address),
// bounded in number, and answers 429 with Retry-After and the IETF
// RateLimit and RateLimit-Policy headers that huggingface_hub reads.
package auth
