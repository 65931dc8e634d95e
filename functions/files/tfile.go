package files

import (
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

// tfile is a file record as LibreChat's server sends it (TFile): the
// document Mongo returns for an upsert by file_id, whose keys are _id,
// file_id, __v and then the rest in lexicographic order. An upload answer
// starts with "message". The extracted text is never included (Node's
// getFiles leaves it out too).
type tfile struct {
	Message        string `json:"message,omitempty"`
	ObjectID       string `json:"_id,omitempty"`
	FileID         string `json:"file_id"`
	V              int    `json:"__v"`
	Bytes          int64  `json:"bytes"`
	Context        string `json:"context,omitempty"`
	ConversationID string `json:"conversationId,omitempty"`
	CreatedAt      string `json:"createdAt"`
	Embedded       bool   `json:"embedded"`
	Filename       string `json:"filename"`
	Filepath       string `json:"filepath"`
	Height         int    `json:"height,omitempty"`
	Object         string `json:"object"`
	Source         string `json:"source"`
	TempFileID     string `json:"temp_file_id,omitempty"`
	Type           string `json:"type"`
	UpdatedAt      string `json:"updatedAt"`
	Usage          int    `json:"usage"`
	User           string `json:"user"`
	Width          int    `json:"width,omitempty"`
}

// render shapes f with a freshly signed filepath.
func (h *handler) render(f *librechat.File, msg string) tfile {
	return tfile{
		Message: msg, ObjectID: f.ObjectID, FileID: f.ID, Bytes: f.Bytes, Context: f.Context,
		ConversationID: f.ConversationID, CreatedAt: wire.Time(f.CreatedAt), Embedded: f.Embedded,
		Filename: f.Filename, Filepath: h.svc.URL(f), Height: f.Height, Object: "file",
		Source: f.Source, TempFileID: f.TempFileID, Type: f.Type, UpdatedAt: wire.Time(f.UpdatedAt),
		User: f.UserID, Width: f.Width,
	}
}

// downloadMetadata is the allow-listed part of a record LibreChat sends
// with downloads (X-File-Metadata, download-url's metadata), in its order.
// Internal ids, the owner, the storage key and the text are left out.
type downloadMetadata struct {
	ConversationID string `json:"conversationId,omitempty"`
	FileID         string `json:"file_id"`
	TempFileID     string `json:"temp_file_id,omitempty"`
	Bytes          int64  `json:"bytes"`
	Embedded       bool   `json:"embedded"`
	Filename       string `json:"filename"`
	Filepath       string `json:"filepath"`
	Object         string `json:"object"`
	Type           string `json:"type"`
	Usage          int    `json:"usage"`
	Context        string `json:"context,omitempty"`
	Source         string `json:"source"`
	Width          int    `json:"width,omitempty"`
	Height         int    `json:"height,omitempty"`
	CreatedAt      string `json:"createdAt"`
	UpdatedAt      string `json:"updatedAt"`
}

func (h *handler) metadata(f *librechat.File) downloadMetadata {
	return downloadMetadata{
		ConversationID: f.ConversationID, FileID: f.ID, TempFileID: f.TempFileID, Bytes: f.Bytes,
		Embedded: f.Embedded, Filename: f.Filename, Filepath: h.svc.URL(f), Object: "file",
		Type: f.Type, Context: f.Context, Source: f.Source, Width: f.Width, Height: f.Height,
		CreatedAt: wire.Time(f.CreatedAt), UpdatedAt: wire.Time(f.UpdatedAt),
	}
}
