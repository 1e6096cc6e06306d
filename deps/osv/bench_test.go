package osv

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Benchmark scale: about the size of PyPI/all.zip (tens of thousands of
// records), and a large project's lock file.
const (
	benchRecords  = 30_000
	benchPackages = 10_000
	benchLock     = 2_000
)

// writeBenchZip writes benchRecords synthetic advisories over benchPackages
// packages, each with an ECOSYSTEM range and a versions list as osv.dev
// fills it, one MAL- record in twenty.
func writeBenchZip(b *testing.B) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "all.zip")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	zw := zip.NewWriter(f)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range benchRecords {
		pkg := fmt.Sprintf("package-%d", rng.IntN(benchPackages))
		id := fmt.Sprintf("PYSEC-2024-%d", i)
		intro, fix := rng.IntN(5), 5+rng.IntN(5)
		var versions []string
		for major := intro; major < fix; major++ {
			for minor := range 5 {
				versions = append(versions, fmt.Sprintf("%d.%d.0", major, minor))
			}
		}
		rec := map[string]any{
			"id": id, "modified": "2024-01-01T00:00:00Z", "summary": "synthetic advisory",
			"aliases":  []string{fmt.Sprintf("CVE-2024-%d", i)},
			"severity": []map[string]string{{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
			"affected": []map[string]any{{
				"package":  map[string]string{"ecosystem": "PyPI", "name": pkg},
				"ranges":   []map[string]any{{"type": "ECOSYSTEM", "events": []map[string]string{{"introduced": fmt.Sprintf("%d.0", intro)}, {"fixed": fmt.Sprintf("%d.0", fix)}}}},
				"versions": versions,
			}},
			"references": []map[string]string{{"type": "WEB", "url": "https://example.com/" + id}},
		}
		if i%20 == 0 {
			rec["id"] = fmt.Sprintf("MAL-2024-%d", i)
			rec["affected"] = []map[string]any{{
				"package": map[string]string{"ecosystem": "PyPI", "name": pkg},
				"ranges":  []map[string]any{{"type": "ECOSYSTEM", "events": []map[string]string{{"introduced": "0"}}}},
			}}
		}
		w, err := zw.Create(rec["id"].(string) + ".json")
		if err != nil {
			b.Fatal(err)
		}
		if err := json.NewEncoder(w).Encode(rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

func benchLockFile() []Package {
	rng := rand.New(rand.NewPCG(3, 4))
	lock := make([]Package, benchLock)
	for i := range lock {
		lock[i] = Package{Name: fmt.Sprintf("Package_%d", rng.IntN(benchPackages*2)), Version: fmt.Sprintf("%d.%d.%d", rng.IntN(10), rng.IntN(10), rng.IntN(3))}
	}
	return lock
}

// BenchmarkQueryLock matches a 2,000-package lock file against a
// 30,000-record database; one op is the whole lock file.
func BenchmarkQueryLock(b *testing.B) {
	db, err := OpenZip(writeBenchZip(b))
	if err != nil {
		b.Fatal(err)
	}
	lock := benchLockFile()
	b.ReportAllocs()
	hits := 0
	for b.Loop() {
		hits = 0
		for _, p := range lock {
			hits += len(db.Query(p.Name, p.Version))
		}
	}
	b.ReportMetric(float64(hits), "vulns/op")
}

// BenchmarkOpenZip loads the 30,000-record database.
func BenchmarkOpenZip(b *testing.B) {
	p := writeBenchZip(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := OpenZip(p); err != nil {
			b.Fatal(err)
		}
	}
}
