package portstest

import (
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// AssetsHarness describes a ports.Assets implementation to the contract suite.
type AssetsHarness struct {
	// New returns an assets store holding no assets, for one subtest. It registers
	// its own cleanup and must be safe to call from parallel subtests.
	New func(t *testing.T) ports.Assets
}

// RunAssetsTests runs the Assets contract suite: the port's documented semantics.
// Each behaviour runs in a parallel subtest on a store of its own. What the suite
// requires beyond the port's doc comments is listed in the package documentation.
func RunAssetsTests(t *testing.T, h AssetsHarness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("portstest: AssetsHarness.New is nil")
	}
	setUp := func(t *testing.T) assetsSuite {
		t.Parallel()
		return assetsSuite{assets: h.New(t)}
	}
	run(t, setUp, []behaviour[assetsSuite]{
		{"a created asset is returned with every field", assetsSuite.createdAssetIsReturned},
		{"an asset created without a time is stamped with the current time", assetsSuite.createdWithoutTimeIsStampedNow},
		{"an unknown asset is not found", assetsSuite.getUnknown},
		{"a second asset with the same ID is refused and the first kept", assetsSuite.createRefusesDuplicateID},
		{"an asset without an ID, owner or key is refused", assetsSuite.createRefusesInvalid},
		{"a deleted asset is gone, and deleting it again is not an error", assetsSuite.deleteIsIdempotent},
	})
}

// assetsSuite is one behaviour's assets store. Its methods are the behaviours
// RunAssetsTests lists, and the helpers below them.
type assetsSuite struct {
	assets ports.Assets
}

func (s assetsSuite) createdAssetIsReturned(t *testing.T) {
	a := s.newAsset()
	if err := s.assets.CreateAsset(t.Context(), a); err != nil {
		t.Fatalf("CreateAsset: %v", err)
	}
	if got := s.get(t, a.ID); got != a {
		t.Errorf("GetAsset:\n got %+v\nwant %+v", got, a)
	}
}

func (s assetsSuite) createdWithoutTimeIsStampedNow(t *testing.T) {
	a := s.newAsset()
	a.CreatedAt = time.Time{}
	if err := s.assets.CreateAsset(t.Context(), a); err != nil {
		t.Fatalf("CreateAsset: %v", err)
	}
	if d := time.Since(s.get(t, a.ID).CreatedAt); d < -5*time.Minute || d > 5*time.Minute {
		t.Errorf("CreatedAt is %v away from now", d)
	}
}

func (s assetsSuite) getUnknown(t *testing.T) {
	_, err := s.assets.GetAsset(t.Context(), ports.NewAssetID())
	wantErr(t, "GetAsset", err, ports.ErrNotFound)
}

func (s assetsSuite) createRefusesDuplicateID(t *testing.T) {
	a := s.newAsset()
	if err := s.assets.CreateAsset(t.Context(), a); err != nil {
		t.Fatalf("CreateAsset: %v", err)
	}
	dup := s.newAsset()
	dup.ID = a.ID
	if err := s.assets.CreateAsset(t.Context(), dup); err == nil {
		t.Fatal("CreateAsset with a duplicate ID succeeded")
	}
	if got := s.get(t, a.ID); got != a {
		t.Errorf("after the refused duplicate:\n got %+v\nwant %+v", got, a)
	}
}

func (s assetsSuite) createRefusesInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*ports.Asset)
	}{
		{"no ID", func(a *ports.Asset) { a.ID = ports.AssetID{} }},
		{"no owner", func(a *ports.Asset) { a.OwnerID = ports.UserID{} }},
		{"no key", func(a *ports.Asset) { a.Key = "" }},
	} {
		a := s.newAsset()
		tc.edit(&a)
		if err := s.assets.CreateAsset(t.Context(), a); err == nil {
			t.Errorf("CreateAsset with %s succeeded", tc.name)
		}
	}
}

func (s assetsSuite) deleteIsIdempotent(t *testing.T) {
	a, keep := s.newAsset(), s.newAsset()
	for _, x := range []ports.Asset{a, keep} {
		if err := s.assets.CreateAsset(t.Context(), x); err != nil {
			t.Fatalf("CreateAsset: %v", err)
		}
	}
	if err := s.assets.DeleteAsset(t.Context(), a.ID); err != nil {
		t.Fatalf("DeleteAsset: %v", err)
	}
	_, err := s.assets.GetAsset(t.Context(), a.ID)
	wantErr(t, "GetAsset after DeleteAsset", err, ports.ErrNotFound)
	if err := s.assets.DeleteAsset(t.Context(), a.ID); err != nil {
		t.Errorf("second DeleteAsset: %v", err)
	}
	if err := s.assets.DeleteAsset(t.Context(), ports.NewAssetID()); err != nil {
		t.Errorf("DeleteAsset of an unknown asset: %v", err)
	}
	s.get(t, keep.ID)
}

// newAsset returns an asset with every field set; it is not stored.
func (assetsSuite) newAsset() ports.Asset {
	id := ports.NewAssetID()
	return ports.Asset{
		ID: id, OwnerID: ports.NewUserID(), Key: "backups/" + id.String() + ".tar.gz",
		FileName: "Backup 2026-03-14 15:09 UTC.tar.gz", ContentType: "application/gzip",
		SizeBytes: 3 << 30, SHA256: digest(id.String()), CreatedAt: epoch(),
	}
}

// get returns the stored asset, with its time in UTC so that assets compare with ==.
func (s assetsSuite) get(t *testing.T, id ports.AssetID) ports.Asset {
	t.Helper()
	a, err := s.assets.GetAsset(t.Context(), id)
	if err != nil {
		t.Fatalf("GetAsset: %v", err)
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return a
}
