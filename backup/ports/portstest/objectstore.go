package portstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// ObjectStoreHarness describes a ports.ObjectStore implementation to the contract
// suite. Only New is required.
type ObjectStoreHarness struct {
	// New returns a store holding no objects, for one subtest. It registers its own
	// cleanup (and may check, at cleanup, that nothing was left behind).
	New func(t *testing.T) ports.ObjectStore
	// PartSize is the size in which the store uploads, 0 if it has none. With it
	// the suite also round-trips objects of exactly one part and one byte either
	// side, reads ranges across a part boundary, and fails uploads after a part
	// has been sent.
	PartSize int64
	// LargeSize is the size of the object streamed from a non-seekable reader;
	// default 2 parts + 1 byte, or 1 MiB + 1 byte for a store without parts.
	LargeSize int64
}

// RunObjectStoreTests runs the ObjectStore contract suite: the port's documented
// semantics, with the part boundaries of h.PartSize where it has one. What the
// suite requires beyond the port's doc comments is listed in the package
// documentation.
func RunObjectStoreTests(t *testing.T, h ObjectStoreHarness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("portstest: ObjectStoreHarness.New is nil")
	}
	s := objectStoreSuite{h: h, large: h.LargeSize}
	if s.large == 0 {
		s.large = 1<<20 + 1
		if h.PartSize > 0 {
			s.large = 2*h.PartSize + 1
		}
	}
	run(t, func(*testing.T) objectStoreSuite { return s }, []behaviour[objectStoreSuite]{
		{"round trips", objectStoreSuite.roundTrips},
		{"ranged reads return exactly the requested bytes", objectStoreSuite.ranges},
		{"rejects ranges outside the object", objectStoreSuite.invalidRanges},
		{"reports missing objects as not found", objectStoreSuite.missing},
		{"delete is idempotent", objectStoreSuite.deleteIsIdempotent},
		{"put replaces an existing object", objectStoreSuite.putReplaces},
		{"a put whose reader fails stores nothing", objectStoreSuite.readerFails},
		{"a put whose context is cancelled stores nothing", objectStoreSuite.cancelledPut},
		{"rejects keys that are not relative slash paths", objectStoreSuite.invalidKeys},
		{"concurrent puts to different keys do not mix", objectStoreSuite.concurrentPuts},
		{"list yields the objects under a prefix in key order", objectStoreSuite.listOrder},
		{"list filters by prefix", objectStoreSuite.listPrefix},
		{"list yields a replaced object once, and no deleted one", objectStoreSuite.listReplaced},
		{"list stops when the consumer stops", objectStoreSuite.listBreak},
		{"list ends with the context's error when the context ends", objectStoreSuite.listCancel},
		{"remove abandoned removes nothing when nothing is abandoned", objectStoreSuite.removeAbandonedNothing},
		{"a put still running is neither listed nor removed as abandoned", objectStoreSuite.unfinishedPut},
	})
}

// objectStoreSuite is the harness, with its defaults filled in. Its methods are
// the behaviours RunObjectStoreTests lists; a behaviour makes the stores it needs,
// one per case where it has several.
type objectStoreSuite struct {
	h     ObjectStoreHarness
	large int64
}

func (s objectStoreSuite) roundTrips(t *testing.T) {
	sizes := []struct {
		name string
		size int64
	}{
		{"an empty object", 0},
		{"a one-byte object", 1},
		{"a 1000-byte object", 1000},
	}
	if p := s.h.PartSize; p > 0 {
		sizes = append(sizes,
			struct {
				name string
				size int64
			}{"an object one byte short of a part", p - 1},
			struct {
				name string
				size int64
			}{"an object of exactly one part", p},
			struct {
				name string
				size int64
			}{"an object one byte over a part", p + 1},
		)
	}
	sizes = append(sizes, struct {
		name string
		size int64
	}{fmt.Sprintf("a %d-byte object from a non-seekable reader", s.large), s.large})

	for i, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			store := s.h.New(t)
			key := fmt.Sprintf("roundtrip/%d.bin", i)
			src := NewPatternReader(tc.size, byte(i))
			want := sha256.New()
			if err := store.Put(ctx, key, io.TeeReader(src, want)); err != nil {
				t.Fatalf("Put(%d bytes): %v", tc.size, err)
			}
			info, err := store.Stat(ctx, key)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			if info.SizeBytes != tc.size || info.Key != key || info.ModTime.IsZero() {
				t.Errorf("Stat = %+v, want key %q, size %d and a modification time", info, key, tc.size)
			}
			body, info, err := store.Get(ctx, key, nil)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			got := sha256.New()
			n, err := io.Copy(got, body)
			if cerr := body.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatalf("reading the object: %v", err)
			}
			if info.SizeBytes != tc.size || info.Key != key {
				t.Errorf("Get info = %+v, want key %q, size %d", info, key, tc.size)
			}
			if n != tc.size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
				t.Errorf("read back %d bytes with SHA-256 %x, stored %d bytes with SHA-256 %x", n, got.Sum(nil), tc.size, want.Sum(nil))
			}
		})
	}
}

func (s objectStoreSuite) ranges(t *testing.T) {
	ctx := t.Context()
	store := s.h.New(t)
	size := int64(10_000)
	if s.h.PartSize > 0 {
		size = s.h.PartSize + s.h.PartSize/2
	}
	content := mustPut(t, store, "ranges/object.bin", size, 7)

	cases := []struct {
		name string
		rng  ports.ByteRange
	}{
		{"the first byte", ports.ByteRange{Offset: 0, Length: 1}},
		{"a middle slice", ports.ByteRange{Offset: size / 3, Length: size / 5}},
		{"the last byte", ports.ByteRange{Offset: size - 1, Length: 1}},
		{"the whole object", ports.ByteRange{Offset: 0, Length: size}},
		{"the tail from an offset", ports.ByteRange{Offset: size - 100, Length: 100}},
	}
	if s.h.PartSize > 0 {
		cases = append(cases, struct {
			name string
			rng  ports.ByteRange
		}{"a slice across the part boundary", ports.ByteRange{Offset: s.h.PartSize - 10, Length: 20}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := tc.rng
			body, info, err := store.Get(ctx, "ranges/object.bin", &rng)
			if err != nil {
				t.Fatalf("Get(%+v): %v", rng, err)
			}
			got, err := io.ReadAll(body)
			if cerr := body.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatalf("reading range %+v: %v", rng, err)
			}
			if info.SizeBytes != size {
				t.Errorf("info.SizeBytes = %d, want the whole object's %d", info.SizeBytes, size)
			}
			want := content[rng.Offset : rng.Offset+rng.Length]
			if !bytes.Equal(got, want) {
				t.Errorf("range %+v: got %d bytes, want %d; equal=%v", rng, len(got), len(want), bytes.Equal(got, want))
			}
		})
	}
}

func (s objectStoreSuite) invalidRanges(t *testing.T) {
	ctx := t.Context()
	store := s.h.New(t)
	const size = 1000
	mustPut(t, store, "ranges/small.bin", size, 3)
	mustPut(t, store, "ranges/empty.bin", 0, 3)

	cases := []struct {
		name string
		key  string
		rng  ports.ByteRange
	}{
		{"a range starting at the end", "ranges/small.bin", ports.ByteRange{Offset: size, Length: 1}},
		{"a range starting past the end", "ranges/small.bin", ports.ByteRange{Offset: size + 10, Length: 5}},
		{"a range running past the end", "ranges/small.bin", ports.ByteRange{Offset: size - 10, Length: 20}},
		{"an empty range", "ranges/small.bin", ports.ByteRange{Offset: 10, Length: 0}},
		{"a negative offset", "ranges/small.bin", ports.ByteRange{Offset: -1, Length: 5}},
		{"a negative length", "ranges/small.bin", ports.ByteRange{Offset: 5, Length: -1}},
		{"a range whose end overflows", "ranges/small.bin", ports.ByteRange{Offset: 5, Length: 1<<63 - 1}},
		{"any range of an empty object", "ranges/empty.bin", ports.ByteRange{Offset: 0, Length: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := tc.rng
			body, _, err := store.Get(ctx, tc.key, &rng)
			if err == nil {
				body.Close()
			}
			if !errors.Is(err, ports.ErrInvalidRange) {
				t.Errorf("Get(%s, %+v) error = %v, want ErrInvalidRange", tc.key, rng, err)
			}
		})
	}
}

func (s objectStoreSuite) missing(t *testing.T) {
	ctx := t.Context()
	store := s.h.New(t)
	if _, err := store.Stat(ctx, "missing/object.bin"); !errors.Is(err, ports.ErrNotFound) {
		t.Errorf("Stat of a missing object: error = %v, want ErrNotFound", err)
	}
	for _, rng := range []*ports.ByteRange{nil, {Offset: 0, Length: 1}} {
		body, _, err := store.Get(ctx, "missing/object.bin", rng)
		if err == nil {
			body.Close()
		}
		if !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("Get(missing, %+v): error = %v, want ErrNotFound", rng, err)
		}
	}
}

func (s objectStoreSuite) deleteIsIdempotent(t *testing.T) {
	ctx := t.Context()
	store := s.h.New(t)
	mustPut(t, store, "delete/object.bin", 100, 1)
	mustPut(t, store, "delete/other.bin", 100, 2)
	for i := range 2 {
		if err := store.Delete(ctx, "delete/object.bin"); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if _, err := store.Stat(ctx, "delete/object.bin"); !errors.Is(err, ports.ErrNotFound) {
		t.Errorf("Stat after Delete: error = %v, want ErrNotFound", err)
	}
	if err := store.Delete(ctx, "delete/never-existed.bin"); err != nil {
		t.Errorf("Delete of an object that never existed: %v", err)
	}
	if info, err := store.Stat(ctx, "delete/other.bin"); err != nil || info.SizeBytes != 100 {
		t.Errorf("a neighbouring object after Delete: Stat = %+v, %v; want it untouched", info, err)
	}
}

func (s objectStoreSuite) putReplaces(t *testing.T) {
	store := s.h.New(t)
	mustPut(t, store, "replace/object.bin", 5000, 1)
	want := mustPut(t, store, "replace/object.bin", 300, 2)
	assertContent(t, store, "replace/object.bin", want)
}

// failAfter is the number of bytes a failing reader delivers: past the first part
// when the store has parts, so a multipart upload is under way when it fails.
func (s objectStoreSuite) failAfter() int64 {
	if s.h.PartSize > 0 {
		return s.h.PartSize + s.h.PartSize/2
	}
	return 100_000
}

func (s objectStoreSuite) readerFails(t *testing.T) {
	errBroken := errors.New("source broke")
	cases := []struct {
		name     string
		existing bool
	}{
		{"under a new key", false},
		{"and keeps the object it would have replaced", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			store := s.h.New(t)
			var old []byte
			if tc.existing {
				old = mustPut(t, store, "failing/object.bin", 2000, 9)
			}
			src := &failingReader{r: NewPatternReader(1<<62, 1), remaining: s.failAfter(), err: errBroken}
			err := store.Put(ctx, "failing/object.bin", src)
			if !errors.Is(err, errBroken) {
				t.Fatalf("Put with a failing reader: error = %v, want it to wrap the reader's error", err)
			}
			if tc.existing {
				assertContent(t, store, "failing/object.bin", old)
				return
			}
			if _, err := store.Stat(ctx, "failing/object.bin"); !errors.Is(err, ports.ErrNotFound) {
				t.Errorf("Stat after the failed Put: error = %v, want ErrNotFound", err)
			}
		})
	}
}

func (s objectStoreSuite) cancelledPut(t *testing.T) {
	t.Run("mid-stream", func(t *testing.T) {
		store := s.h.New(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		src := &callbackReader{r: NewPatternReader(1<<62, 4), at: s.failAfter(), fn: cancel}
		err := store.Put(ctx, "cancel/object.bin", src)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put cancelled mid-stream: error = %v, want context.Canceled", err)
		}
		if _, err := store.Stat(t.Context(), "cancel/object.bin"); !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("Stat after the cancelled Put: error = %v, want ErrNotFound", err)
		}
	})
	t.Run("before it starts", func(t *testing.T) {
		store := s.h.New(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := store.Put(ctx, "cancel/early.bin", NewPatternReader(10, 1))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put with a cancelled context: error = %v, want context.Canceled", err)
		}
		if _, err := store.Stat(t.Context(), "cancel/early.bin"); !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("Stat after the cancelled Put: error = %v, want ErrNotFound", err)
		}
	})
}

func (s objectStoreSuite) invalidKeys(t *testing.T) {
	ctx := t.Context()
	store := s.h.New(t)
	for _, key := range []string{"", "/absolute/key", "../escape", "a/../../b", "a//b", "a/", ".", "a/./b"} {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			if err := store.Put(ctx, key, NewPatternReader(10, 1)); err == nil {
				t.Errorf("Put(%q) succeeded, want an error", key)
			}
			if _, err := store.Stat(ctx, key); err == nil || errors.Is(err, ports.ErrNotFound) {
				t.Errorf("Stat(%q) error = %v, want an invalid-key error", key, err)
			}
			if body, _, err := store.Get(ctx, key, nil); err == nil || errors.Is(err, ports.ErrNotFound) {
				if err == nil {
					body.Close()
				}
				t.Errorf("Get(%q) error = %v, want an invalid-key error", key, err)
			}
			if err := store.Delete(ctx, key); err == nil {
				t.Errorf("Delete(%q) succeeded, want an error", key)
			}
		})
	}
}

func (s objectStoreSuite) concurrentPuts(t *testing.T) {
	ctx := t.Context()
	store := s.h.New(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = store.Put(ctx, fmt.Sprintf("concurrent/%d.bin", i), NewPatternReader(int64(50_000+i), byte(i)))
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Put #%d: %v", i, errs[i])
		}
		assertContent(t, store, fmt.Sprintf("concurrent/%d.bin", i), readPattern(t, int64(50_000+i), byte(i)))
	}
}

// listKeys collects what List yields for prefix, failing the test on an error.
func listKeys(t *testing.T, store ports.ObjectStore, prefix string) []ports.ObjectInfo {
	t.Helper()
	var infos []ports.ObjectInfo
	for info, err := range store.List(t.Context(), prefix) {
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		infos = append(infos, info)
	}
	return infos
}

func keysOf(infos []ports.ObjectInfo) []string {
	keys := make([]string, len(infos))
	for i, info := range infos {
		keys[i] = info.Key
	}
	return keys
}

// listFixture: keys whose byte order differs from a walk of their directories
// ("a-b" and "a.b" sort before the "a/" directory's keys, "a0" after), put out
// of order, each with a size of its own.
var listFixture = map[string]int64{
	"list/b":      5,
	"list/a0":     4,
	"list/a/c":    3,
	"list/a.b":    2,
	"list/a-b":    1,
	"list/ab/x/y": 6,
	"lisp/other":  7,
}

func putListFixture(t *testing.T, store ports.ObjectStore) time.Time {
	t.Helper()
	start := time.Now()
	for _, key := range []string{"list/b", "list/a0", "list/a/c", "lisp/other", "list/a.b", "list/ab/x/y", "list/a-b"} {
		mustPut(t, store, key, listFixture[key], byte(listFixture[key]))
	}
	return start
}

func (s objectStoreSuite) listOrder(t *testing.T) {
	store := s.h.New(t)
	start := putListFixture(t, store)
	infos := listKeys(t, store, "")
	want := []string{"lisp/other", "list/a-b", "list/a.b", "list/a/c", "list/a0", "list/ab/x/y", "list/b"}
	if got := keysOf(infos); !slices.Equal(got, want) {
		t.Fatalf("List(\"\") = %q, want %q", got, want)
	}
	for _, info := range infos {
		if info.SizeBytes != listFixture[info.Key] {
			t.Errorf("List: %q has %d bytes, want %d", info.Key, info.SizeBytes, listFixture[info.Key])
		}
		// Generous bounds: S3 servers keep modification times in whole seconds.
		if info.ModTime.Before(start.Add(-time.Minute)) || info.ModTime.After(time.Now().Add(time.Minute)) {
			t.Errorf("List: %q modified at %v, want about now (%v)", info.Key, info.ModTime, start)
		}
	}
}

func (s objectStoreSuite) listPrefix(t *testing.T) {
	store := s.h.New(t)
	putListFixture(t, store)
	cases := []struct {
		prefix string
		want   []string
	}{
		{"list/", []string{"list/a-b", "list/a.b", "list/a/c", "list/a0", "list/ab/x/y", "list/b"}},
		{"list/a", []string{"list/a-b", "list/a.b", "list/a/c", "list/a0", "list/ab/x/y"}},
		{"list/a/", []string{"list/a/c"}},
		{"list/ab/x/", []string{"list/ab/x/y"}},
		{"list/ab/x/y", []string{"list/ab/x/y"}},
		{"lis", []string{"lisp/other", "list/a-b", "list/a.b", "list/a/c", "list/a0", "list/ab/x/y", "list/b"}},
		{"list/c", nil},
		{"nothing/", nil},
		{"list/b/", nil},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.prefix), func(t *testing.T) {
			if got := keysOf(listKeys(t, store, tc.prefix)); !slices.Equal(got, tc.want) {
				t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		})
	}
	t.Run("an empty store", func(t *testing.T) {
		if got := listKeys(t, s.h.New(t), ""); len(got) != 0 {
			t.Errorf("List(\"\") of an empty store = %+v, want nothing", got)
		}
	})
}

func (s objectStoreSuite) listReplaced(t *testing.T) {
	store := s.h.New(t)
	mustPut(t, store, "replaced/object.bin", 5000, 1)
	mustPut(t, store, "replaced/object.bin", 300, 2)
	mustPut(t, store, "replaced/deleted.bin", 10, 3)
	if err := store.Delete(t.Context(), "replaced/deleted.bin"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	infos := listKeys(t, store, "replaced/")
	if len(infos) != 1 || infos[0].Key != "replaced/object.bin" || infos[0].SizeBytes != 300 {
		t.Errorf("List after a replace and a delete = %+v, want only replaced/object.bin with 300 bytes", infos)
	}
}

func (s objectStoreSuite) listBreak(t *testing.T) {
	store := s.h.New(t)
	putListFixture(t, store)
	var got []string
	for info, err := range store.List(t.Context(), "list/") {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		got = append(got, info.Key)
		if len(got) == 2 {
			break // a List that yielded again would panic here
		}
	}
	if want := []string{"list/a-b", "list/a.b"}; !slices.Equal(got, want) {
		t.Errorf("first two keys = %q, want %q", got, want)
	}
}

func (s objectStoreSuite) listCancel(t *testing.T) {
	store := s.h.New(t)
	putListFixture(t, store)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var seen int
	var errs []error
	for _, err := range store.List(ctx, "") {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		seen++
		cancel()
	}
	if seen != 1 || len(errs) != 1 || !errors.Is(errs[0], context.Canceled) || errors.Is(errs[0], ports.ErrStorage) {
		t.Errorf("List cancelled after the first object: %d objects, then %v; want 1, then one context.Canceled without ErrStorage", seen, errs)
	}
}

func (s objectStoreSuite) removeAbandonedNothing(t *testing.T) {
	store := s.h.New(t)
	putListFixture(t, store)
	for _, prefix := range []string{"", "list/", "list/a", "nothing/"} {
		n, err := store.RemoveAbandoned(t.Context(), prefix, time.Now().Add(time.Hour))
		if err != nil || n != 0 {
			t.Errorf("RemoveAbandoned(%q) = %d, %v; want 0, nil", prefix, n, err)
		}
	}
	for key, size := range listFixture {
		assertContent(t, store, key, readPattern(t, size, byte(size)))
	}
}

// stallingReader delivers n pattern bytes, then waits in Read until release is
// closed, and then ends the stream: a Put that is still running.
type stallingReader struct {
	r       io.Reader
	n       int64
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *stallingReader) Read(b []byte) (int, error) {
	if s.n <= 0 {
		s.once.Do(func() { close(s.reached) })
		<-s.release
		return 0, io.EOF
	}
	if int64(len(b)) > s.n {
		b = b[:s.n]
	}
	n, err := s.r.Read(b)
	s.n -= int64(n)
	return n, err
}

func (s objectStoreSuite) unfinishedPut(t *testing.T) {
	ctx := t.Context()
	store := s.h.New(t)
	mustPut(t, store, "unfinished/done.bin", 10, 1)
	size := s.failAfter()
	src := &stallingReader{r: NewPatternReader(size, 2), n: size, reached: make(chan struct{}), release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(src.release) }) }
	t.Cleanup(release) // a failing test must not leave the Put blocked

	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- store.Put(ctx, "unfinished/running.bin", src) }()
	select {
	case <-src.reached:
	case err := <-done:
		t.Fatalf("Put returned before its reader ended: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the Put did not read its data within a minute")
	}

	if got := keysOf(listKeys(t, store, "unfinished/")); !slices.Equal(got, []string{"unfinished/done.bin"}) {
		t.Errorf("List during the Put = %q, want only the completed object", got)
	}
	n, err := store.RemoveAbandoned(ctx, "unfinished/", start.Add(-time.Second))
	if err != nil || n != 0 {
		t.Errorf("RemoveAbandoned during the Put = %d, %v; want 0, nil", n, err)
	}

	release()
	if err := <-done; err != nil {
		t.Fatalf("the Put, after RemoveAbandoned ran during it: %v", err)
	}
	assertContent(t, store, "unfinished/running.bin", readPattern(t, size, 2))
	infos := listKeys(t, store, "unfinished/")
	if got := keysOf(infos); !slices.Equal(got, []string{"unfinished/done.bin", "unfinished/running.bin"}) || infos[1].SizeBytes != size {
		t.Errorf("List after the Put = %+v, want both objects, the second of %d bytes", infos, size)
	}
}

// mustPut stores size pattern bytes from seed under key and returns them.
func mustPut(t *testing.T, store ports.ObjectStore, key string, size int64, seed byte) []byte {
	t.Helper()
	if err := store.Put(t.Context(), key, NewPatternReader(size, seed)); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, size, err)
	}
	return readPattern(t, size, seed)
}

func readPattern(t *testing.T, size int64, seed byte) []byte {
	t.Helper()
	b, err := io.ReadAll(NewPatternReader(size, seed))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func assertContent(t *testing.T, store ports.ObjectStore, key string, want []byte) {
	t.Helper()
	body, info, err := store.Get(t.Context(), key, nil)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	got, err := io.ReadAll(body)
	if cerr := body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	if !bytes.Equal(got, want) || info.SizeBytes != int64(len(want)) {
		t.Errorf("%q holds %d bytes (info says %d), want the %d bytes last stored; equal=%v",
			key, len(got), info.SizeBytes, len(want), bytes.Equal(got, want))
	}
}

// patternLen is prime, so the pattern never lines up with a power-of-two part
// size: every part of a large object differs, and a swapped, repeated or dropped
// part changes the object's hash.
const patternLen = 65521

// PatternReader produces a deterministic pseudo-random byte stream of a given
// length. It only implements Read (it is deliberately not seekable and has no
// WriteTo), and Read allocates nothing, so it can feed memory measurements.
type PatternReader struct {
	pattern   []byte
	pos       int64
	remaining int64
}

// NewPatternReader returns a reader of size bytes; different seeds give
// different streams.
func NewPatternReader(size int64, seed byte) *PatternReader {
	p := make([]byte, patternLen)
	x := uint64(seed)*0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D
	for i := range p {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p[i] = byte(x >> 32)
	}
	return &PatternReader{pattern: p, remaining: size}
}

// Read fills b with the next bytes of the stream.
func (r *PatternReader) Read(b []byte) (int, error) {
	if r.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > r.remaining {
		b = b[:r.remaining]
	}
	n := 0
	for n < len(b) {
		off := int(r.pos % patternLen)
		c := copy(b[n:], r.pattern[off:])
		n += c
		r.pos += int64(c)
	}
	r.remaining -= int64(n)
	return n, nil
}
