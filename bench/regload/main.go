// Command regload downloads one URL from many clients at once and reports
// downloads per second, latency percentiles and throughput: the load test
// of aigis serve (bench/registry.sh).
//
//	regload -url http://127.0.0.1:8080/acme/m/resolve/main/config.json -c 32 -d 10s
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "URL to GET")
	token := flag.String("token", os.Getenv("HF_TOKEN"), "bearer token")
	conc := flag.Int("c", 16, "concurrent clients")
	dur := flag.Duration("d", 10*time.Second, "duration")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "regload: -url is required")
		os.Exit(2)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *conc, DisableCompression: true}
	client := &http.Client{Transport: tr}
	var mu sync.Mutex
	var lat []time.Duration
	var bytes int64
	errs := 0
	deadline := time.Now().Add(*dur)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < *conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t0 := time.Now()
				req, _ := http.NewRequest("GET", *url, nil)
				if *token != "" {
					req.Header.Set("Authorization", "Bearer "+*token)
				}
				resp, err := client.Do(req)
				var n int64
				if err == nil {
					n, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("%s", resp.Status)
					}
				}
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					errs++
				} else {
					lat = append(lat, d)
					bytes += n
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	fmt.Printf("downloads %d in %s (%d errors): %.0f/s, p50 %s, p99 %s, %.0f MB/s\n",
		len(lat), el.Round(time.Millisecond), errs, float64(len(lat))/el.Seconds(), pct(0.50), pct(0.99), float64(bytes)/el.Seconds()/1e6)
}
