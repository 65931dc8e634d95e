package files

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	sfiles "github.com/lcgo/lcgo/shared/files"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
)

// upload serves POST /api/files and POST /api/files/images (image: the
// file must be a raster image).
func (h *handler) upload(image bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u := user(r)
		if !h.admit(w, r, u) {
			return
		}
		form, ok := h.readForm(w, r, h.svc.Limits().ServerFileSizeLimit)
		if !ok {
			return
		}
		defer form.Close()
		if form.File == nil {
			message(w, http.StatusBadRequest, "No file provided")
			return
		}
		f, err := h.svc.Upload(r.Context(), u, sfiles.Upload{
			Fields: form.Fields, Filename: form.Filename, DeclaredType: form.DeclaredType, Image: image,
		}, form.File.Reader())
		if err != nil {
			fail(w, r, err)
			return
		}
		httpx.JSON(w, http.StatusOK, h.render(f, "File uploaded and processed successfully"))
	}
}

// avatar serves POST /api/files/images/avatar: the picture is stored, the
// user's avatar points at it, the previous one is removed.
func (h *handler) avatar(w http.ResponseWriter, r *http.Request) {
	u := user(r)
	if !h.admit(w, r, u) {
		return
	}
	lim := h.svc.Limits()
	form, ok := h.readForm(w, r, min(lim.AvatarSizeLimit, lim.ServerFileSizeLimit))
	if !ok {
		return
	}
	defer form.Close()
	if form.File == nil {
		message(w, http.StatusBadRequest, "No file provided")
		return
	}
	f, err := h.svc.Upload(r.Context(), u, sfiles.Upload{
		Fields: form.Fields, Filename: form.Filename, DeclaredType: form.DeclaredType, Avatar: true,
	}, form.File.Reader())
	if err != nil {
		fail(w, r, err)
		return
	}
	url := h.svc.URL(f)
	ctx := r.Context()
	stored, err := h.app.Store.UserByID(ctx, u.ID)
	var previous string
	if err == nil {
		previous = stored.Avatar
		stored.Avatar = url
		stored.UpdatedAt = h.now()
		err = h.app.Store.UpdateUser(ctx, stored)
	}
	if err != nil {
		if _, derr := h.svc.Delete(context.WithoutCancel(ctx), u.ID, []string{f.ID}); derr != nil {
			h.logError(ctx, "files: could not remove an avatar after a failed user update", derr)
		}
		httpx.Error(w, r, err)
		return
	}
	h.removeOldAvatar(ctx, u.ID, previous, f.ID)
	httpx.JSON(w, http.StatusOK, map[string]string{"url": url})
}

// removeOldAvatar deletes the avatar file a previous URL of this server
// pointed at, if it was the user's.
func (h *handler) removeOldAvatar(ctx context.Context, userID, previous, current string) {
	if previous == "" {
		return
	}
	path, _, _ := cutQuery(previous)
	owner, id, _, ok := sfiles.ParsePath(path)
	if !ok || owner != userID || id == current {
		return
	}
	old, err := h.svc.File(ctx, userID, id)
	if err != nil || old.Context != sfiles.ContextAvatar {
		return
	}
	if _, err := h.svc.Delete(context.WithoutCancel(ctx), userID, []string{id}); err != nil {
		h.logError(ctx, "files: could not remove the previous avatar", err)
	}
}

// cutQuery splits a URL into its path and the rest.
func cutQuery(s string) (string, string, bool) {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// admit applies LibreChat's per-user upload rate limit (429).
func (h *handler) admit(w http.ResponseWriter, r *http.Request, u *librechat.User) bool {
	if h.app.Limiter == nil || h.uploadMax < 0 {
		return true
	}
	ok, retry, err := h.app.Limiter.Hit(r.Context(), "files:upload:user:"+u.ID, h.uploadMax, h.uploadWin)
	if err != nil {
		httpx.Error(w, r, err)
		return false
	}
	if !ok {
		if s := int(retry.Seconds()); s > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(s))
		}
		message(w, http.StatusTooManyRequests, "Too many file upload requests. Try again later")
		return false
	}
	return true
}

// readForm reads the multipart body, its file part at most maxFile bytes;
// on failure it has answered.
func (h *handler) readForm(w http.ResponseWriter, r *http.Request, maxFile int64) (*sfiles.Form, bool) {
	limit := maxFile + formOverhead
	body, length := r.Body, r.ContentLength
	if raw, ok := r.Context().Value(rawBodyKey{}).(rawBody); ok {
		body, length = raw.body, raw.length
	}
	tooLarge := fmt.Sprintf("File size limit of %s MB exceeded", mb(maxFile))
	if length > limit {
		message(w, http.StatusRequestEntityTooLarge, tooLarge)
		return nil, false
	}
	if body == nil {
		message(w, http.StatusBadRequest, "No file provided")
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, body, limit)
	mr, err := r.MultipartReader()
	if err != nil {
		message(w, http.StatusBadRequest, "Expected a multipart/form-data body")
		return nil, false
	}
	form, err := sfiles.ReadForm(mr, "file", sfiles.FormLimits{
		MaxFile: maxFile, MemLimit: h.memLimit(), TempDir: h.tempDir(), TooLargeMB: mb(maxFile) + " MB",
	})
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			message(w, http.StatusRequestEntityTooLarge, tooLarge)
			return nil, false
		}
		fail(w, r, err)
		return nil, false
	}
	return form, true
}

func mb(b int64) string {
	v := float64(b) / sfiles.MB
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
