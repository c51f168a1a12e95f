package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
)

// Client calls the backup API as one user.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// Response is an API answer: the status, the raw body, and the problem's code
// when it is an error.
type Response struct {
	Status int
	Body   []byte
	Header http.Header
}

// Code is the problem+json code of an error response, or "".
func (r Response) Code() string {
	var p struct {
		Code string `json:"code"`
	}
	json.Unmarshal(r.Body, &p)
	return p.Code
}

// Do sends a request with the client's token (if any) and a JSON body (if not nil).
func (c *Client) Do(method, path string, body any) (Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Response{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.BaseURL+path, rd)
	if err != nil {
		return Response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Body: b, Header: resp.Header}, err
}

// BackupsPath is the collection path of a provision's backups.
func BackupsPath(order, provision string) string {
	return "/api/v1/orders/" + order + "/provisions/" + provision + "/backups"
}

// Must is Do that fails the test on a transport error or an unexpected status,
// and decodes a JSON answer into out (if not nil).
func (c *Client) Must(tb testing.TB, method, path string, body any, want int, out any) Response {
	tb.Helper()
	resp, err := c.Do(method, path, body)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.Status != want {
		tb.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.Status, want, resp.Body)
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			tb.Fatalf("%s %s: decoding %s: %v", method, path, resp.Body, err)
		}
	}
	return resp
}

// Create starts a backup and returns it (status creating).
func (c *Client) Create(tb testing.TB, order, provision, name string) sphttp.BackupView {
	tb.Helper()
	var v sphttp.BackupView
	var body any
	if name != "" {
		body = map[string]string{"name": name}
	}
	c.Must(tb, http.MethodPost, BackupsPath(order, provision), body, http.StatusAccepted, &v)
	return v
}

// Get returns one backup.
func (c *Client) Get(tb testing.TB, order, provision, id string) sphttp.BackupView {
	tb.Helper()
	var v sphttp.BackupView
	c.Must(tb, http.MethodGet, BackupsPath(order, provision)+"/"+id, nil, http.StatusOK, &v)
	return v
}

// List returns the provision's backups.
func (c *Client) List(tb testing.TB, order, provision string) []sphttp.BackupView {
	tb.Helper()
	var l sphttp.BackupList
	c.Must(tb, http.MethodGet, BackupsPath(order, provision), nil, http.StatusOK, &l)
	return l.Backups
}

// Restore starts a restore and returns the backup (status restoring).
func (c *Client) Restore(tb testing.TB, order, provision, id string) sphttp.BackupView {
	tb.Helper()
	var v sphttp.BackupView
	c.Must(tb, http.MethodPost, BackupsPath(order, provision)+"/"+id+"/restore", nil, http.StatusAccepted, &v)
	return v
}

// Delete deletes a backup.
func (c *Client) Delete(tb testing.TB, order, provision, id string) {
	tb.Helper()
	c.Must(tb, http.MethodDelete, BackupsPath(order, provision)+"/"+id, nil, http.StatusNoContent, nil)
}

// Download returns the whole archive of an asset.
func (c *Client) Download(tb testing.TB, assetID string) []byte {
	tb.Helper()
	return c.Must(tb, http.MethodGet, "/api/v1/assets/"+assetID, nil, http.StatusOK, nil).Body
}

// WaitSettled polls a backup until it is no longer creating or restoring and
// returns it; it fails the test after timeout.
func (c *Client) WaitSettled(tb testing.TB, order, provision, id string, timeout time.Duration) sphttp.BackupView {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := c.Get(tb, order, provision, id)
		if v.Status != "creating" && v.Status != "restoring" {
			return v
		}
		if time.Now().After(deadline) {
			tb.Fatalf("backup %s still %s after %v", id, v.Status, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ErrorText is a backup's error, or "".
func ErrorText(v sphttp.BackupView) string {
	if v.Error == nil {
		return ""
	}
	return *v.Error
}

// Describe is a one-line summary of a backup for failure messages.
func Describe(v sphttp.BackupView) string {
	return strings.TrimSpace(fmt.Sprintf("%s %s %s", v.ID, v.Status, ErrorText(v)))
}
