package mail

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
)

// fakeSMTP accepts one message without TLS or auth and returns what it got.
func fakeSMTP(t *testing.T) (string, int, <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r, w := bufio.NewReader(conn), conn
		say := func(s string) { _, _ = w.Write([]byte(s + "\r\n")) }
		say("220 fake ESMTP")
		var transcript strings.Builder
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if inData {
				if line == ".\r\n" {
					inData = false
					say("250 OK queued")
					continue
				}
				transcript.WriteString(line)
				continue
			}
			cmd := strings.ToUpper(strings.TrimSpace(line))
			transcript.WriteString(line)
			switch {
			case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
				say("250 fake")
			case strings.HasPrefix(cmd, "DATA"):
				inData = true
				say("354 go ahead")
			case strings.HasPrefix(cmd, "QUIT"):
				say("221 bye")
				got <- transcript.String()
				return
			default:
				say("250 OK")
			}
		}
	}()
	addr := ln.Addr().(*net.TCPAddr)
	return "127.0.0.1", addr.Port, got
}

func TestSMTPSend(t *testing.T) {
	host, port, got := fakeSMTP(t)
	s := SMTP{Host: host, Port: port, From: "noreply@example.com", FromName: "LibreChat"}
	err := s.Send(context.Background(), Message{To: "a@example.com", Subject: "Password Reset Request", Body: "line one\nhttp://x/reset?token=abc"})
	if err != nil {
		t.Fatal(err)
	}
	tr := <-got
	for _, want := range []string{"MAIL FROM:<noreply@example.com>", "RCPT TO:<a@example.com>", "Subject: Password Reset Request", "To: a@example.com", "http://x/reset?token=abc"} {
		if !strings.Contains(tr, want) {
			t.Errorf("transcript lacks %q:\n%s", want, tr)
		}
	}
}

func TestSMTPUnreachable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if err := (SMTP{Host: "127.0.0.1", Port: port, From: "x@example.com"}).Send(context.Background(), Message{To: "a@example.com"}); err == nil {
		t.Fatal("send to a closed port succeeded")
	}
}

func TestServiceAddress(t *testing.T) {
	if h, p, ok := ServiceAddress("Gmail"); !ok || h != "smtp.gmail.com" || p != 587 {
		t.Fatalf("gmail: %s %d %v", h, p, ok)
	}
	if _, _, ok := ServiceAddress("nope"); ok {
		t.Fatal("unknown service resolved")
	}
}
