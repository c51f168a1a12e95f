package s3_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/s3"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// heapSampler records the peak of the live Go heap (the same number as
// runtime.MemStats.HeapAlloc: allocated objects not yet freed, garbage included)
// plus the memory outside the heap that outside reports (nil: none), by polling
// runtime/metrics, which, unlike ReadMemStats, does not stop the world. Polling
// allocates nothing, so the sampler does not inflate what it measures.
type heapSampler struct {
	stopc       chan struct{}
	done        chan struct{}
	peak        uint64
	peakOutside uint64
}

const heapObjectsMetric = "/memory/classes/heap/objects:bytes"

func readHeap(s []metrics.Sample) uint64 {
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler(every time.Duration, outside func() uint64) *heapSampler {
	if outside == nil {
		outside = func() uint64 { return 0 }
	}
	h := &heapSampler{stopc: make(chan struct{}), done: make(chan struct{})}
	samples := []metrics.Sample{{Name: heapObjectsMetric}}
	h.peak = readHeap(samples) + outside()
	go func() {
		defer close(h.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			o := outside()
			if v := readHeap(samples) + o; v > h.peak {
				h.peak = v
			}
			h.peakOutside = max(h.peakOutside, o)
			select {
			case <-tick.C:
			case <-h.stopc:
				return
			}
		}
	}()
	return h
}

// stop ends sampling and returns the peak.
func (h *heapSampler) stop() uint64 {
	close(h.stopc)
	<-h.done
	return h.peak
}

func heapNow() uint64 {
	return readHeap([]metrics.Sample{{Name: heapObjectsMetric}})
}

func totalAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// The 200 MiB round trip: SHA-256 equal both ways, and the memory of the upload
// — the Go heap plus the part buffers, which live outside it on Linux — stays
// under part size × (concurrency + 2): the Put's own buffers are part size ×
// concurrency, leaving two parts of headroom for the SDK, TLS, the HTTP
// transport and the test itself.
func TestLargeObjectStreamsWithBoundedMemory(t *testing.T) {
	testenv.Short(t, "streams 200 MiB up and down per transport")
	const (
		size        = 200 << 20
		partSize    = testPartSize
		concurrency = 3
		bound       = partSize * (concurrency + 2)
	)
	// Subtests run one after the other: the heap is process-wide, so nothing else
	// may allocate while one measures.
	forEachTransport(t, func(t *testing.T, srv *testenv.S3Server) {
		ctx := t.Context()
		cfg := baseConfig(t, srv)
		cfg.PartSizeBytes = partSize
		cfg.Concurrency = concurrency
		store := newStore(t, srv, cfg)

		src := portstest.NewPatternReader(size, 42)
		sent := sha256.New()
		tee := io.TeeReader(src, sent)

		// The peak includes garbage not yet collected, which GOGC lets grow to
		// the live heap's size; measure at the default GOGC whatever the
		// environment says. Under -race, sync.Pool drops buffers on purpose and
		// TLS's record buffers become garbage (about 30 MiB per 200 MiB sent)
		// that a normal build does not make; collecting more often keeps the
		// measurement about what the upload holds.
		gcPercent := 100
		if raceEnabled {
			gcPercent = 25
		}
		defer debug.SetGCPercent(debug.SetGCPercent(gcPercent))
		runtime.GC()
		baseline := heapNow()
		allocsBefore := totalAllocs()
		var outside func() uint64
		if s3.PartsOutsideHeap {
			outside = func() uint64 { return uint64(s3.PartBytesInUse(store)) }
		}
		sampler := startHeapSampler(time.Millisecond, outside)
		start := time.Now()
		err := store.Put(ctx, "large/object.bin", tee)
		upload := time.Since(start)
		peak := sampler.stop()
		allocated := totalAllocs() - allocsBefore
		if err != nil {
			t.Fatalf("Put of %d bytes: %v", size, err)
		}

		t.Logf("upload: %d MiB in %v = %.1f MiB/s", size>>20, upload.Round(time.Millisecond), float64(size>>20)/upload.Seconds())
		t.Logf("GOGC %d (race detector: %v)", gcPercent, raceEnabled)
		t.Logf("heap + part buffers: baseline %.1f MiB, peak %.1f MiB (peak − baseline %.1f MiB); bound part size %d MiB × (concurrency %d + 2) = %d MiB; Put's buffers %d MiB; allocated during the Put %.1f MiB",
			mib(baseline), mib(peak), mib(peak-baseline), partSize>>20, concurrency, bound>>20, partSize*concurrency>>20, mib(allocated))
		if peak-baseline >= bound {
			t.Errorf("heap + part buffers grew by %.1f MiB during the upload, bound is %d MiB", mib(peak-baseline), bound>>20)
		}
		if peak >= bound {
			t.Errorf("peak heap + part buffers %.1f MiB, bound is %d MiB", mib(peak), bound>>20)
		}
		// Buffers are taken once per Put and reused for every part: all the
		// allocation of a 40-part upload fits in the same bound. (Not under
		// -race, whose pool drops allocate in proportion to the bytes sent.)
		if !raceEnabled && allocated >= bound {
			t.Errorf("the Put allocated %.1f MiB in total, want under %d MiB: part buffers are not being reused", mib(allocated), bound>>20)
		}
		// The sampler counted every buffer of a 40-part upload outside the
		// heap, and the Put gave them all back.
		if s3.PartsOutsideHeap && sampler.peakOutside != partSize*concurrency {
			t.Errorf("the sampler saw %.1f MiB of part buffers outside the heap at the peak, want %d MiB", mib(sampler.peakOutside), partSize*concurrency>>20)
		}
		if held := s3.PartBytesInUse(store); held != 0 {
			t.Errorf("after the Put the store still counts %d bytes of part buffers in use", held)
		}

		start = time.Now()
		body, info, err := store.Get(ctx, "large/object.bin", nil)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		received := sha256.New()
		n, err := io.Copy(received, body)
		if cerr := body.Close(); err == nil {
			err = cerr
		}
		download := time.Since(start)
		if err != nil {
			t.Fatalf("reading back: %v", err)
		}
		t.Logf("download: %d MiB in %v = %.1f MiB/s; round trip %.1f MiB/s",
			n>>20, download.Round(time.Millisecond), float64(n>>20)/download.Seconds(), float64(size>>20)/(upload+download).Seconds())
		if n != size || info.SizeBytes != size {
			t.Errorf("read back %d bytes (info %d), want %d", n, info.SizeBytes, size)
		}
		if !bytes.Equal(sent.Sum(nil), received.Sum(nil)) {
			t.Errorf("SHA-256 read back %x, sent %x", received.Sum(nil), sent.Sum(nil))
		}
	})
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// The sampler must see a heap that is known to grow, or the bound above could
// pass by measuring nothing.
func TestHeapSamplerSeesAllocations(t *testing.T) {
	runtime.GC()
	baseline := heapNow()
	sampler := startHeapSampler(time.Millisecond, nil)
	var keep [][]byte
	for range 32 {
		keep = append(keep, make([]byte, 1<<20))
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond)
	peak := sampler.stop()
	runtime.KeepAlive(keep)
	// A GC cycle during the loop may free garbage that other goroutines of the
	// test binary (idle HTTP connections of earlier tests) made after the
	// baseline: a quarter of the allocation is left for that.
	if peak-baseline < 24<<20 {
		t.Errorf("sampler saw %.1f MiB of growth, 32 MiB were allocated and kept", mib(peak-baseline))
	}
}
