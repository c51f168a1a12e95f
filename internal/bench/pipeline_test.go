//go:build linux

package bench_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/local"
	"github.com/savepoint-dev/savepoint/adapters/s3"
	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/internal/bench"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

var (
	pipelineSize  = flag.String("bench.pipeline-size", "256MiB", "dataset size of the BenchmarkPipeline benchmarks")
	s3PartSize    = flag.String("bench.s3-part-size", "", "s3.Config.PartSizeBytes of the BenchmarkPipeline benchmarks (default: the adapter's)")
	s3Concurrency = flag.Int("bench.s3-concurrency", 0, "s3.Config.Concurrency of the BenchmarkPipeline benchmarks (default: the adapter's)")
	s3TLS         = flag.Bool("bench.s3-tls", true, "serve S3 over HTTPS in TestThroughput and the BenchmarkPipeline benchmarks, as production endpoints are (see bench.Config.S3TLS); false measures plain HTTP")
)

// pipeline is the backup service with the real sidecar server, S3 adapter and
// versitygw, all but versitygw in this process, so that one CPU profile
// (-cpuprofile) covers the sidecar, the service and the S3 SDK together. The
// repository, assets and catalog are adapters/local's: PostgreSQL sees a
// handful of queries per backup and would only add noise.
type pipeline struct {
	svc                *backup.Service
	user               ports.UserID
	order              ports.OrderID
	provision          ports.ProvisionID
	data, temp         string
	objects            ports.ObjectStore
	bytes              int64
	pollEvery, timeout time.Duration
}

// sidecarAge says which of the sidecar's streaming calls a pipeline's sidecar
// has: the newest has both; older ones answer Unimplemented, as a sidecar
// built before the call did.
type sidecarAge struct {
	noStreamArchive, noRestoreArchive bool
}

func newPipeline(b *testing.B, age sidecarAge) *pipeline {
	b.Helper()
	size, err := bench.ParseSize(*pipelineSize)
	if err != nil {
		b.Fatalf("-bench.pipeline-size: %v", err)
	}
	cfg := bench.Config{Size: size, Seed: 1}
	if *cache != "" {
		cfg.CacheDir = inRepo(repoRoot(b), *cache)
	}
	data, _, ds := bench.LoadDataset(b, cfg)
	temp := filepath.Join(b.TempDir(), "tmp")
	if err := os.Mkdir(temp, 0o700); err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	srv, err := server.New(server.Options{
		Roots: []string{data, temp}, ArchiveDir: temp, StateDir: filepath.Join(b.TempDir(), "state"), Secret: "bench", Logger: quiet,
		DisableStreamArchive: age.noStreamArchive, DisableRestoreArchive: age.noRestoreArchive,
	})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(srv.Stop)
	dialer, err := sidecar.NewDialer(func(context.Context, ports.Provision) (sidecar.Endpoint, error) {
		return sidecar.Endpoint{Address: ln.Addr().String(), Secret: "bench"}, nil
	}, sidecar.ClientOptions{})
	if err != nil {
		b.Fatal(err)
	}

	gw := testenv.S3(b, testenv.S3Options{TLS: *s3TLS})
	s3cfg := s3.Config{
		Bucket: gw.Bucket, Endpoint: gw.Endpoint, Region: gw.Region, UsePathStyle: gw.PathStyle,
		Credentials: &s3.Credentials{AccessKeyID: gw.AccessKey, SecretAccessKey: gw.SecretKey},
		Concurrency: *s3Concurrency, RootCAs: gw.RootCAs,
	}
	if *s3PartSize != "" {
		if s3cfg.PartSizeBytes, err = bench.ParseSize(*s3PartSize); err != nil {
			b.Fatalf("-bench.s3-part-size: %v", err)
		}
	}
	store, err := s3.New(context.Background(), s3cfg)
	if err != nil {
		b.Fatal(err)
	}

	ctx := context.Background()
	p := &pipeline{
		user: ports.NewUserID(), order: ports.NewOrderID(), provision: ports.NewProvisionID(),
		data: data, temp: temp, objects: store, bytes: ds.Bytes, pollEvery: 5 * time.Millisecond, timeout: 10 * time.Minute,
	}
	cat := local.NewCatalog()
	if err := cat.CreateOrder(ctx, ports.Order{ID: p.order, OwnerID: p.user}); err != nil {
		b.Fatal(err)
	}
	for _, prov := range []ports.Provision{
		{ID: p.provision, OrderID: p.order, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer},
		{ID: ports.NewProvisionID(), OrderID: p.order, Kind: ports.KindDeployment, Role: ports.RoleSidecar},
	} {
		if err := cat.CreateProvision(ctx, prov); err != nil {
			b.Fatal(err)
		}
	}
	p.svc, err = backup.NewService(backup.Deps{
		Repository: local.NewRepository(), Orders: cat, Permissions: cat,
		Assets: local.NewAssets(), Objects: store, Sidecars: dialer,
	}, backup.Options{DataDir: data, TempDir: temp, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.svc.Shutdown(context.Background()) })
	return p
}

// wait polls the backup until it is neither creating nor restoring and fails
// unless it is ready without error.
func (p *pipeline) wait(b *testing.B, id ports.BackupID) ports.Backup {
	b.Helper()
	deadline := time.Now().Add(p.timeout)
	for {
		v, err := p.svc.GetBackup(context.Background(), p.user, p.order, p.provision, id)
		if err != nil {
			b.Fatal(err)
		}
		if v.Status == ports.StatusReady && v.Error == "" {
			return v
		}
		if v.Status != ports.StatusCreating && v.Status != ports.StatusRestoring {
			b.Fatalf("backup %s ended %s: %s", id, v.Status, v.Error)
		}
		if time.Now().After(deadline) {
			b.Fatalf("backup %s still %s after %v", id, v.Status, p.timeout)
		}
		time.Sleep(p.pollEvery)
	}
}

func (p *pipeline) create(b *testing.B) ports.Backup {
	b.Helper()
	v, err := p.svc.CreateBackup(context.Background(), p.user, p.order, p.provision, backup.CreateRequest{})
	if err != nil {
		b.Fatal(err)
	}
	return p.wait(b, v.ID)
}

// BenchmarkPipelineCreate is one create from request to ready, as the service
// runs it, on each path; B/s is dataset bytes. Profile it with
//
//	go test -run '^$' -bench PipelineCreate -benchtime 3x -cpuprofile cpu.out ./internal/bench
func BenchmarkPipelineCreate(b *testing.B) {
	for _, path := range []struct {
		name      string
		streaming bool
	}{{"streaming", true}, {"fallback", false}} {
		b.Run(path.name, func(b *testing.B) {
			p := newPipeline(b, sidecarAge{noStreamArchive: !path.streaming})
			b.SetBytes(p.bytes)
			b.ReportAllocs()
			for b.Loop() {
				v := p.create(b)
				b.StopTimer()
				if err := p.svc.DeleteBackup(context.Background(), p.user, p.order, p.provision, v.ID); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkPipelineRestore is one restore from request to ready, on each path:
// streamed (download, extract and verify at once) and staged (download and
// verify into the sidecar's temp directory, then extract). B/s is dataset bytes.
func BenchmarkPipelineRestore(b *testing.B) {
	for _, path := range []struct {
		name   string
		staged bool
	}{{"streamed", false}, {"staged", true}} {
		b.Run(path.name, func(b *testing.B) {
			p := newPipeline(b, sidecarAge{noRestoreArchive: path.staged})
			v := p.create(b)
			b.SetBytes(p.bytes)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.svc.RestoreBackup(context.Background(), p.user, p.order, p.provision, v.ID); err != nil {
					b.Fatal(err)
				}
				p.wait(b, v.ID)
			}
		})
	}
}

// BenchmarkPipelineDownload is the restore's first leg alone: the archive read
// from S3 and thrown away, in one GET and in several ranged GETs at once. A
// restore gains from ranged GETs only if one stream is slower than the
// extraction; this says whether it is. B/s is archive bytes.
func BenchmarkPipelineDownload(b *testing.B) {
	p := newPipeline(b, sidecarAge{})
	v := p.create(b)
	key := backup.ObjectKey(p.order, v.ID)
	// download reads one range of the archive, or all of it when rng is nil.
	download := func(rng *ports.ByteRange) error {
		r, _, err := p.objects.Get(context.Background(), key, rng)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(io.Discard, r)
		return err
	}
	for _, streams := range []int64{1, 4} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			b.SetBytes(v.SizeBytes)
			for b.Loop() {
				if streams == 1 {
					if err := download(nil); err != nil {
						b.Fatal(err)
					}
					continue
				}
				var wg sync.WaitGroup
				errs := make([]error, streams)
				part := (v.SizeBytes + streams - 1) / streams
				for i := range streams {
					rng := &ports.ByteRange{Offset: i * part, Length: min(part, v.SizeBytes-i*part)}
					wg.Go(func() { errs[i] = download(rng) })
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
