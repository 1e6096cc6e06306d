package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"math/big"
	"strings"
)

// Token kinds.
const (
	KindPersonal = "pat" // personal access token of a user
	KindService  = "sat" // token of a service account (CI); no UI login
)

// TokenPrefix starts every aigis token. Secret scanners match on it.
const TokenPrefix = "aigis_"

const (
	base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	tokenRandBytes = 32
	// tokenBodyLen is the fixed width of the base62 random part: 62^43 > 2^256.
	tokenBodyLen = 43
	// tokenSumLen is the fixed width of the base62 CRC32: 62^6 > 2^32.
	tokenSumLen = 6
	// TokenLen is the length of every token: "aigis_pat_" + 43 + "_" + 6.
	TokenLen = len(TokenPrefix) + 3 + 1 + tokenBodyLen + 1 + tokenSumLen
	// displayBodyLen is how much of the random part DisplayPrefix keeps.
	displayBodyLen = 4
)

// NewToken returns a new secret of the given kind ([KindPersonal] or
// [KindService]):
//
//	aigis_<kind>_<43 base62 chars: 32 random bytes>_<6 base62 chars: CRC32>
//
// The checksum is the IEEE CRC32 of everything before the last underscore,
// so a scanner can tell a real leak from a look-alike string without asking
// the server. Show the secret once and store only [HashToken] of it.
func NewToken(kind string) (secret string, err error) {
	if !validKind(kind) {
		return "", fmt.Errorf("auth: token kind %q: use %q or %q", kind, KindPersonal, KindService)
	}
	var b [tokenRandBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("auth: read random bytes for a token: %w", err)
	}
	body := base62(new(big.Int).SetBytes(b[:]), tokenBodyLen)
	head := TokenPrefix + kind + "_" + body
	return head + "_" + base62(new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(head)))), tokenSumLen), nil
}

// ParseToken checks the format and checksum of secret without any lookup
// and returns its kind. A false ok means the string cannot be an aigis
// token (typo, truncation, garbage) and needs no database query.
func ParseToken(secret string) (kind string, ok bool) {
	if len(secret) != TokenLen || !strings.HasPrefix(secret, TokenPrefix) {
		return "", false
	}
	rest := secret[len(TokenPrefix):]
	kind, rest = rest[:3], rest[3:]
	if !validKind(kind) || rest[0] != '_' || rest[1+tokenBodyLen] != '_' {
		return "", false
	}
	body := rest[1 : 1+tokenBodyLen]
	sum := rest[2+tokenBodyLen:]
	n, ok := unbase62(body)
	if !ok || n.BitLen() > 8*tokenRandBytes { // only the canonical encoding of 32 bytes
		return "", false
	}
	s, ok := unbase62(sum)
	if !ok || !s.IsUint64() || s.Uint64() != uint64(crc32.ChecksumIEEE([]byte(secret[:len(secret)-tokenSumLen-1]))) {
		return "", false
	}
	return kind, true
}

// HashToken is what the store keeps instead of the secret: the hex SHA-256
// of its bytes. A fast hash is right here: the secret has 256 random bits,
// so there is nothing for a slow hash to protect.
func HashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// DisplayPrefix is the part of a token that may be shown in lists and audit
// records so a user can recognise it ("aigis_pat_AbCd"). It returns "" for a
// string that is not a well-formed token, so garbage never reaches a log.
func DisplayPrefix(secret string) string {
	if _, ok := ParseToken(secret); !ok {
		return ""
	}
	return secret[:len(TokenPrefix)+3+1+displayBodyLen]
}

func validKind(kind string) bool { return kind == KindPersonal || kind == KindService }

// base62 writes n in exactly width digits, most significant first.
func base62(n *big.Int, width int) string {
	out := make([]byte, width)
	base := big.NewInt(62)
	var m big.Int
	n = new(big.Int).Set(n)
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, base, &m)
		out[i] = base62Alphabet[m.Int64()]
	}
	return string(out)
}

func unbase62(s string) (*big.Int, bool) {
	n := new(big.Int)
	base := big.NewInt(62)
	var d big.Int
	for i := 0; i < len(s); i++ {
		v := strings.IndexByte(base62Alphabet, s[i])
		if v < 0 {
			return nil, false
		}
		n.Mul(n, base)
		n.Add(n, d.SetInt64(int64(v)))
	}
	return n, true
}
