package data

import "testing"

// FuzzParseCard: dataset cards come with the data, from anyone; their
// front matter is YAML of any shape. No panic, and a card is returned or an
// error, never both nil.
func FuzzParseCard(f *testing.F) {
	f.Add([]byte("---\ndataset_info:\n  splits:\n  - name: train\n    num_examples: 1000\n    num_bytes: 123\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*\nlicense: mit\n---\n# card\n"))
	f.Add([]byte("---\ndataset_info:\n- config_name: a\n  splits: {name: x}\n---\n"))
	f.Add([]byte("---\na: &a [*a]\n---\n"))
	f.Add([]byte("no front matter"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseCard(b)
		if c == nil && err == nil {
			t.Fatal("nil card without an error")
		}
	})
}
