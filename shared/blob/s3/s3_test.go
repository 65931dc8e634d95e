package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/blob"
	"github.com/lcgo/lcgo/shared/blob/blobtest"
	"github.com/lcgo/lcgo/shared/blob/s3"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
)

func testConfig(endpoint, region string) config.S3 {
	return config.S3{
		Bucket:          testBucket,
		Region:          region,
		AccessKeyID:     testKeyID,
		SecretAccessKey: testSecret,
		Endpoint:        endpoint,
		ForcePathStyle:  true,
	}
}

func newStore(t *testing.T, cfg config.S3, hc *http.Client, opts s3.Options) *s3.Store {
	t.Helper()
	st, err := s3.NewWithOptions(t.Context(), cfg, hc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// signedServer is gofakes3 behind the SigV4 verifier on plain HTTP.
func signedServer(t *testing.T, region string) (*verifier, *httptest.Server) {
	t.Helper()
	v := newVerifier(newFake(t), region)
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		for _, r := range v.rejections() {
			t.Errorf("the verifier rejected %s", r)
		}
	})
	return v, srv
}

func TestConformanceGofakes3(t *testing.T) {
	srv := httptest.NewServer(newFake(t))
	t.Cleanup(srv.Close)
	st, err := s3.New(t.Context(), testConfig(srv.URL, "us-east-1"), srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	blobtest.Run(t, func(t *testing.T) blob.Store { return st })
}

func TestConformanceSigV4(t *testing.T) {
	v, srv := signedServer(t, "eu-west-3")
	st := newStore(t, testConfig(srv.URL, "eu-west-3"), srv.Client(), s3.Options{Encrypt: true})
	t.Cleanup(func() {
		var presigned, puts int
		for _, s := range v.seen() {
			if s.Presigned {
				presigned++
			}
			if s.Method == http.MethodPut {
				puts++
				if s.SSE != "AES256" {
					t.Errorf("PUT %s without server-side encryption", s.Path)
				}
			}
		}
		if presigned == 0 || puts == 0 {
			t.Errorf("the verifier saw %d presigned requests and %d PUTs", presigned, puts)
		}
	})
	blobtest.Run(t, func(t *testing.T) blob.Store { return st })
}

// An R2 configuration: https://<account>.r2.cloudflarestorage.com, region
// "auto", path-style, default options.
func TestConformanceR2Style(t *testing.T) {
	const host = "0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com"
	v := newVerifier(newFake(t), "auto")
	srv := newR2Server(t, host, v)
	hc := srv.client(t)
	cfg := testConfig("https://"+host, "auto")
	if s3.DefaultOptions(cfg).Encrypt {
		t.Error("DefaultOptions asks R2 for server-side encryption")
	}
	st, err := s3.New(t.Context(), cfg, hc)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.URL(t.Context(), "any/key", time.Minute, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://" + host + "/" + testBucket + "/any/key?"; !strings.HasPrefix(u, want) {
		t.Errorf("URL = %s, want a path-style URL starting %s", u, want)
	}
	t.Cleanup(func() {
		for _, r := range v.rejections() {
			t.Errorf("the verifier rejected %s", r)
		}
		all := v.seen()
		if len(all) == 0 {
			t.Error("no request reached the R2 endpoint")
		}
		for _, s := range all {
			if s.Host != host || !strings.HasPrefix(s.Path, "/"+testBucket+"/") || s.Region != "auto" || s.SSE != "" {
				t.Errorf("request %+v: want host %s, path-style, region auto, no SSE header", s, host)
			}
		}
	})
	blobtest.Suite{HTTPClient: hc}.Run(t, func(t *testing.T) blob.Store { return st })
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func TestPresignedURL(t *testing.T) {
	v, srv := signedServer(t, "us-east-1")
	ctx := t.Context()
	t0 := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	st := newStore(t, testConfig(srv.URL, "us-east-1"), srv.Client(), s3.Options{Clock: fixedClock{t0}})
	for key, body := range map[string]string{"files/u1/doc": "the document", "files/u1/other": "another"} {
		if err := st.Put(ctx, key, strings.NewReader(body), int64(len(body)), "application/pdf"); err != nil {
			t.Fatal(err)
		}
	}
	const filename = "résumé 2024 \"final\".pdf"
	raw, err := st.URL(ctx, "files/u1/doc", 10*time.Minute, filename)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if got := q.Get("X-Amz-Expires"); got != "600" {
		t.Errorf("X-Amz-Expires = %q, want 600", got)
	}
	if got := q.Get("X-Amz-Date"); got != t0.Format(amzTime) {
		t.Errorf("X-Amz-Date = %q, want %s (the store's clock)", got, t0.Format(amzTime))
	}
	if got, want := q.Get("response-content-disposition"), blob.ContentDisposition(filename); got != want {
		t.Errorf("response-content-disposition = %q, want %q", got, want)
	}
	if u.Path != "/"+testBucket+"/files/u1/doc" {
		t.Errorf("path = %q", u.Path)
	}

	get := func(raw string) (int, string, http.Header) {
		t.Helper()
		resp, err := srv.Client().Get(raw)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	at := func(d time.Duration) { v.setNow(func() time.Time { return t0.Add(d) }) }

	at(time.Minute)
	code, body, hdr := get(raw)
	if code != http.StatusOK || body != "the document" {
		t.Fatalf("GET within the TTL = %d %q", code, body)
	}
	if got, want := hdr.Get("Content-Disposition"), blob.ContentDisposition(filename); got != want {
		t.Errorf("Content-Disposition = %q, want %q", got, want)
	}
	at(10*time.Minute - time.Second)
	if code, _, _ := get(raw); code != http.StatusOK {
		t.Errorf("GET a second before expiry = %d, want 200", code)
	}
	at(10*time.Minute + time.Second)
	if code, body, _ := get(raw); code != http.StatusForbidden || !strings.Contains(body, "expired") {
		t.Errorf("GET a second after expiry = %d %s, want 403 expired", code, body)
	}
	v.mu.Lock()
	v.rejected = nil
	v.mu.Unlock()

	at(time.Minute)
	tamper := map[string]func(u *url.URL){
		"another key": func(u *url.URL) { u.Path = "/" + testBucket + "/files/u1/other"; u.RawPath = "" },
		"another filename": func(u *url.URL) {
			q := u.Query()
			q.Set("response-content-disposition", blob.ContentDisposition("evil.html"))
			u.RawQuery = q.Encode()
		},
		"a longer TTL": func(u *url.URL) { setQuery(u, "X-Amz-Expires", "6000") },
		"a later date": func(u *url.URL) { setQuery(u, "X-Amz-Date", t0.Add(5*time.Minute).Format(amzTime)) },
		"an extra parameter": func(u *url.URL) {
			q := u.Query()
			q.Set("response-content-type", "text/html")
			u.RawQuery = q.Encode()
		},
		"a changed signature": func(u *url.URL) {
			sig := []byte(u.Query().Get("X-Amz-Signature"))
			sig[0] ^= 1
			setQuery(u, "X-Amz-Signature", string(sig))
		},
		"no signature": func(u *url.URL) {
			q := u.Query()
			q.Del("X-Amz-Signature")
			u.RawQuery = q.Encode()
		},
	}
	for name, f := range tamper {
		u2, _ := url.Parse(raw)
		f(u2)
		if code, body, _ := get(u2.String()); code != http.StatusForbidden {
			t.Errorf("URL with %s: %d %q, want 403", name, code, body)
		}
	}
	if n := len(v.rejections()); n != len(tamper) {
		t.Errorf("the verifier rejected %d tampered URLs, want %d", n, len(tamper))
	}
	v.mu.Lock()
	v.rejected = nil
	v.mu.Unlock()

	// TTL bounds and rounding.
	for _, ttl := range []time.Duration{0, -time.Minute, 500 * time.Millisecond, s3.MaxURLTTL + time.Second} {
		if _, err := st.URL(ctx, "files/u1/doc", ttl, ""); librechat.KindOf(err) != librechat.KindInvalid {
			t.Errorf("URL with ttl %v = %v, want kind invalid", ttl, err)
		}
	}
	for ttl, want := range map[time.Duration]string{s3.MaxURLTTL: "604800", 90*time.Second + 700*time.Millisecond: "90", time.Second: "1"} {
		raw, err := st.URL(ctx, "files/u1/doc", ttl, "")
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(raw)
		if got := u.Query().Get("X-Amz-Expires"); got != want {
			t.Errorf("ttl %v: X-Amz-Expires = %s, want %s", ttl, got, want)
		}
		if u.Query().Has("response-content-disposition") {
			t.Errorf("ttl %v: a disposition without a filename", ttl)
		}
	}
}

func setQuery(u *url.URL, k, v string) {
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
}

func TestWrongSecret(t *testing.T) {
	v, srv := signedServer(t, "us-east-1")
	cfg := testConfig(srv.URL, "us-east-1")
	good := newStore(t, cfg, srv.Client(), s3.Options{})
	if err := good.Put(t.Context(), "k", strings.NewReader("v"), 1, ""); err != nil {
		t.Fatal(err)
	}
	cfg.SecretAccessKey = "not-the-secret"
	bad := newStore(t, cfg, srv.Client(), s3.Options{})
	if err := bad.Put(t.Context(), "k2", strings.NewReader("v"), 1, ""); err == nil || librechat.IsNotFound(err) {
		t.Errorf("Put with a wrong secret = %v, want a signature error", err)
	}
	if _, _, err := bad.Get(t.Context(), "k"); err == nil || librechat.IsNotFound(err) {
		t.Errorf("Get with a wrong secret = %v, want a signature error", err)
	}
	raw, err := bad.URL(t.Context(), "k", time.Minute, "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Get(raw)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("URL signed with a wrong secret: %d, want 403", resp.StatusCode)
	}
	for _, r := range v.rejections() {
		if !strings.Contains(r, "SignatureDoesNotMatch") {
			t.Errorf("rejection %s, want SignatureDoesNotMatch", r)
		}
	}
	v.mu.Lock()
	v.rejected = nil
	v.mu.Unlock()
}

func TestEncryptionOption(t *testing.T) {
	for _, encrypt := range []bool{true, false} {
		v, srv := signedServer(t, "us-east-1")
		st := newStore(t, testConfig(srv.URL, "us-east-1"), srv.Client(), s3.Options{Encrypt: encrypt})
		if err := st.Put(t.Context(), "enc/k", strings.NewReader("v"), 1, "text/plain"); err != nil {
			t.Fatalf("encrypt=%v: %v", encrypt, err)
		}
		rc, _, err := st.Get(t.Context(), "enc/k")
		if err != nil {
			t.Fatalf("encrypt=%v: %v", encrypt, err)
		}
		rc.Close()
		want := ""
		if encrypt {
			want = "AES256"
		}
		for _, s := range v.seen() {
			if s.Method == http.MethodPut && s.SSE != want {
				t.Errorf("encrypt=%v: PUT sent x-amz-server-side-encryption %q, want %q", encrypt, s.SSE, want)
			}
		}
	}
	for endpoint, want := range map[string]bool{
		"":                                        true,
		"https://s3.eu-west-3.amazonaws.com":      true,
		"http://127.0.0.1:9000":                   true,
		"https://abc.r2.cloudflarestorage.com":    false,
		"https://ABC.R2.cloudflarestorage.com/":   false,
		"https://abc.eu.r2.cloudflarestorage.com": false,
	} {
		if got := s3.DefaultOptions(config.S3{Endpoint: endpoint}).Encrypt; got != want {
			t.Errorf("DefaultOptions(%q).Encrypt = %v, want %v", endpoint, got, want)
		}
	}
}

// Payloads that can be read twice are signed; others go as UNSIGNED-PAYLOAD.
func TestPayloadSigning(t *testing.T) {
	v, srv := signedServer(t, "us-east-1")
	st := newStore(t, testConfig(srv.URL, "us-east-1"), srv.Client(), s3.Options{})
	data := bytes.Repeat([]byte("payload "), 1000)
	if err := st.Put(t.Context(), "sign/seekable", bytes.NewReader(data), int64(len(data)), ""); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(t.Context(), "sign/stream", io.MultiReader(bytes.NewReader(data)), int64(len(data)), ""); err != nil {
		t.Fatal(err)
	}
	hashes := map[string]string{}
	for _, s := range v.seen() {
		if s.Method == http.MethodPut {
			hashes[s.Path] = s.PayloadHash
		}
	}
	if h := hashes["/"+testBucket+"/sign/seekable"]; len(h) != 64 {
		t.Errorf("seekable body sent with payload hash %q, want a SHA-256", h)
	}
	if h := hashes["/"+testBucket+"/sign/stream"]; h != "UNSIGNED-PAYLOAD" {
		t.Errorf("streamed body sent with payload hash %q, want UNSIGNED-PAYLOAD", h)
	}
}

// A seekable body is sent again when the first attempt fails with a 500.
func TestRetries(t *testing.T) {
	fake := newFake(t)
	var puts, failed atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			if puts.Add(1)%2 == 1 {
				failed.Add(1)
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, `<Error><Code>InternalError</Code><Message>try again</Message></Error>`)
				return
			}
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	st := newStore(t, testConfig(srv.URL, "us-east-1"), srv.Client(), s3.Options{})
	if err := st.Put(t.Context(), "retry/k", strings.NewReader("retried"), 7, ""); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if puts.Load() != 2 || failed.Load() != 1 {
		t.Errorf("%d PUT attempts, %d failed; want 2 and 1", puts.Load(), failed.Load())
	}
	rc, _, err := st.Get(t.Context(), "retry/k")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "retried" {
		t.Errorf("got %q", b)
	}
	// A body that cannot be read twice fails instead of sending wrong bytes.
	err = st.Put(t.Context(), "retry/stream", io.MultiReader(strings.NewReader("once")), 4, "")
	if err == nil {
		t.Error("a failed streamed Put was retried without its bytes")
	}
}

func TestErrorKinds(t *testing.T) {
	ctx := t.Context()

	// A missing bucket is a configuration error, not a missing object.
	srv := httptest.NewServer(newFake(t))
	t.Cleanup(srv.Close)
	cfg := testConfig(srv.URL, "us-east-1")
	cfg.Bucket = "no-such-bucket"
	st := newStore(t, cfg, srv.Client(), s3.Options{})
	if _, _, err := st.Get(ctx, "k"); librechat.IsNotFound(err) || err == nil || !strings.Contains(librechat.MessageOf(err), "no-such-bucket") {
		t.Errorf("Get in a missing bucket = %v (kind %v), want an error naming the bucket", err, librechat.KindOf(err))
	}

	// An unreachable service is unavailable.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	st = newStore(t, testConfig(deadURL, "us-east-1"), nil, s3.Options{})
	if _, _, err := st.Get(ctx, "k"); librechat.KindOf(err) != librechat.KindUnavailable {
		t.Errorf("Get from a closed port = %v (kind %v), want unavailable", err, librechat.KindOf(err))
	}

	// A throttling service is unavailable.
	var calls atomic.Int32
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
	}))
	t.Cleanup(busy.Close)
	st = newStore(t, testConfig(busy.URL, "us-east-1"), busy.Client(), s3.Options{})
	if _, _, err := st.Get(ctx, "k"); librechat.KindOf(err) != librechat.KindUnavailable {
		t.Errorf("Get from a throttling service = %v (kind %v), want unavailable", err, librechat.KindOf(err))
	}
	if calls.Load() < 2 {
		t.Errorf("the SDK tried %d times, want its default retries", calls.Load())
	}
	// A bare 404 without an S3 error body is a missing object.
	bare := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(bare.Close)
	st = newStore(t, testConfig(bare.URL, "us-east-1"), bare.Client(), s3.Options{})
	if _, _, err := st.Get(ctx, "k"); !librechat.IsNotFound(err) {
		t.Errorf("Get answered by a bare 404 = %v, want not found", err)
	}
	if err := st.Delete(ctx, "k"); err != nil {
		t.Errorf("Delete answered by a bare 404 = %v, want nil", err)
	}
}

func TestNewValidates(t *testing.T) {
	_, err := s3.New(t.Context(), config.S3{Region: "us-east-1"}, nil)
	if err == nil {
		t.Fatal("New without bucket and keys succeeded")
	}
	for _, name := range []string{"AWS_BUCKET_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if strings.Contains(err.Error(), "AWS_REGION") {
		t.Errorf("error %q names AWS_REGION, which is set", err)
	}
	cfg := testConfig("ftp://example.com", "us-east-1")
	if _, err := s3.New(t.Context(), cfg, nil); err == nil || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL") {
		t.Errorf("New with an ftp endpoint = %v", err)
	}
	if got := s3.Missing(testConfig("", "x")); len(got) != 0 {
		t.Errorf("Missing(complete) = %v", got)
	}
}

// The store is built from config.S3 alone: AWS variables and files in the
// environment, all wrong here, change nothing.
func TestIgnoresAmbientConfig(t *testing.T) {
	v, srv := signedServer(t, "us-east-1")
	home := t.TempDir()
	awsDir := filepath.Join(home, ".aws")
	if err := os.MkdirAll(awsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	bogus := "[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = wrong\nregion = ap-south-2\nendpoint_url = http://127.0.0.1:1\n"
	for _, f := range []string{"credentials", "config"} {
		if err := os.WriteFile(filepath.Join(awsDir, f), []byte(bogus), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for k, val := range map[string]string{
		"HOME":                             home,
		"AWS_ACCESS_KEY_ID":                "AKIDWRONG",
		"AWS_SECRET_ACCESS_KEY":            "wrong",
		"AWS_SESSION_TOKEN":                "wrong-token",
		"AWS_REGION":                       "ap-south-2",
		"AWS_DEFAULT_REGION":               "ap-south-2",
		"AWS_ENDPOINT_URL":                 "http://127.0.0.1:1",
		"AWS_ENDPOINT_URL_S3":              "http://127.0.0.1:1",
		"AWS_PROFILE":                      "default",
		"AWS_CONFIG_FILE":                  filepath.Join(awsDir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":      filepath.Join(awsDir, "credentials"),
		"AWS_S3_USE_ARN_REGION":            "true",
		"AWS_REQUEST_CHECKSUM_CALCULATION": "when_supported",
	} {
		t.Setenv(k, val)
	}
	st := newStore(t, testConfig(srv.URL, "us-east-1"), srv.Client(), s3.Options{})
	if err := st.Put(t.Context(), "ambient/k", strings.NewReader("v"), 1, ""); err != nil {
		t.Fatal(err)
	}
	rc, _, err := st.Get(t.Context(), "ambient/k")
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	for _, s := range v.seen() {
		if s.Region != "us-east-1" {
			t.Errorf("request signed for %s", s.Region)
		}
	}
}

func TestCanceledPutStoresNothing(t *testing.T) {
	_, srv := signedServer(t, "us-east-1")
	st := newStore(t, testConfig(srv.URL, "us-east-1"), srv.Client(), s3.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- st.Put(ctx, "cancel/pipe", pr, 1<<20, "") }()
	if _, err := pw.Write([]byte("some bytes")); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Put did not return")
	}
	pw.Close()
	if _, _, err := st.Get(t.Context(), "cancel/pipe"); !librechat.IsNotFound(err) {
		t.Errorf("Get after a canceled Put = %v, want not found", err)
	}
}
