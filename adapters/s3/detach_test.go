package s3

import (
	"context"
	"testing"
	"time"
)

func TestDetachOutlivesItsParentByTheGracePeriod(t *testing.T) {
	t.Run("stays alive for the grace period after the parent ends", func(t *testing.T) {
		parent, cancelParent := context.WithCancel(t.Context())
		ctx, cancel := detach(parent, 50*time.Millisecond)
		defer cancel()
		cancelParent()
		select {
		case <-ctx.Done():
			t.Fatal("detached context ended with its parent")
		case <-time.After(20 * time.Millisecond):
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("detached context still alive long after the grace period")
		}
	})
	t.Run("ends when its own cancel is called", func(t *testing.T) {
		ctx, cancel := detach(t.Context(), time.Hour)
		cancel()
		if ctx.Err() == nil {
			t.Fatal("detached context alive after cancel")
		}
	})
	t.Run("keeps the parent's values", func(t *testing.T) {
		type key struct{}
		parent := context.WithValue(t.Context(), key{}, "v")
		ctx, cancel := detach(parent, time.Second)
		defer cancel()
		if ctx.Value(key{}) != "v" {
			t.Fatal("value lost")
		}
	})
}
