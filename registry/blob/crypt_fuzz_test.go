package blob

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"testing"
)

var fuzzKey = bytes.Repeat([]byte{7}, 32)

func encryptForFuzz(t testing.TB, plain []byte) []byte {
	e, err := newEncrypter(fuzzKey, bytes.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := io.ReadAll(e)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// FuzzDecrypt feeds stored bytes to the header parser and the decrypting
// reader. Whatever the bytes, it must not panic, and a read that succeeds
// must return the plaintext whose digest names the object: a forgery would
// have to get through AES-GCM.
func FuzzDecrypt(f *testing.F) {
	for _, n := range []int{0, 1, 100, cryptSegment - 1, cryptSegment, cryptSegment + 1, 2*cryptSegment + 7} {
		plain := bytes.Repeat([]byte{byte(n)}, n)
		sum := sha256.Sum256(plain)
		ct := encryptForFuzz(f, plain)
		f.Add(ct, sum[:], uint32(n/2))
		if len(ct) > 40 {
			f.Add(ct[:40], sum[:], uint32(0))
		}
	}
	f.Add([]byte("aigisenc\x01"), make([]byte, 32), uint32(0))
	f.Add([]byte("aigisenc\x02"+string(make([]byte, 40))), make([]byte, 32), uint32(3))
	f.Fuzz(func(t *testing.T, ct, digest []byte, off uint32) {
		if len(digest) != sha256.Size {
			return
		}
		name := hex.EncodeToString(digest)
		d, err := newDecrypter(fuzzKey, bytes.NewReader(ct), int64(len(ct)), name)
		if err != nil {
			return
		}
		if d.size < 0 || d.size > int64(len(ct)) {
			t.Fatalf("plaintext size %d for %d stored bytes", d.size, len(ct))
		}
		// A read from an arbitrary offset first, then the whole object.
		d.Seek(int64(off), io.SeekStart)
		io.Copy(io.Discard, d)
		d.Seek(0, io.SeekStart)
		plain, err := io.ReadAll(d)
		if err != nil {
			return
		}
		if int64(len(plain)) != d.size {
			t.Fatalf("read %d bytes, size says %d", len(plain), d.size)
		}
		if sum := sha256.Sum256(plain); !bytes.Equal(sum[:], digest) {
			t.Fatalf("decrypted to plaintext with digest %x under name %s", sum, name)
		}
	})
}

// FuzzEncryptRoundTrip checks that any plaintext encrypts to a ciphertext of
// the size plainSize predicts and decrypts back from any offset.
func FuzzEncryptRoundTrip(f *testing.F) {
	f.Add([]byte{}, uint32(0))
	f.Add(bytes.Repeat([]byte("x"), cryptSegment+3), uint32(cryptSegment))
	f.Fuzz(func(t *testing.T, plain []byte, off uint32) {
		ct := encryptForFuzz(t, plain)
		size, _, err := plainSize(int64(len(ct)))
		if err != nil || size != int64(len(plain)) {
			t.Fatalf("plainSize(%d) = %d, %v; want %d", len(ct), size, err, len(plain))
		}
		sum := sha256.Sum256(plain)
		d, err := newDecrypter(fuzzKey, bytes.NewReader(ct), int64(len(ct)), hex.EncodeToString(sum[:]))
		if err != nil {
			t.Fatal(err)
		}
		o := int64(off) % (int64(len(plain)) + 1)
		d.Seek(o, io.SeekStart)
		got, err := io.ReadAll(d)
		if err != nil || !bytes.Equal(got, plain[o:]) {
			t.Fatalf("read from %d: %v, content equal %v", o, err, bytes.Equal(got, plain[o:]))
		}
	})
}

// FuzzParseKey: any input either fails or yields 32 bytes that the same
// text in hex parses back to.
func FuzzParseKey(f *testing.F) {
	k := bytes.Repeat([]byte{9}, 32)
	f.Add([]byte(hex.EncodeToString(k)))
	f.Add([]byte(base64.StdEncoding.EncodeToString(k) + "\n"))
	f.Add([]byte(base64.RawURLEncoding.EncodeToString(k)))
	f.Add([]byte(" \t"))
	f.Fuzz(func(t *testing.T, text []byte) {
		key, err := ParseKey(text)
		if err != nil {
			if key != nil {
				t.Fatal("key returned with an error")
			}
			return
		}
		if len(key) != 32 {
			t.Fatalf("key of %d bytes", len(key))
		}
		again, err := ParseKey([]byte(hex.EncodeToString(key)))
		if err != nil || !bytes.Equal(again, key) {
			t.Fatalf("hex round trip: %v", err)
		}
	})
}
