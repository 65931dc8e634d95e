// Package mail sends the few emails the server writes (password reset,
// verification). With no mail server configured, messages go to the log.
package mail

import (
	"context"
	"log/slog"
)

// Message is one email.
type Message struct {
	To      string
	Subject string
	Body    string
	// Link is the action link in the message, kept apart so a log mailer
	// can show it plainly.
	Link string
}

// Mailer delivers messages.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// Log writes messages to a logger instead of sending them.
type Log struct{ Logger *slog.Logger }

// Send implements Mailer.
func (l Log) Send(ctx context.Context, m Message) error {
	lg := l.Logger
	if lg == nil {
		lg = slog.Default()
	}
	lg.InfoContext(ctx, "email not sent (no mailer configured)", "to", m.To, "subject", m.Subject, "link", m.Link)
	return nil
}
