package s3

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// List yields the objects whose keys begin with prefix, in key order (S3 lists
// keys in UTF-8 byte order), one ListObjectsV2 page at a time, so memory does not
// grow with the number of objects. An unfinished Put is a multipart upload, which
// S3 does not list. Objects under Config.KeyPrefix whose names are not valid keys
// (a console's "folder/" marker, say) are skipped: no other method could address
// them. Failures wrap ErrStorage; the end of ctx is returned as it is.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[ports.ObjectInfo, error] {
	return func(yield func(ports.ObjectInfo, error) bool) {
		in := &s3.ListObjectsV2Input{Bucket: aws.String(s.cfg.Bucket), Prefix: aws.String(s.cfg.KeyPrefix + prefix)}
		if s.listPageSize > 0 {
			in.MaxKeys = aws.Int32(s.listPageSize)
		}
		p := s3.NewListObjectsV2Paginator(s.client, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(ports.ObjectInfo{}, s.listError(ctx, "list", prefix, err))
				return
			}
			for _, o := range page.Contents {
				if err := ctx.Err(); err != nil {
					yield(ports.ObjectInfo{}, fmt.Errorf("list %q: %w", prefix, err))
					return
				}
				key, ok := strings.CutPrefix(aws.ToString(o.Key), s.cfg.KeyPrefix)
				if !ok || validateKey(key) != nil {
					continue
				}
				info := ports.ObjectInfo{Key: key, SizeBytes: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)}
				if !yield(info, nil) {
					return
				}
			}
		}
	}
}

// listError wraps a failed listing request: with ErrStorage, unless it failed
// because ctx ended.
func (s *Store) listError(ctx context.Context, op, prefix string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s %q: %w", op, prefix, context.Cause(ctx))
	}
	return fmt.Errorf("%w: %s %q: %w", ports.ErrStorage, op, prefix, err)
}

// RemoveAbandoned aborts the multipart uploads under prefix that were initiated
// before the given time, and returns how many it aborted. S3 cannot tell an
// upload whose process was killed from one still running elsewhere, so before
// is what keeps a running Put safe: pass a time no Put that is still running
// can have started before (the start of the oldest operation still in
// progress, or an hour ago when Puts are known to take less).
//
// The times compared are the server's (the upload's Initiated) and the
// caller's, so clock skew between the two narrows or widens the margin.
// Credentials that may not list multipart uploads (AccessDenied) and servers
// without the call (NotImplemented) leave the uploads to the bucket's
// AbortIncompleteMultipartUpload lifecycle rule, with a warning, and 0 is
// returned without an error, as Delete does.
func (s *Store) RemoveAbandoned(ctx context.Context, prefix string, before time.Time) (int, error) {
	pages := s.uploadPages(prefix)
	removed := 0
	// A page's uploads are aborted only once the next page has been fetched:
	// the next request names the page's last upload as its marker, and a
	// server may reject a marker naming an upload that no longer exists.
	var pending []types.MultipartUpload
	for !pages.done {
		page, err := pages.next(ctx)
		if code := errorCode(err); code == "AccessDenied" || code == "NotImplemented" {
			s.log.LogAttrs(ctx, slog.LevelWarn, "s3: cannot list multipart uploads; abandoned uploads are left to the bucket lifecycle rule",
				slog.String("prefix", s.cfg.KeyPrefix+prefix), slog.String("code", code))
			return removed, nil
		}
		if err != nil {
			return removed, s.listError(ctx, "remove abandoned uploads under", prefix, err)
		}
		n, err := s.abortAll(ctx, prefix, pending)
		removed += n
		if err != nil {
			return removed, err
		}
		pending = pending[:0]
		for _, u := range page.Uploads {
			if aws.ToTime(u.Initiated).Before(before) {
				pending = append(pending, u)
			}
		}
	}
	n, err := s.abortAll(ctx, prefix, pending)
	return removed + n, err
}

// uploadPager lists the multipart uploads under a prefix a page at a time.
type uploadPager struct {
	s    *Store
	in   s3.ListMultipartUploadsInput
	done bool
	// keyOnly: the server rejected an upload-ID marker, so later pages are
	// asked for with the key marker alone.
	keyOnly bool
}

func (s *Store) uploadPages(prefix string) *uploadPager {
	p := &uploadPager{s: s, in: s3.ListMultipartUploadsInput{Bucket: aws.String(s.cfg.Bucket), Prefix: aws.String(s.cfg.KeyPrefix + prefix)}}
	if s.listPageSize > 0 {
		p.in.MaxUploads = aws.Int32(s.listPageSize)
	}
	return p
}

// next fetches the next page. S3 continues a listing after the key and upload
// ID markers of the previous page. versitygw drops the marker's key before it
// looks for the upload ID among the rest, never finds it and answers
// InvalidArgument; asked again with the key marker alone, it (and S3) lists the
// keys after it, which skips the boundary key's later uploads in this pass
// rather than ending the listing.
func (p *uploadPager) next(ctx context.Context) (*s3.ListMultipartUploadsOutput, error) {
	out, err := p.s.client.ListMultipartUploads(ctx, &p.in)
	if errorCode(err) == "InvalidArgument" && p.in.UploadIdMarker != nil {
		p.keyOnly = true
		p.in.UploadIdMarker = nil
		out, err = p.s.client.ListMultipartUploads(ctx, &p.in)
	}
	if err != nil {
		return nil, err
	}
	key, id := aws.ToString(out.NextKeyMarker), aws.ToString(out.NextUploadIdMarker)
	// A server that repeats its markers would otherwise be asked forever.
	if !aws.ToBool(out.IsTruncated) || key == "" ||
		(key == aws.ToString(p.in.KeyMarker) && (p.keyOnly || id == aws.ToString(p.in.UploadIdMarker))) {
		p.done = true
		return out, nil
	}
	p.in.KeyMarker = aws.String(key)
	if !p.keyOnly && id != "" {
		p.in.UploadIdMarker = aws.String(id)
	}
	return out, nil
}

// abortAll aborts uploads and returns how many it aborted. An upload already
// gone (completed or aborted since it was listed) is not counted.
func (s *Store) abortAll(ctx context.Context, prefix string, uploads []types.MultipartUpload) (int, error) {
	aborted := 0
	for _, u := range uploads {
		_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(s.cfg.Bucket), Key: u.Key, UploadId: u.UploadId,
		})
		if errorCode(err) == "NoSuchUpload" {
			continue
		}
		if err != nil {
			err = fmt.Errorf("abort multipart upload %s of %q: %w", aws.ToString(u.UploadId), aws.ToString(u.Key), err)
			return aborted, s.listError(ctx, "remove abandoned uploads under", prefix, err)
		}
		aborted++
		s.log.LogAttrs(ctx, slog.LevelInfo, "s3: aborted an abandoned multipart upload",
			slog.String("key", aws.ToString(u.Key)), slog.String("upload_id", aws.ToString(u.UploadId)),
			slog.Time("initiated", aws.ToTime(u.Initiated)))
	}
	return aborted, nil
}
