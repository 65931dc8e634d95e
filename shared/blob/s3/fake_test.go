package s3_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

const (
	testBucket = "lcgo-test"
	testKeyID  = "AKIDLCGOTEST"
	testSecret = "lcgo/test/secret+key"
	amzTime    = "20060102T150405Z"
)

// newFake returns an in-process gofakes3 handler with testBucket created.
func newFake(t *testing.T) http.Handler {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	return gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
}

// seen is what the verifier recorded about one accepted request.
type seen struct {
	Method, Host, Path string
	Region             string
	Presigned          bool
	SSE                string // x-amz-server-side-encryption
	PayloadHash        string // x-amz-content-sha256
	Expires            string // X-Amz-Expires of a presigned URL
}

// verifier sits in front of an S3 fake and lets through only requests whose
// SigV4 signature it can reproduce with aws/signer/v4 from the known secret:
// Authorization-header requests from the SDK and presigned URLs, the latter
// also only until X-Amz-Date + X-Amz-Expires by its own clock. It rejects
// like S3 does (403 with an XML error) and records what it accepted.
type verifier struct {
	next   http.Handler
	creds  aws.Credentials
	region string // the only region accepted in a credential scope
	signer *v4.Signer

	mu       sync.Mutex
	now      func() time.Time
	accepted []seen
	rejected []string
}

func newVerifier(next http.Handler, region string) *verifier {
	return &verifier{
		next:   next,
		creds:  aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret},
		region: region,
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		now:    time.Now,
	}
}

func (v *verifier) setNow(now func() time.Time) {
	v.mu.Lock()
	v.now = now
	v.mu.Unlock()
}

func (v *verifier) clock() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now()
}

func (v *verifier) seen() []seen {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]seen(nil), v.accepted...)
}

func (v *verifier) rejections() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.rejected...)
}

func (v *verifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var s seen
	var code, msg string
	if r.URL.Query().Get("X-Amz-Signature") != "" {
		s, code, msg = v.checkPresigned(r)
	} else if strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		s, code, msg = v.checkHeader(r)
	} else {
		code, msg = "AccessDenied", "the request is not signed"
	}
	if code != "" {
		v.mu.Lock()
		v.rejected = append(v.rejected, r.Method+" "+r.URL.Path+": "+code+": "+msg)
		v.mu.Unlock()
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
		return
	}
	s.Method, s.Host, s.Path = r.Method, r.Host, r.URL.Path
	s.SSE = r.Header.Get("X-Amz-Server-Side-Encryption")
	v.mu.Lock()
	v.accepted = append(v.accepted, s)
	v.mu.Unlock()
	v.next.ServeHTTP(w, r)
}

// scope parses "AKID/20240102/region/s3/aws4_request".
func (v *verifier) scope(cred string, at time.Time) (region, code, msg string) {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[3] != "s3" || parts[4] != "aws4_request" {
		return "", "AuthorizationQueryParametersError", "malformed credential " + cred
	}
	if parts[0] != v.creds.AccessKeyID {
		return "", "InvalidAccessKeyId", "unknown access key " + parts[0]
	}
	if parts[1] != at.Format("20060102") {
		return "", "SignatureDoesNotMatch", "credential date differs from X-Amz-Date"
	}
	if parts[2] != v.region {
		return "", "AuthorizationHeaderMalformed", "region " + parts[2] + " is wrong; expecting " + v.region
	}
	return parts[2], "", ""
}

// unsignedCopy is r as the client built it: its URL as sent, its Host, and
// only the headers listed as signed.
func unsignedCopy(r *http.Request, signed []string, dropQuery ...string) (*http.Request, error) {
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return nil, err
	}
	u.Scheme, u.Host = "http", r.Host
	if r.TLS != nil {
		u.Scheme = "https"
	}
	if len(dropQuery) > 0 {
		q := u.Query()
		for _, k := range dropQuery {
			q.Del(k)
		}
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequest(r.Method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.URL = u
	req.Host = r.Host
	for _, h := range signed {
		switch h {
		case "host":
		case "content-length":
			req.ContentLength = r.ContentLength
		default:
			for _, val := range r.Header.Values(h) {
				req.Header.Add(h, val)
			}
		}
	}
	return req, nil
}

func (v *verifier) checkPresigned(r *http.Request) (s seen, code, msg string) {
	q := r.URL.Query()
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return s, "AuthorizationQueryParametersError", "unsupported algorithm"
	}
	at, err := time.Parse(amzTime, q.Get("X-Amz-Date"))
	if err != nil {
		return s, "AuthorizationQueryParametersError", "bad X-Amz-Date"
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires < 1 || expires > 604800 {
		return s, "AuthorizationQueryParametersError", "X-Amz-Expires must be 1 to 604800 seconds"
	}
	region, code, msg := v.scope(q.Get("X-Amz-Credential"), at)
	if code != "" {
		return s, code, msg
	}
	now := v.clock()
	if now.Before(at.Add(-15 * time.Minute)) {
		return s, "AccessDenied", "request is not valid yet"
	}
	if now.After(at.Add(time.Duration(expires) * time.Second)) {
		return s, "AccessDenied", "Request has expired"
	}
	if q.Get("X-Amz-Security-Token") != v.creds.SessionToken {
		return s, "InvalidToken", "wrong security token"
	}
	signed := strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	req, err := unsignedCopy(r, signed, "X-Amz-Signature")
	if err != nil {
		return s, "InvalidRequest", err.Error()
	}
	signedURL, _, err := v.signer.PresignHTTP(context.Background(), v.creds, req, "UNSIGNED-PAYLOAD", "s3", region, at)
	if err != nil {
		return s, "InternalError", err.Error()
	}
	su, err := url.Parse(signedURL)
	if err != nil {
		return s, "InternalError", err.Error()
	}
	if su.Query().Get("X-Amz-SignedHeaders") != q.Get("X-Amz-SignedHeaders") {
		return s, "SignatureDoesNotMatch", "signed headers differ"
	}
	if !hmac.Equal([]byte(su.Query().Get("X-Amz-Signature")), []byte(q.Get("X-Amz-Signature"))) {
		return s, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided"
	}
	return seen{Region: region, Presigned: true, Expires: q.Get("X-Amz-Expires")}, "", ""
}

func (v *verifier) checkHeader(r *http.Request) (s seen, code, msg string) {
	auth := strings.TrimPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")
	fields := map[string]string{}
	for f := range strings.SplitSeq(auth, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = val
	}
	at, err := time.Parse(amzTime, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return s, "AccessDenied", "bad X-Amz-Date"
	}
	if d := v.clock().Sub(at); d > 15*time.Minute || d < -15*time.Minute {
		return s, "RequestTimeTooSkewed", "the request time is too far from the server's"
	}
	region, code, msg := v.scope(fields["Credential"], at)
	if code != "" {
		return s, code, msg
	}
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if hash == "" {
		return s, "InvalidRequest", "missing x-amz-content-sha256"
	}
	if hash != "UNSIGNED-PAYLOAD" {
		// A signed payload must be the body that came.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return s, "IncompleteBody", err.Error()
		}
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != hash {
			return s, "XAmzContentSHA256Mismatch", "the body does not match x-amz-content-sha256"
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	req, err := unsignedCopy(r, signed)
	if err != nil {
		return s, "InvalidRequest", err.Error()
	}
	if err := v.signer.SignHTTP(context.Background(), v.creds, req, hash, "s3", region, at); err != nil {
		return s, "InternalError", err.Error()
	}
	want := req.Header.Get("Authorization")
	if i := strings.Index(want, "Signature="); i < 0 || !hmac.Equal([]byte(want[i+len("Signature="):]), []byte(fields["Signature"])) {
		return s, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided"
	}
	if !strings.Contains(want, "SignedHeaders="+fields["SignedHeaders"]+",") {
		return s, "SignatureDoesNotMatch", "signed headers differ"
	}
	return seen{Region: region, PayloadHash: hash}, "", ""
}

// r2Server serves h over TLS as https://<host> for clients made by
// client: a certificate for host signed by its own root, and a dialer that
// sends every connection for host:443 to the test listener.
type r2Server struct {
	*httptest.Server
	host string
	pool *x509.CertPool
}

func newR2Server(t *testing.T, host string, h http.Handler) *r2Server {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: host},
		DNSNames:              []string{host},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &r2Server{Server: srv, host: host, pool: pool}
}

func (s *r2Server) client(t *testing.T) *http.Client {
	addr := s.Listener.Addr().String()
	var d net.Dialer
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.pool},
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			if a != s.host+":443" {
				return nil, fmt.Errorf("r2Server: unexpected address %s", a)
			}
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}
