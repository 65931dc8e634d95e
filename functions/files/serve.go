package files

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/blob"
	sfiles "github.com/lcgo/lcgo/shared/files"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
)

// serveSigned serves GET /api/files/images/:userId/:fileId and
// /api/files/uploads/:userId/:fileId: the URL's signature, or a Bearer
// token of the owner, authorizes it. Raster images on the images path are
// sent inline with their type; anything else as an attachment.
func (h *handler) serveSigned(w http.ResponseWriter, r *http.Request) {
	userID, fileID := r.PathValue("userId"), r.PathValue("fileId")
	q := r.URL.Query()
	signer := h.svc.Signer()
	var exp int64
	u, bearer := auth.UserFrom(r.Context())
	owner := bearer && u.ID == userID
	if sig := q.Get("sig"); sig != "" {
		err := signer.Verify(userID, fileID, q.Get("exp"), sig)
		if err != nil && !owner {
			message(w, http.StatusForbidden, librechat.MessageOf(err))
			return
		}
		if err == nil {
			exp, _ = strconv.ParseInt(q.Get("exp"), 10, 64)
		}
	} else if !owner {
		message(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	ctx := r.Context()
	f, rc, _, err := h.svc.Open(ctx, userID, fileID)
	if librechat.IsNotFound(err) {
		notFound(w)
		return
	}
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	defer rc.Close()
	imagePath := strings.HasPrefix(r.URL.Path, sfiles.ImagesPath)
	inline := imagePath && sfiles.IsRaster(f.Type) && q.Get("dl") == ""
	if imagePath && !sfiles.IsRaster(f.Type) {
		notFound(w)
		return
	}
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("Content-Length", strconv.FormatInt(f.Bytes, 10))
	hd.Set("ETag", `"`+f.ID+`"`)
	switch {
	case exp == 0 && f.Context == sfiles.ContextAvatar:
		hd.Set("Cache-Control", "private, max-age=86400")
	case exp > 0:
		left := time.Unix(exp, 0).Sub(h.now())
		hd.Set("Cache-Control", "private, max-age="+strconv.Itoa(int(min(left, time.Hour).Seconds())))
	default:
		hd.Set("Cache-Control", "private, no-cache")
	}
	if inline {
		hd.Set("Content-Type", f.Type)
	} else {
		hd.Set("Content-Type", "application/octet-stream")
		hd.Set("Content-Disposition", blob.ContentDisposition(f.Filename))
	}
	if match := r.Header.Get("If-None-Match"); match != "" && match == `"`+f.ID+`"` {
		hd.Del("Content-Length")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, rc)
	}
}

// download serves GET /api/files/download/:userId/:file_id: the bytes as
// an attachment, or with ?direct=true a redirect to the blob store's own
// URL when it has one.
func (h *handler) download(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	uid := user(r).ID
	if r.URL.Query().Get("direct") == "true" {
		f, err := h.svc.File(ctx, uid, r.PathValue("fileId"))
		if librechat.IsNotFound(err) {
			notFound(w)
			return
		}
		if err != nil {
			httpx.Error(w, r, err)
			return
		}
		if url, err := h.svc.DirectURL(ctx, f, downloadURLTTL); err == nil && url != "" {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, url, http.StatusFound)
			return
		} else if err != nil {
			h.logError(ctx, "files: direct download URL failed, streaming instead", err)
		}
	}
	f, rc, _, err := h.svc.Open(ctx, uid, r.PathValue("fileId"))
	if librechat.IsNotFound(err) {
		notFound(w)
		return
	}
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	defer rc.Close()
	meta, err := httpx.Marshal(h.metadata(f))
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Disposition", blob.ContentDisposition(f.Filename))
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Length", strconv.FormatInt(f.Bytes, 10))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-File-Metadata", encodeURIComponent(string(meta)))
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, rc)
}

// downloadURL serves GET /api/files/download-url/:userId/:file_id:
// {url, filename, type, metadata}. The URL is the blob store's presigned
// one, or this server's signed URL when the store makes none.
func (h *handler) downloadURL(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, err := h.svc.File(ctx, user(r).ID, r.PathValue("fileId"))
	if librechat.IsNotFound(err) {
		notFound(w)
		return
	}
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	url, err := h.svc.DirectURL(ctx, f, downloadURLTTL)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	if url == "" {
		url = h.svc.Signer().URLFor(f, downloadURLTTL) + "&dl=1"
	}
	type answer struct {
		URL      string           `json:"url"`
		Filename string           `json:"filename"`
		Type     string           `json:"type"`
		Metadata downloadMetadata `json:"metadata"`
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, answer{URL: url, Filename: f.Filename, Type: f.Type, Metadata: h.metadata(f)})
}

// encodeURIComponent escapes s as JavaScript's function of that name.
func encodeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-_.!~*'()", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0x0f])
		}
	}
	return b.String()
}
