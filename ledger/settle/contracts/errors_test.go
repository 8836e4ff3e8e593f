package contracts

import (
	"bytes"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
)

// TestDecodeRevert maps each custom error to its sentinel with its
// arguments, and never fails on data it does not know.
func TestDecodeRevert(t *testing.T) {
	s := NewSettlement()
	notNewer := append(SettlementNotNewerErrorID().Bytes()[:4:4], mustPack(t, s.abi.Errors["NotNewer"].Inputs, big.NewInt(5), big.NewInt(7))...)
	reason, _ := abi.NewType("string", "", nil)
	errString := append([]byte{0x08, 0xc3, 0x79, 0xa0}, mustPack(t, abi.Arguments{{Type: reason}}, "boom")...)
	cases := []struct {
		name string
		data []byte
		want error
		text string
	}{
		{"NotNewer", notNewer, ErrNotNewer, "NotNewer[5 7]"},
		{"BadSignature", SettlementBadSignatureErrorID().Bytes()[:4], ErrBadSignature, "BadSignature"},
		{"reentrancy", SettlementReentrancyGuardReentrantCallErrorID().Bytes()[:4], ErrReentrant, "ReentrancyGuardReentrantCall"},
		{"token allowance", TestTokenERC20InsufficientAllowanceErrorID().Bytes()[:4], ErrTokenTransfer, "undecodable"},
		{"Error(string)", errString, ErrReverted, `"boom"`},
		{"unknown", []byte{1, 2, 3, 4}, ErrReverted, "unknown revert 0x01020304"},
		{"short", []byte{1}, ErrReverted, "without reason"},
		{"too long", make([]byte, MaxRevertData+1), ErrReverted, "over"},
	}
	for _, c := range cases {
		got := DecodeRevert(c.data)
		if !errors.Is(got, c.want) || !strings.Contains(got.Error(), c.text) {
			t.Errorf("%s: got %v, want %v containing %q", c.name, got, c.want, c.text)
		}
	}
}

func mustPack(t *testing.T, args abi.Arguments, vals ...any) []byte {
	t.Helper()
	b, err := args.Pack(vals...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeRevert: revert data comes from the chain, hostile like any
// network bytes: decoding never panics and always wraps a sentinel.
func FuzzDecodeRevert(f *testing.F) {
	f.Add([]byte{})
	f.Add(SettlementNotNewerErrorID().Bytes()[:4])
	f.Add(append(SettlementOverEscrowErrorID().Bytes()[:4:4], make([]byte, 64)...))
	f.Add(append(SettlementWrongSignerErrorID().Bytes()[:4:4], bytes.Repeat([]byte{0xff}, 64)...))
	f.Add([]byte{0x08, 0xc3, 0x79, 0xa0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		e := DecodeRevert(data)
		if e == nil || e.Err == nil || e.Error() == "" {
			t.Fatalf("DecodeRevert(%x) = %#v", data, e)
		}
	})
}

// TestParamsValidate reports every problem at once.
func TestParamsValidate(t *testing.T) {
	ok := DefaultParams(common.Address{1}, common.Address{2})
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := Params{MinStake: big.NewInt(-1), Notice: 1500 * time.Millisecond, FeeBP: 501, SlashBP: 0, RewardBP: 10_001}
	err := bad.Validate()
	for _, want := range []error{ErrZeroAddress, ErrFeeTooHigh, ErrBadShare, ErrBadNotice} {
		if !errors.Is(err, want) {
			t.Errorf("got %v, want it to include %v", err, want)
		}
	}
	for _, want := range []string{"treasury", "owner", "minimum stake", "notice", "slash share", "reward share"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want it to name %q", err, want)
		}
	}
}

// TestArtifactsReproduce recompiles the contracts with the pinned solc
// (compile.mjs, `npm ci` here) and checks that the committed ABIs and
// bytecode, and the bytecode in the Go bindings, are exactly what it gives.
func TestArtifactsReproduce(t *testing.T) {
	required := os.Getenv("GPUMESH_REQUIRE_SOLC") == "1"
	skip := func(msg string) {
		if required {
			t.Fatal(msg + ", yet GPUMESH_REQUIRE_SOLC=1")
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("node"); err != nil {
		skip("no node on PATH: cannot recompile the contracts (scripts/test.sh installs Node)")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "solc", "package.json")); err != nil {
		skip("no node_modules/solc: run `npm ci` in ledger/settle/contracts (scripts/test.sh does)")
	}
	out := t.TempDir()
	cmd := exec.Command("node", "compile.mjs", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("compile: %v\n%s", err, msg)
	}
	for _, name := range []string{"Settlement", "TestToken", "HostileToken"} {
		for _, ext := range []string{".abi", ".bin"} {
			want, err := os.ReadFile(filepath.Join("artifacts", name+ext))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(out, name+ext))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("artifacts/%s%s differs from a fresh compile: run `make contracts` and commit", name, ext)
			}
		}
	}
	for name, bin := range map[string]string{
		"Settlement": SettlementMetaData.Bin, "TestToken": TestTokenMetaData.Bin, "HostileToken": HostileTokenMetaData.Bin,
	} {
		want, _ := os.ReadFile(filepath.Join("artifacts", name+".bin"))
		if strings.TrimPrefix(bin, "0x") != strings.TrimSpace(string(want)) {
			t.Errorf("the %s binding's bytecode differs from artifacts/%s.bin: run `make contracts` and commit", name, name)
		}
	}
}
