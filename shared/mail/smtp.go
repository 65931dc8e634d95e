package mail

import (
	"context"
	"crypto/tls"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// SMTP sends mail through an SMTP server, with STARTTLS when the server
// offers it and PLAIN authentication when a username is set.
type SMTP struct {
	Host            string
	Port            int
	Username        string
	Password        string
	From            string
	FromName        string
	AllowSelfSigned bool
	Timeout         time.Duration
}

// wellKnown maps the EMAIL_SERVICE names LibreChat operators use most to
// their submission servers.
var wellKnown = map[string]struct {
	host string
	port int
}{
	"gmail":     {"smtp.gmail.com", 587},
	"outlook":   {"smtp-mail.outlook.com", 587},
	"hotmail":   {"smtp-mail.outlook.com", 587},
	"office365": {"smtp.office365.com", 587},
	"yahoo":     {"smtp.mail.yahoo.com", 587},
	"sendgrid":  {"smtp.sendgrid.net", 587},
	"mailgun":   {"smtp.mailgun.org", 587},
	"zoho":      {"smtp.zoho.com", 587},
}

// ServiceAddress returns the host and port of a well-known EMAIL_SERVICE.
func ServiceAddress(service string) (string, int, bool) {
	s, ok := wellKnown[strings.ToLower(service)]
	return s.host, s.port, ok
}

// Send implements Mailer.
func (s SMTP) Send(ctx context.Context, m Message) error {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp dial: %w", err)
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: s.Host, InsecureSkipVerify: s.AllowSelfSigned}); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.Host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(s.From); err != nil {
		return fmt.Errorf("smtp from: %w", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fmt.Errorf("smtp rcpt: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	from := s.From
	if s.FromName != "" {
		from = mime.QEncoding.Encode("utf-8", s.FromName) + " <" + s.From + ">"
	}
	msg := "From: " + from + "\r\n" +
		"To: " + m.To + "\r\n" +
		"Subject: " + mime.QEncoding.Encode("utf-8", m.Subject) + "\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
		strings.ReplaceAll(m.Body, "\n", "\r\n") + "\r\n"
	if _, err := w.Write([]byte(msg)); err != nil {
		return fmt.Errorf("smtp write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data end: %w", err)
	}
	return c.Quit()
}
