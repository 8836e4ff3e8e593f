package run

import (
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// TestRequestValidateRefusesHijackEnv is issue 16 item 1 on the wire: a
// request setting a loader, path or interpreter variable is refused
// before anything is staged, with the name and why.
func TestRequestValidateRefusesHijackEnv(t *testing.T) {
	key, _, _ := crypto.GenerateEd25519Key(nil)
	now := time.Now()
	for _, name := range []string{"LD_PRELOAD", "LD_LIBRARY_PATH", "PATH", "BASH_ENV", "PYTHONPATH", "NODE_OPTIONS", "GCONV_PATH", "GLIBC_TUNABLES"} {
		r := validRequest(t, key, now)
		r.Env[name] = "inputs/evil.so"
		err := r.Validate(now, time.Minute)
		if err == nil || !strings.Contains(err.Error(), name+" is never allowed") {
			t.Errorf("Env %s: %v, want it refused by name", name, err)
		}
	}
}
