package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/lcgo/lcgo/shared/platform/lambda/runtimeapi"
	"github.com/lcgo/lcgo/shared/store/dynamo"
)

// The credentials every emulator accepts.
const (
	emulatorKeyID  = "lcgolocal"
	emulatorSecret = "lcgolocal"
)

// services are the AWS services behind the functions, each an emulator
// served on its own 127.0.0.1 port.
type services struct {
	dynamoURL  string
	s3URL      string
	secretsURL string
	servers    []*http.Server
}

func (s *services) close() {
	for _, srv := range s.servers {
		_ = srv.Close()
	}
}

// serve serves h on a free 127.0.0.1 port and returns its URL.
func (s *services) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Minute}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// startServices starts minidyn (see minidyn) with the table created, gofakes3 with the
// bucket created and a Secrets Manager holding one secret.
func startServices(ctx context.Context, log *slog.Logger, table dynamo.Options, bucket, secretARN string, secret map[string]string) (*services, error) {
	s := &services{}
	var err error
	if s.dynamoURL, err = s.serve(newMinidyn(log)); err != nil {
		s.close()
		return nil, err
	}
	client := dynamodb.New(dynamodb.Options{
		Region:                          runtimeapi.DefaultRegion,
		BaseEndpoint:                    aws.String(s.dynamoURL),
		Credentials:                     credentials.NewStaticCredentialsProvider(emulatorKeyID, emulatorSecret, ""),
		DisableValidateResponseChecksum: true,
	})
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = dynamo.CreateTables(cctx, client, table)
	cancel()
	if err != nil {
		s.close()
		return nil, fmt.Errorf("creating table %s: %w", table.TableName(), err)
	}

	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		s.close()
		return nil, fmt.Errorf("creating bucket %s: %w", bucket, err)
	}
	if s.s3URL, err = s.serve(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()); err != nil {
		s.close()
		return nil, err
	}

	value, err := json.Marshal(secret)
	if err != nil {
		s.close()
		return nil, err
	}
	if s.secretsURL, err = s.serve(secretsManager(secretARN, string(value))); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// secretsManager answers GetSecretValue for one secret, by ARN or name,
// as AWS Secrets Manager does (JSON 1.1 protocol).
func secretsManager(arn, value string) http.Handler {
	name := arn
	if i := strings.LastIndex(arn, ":"); i >= 0 {
		name = arn[i+1:]
	}
	created := float64(time.Now().Unix())
	fail := func(w http.ResponseWriter, status int, typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Errortype", typ)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
			fail(w, http.StatusBadRequest, "InvalidRequestException", "only GetSecretValue is served here")
			return
		}
		var in struct {
			SecretID     string `json:"SecretId"`
			VersionStage string `json:"VersionStage"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			fail(w, http.StatusBadRequest, "InvalidRequestException", "malformed request")
			return
		}
		if in.SecretID != arn && in.SecretID != name || (in.VersionStage != "" && in.VersionStage != "AWSCURRENT") {
			fail(w, http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"ARN": arn, "Name": name, "SecretString": value, "CreatedDate": created,
			"VersionId": "00000000-0000-4000-8000-000000000001", "VersionStages": []string{"AWSCURRENT"},
		})
	})
}
