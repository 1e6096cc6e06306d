// Package auth decides who may do what in aigis serve: opaque API tokens,
// namespace roles and the permission check, per-client rate limits, OIDC
// login for the web UI, server-side sessions and CSRF protection.
//
// The package holds no global state and does not import the store: the
// server adapts its store to the small interfaces defined here
// ([SessionStore]) and loads a principal's bindings before calling
// [Allowed].
package auth
