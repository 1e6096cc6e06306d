package blob

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"
)

// Encrypted objects are laid out as
//
//	header   "aigisenc" | version (1) | file nonce (16 random bytes)
//	segment  AES-256-GCM(64 KiB of plaintext) | 16-byte tag, repeated
//
// The last segment holds the remaining 1..64 KiB (0 only for an empty
// object) and is marked final. Every segment is sealed with a key derived
// from the master key and the file nonce (HKDF-SHA256), so no two objects
// share a key and a 12-byte GCM nonce can simply count segments. The
// additional data of segment i is
//
//	header | i (8 bytes, big endian) | final flag (1 byte) [| plaintext SHA-256 (final only)]
//
// which detects reordered, swapped, dropped or appended segments and a
// truncation at a segment boundary (the new last segment was not sealed as
// final), and binds the object to the digest it is stored under: a valid
// ciphertext moved to another digest's place fails to open.
// The same layout in spirit as age's STREAM (C2SP age spec) and Tink's
// streaming AEAD.
const (
	cryptMagic     = "aigisenc"
	cryptVersion   = 1
	cryptNonceSize = 16
	cryptHeader    = len(cryptMagic) + 1 + cryptNonceSize
	cryptSegment   = 64 << 10 // plaintext bytes per segment
	cryptTag       = 16
	cryptSealed    = cryptSegment + cryptTag
	cryptKeySize   = 32
	cryptInfo      = "aigis blob encryption v1"
)

// ErrDecrypt is returned when stored ciphertext fails authentication: the
// key is not the one the object was written with, or the stored bytes were
// changed, truncated or moved.
var ErrDecrypt = errors.New("blob: decryption failed (wrong key, or the stored object was tampered with or corrupted)")

// Encrypted is a Store that encrypts objects at rest with AES-256-GCM before
// handing them to another store.
//
// Objects keep the name of their plaintext: the SHA-256 of the unencrypted
// bytes, so refs, metadata and ETags are the same with or without
// encryption. The price is that the names reveal which stored objects are
// equal, and anyone who has a candidate file can check whether it is stored;
// encryption hides contents, not identity. Sizes are visible too.
//
// Open returns a reader that decrypts only the 64 KiB segments it reads, so
// Range requests stay cheap; a tampered object yields an error, never wrong
// plaintext. Stat reports the plaintext size.
type Encrypted struct {
	inner Store
	named NamedPutter
	key   []byte
}

var _ Store = (*Encrypted)(nil)

// NewEncrypted wraps inner, which must implement NamedPutter (FS and S3 do),
// with encryption under key, 32 bytes (see LoadKeyFile).
func NewEncrypted(inner Store, key []byte) (*Encrypted, error) {
	if len(key) != cryptKeySize {
		return nil, fmt.Errorf("blob: encryption key is %d bytes; it must be 32 (AES-256)", len(key))
	}
	named, ok := inner.(NamedPutter)
	if !ok {
		return nil, fmt.Errorf("blob: %T cannot hold encrypted objects: it does not implement NamedPutter", inner)
	}
	return &Encrypted{inner: inner, named: named, key: bytes.Clone(key)}, nil
}

// Put implements Store.
func (e *Encrypted) Put(ctx context.Context, r io.Reader) (Ref, error) {
	if err := ctx.Err(); err != nil {
		return Ref{}, fmt.Errorf("blob: put: %w", err)
	}
	enc, err := newEncrypter(e.key, r)
	if err != nil {
		return Ref{}, err
	}
	_, err = e.named.PutNamed(ctx, enc, func() (string, error) {
		if !enc.done {
			return "", errors.New("encryption did not finish")
		}
		return hex.EncodeToString(enc.digest), nil
	})
	if err != nil {
		return Ref{}, err
	}
	return Ref{SHA256: hex.EncodeToString(enc.digest), Size: enc.size}, nil
}

// Open implements Store. It reads and authenticates the object's header and
// last segment before returning.
func (e *Encrypted) Open(ctx context.Context, digest string) (io.ReadSeekCloser, int64, error) {
	if err := checkDigest(digest); err != nil {
		return nil, 0, err
	}
	rc, csize, err := e.inner.Open(ctx, digest)
	if err != nil {
		return nil, 0, err
	}
	d, err := newDecrypter(e.key, rc, csize, digest)
	if err != nil {
		rc.Close()
		return nil, 0, err
	}
	return struct {
		io.ReadSeeker
		io.Closer
	}{d, rc}, d.size, nil
}

// Stat implements Store. It reports the plaintext size, computed from the
// stored size without reading the object.
func (e *Encrypted) Stat(ctx context.Context, digest string) (int64, error) {
	csize, err := e.inner.Stat(ctx, digest)
	if err != nil {
		return 0, err
	}
	size, _, err := plainSize(csize)
	if err != nil {
		return 0, fmt.Errorf("blob: %s: %w", digest, err)
	}
	return size, nil
}

// Delete implements Store.
func (e *Encrypted) Delete(ctx context.Context, digest string) error {
	return e.inner.Delete(ctx, digest)
}

// fileAEAD derives the per-object AES-256-GCM from the master key and the
// object's random nonce.
func fileAEAD(key, nonce []byte) (cipher.AEAD, error) {
	fk, err := hkdf.Key(sha256.New, key, nonce, cryptInfo, cryptKeySize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(fk)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func segNonce(nonce *[12]byte, i uint64) []byte {
	binary.BigEndian.PutUint64(nonce[4:], i)
	return nonce[:]
}

// segAD builds segment i's additional data in ad (reusing its storage).
func segAD(ad []byte, header []byte, i uint64, final bool, digest []byte) []byte {
	ad = append(ad[:0], header...)
	ad = binary.BigEndian.AppendUint64(ad, i)
	if final {
		ad = append(ad, 1)
		ad = append(ad, digest...)
	} else {
		ad = append(ad, 0)
	}
	return ad
}

// plainSize returns the plaintext size and segment count of a ciphertext of
// csize bytes, or an error if no ciphertext has that size.
func plainSize(csize int64) (size, segments int64, err error) {
	body := csize - int64(cryptHeader)
	if body < cryptTag {
		return 0, 0, fmt.Errorf("stored object is %d bytes, too short to be encrypted; it is corrupt or was not written by the encrypting store", csize)
	}
	full, rem := body/cryptSealed, body%cryptSealed
	switch {
	case rem == 0:
		return full * cryptSegment, full, nil
	case rem < cryptTag || (rem == cryptTag && full > 0):
		return 0, 0, fmt.Errorf("stored object is %d bytes, which no encrypted object is; it is truncated or corrupt", csize)
	default:
		return full*cryptSegment + rem - cryptTag, full + 1, nil
	}
}

// encrypter turns a plaintext stream into the ciphertext layout, hashing the
// plaintext on the way. digest is set once the final segment is out.
type encrypter struct {
	src    io.Reader
	aead   cipher.AEAD
	header []byte
	nonce  [12]byte
	ad     []byte
	h      hash.Hash

	pending []byte // plaintext read but not sealed, up to one segment + 1 byte
	out     []byte // ciphertext not yet returned
	sealBuf []byte
	index   uint64
	size    int64
	done    bool
	digest  []byte
}

func newEncrypter(key []byte, src io.Reader) (*encrypter, error) {
	header := make([]byte, cryptHeader)
	copy(header, cryptMagic)
	header[len(cryptMagic)] = cryptVersion
	rand.Read(header[len(cryptMagic)+1:])
	aead, err := fileAEAD(key, header[len(cryptMagic)+1:])
	if err != nil {
		return nil, fmt.Errorf("blob: encrypt: %w", err)
	}
	return &encrypter{
		src:     src,
		aead:    aead,
		header:  header,
		h:       sha256.New(),
		pending: make([]byte, 0, cryptSegment+1),
		out:     header,
		sealBuf: make([]byte, 0, cryptSealed),
	}, nil
}

func (e *encrypter) Read(p []byte) (int, error) {
	for len(e.out) == 0 {
		if e.done {
			return 0, io.EOF
		}
		if err := e.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, e.out)
	e.out = e.out[n:]
	return n, nil
}

// next seals one segment. It reads one byte past a full segment to learn
// whether the segment is the last one.
func (e *encrypter) next() error {
	start := len(e.pending)
	n, err := io.ReadFull(e.src, e.pending[start:cryptSegment+1])
	e.pending = e.pending[:start+n]
	e.h.Write(e.pending[start:])
	e.size += int64(n)
	final := false
	switch err {
	case nil:
	case io.EOF, io.ErrUnexpectedEOF:
		final = true
	default:
		return err
	}
	seg := e.pending
	if !final {
		seg = e.pending[:cryptSegment]
	} else {
		e.digest = e.h.Sum(nil)
		e.done = true
	}
	e.ad = segAD(e.ad, e.header, e.index, final, e.digest)
	e.out = e.aead.Seal(e.sealBuf[:0], segNonce(&e.nonce, e.index), seg, e.ad)
	e.index++
	if !final {
		e.pending = append(e.pending[:0], e.pending[cryptSegment])
	}
	return nil
}

// decrypter reads an encrypted object, decrypting the segments it needs.
type decrypter struct {
	r        io.ReadSeeker
	rpos     int64 // position of r, -1 if unknown
	csize    int64
	size     int64
	segments int64
	digest   []byte
	name     string
	aead     cipher.AEAD
	header   []byte
	nonce    [12]byte
	ad       []byte

	off    int64  // plaintext position
	segIdx int64  // index of the segment in plain, -1 if none
	plain  []byte // decrypted segment segIdx
	ct     []byte
}

// newDecrypter checks the header and authenticates the final segment, which
// binds the object to digest.
func newDecrypter(key []byte, r io.ReadSeeker, csize int64, digest string) (*decrypter, error) {
	want, err := hex.DecodeString(digest)
	if err != nil || len(want) != sha256.Size {
		return nil, fmt.Errorf("%w: %q", ErrBadDigest, digest)
	}
	size, segments, err := plainSize(csize)
	if err != nil {
		return nil, fmt.Errorf("blob: %s: %w", digest, err)
	}
	header := make([]byte, cryptHeader)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, fmt.Errorf("blob: %s: read header: %w", digest, err)
	}
	if string(header[:len(cryptMagic)]) != cryptMagic {
		return nil, fmt.Errorf("blob: %s: not an encrypted object (no %q header); was it stored without encryption?", digest, cryptMagic)
	}
	if v := header[len(cryptMagic)]; v != cryptVersion {
		return nil, fmt.Errorf("blob: %s: encryption format version %d; this aigis reads version %d, upgrade it", digest, v, cryptVersion)
	}
	aead, err := fileAEAD(key, header[len(cryptMagic)+1:])
	if err != nil {
		return nil, fmt.Errorf("blob: %s: %w", digest, err)
	}
	d := &decrypter{
		r: r, rpos: int64(cryptHeader), csize: csize, size: size, segments: segments,
		digest: want, name: digest, aead: aead, header: header, segIdx: -1,
		plain: make([]byte, 0, cryptSegment), ct: make([]byte, cryptSealed),
	}
	if err := d.load(segments - 1); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *decrypter) load(i int64) error {
	start := int64(cryptHeader) + i*cryptSealed
	n := min(int64(cryptSealed), d.csize-start)
	if d.rpos != start {
		if _, err := d.r.Seek(start, io.SeekStart); err != nil {
			d.rpos = -1
			return fmt.Errorf("blob: %s: %w", d.name, err)
		}
		d.rpos = start
	}
	ct := d.ct[:n]
	m, err := io.ReadFull(d.r, ct)
	d.rpos += int64(m)
	if err != nil {
		d.rpos = -1
		return fmt.Errorf("blob: %s: read segment %d: %w", d.name, i, err)
	}
	final := i == d.segments-1
	d.ad = segAD(d.ad, d.header, uint64(i), final, d.digest)
	d.segIdx = -1
	plain, err := d.aead.Open(d.plain[:0], segNonce(&d.nonce, uint64(i)), ct, d.ad)
	if err != nil {
		return fmt.Errorf("%w: object %s, segment %d", ErrDecrypt, d.name, i)
	}
	d.plain, d.segIdx = plain, i
	return nil
}

func (d *decrypter) Read(p []byte) (int, error) {
	if d.off >= d.size {
		return 0, io.EOF
	}
	i := d.off / cryptSegment
	if i != d.segIdx {
		if err := d.load(i); err != nil {
			return 0, err
		}
	}
	n := copy(p, d.plain[d.off-i*cryptSegment:])
	d.off += int64(n)
	return n, nil
}

func (d *decrypter) Seek(offset int64, whence int) (int64, error) {
	offset, err := seekOffset(d.off, d.size, offset, whence)
	if err != nil {
		return 0, err
	}
	d.off = offset
	return offset, nil
}

// maxKeyFile bounds what LoadKeyFile reads: a key is 44 or 64 characters.
const maxKeyFile = 1024

// LoadKeyFile reads a 32-byte encryption key written as 64 hex characters or
// as base64 (surrounding white space is ignored). The file must not be
// readable by group or others.
//
// Create one with:
//
//	(umask 077; head -c 32 /dev/urandom | base64 > blob.key)
func LoadKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("blob: read key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("blob: read key: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("blob: key file %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("blob: key file %s is accessible to group or others (mode %#o); run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("blob: read key %s: %w", path, err)
	}
	key, err := ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("blob: key file %s: %w", path, err)
	}
	return key, nil
}

// ParseKey decodes a 32-byte key written as 64 hex characters or base64
// (standard or URL alphabet, padded or not), ignoring surrounding white
// space.
func ParseKey(text []byte) ([]byte, error) {
	const how = "it must hold 32 random bytes as 64 hex characters or base64; create one with: (umask 077; head -c 32 /dev/urandom | base64 > blob.key)"
	if len(text) > maxKeyFile {
		return nil, fmt.Errorf("key is longer than %d bytes; %s", maxKeyFile, how)
	}
	s := strings.TrimSpace(string(text))
	var key []byte
	if len(s) == 2*cryptKeySize {
		key, _ = hex.DecodeString(s)
	}
	if key == nil {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if k, err := enc.Strict().DecodeString(s); err == nil {
				key = k
				break
			}
		}
	}
	if len(key) != cryptKeySize {
		return nil, fmt.Errorf("not a key: %s", how)
	}
	if bytes.Equal(key, make([]byte, cryptKeySize)) {
		return nil, fmt.Errorf("key is all zero bytes; %s", how)
	}
	return key, nil
}

// CleanupTemp removes the inner store's interrupted uploads older than
// olderThan, when the inner store keeps such remains (FS, S3).
func (e *Encrypted) CleanupTemp(ctx context.Context, olderThan time.Duration) (int, error) {
	c, ok := e.inner.(interface {
		CleanupTemp(context.Context, time.Duration) (int, error)
	})
	if !ok {
		return 0, nil
	}
	return c.CleanupTemp(ctx, olderThan)
}
