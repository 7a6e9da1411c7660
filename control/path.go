package control

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// DefaultPath returns the control socket of the cluster started from dir by
// this user: $XDG_RUNTIME_DIR/gocluster/<hash>.sock where XDG_RUNTIME_DIR
// is set, else <os.TempDir()>/gocluster-<uid>/<hash>.sock, with <hash> the
// first 16 hex digits of the SHA-256 of dir's absolute path. A client given
// no socket finds the cluster of its working directory by it.
func DefaultPath(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("control: %w", err)
	}
	sum := sha256.Sum256([]byte(abs))
	name := hex.EncodeToString(sum[:8]) + ".sock"
	if run := os.Getenv("XDG_RUNTIME_DIR"); run != "" {
		return filepath.Join(run, "gocluster", name), nil
	}
	return filepath.Join(os.TempDir(), "gocluster-"+strconv.Itoa(os.Getuid()), name), nil
}
