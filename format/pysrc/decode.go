package pysrc

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"encoding/ascii85"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// StringValue returns the value of a STRING token's text: escapes
// processed unless raw, and whether it is bytes. ok is false for f- and
// t-strings with replacement fields and for unterminated strings.
func StringValue(text string) (val string, isBytes, ok bool) {
	i := 0
	for i < len(text) && text[i] != '\'' && text[i] != '"' {
		i++
	}
	if i >= len(text) {
		return "", false, false
	}
	raw, formatted := false, false
	for _, c := range []byte(text[:i]) {
		switch c | 0x20 {
		case 'r':
			raw = true
		case 'b':
			isBytes = true
		case 'f', 't':
			formatted = true
		}
	}
	q := text[i]
	body := text[i:]
	n := 1
	if len(body) >= 6 && body[1] == q && body[2] == q {
		n = 3
	}
	if len(body) < 2*n || !strings.HasSuffix(body, strings.Repeat(string(q), n)) {
		return "", isBytes, false
	}
	body = body[n : len(body)-n]
	if formatted {
		if strings.ContainsAny(strings.ReplaceAll(strings.ReplaceAll(body, "{{", ""), "}}", ""), "{}") {
			return "", isBytes, false
		}
		body = strings.ReplaceAll(strings.ReplaceAll(body, "{{", "{"), "}}", "}")
	}
	if raw || !strings.Contains(body, `\`) {
		return body, isBytes, true
	}
	return unescape(body, isBytes), isBytes, true
}

func unescape(s string, isBytes bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case '\n':
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'a':
			b.WriteByte(7)
		case 'b':
			b.WriteByte(8)
		case 'f':
			b.WriteByte(12)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte(11)
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if (e != 'x' && isBytes) || i+1+n > len(s) {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			v, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
			if err != nil {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			if e == 'x' && isBytes {
				b.WriteByte(byte(v))
			} else if v <= utf8.MaxRune {
				b.WriteRune(rune(v))
			}
			i += n
		case 'N':
			b.WriteString(`\N`)
		default:
			if e >= '0' && e <= '7' {
				j := i
				for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
					j++
				}
				v, _ := strconv.ParseUint(s[i:j], 8, 32)
				if isBytes {
					b.WriteByte(byte(v))
				} else {
					b.WriteRune(rune(v))
				}
				i = j - 1
				continue
			}
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String()
}

// decoders are the functions that turn an innocent-looking constant into
// code; exec of their output is the obfuscation this package looks for.
var decoders = map[string]bool{
	"base64.b64decode": true, "base64.standard_b64decode": true, "base64.urlsafe_b64decode": true,
	"base64.decodebytes": true, "base64.decodestring": true, "base64.b32decode": true, "base64.b32hexdecode": true,
	"base64.b16decode": true, "base64.b85decode": true, "base64.a85decode": true, "base64.z85decode": true,
	"binascii.a2b_base64": true, "binascii.unhexlify": true, "binascii.a2b_hex": true, "bytes.fromhex": true,
	"bytearray.fromhex": true, "builtins.bytes.fromhex": true, "builtins.bytearray.fromhex": true, "codecs.decode": true, "zlib.decompress": true, "gzip.decompress": true,
	"bz2.decompress": true, "lzma.decompress": true, "marshal.loads": true, "pickle.loads": true,
	"dill.loads": true, "cloudpickle.loads": true, "codecs.escape_decode": true,
}

func isDecoder(fn string) bool { return decoders[fn] }

func isRot13(enc string) bool {
	e := strings.ToLower(strings.ReplaceAll(enc, "-", "_"))
	return e == "rot13" || e == "rot_13"
}

func rot13(v []byte) []byte {
	out := make([]byte, len(v))
	for i, c := range v {
		switch {
		case c >= 'a' && c <= 'z':
			c = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			c = 'A' + (c-'A'+13)%26
		}
		out[i] = c
	}
	return out
}

// decode applies decoder fn to a constant, as Python would, within max
// output bytes. ok is false when fn is not a decoder this package can run
// (marshal, pickle, lzma, b85) or the input is invalid.
func decode(fn string, in []byte, enc string, max int) ([]byte, bool) {
	switch fn {
	case "base64.b64decode", "base64.standard_b64decode", "base64.decodebytes", "base64.decodestring", "binascii.a2b_base64":
		return b64(in, "+/", max)
	case "base64.urlsafe_b64decode":
		return b64(in, "-_", max)
	case "base64.b32decode":
		return limited(base32.StdEncoding.DecodeString(strings.TrimSpace(string(in))))(max)
	case "base64.b16decode", "binascii.unhexlify", "binascii.a2b_hex", "bytes.fromhex", "bytearray.fromhex", "builtins.bytes.fromhex", "builtins.bytearray.fromhex":
		return limited(hex.DecodeString(strings.Join(strings.Fields(string(in)), "")))(max)
	case "base64.a85decode":
		out := make([]byte, 4*len(in)/5+4)
		n, _, err := ascii85.Decode(out, in, true)
		return limited(out[:n], err)(max)
	case "zlib.decompress":
		r, err := zlib.NewReader(bytes.NewReader(in))
		if err != nil {
			return nil, false
		}
		return readMax(r, max)
	case "gzip.decompress":
		r, err := gzip.NewReader(bytes.NewReader(in))
		if err != nil {
			return nil, false
		}
		return readMax(r, max)
	case "bz2.decompress":
		return readMax(bzip2.NewReader(bytes.NewReader(in)), max)
	case "codecs.decode":
		e := strings.ToLower(strings.ReplaceAll(enc, "-", "_"))
		switch {
		case isRot13(e):
			return rot13(in), true
		case e == "base64" || e == "base_64" || e == "base64_codec":
			return b64(in, "+/", max)
		case e == "hex" || e == "hex_codec":
			return decode("bytes.fromhex", in, "", max)
		case e == "zlib" || e == "zip" || e == "zlib_codec":
			return decode("zlib.decompress", in, "", max)
		case e == "bz2" || e == "bz2_codec":
			return decode("bz2.decompress", in, "", max)
		case e == "" || e == "utf8" || e == "utf_8" || e == "ascii" || e == "latin_1" || e == "latin1":
			return in, true
		}
	}
	return nil, false
}

// b64 decodes like Python's b64decode without validate: characters outside
// the alphabet are dropped, missing padding is tolerated.
func b64(in []byte, extra string, max int) ([]byte, bool) {
	clean := make([]byte, 0, len(in))
	for _, c := range in {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == extra[0] || c == extra[1] {
			clean = append(clean, c)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	enc := base64.RawStdEncoding
	if extra == "-_" {
		enc = base64.RawURLEncoding
	}
	return limited(enc.DecodeString(string(clean)))(max)
}

func limited(b []byte, err error) func(int) ([]byte, bool) {
	return func(max int) ([]byte, bool) {
		if err != nil || len(b) > max {
			return nil, false
		}
		return b, true
	}
}

func readMax(r io.Reader, max int) ([]byte, bool) {
	b, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil || len(b) > max {
		return nil, false
	}
	return b, true
}
