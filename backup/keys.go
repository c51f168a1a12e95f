package backup

import (
	"path"
	"strings"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// ObjectKey is where a backup's archive is stored: backups/{order_id}/{backup_id}.tar.gz.
// It is derived from IDs only, so no user input ever reaches a storage key.
func ObjectKey(order ports.OrderID, id ports.BackupID) string {
	return "backups/" + order.String() + "/" + id.String() + ".tar.gz"
}

// tempBackupPath is where the sidecar stages an archive when it cannot stream it.
func tempBackupPath(tempDir string, id ports.BackupID) string {
	return path.Join(tempDir, "backup-"+id.String()+".tar.gz")
}

// tempRestorePath is where the sidecar stages an archive before extracting it.
func tempRestorePath(tempDir string, id ports.BackupID) string {
	return path.Join(tempDir, "restore-"+id.String()+".tar.gz")
}

// downloadFileName turns a backup name into a file name that is safe on every
// common file system; the HTTP layer still quotes it properly.
func downloadFileName(name string) string {
	clean := strings.Map(func(r rune) rune {
		if strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, name)
	clean = strings.Trim(clean, ". ")
	if clean == "" {
		clean = "backup"
	}
	return clean + ".tar.gz"
}
