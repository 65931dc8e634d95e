// Package s3 keeps blobs in an Amazon S3 bucket or an S3-compatible one
// (Cloudflare R2, MinIO and others) through the official SDK.
//
// The client is built from config.S3 alone: static credentials, the region,
// an optional endpoint and path-style addressing. No shared config file
// (~/.aws), environment variable, instance role or SSO session is consulted.
// The SDK's standard retries apply (3 attempts with backoff); an upload from
// a reader that cannot seek is sent once, since its bytes cannot be read
// again.
//
// Cloudflare R2 (AWS_* are the variables config.Load reads):
//
//	AWS_BUCKET_NAME=my-bucket
//	AWS_REGION=auto
//	AWS_ENDPOINT_URL=https://<account-id>.r2.cloudflarestorage.com
//	AWS_FORCE_PATH_STYLE=true
//	AWS_ACCESS_KEY_ID=<R2 access key id>
//	AWS_SECRET_ACCESS_KEY=<R2 secret access key>
//
// which is, in Go:
//
//	st, err := s3.New(ctx, config.S3{
//		Bucket:          "my-bucket",
//		Region:          "auto",
//		Endpoint:        "https://<account-id>.r2.cloudflarestorage.com",
//		ForcePathStyle:  true,
//		AccessKeyID:     "<R2 access key id>",
//		SecretAccessKey: "<R2 secret access key>",
//	}, nil)
//
// Uploads are single PutObject requests (S3 takes up to 5 GiB that way) with
// the exact Content-Length, streamed without buffering. The SDK's optional
// request checksums are turned off (they are computed only where the API
// requires them), because their aws-chunked encoding is refused or mangled
// by several S3-compatible stores; the payload is signed as
// UNSIGNED-PAYLOAD when it cannot be read twice, which is also what the SDK
// does by itself over HTTPS.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lcgo/lcgo/shared/blob"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
)

// DefaultContentType is stored for an object put without a type.
const DefaultContentType = "application/octet-stream"

// MaxURLTTL is the longest lifetime of a presigned URL that SigV4 allows.
const MaxURLTTL = 7 * 24 * time.Hour

// Options adjust a Store beyond what config.S3 says.
type Options struct {
	// Encrypt asks for server-side encryption with S3-managed keys
	// (x-amz-server-side-encryption: AES256) on every Put. AWS encrypts
	// new objects this way anyway; sending it satisfies bucket policies
	// that demand the header.
	Encrypt bool
	// Clock dates presigned URLs; the system clock when nil.
	Clock librechat.Clock
}

// DefaultOptions are the options New uses for cfg: Encrypt is on, except
// for a Cloudflare R2 endpoint (*.r2.cloudflarestorage.com), which lists
// the header as not implemented and encrypts every object at rest itself.
func DefaultOptions(cfg config.S3) Options {
	return Options{Encrypt: !IsR2Endpoint(cfg.Endpoint)}
}

// IsR2Endpoint reports whether endpoint is a Cloudflare R2 S3 endpoint.
func IsR2Endpoint(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	return strings.HasSuffix(h, ".r2.cloudflarestorage.com")
}

// Store is a blob.Store over one bucket. It is safe for concurrent use.
type Store struct {
	client  *awss3.Client
	presign *awss3.PresignClient
	bucket  string
	encrypt bool
}

var _ blob.Store = (*Store)(nil)

// New returns a store for the bucket cfg names, with DefaultOptions. hc
// sends the requests (the SDK's default client when nil). ctx is not kept:
// nothing is sent until the first call.
func New(ctx context.Context, cfg config.S3, hc *http.Client) (*Store, error) {
	return NewWithOptions(ctx, cfg, hc, DefaultOptions(cfg))
}

// NewWithOptions is New with explicit options.
func NewWithOptions(ctx context.Context, cfg config.S3, hc *http.Client, opts Options) (*Store, error) {
	if missing := Missing(cfg); len(missing) > 0 {
		return nil, fmt.Errorf("s3: missing %s", strings.Join(missing, ", "))
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("s3: AWS_ENDPOINT_URL %q is not an http(s) URL", cfg.Endpoint)
		}
	}
	o := awss3.Options{
		Region:       cfg.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken),
		UsePathStyle: cfg.ForcePathStyle,

		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if cfg.Endpoint != "" {
		o.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	if hc != nil {
		o.HTTPClient = hc
	}
	client := awss3.New(o)
	presign := awss3.NewPresignClient(client, func(po *awss3.PresignOptions) {
		if opts.Clock != nil {
			po.Presigner = clockPresigner{
				signer: v4.NewSigner(func(so *v4.SignerOptions) { so.DisableURIPathEscaping = true }),
				clock:  opts.Clock,
			}
		}
	})
	return &Store{client: client, presign: presign, bucket: cfg.Bucket, encrypt: opts.Encrypt}, nil
}

// Missing lists the settings cfg lacks, by the names of their environment
// variables.
func Missing(cfg config.S3) []string {
	var m []string
	if cfg.Bucket == "" {
		m = append(m, "AWS_BUCKET_NAME")
	}
	if cfg.Region == "" {
		m = append(m, "AWS_REGION")
	}
	if cfg.AccessKeyID == "" {
		m = append(m, "AWS_ACCESS_KEY_ID")
	}
	if cfg.SecretAccessKey == "" {
		m = append(m, "AWS_SECRET_ACCESS_KEY")
	}
	return m
}

// clockPresigner dates presigned URLs with its clock.
type clockPresigner struct {
	signer *v4.Signer
	clock  librechat.Clock
}

func (p clockPresigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return p.signer.PresignHTTP(ctx, creds, r, payloadHash, service, region, p.clock.Now(), optFns...)
}

// Put uploads the object in one PutObject request.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	const op = "s3.Put"
	if err := blob.CheckKey(key); err != nil {
		return err
	}
	if size < 0 {
		return &librechat.Error{Kind: librechat.KindInvalid, Op: op, Message: "the size is negative", Err: blob.ErrSize}
	}
	if err := ctx.Err(); err != nil {
		return librechat.Wrap(librechat.KindOther, op, err)
	}
	if contentType == "" {
		contentType = DefaultContentType
	}
	body, seekable, err := bodyOf(r, size)
	if err != nil {
		return err
	}
	if size == 0 && !seekable {
		// No body is sent for an empty object: check here that r is empty.
		errc := make(chan error, 1)
		go func() {
			_, err := io.Copy(io.Discard, body)
			errc <- err
		}()
		select {
		case err := <-errc:
			if err != nil {
				if librechat.KindOf(err) == librechat.KindOther {
					err = librechat.Wrap(librechat.KindOther, op, err)
				}
				return err
			}
		case <-ctx.Done():
			return librechat.Wrap(librechat.KindOther, op, ctx.Err())
		}
		body, seekable = bytes.NewReader(nil), true
	}
	var optFns []func(*awss3.Options)
	var copyErr func() error
	if !seekable {
		// The bytes are read once, in a goroutine of ours: the HTTP
		// transport waits for its body reads to return, so a blocked
		// reader would hold the request past its context otherwise. It
		// cannot be sent again, so the SDK makes one attempt, signed as
		// UNSIGNED-PAYLOAD.
		src := body
		pr, pw := io.Pipe()
		errc := make(chan error, 1)
		go func() {
			_, err := io.Copy(pw, src)
			errc <- err // before the request can see it end
			pw.CloseWithError(err)
		}()
		stop := context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
		defer stop()
		defer pr.Close()
		body = struct{ io.Reader }{pr} // a bare *io.PipeReader would be sent chunked
		copyErr = func() error {
			select {
			case err := <-errc:
				return err
			default:
				return nil
			}
		}
		optFns = append(optFns, func(o *awss3.Options) {
			o.RetryMaxAttempts = 1
			o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
		})
	}
	in := &awss3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          body,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String(contentType),
	}
	if s.encrypt {
		in.ServerSideEncryption = types.ServerSideEncryptionAes256
	}
	if _, err := s.client.PutObject(ctx, in, optFns...); err != nil {
		if copyErr != nil {
			if cerr := copyErr(); errors.Is(cerr, blob.ErrSize) {
				return cerr
			}
		}
		return s.mapError(ctx, op, key, err)
	}
	return nil
}

// bodyOf returns a request body that yields exactly size bytes of r. A
// reader that can seek and read at offsets (a file, an uploaded multipart
// file, a bytes.Reader) is checked up front and can be read again by a
// retry; any other reader is wrapped in blob.ExactReader.
func bodyOf(r io.Reader, size int64) (io.Reader, bool, error) {
	ra, okAt := r.(io.ReaderAt)
	sk, okSeek := r.(io.Seeker)
	if !okAt || !okSeek {
		return blob.ExactReader(r, size), false, nil
	}
	cur, err := sk.Seek(0, io.SeekCurrent)
	if err != nil {
		return blob.ExactReader(r, size), false, nil
	}
	end, err := sk.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, false, librechat.Wrap(librechat.KindOther, "s3.Put", err)
	}
	if _, err := sk.Seek(cur, io.SeekStart); err != nil {
		return nil, false, librechat.Wrap(librechat.KindOther, "s3.Put", err)
	}
	switch n := end - cur; {
	case n < size:
		return nil, false, &librechat.Error{Kind: librechat.KindInvalid, Op: "s3.Put", Message: "the body is shorter than its declared size", Err: blob.ErrSize}
	case n > size:
		return nil, false, &librechat.Error{Kind: librechat.KindInvalid, Op: "s3.Put", Message: "the body is longer than its declared size", Err: blob.ErrSize}
	}
	return io.NewSectionReader(ra, cur, size), true, nil
}

// Get opens the object; the caller closes the returned reader.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, *blob.Info, error) {
	const op = "s3.Get"
	if err := blob.CheckKey(key); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, librechat.Wrap(librechat.KindOther, op, err)
	}
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, nil, s.mapError(ctx, op, key, err)
	}
	info := &blob.Info{
		Size:        aws.ToInt64(out.ContentLength),
		ContentType: aws.ToString(out.ContentType),
		ModTime:     aws.ToTime(out.LastModified),
	}
	if info.ContentType == "" {
		info.ContentType = DefaultContentType
	}
	return out.Body, info, nil
}

// Delete removes the object; S3 reports success for a missing key too.
func (s *Store) Delete(ctx context.Context, key string) error {
	const op = "s3.Delete"
	if err := blob.CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return librechat.Wrap(librechat.KindOther, op, err)
	}
	_, err := s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		if err := s.mapError(ctx, op, key, err); !librechat.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// URL presigns a GetObject request valid for ttl (at least a second, at
// most MaxURLTTL; whole seconds). With a filename the response carries
// Content-Disposition: attachment and that name (see
// blob.ContentDisposition). The URL is not checked against the bucket: for
// a missing key it answers 404. Signed with temporary credentials
// (AWS_SESSION_TOKEN), it stops working when they expire, whatever ttl says.
func (s *Store) URL(ctx context.Context, key string, ttl time.Duration, filename string) (string, error) {
	const op = "s3.URL"
	if err := blob.CheckKey(key); err != nil {
		return "", err
	}
	if ttl < time.Second || ttl > MaxURLTTL {
		e := librechat.E(librechat.KindInvalid, "a download URL lives from 1 second to 7 days, not %v", ttl)
		e.Op = op
		return "", e
	}
	in := &awss3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}
	if filename != "" {
		in.ResponseContentDisposition = aws.String(blob.ContentDisposition(filename))
	}
	req, err := s.presign.PresignGetObject(ctx, in, awss3.WithPresignExpires(ttl.Truncate(time.Second)))
	if err != nil {
		return "", s.mapError(ctx, op, key, err)
	}
	return req.URL, nil
}

// mapError classifies an SDK error: a missing key is KindNotFound, a
// throttled or failing service or an unreachable one KindUnavailable, a
// canceled context stays recognizable with errors.Is.
func (s *Store) mapError(ctx context.Context, op, key string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return librechat.Wrap(librechat.KindOther, op, cerr)
	}
	if errors.Is(err, blob.ErrSize) {
		var le *librechat.Error
		if errors.As(err, &le) {
			return le
		}
	}
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return notFound(op, key, err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return notFound(op, key, err)
		case "NoSuchBucket":
			return &librechat.Error{Kind: librechat.KindOther, Op: op, Message: fmt.Sprintf("the bucket %q does not exist", s.bucket), Err: err}
		case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout":
			return librechat.Wrap(librechat.KindUnavailable, op, err)
		}
	}
	var se *smithyhttp.RequestSendError
	if errors.As(err, &se) {
		// No response at all: the service could not be reached.
		return librechat.Wrap(librechat.KindUnavailable, op, err)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch code := re.HTTPStatusCode(); {
		case code == http.StatusNotFound:
			return notFound(op, key, err)
		case code == http.StatusTooManyRequests || code >= 500:
			return librechat.Wrap(librechat.KindUnavailable, op, err)
		}
		return librechat.Wrap(librechat.KindOther, op, err)
	}
	return librechat.Wrap(librechat.KindOther, op, err)
}

func notFound(op, key string, err error) error {
	e := librechat.E(librechat.KindNotFound, "no object %q", key)
	e.Op, e.Err = op, err
	return e
}
