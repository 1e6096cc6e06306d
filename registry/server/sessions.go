package server

import (
	"context"
	"time"

	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/registry/store"
)

// SessionStore adapts a store.Store to auth.SessionStore, so UI sessions
// live in the registry's database and survive restarts and span replicas.
func SessionStore(st store.Store) auth.SessionStore { return sessionStore{st} }

type sessionStore struct{ st store.Store }

func (s sessionStore) PutSession(ctx context.Context, d auth.SessionData) error {
	return s.st.PutSession(ctx, store.Session{IDHash: d.IDHash, Principal: d.Principal, Groups: d.Groups,
		CreatedAt: d.CreatedAt, LastSeen: d.LastSeen, Expires: d.Expires})
}

func (s sessionStore) SessionByHash(ctx context.Context, idHash string) (auth.SessionData, error) {
	x, err := s.st.SessionByHash(ctx, idHash)
	if err != nil {
		return auth.SessionData{}, err
	}
	return auth.SessionData{IDHash: x.IDHash, Principal: x.Principal, Groups: x.Groups, CreatedAt: x.CreatedAt, LastSeen: x.LastSeen, Expires: x.Expires}, nil
}

func (s sessionStore) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	return s.st.TouchSession(ctx, idHash, at)
}

func (s sessionStore) DeleteSession(ctx context.Context, idHash string) error {
	return s.st.DeleteSession(ctx, idHash)
}
