package s3

import (
	"bytes"
	"testing"
)

// A buffer given back is the one the next Put gets, and on Linux its pages
// went back to the operating system in between (they read as zeros again).
func TestPartBuffersAreReusedAndReleased(t *testing.T) {
	p := &partBuffers{size: MinPartSize}
	a, err := p.get()
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.get()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != MinPartSize || len(b) != MinPartSize || &a[0] == &b[0] {
		t.Fatalf("two buffers in use share memory or have the wrong size (%d, %d)", len(a), len(b))
	}
	if got := p.bytesInUse(); got != 2*MinPartSize {
		t.Fatalf("in use: %d bytes, want %d", got, 2*MinPartSize)
	}
	for i := range a {
		a[i] = 0xA5
	}
	p.put(a)
	if got := p.bytesInUse(); got != MinPartSize {
		t.Fatalf("in use after one put: %d bytes, want %d", got, MinPartSize)
	}
	c, err := p.get()
	if err != nil {
		t.Fatal(err)
	}
	if &c[0] != &a[0] {
		t.Error("get allocated a new buffer while one was idle")
	}
	if partsOutsideHeap && !bytes.Equal(c, make([]byte, MinPartSize)) {
		t.Error("an idle buffer kept its contents: its pages were not released")
	}
	p.put(b)
	p.put(c)
	if got := p.bytesInUse(); got != 0 {
		t.Errorf("in use after every put: %d bytes", got)
	}
}
