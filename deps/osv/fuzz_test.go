package osv

import "testing"

// FuzzAdd feeds arbitrary OSV records (a downloaded database is input
// aigis does not control) to the database and queries it. Invariants: no
// panic, and queries of any name and version terminate.
func FuzzAdd(f *testing.F) {
	f.Add([]byte(`{"id": "MAL-2099-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "evilpkg"}, "versions": ["1.0.0"]}]}`))
	f.Add([]byte(`{"id": "GHSA-x", "aliases": ["PYSEC-1"], "affected": [{"package": {"ecosystem": "PyPI", "name": "torch"},
	  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.6.0"}, {"last_affected": "3.0"}, {"limit": "4"}]}]}],
	  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`))
	f.Add([]byte(`{"id": "PYSEC-1", "withdrawn": "2020-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		db := New()
		if db.Add(data) != nil {
			return
		}
		for _, name := range []string{"evilpkg", "torch", "Torch_", "", "a"} {
			for _, v := range []string{"", "0", "1.0.0", "2.5.0rc1", "1!2.0", "3.0.post1", "not a version"} {
				for _, vu := range db.Query(name, v) {
					vu.Score()
				}
			}
		}
	})
}
