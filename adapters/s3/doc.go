// Package s3 implements ports.ObjectStore on Amazon S3 and S3-compatible servers
// (MinIO, versitygw, Ceph RGW, …) with aws-sdk-go-v2.
//
// # Overview
//
// New(ctx, Config) returns a *Store. Put streams a reader of unknown length into
// the bucket, Get reads an object or a byte range of it, Stat describes it, and
// Delete removes it (deleting a missing object succeeds). List yields the objects
// under a prefix in key order, one ListObjectsV2 page at a time (the credentials
// need s3:ListBucket), and
// RemoveAbandoned aborts the multipart uploads that Puts of killed processes left
// open (see "Failed and cancelled uploads"). HealthCheck verifies the
// bucket and credentials with HeadBucket. Package returns a samber/do package for
// hosts that use that injector.
//
// # Keys
//
// The service derives every key from IDs, never from user input:
//
//	backups/{order_id}/{backup_id}.tar.gz
//
// The store prepends Config.KeyPrefix (for example "savepoint/" to share a
// bucket) and otherwise uses the key unchanged. Keys must be relative
// slash-separated paths without empty, "." or ".." segments, at most 1024 bytes;
// anything else is rejected before a request is made, so a bug cannot write
// outside the key space (the directory-backed store in adapters/local applies the
// same rules).
//
// # Uploads and memory
//
// Put reads the stream into part buffers of Config.PartSizeBytes (default 16 MiB,
// at least 5 MiB as S3 requires). If the stream ends inside the first buffer the
// object is sent with one PutObject; otherwise a multipart upload is created and
// each full buffer is sent as a part while the next is read, with at most
// Config.Concurrency buffers (default 2) in use. A Put therefore never
// holds more than PartSizeBytes × Concurrency bytes of object data, whatever the
// object's size (32 MiB with the defaults), and the largest object it can store
// is PartSizeBytes × 10,000 parts (156 GiB with the defaults).
//
// On Linux the part buffers are mapped outside the Go heap and kept by the Store
// for its next Put, their pages returned to the operating system in between. On
// the heap they would count towards the garbage collector's goal, which
// (GOGC=100) lets the process grow by as much again before it collects; the
// host's RSS would then keep rising for the first gigabytes of every stream and
// look as if it depended on the object's size.
//
// The upload loop is this package's own rather than the SDK's transfer manager,
// so that both promises, the memory bound and an abort that outlives a
// cancelled context and keeps the cause visible to errors.Is, are explicit in a
// few lines of code.
//
// # Failed and cancelled uploads
//
// S3 makes an object visible only when its upload completes, so a failed Put never
// exposes a partial object and leaves any previous object under the key
// untouched. Cancelling a Put's context stops it reading and sending new
// requests at once, but requests already on the wire are allowed to finish (for
// up to Config.AbortTimeout): a server may still carry out a request whose client
// has gone, and a part stored after the abort recreates the upload (seen with
// versitygw in this package's tests; AWS documents that an abort may need
// repeating for the same reason). When a multipart Put fails (the reader's error,
// a cancelled context, a storage error), it then aborts the multipart upload on a
// fresh context (context.WithoutCancel plus Config.AbortTimeout, default 30 s),
// retrying with backoff so that an upload that failed because the server was
// briefly unreachable is still cleaned up when it comes back. If the abort still
// fails, Put returns errors.Join of the original error and the abort's (which
// names the upload ID), and logs it.
//
// A process that crashes mid-upload cannot abort. Delete aborts the multipart
// uploads open under its key, and the service's stale-operation recovery deletes
// the key of every create it settles, so a replica that recovers the crashed
// create removes its parts. RemoveAbandoned aborts every upload under a prefix
// that was initiated before a given time, for a sweep that finds what recovery
// missed. S3 cannot tell the upload of a killed process from one still being
// written by another replica, so that time is what protects a running Put: the
// caller passes one no running Put can have started before. Both list uploads
// with ListMultipartUploads; credentials without s3:ListBucketMultipartUploads
// (AccessDenied) or a server without it (NotImplemented) make them log a warning
// and leave the uploads alone.
//
// As the backstop (recovery and sweeps that never ran, credentials that may not
// list uploads, a clock far off the server's), configure the bucket to remove
// incomplete multipart uploads after a day with the lifecycle rule
// AbortIncompleteMultipartUpload, for example with
// `aws s3api put-bucket-lifecycle-configuration --bucket BUCKET
// --lifecycle-configuration file://lifecycle.json` and this lifecycle.json:
//
//	{
//	  "Rules": [
//	    {
//	      "ID": "abort-incomplete-savepoint-uploads",
//	      "Status": "Enabled",
//	      "Filter": {"Prefix": "backups/"},
//	      "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}
//	    }
//	  ]
//	}
//
// (Prefix the filter with Config.KeyPrefix if you set one.) MinIO accepts the same
// document through `mc ilm import`; servers without lifecycle support need a
// periodic ListMultipartUploads/AbortMultipartUpload sweep instead.
//
// # Checksums
//
// Since early 2025 (service/s3 v1.73.0) the SDK's default is
// RequestChecksumCalculation=WhenSupported: every PutObject and UploadPart carries
// a CRC32 checksum, which over HTTPS is sent as a trailer of an aws-chunked
// request body (Content-Encoding: aws-chunked, x-amz-content-sha256:
// STREAMING-UNSIGNED-PAYLOAD-TRAILER, x-amz-trailer: x-amz-checksum-crc32) and
// over plain HTTP as an x-amz-checksum-crc32 header computed before sending. Some
// S3-compatible servers and proxies (older Ceph RGW releases, Google Cloud
// Storage's XML API and others) reject aws-chunked trailers or the new headers.
//
// The store therefore defaults to Config.Checksum = ChecksumNone, which sets
// RequestChecksumCalculation and ResponseChecksumValidation to WhenRequired: the
// request bodies are plain. Integrity does not suffer: over plain HTTP SigV4 signs
// each body's SHA-256 (the server rejects a body that does not match); over HTTPS
// TLS protects it in transit; and end to end the service records the archive's
// SHA-256 when it is created and verifies it before every restore. Choose
// ChecksumCRC32 (the SDK's behaviour), ChecksumCRC32C or ChecksumSHA256 to have
// S3 store a checksum with the object too; the store then sets the algorithm on
// PutObject, CreateMultipartUpload and each UploadPart, and repeats the part
// checksums in CompleteMultipartUpload. The setting is applied to the client
// explicitly, so the environment (AWS_REQUEST_CHECKSUM_CALCULATION) cannot
// change it.
//
// # Credentials
//
// Config.Credentials set: a static key, and the client is built from the Config
// alone (no environment or shared config files are read). Nil: the SDK's default
// chain (environment, shared files, SSO, web identity, ECS and EC2 roles). The
// store never logs credentials: the SDK's request, response and signing logs
// stay off, and Credentials redact the secret when printed, logged or encoded
// as JSON.
//
// # Errors
//
// Get and Stat return errors wrapping ports.ErrNotFound for a missing object, Get
// returns ports.ErrInvalidRange for a range outside the object (the port's
// ranges are strict: a range running past the end is an error, not a shorter
// read; S3 itself would clamp it). Other failures of S3 wrap ports.ErrStorage. A
// Put that fails because its reader failed or its context ended returns that
// error (errors.Is works) without ErrStorage.
//
// # Testing
//
// The tests run against versitygw on loopback, over HTTP and over TLS (see
// internal/testenv, scripts/install-tool-versitygw.sh), or against the server
// that SAVEPOINT_TEST_S3_ENDPOINT names.
package s3
