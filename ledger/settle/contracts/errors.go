package contracts

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/rpc"
)

// The contract's refusals, as sentinels for errors.Is. A *RevertError wraps
// one of them and carries the revert's name and arguments.
var (
	// ErrNotNewer: the voucher's cumulative amount is not above what was
	// already redeemed (a replayed, stale or lowered voucher).
	ErrNotNewer = errors.New("voucher not above what was already redeemed")
	// ErrOverEscrow: the escrow cannot cover the voucher's charge (amount plus
	// the requester's fee); nothing was paid.
	ErrOverEscrow = errors.New("voucher over the requester's escrow")
	// ErrWrongSigner: the voucher was not signed by its requester (or for
	// another chain, contract, provider, token or amount).
	ErrWrongSigner = errors.New("voucher not signed by its requester")
	// ErrBadSignature: not a 65-byte r||s||v signature with v 27 or 28 and a
	// low s, or one that recovers no key.
	ErrBadSignature = errors.New("malformed or malleable signature")
	// ErrNoticeNotOver: the withdrawal's or unstaking's notice period has
	// not passed yet.
	ErrNoticeNotOver = errors.New("notice period not over")
	// ErrNothingPending: withdraw or unstake without a request first.
	ErrNothingPending = errors.New("no pending withdrawal or unstaking")
	// ErrOverBalance: a withdrawal or unstaking request over the balance.
	ErrOverBalance = errors.New("request over the balance")
	// ErrNotConflicting: slashing evidence whose Works are not for the same
	// job and rank, or agree on result and amount.
	ErrNotConflicting = errors.New("works do not conflict")
	// ErrDifferentSigners: slashing evidence signed by two different keys.
	ErrDifferentSigners = errors.New("works signed by different keys")
	// ErrAlreadySlashed: this offence (signer, job, rank) was slashed before.
	ErrAlreadySlashed = errors.New("offence already slashed")
	// ErrNoStake: the offender has nothing staked.
	ErrNoStake = errors.New("offender has no stake")
	// ErrAuditsDisagree: audit-failure evidence whose two Audits do not name
	// the Work's job and rank or state different results.
	ErrAuditsDisagree = errors.New("audits do not agree with each other or the work's job and rank")
	// ErrSameAuditor: audit-failure evidence with both Audits signed by one key.
	ErrSameAuditor = errors.New("both audits signed by the same key")
	// ErrAuditorIsAccused: an Audit signed by the accused provider itself.
	ErrAuditorIsAccused = errors.New("an audit signed by the accused")
	// ErrAuditorNotEligible: an auditor without the minimum stake now.
	ErrAuditorNotEligible = errors.New("auditor not an eligible staked provider")
	// ErrFeeTooHigh: a fee over the contract's cap (500 bp a side).
	ErrFeeTooHigh = errors.New("fee over the cap")
	// ErrNotOwner: fee governance by someone other than the owner.
	ErrNotOwner = errors.New("caller is not the owner")
	// ErrWrongToken: native coin where a token is needed, or the reverse.
	ErrWrongToken = errors.New("wrong token for this call")
	// ErrZeroAmount: an amount of zero.
	ErrZeroAmount = errors.New("zero amount")
	// ErrZeroAddress: the zero address where a party is needed.
	ErrZeroAddress = errors.New("zero address")
	// ErrBadShare: a share in basis points out of range at deployment.
	ErrBadShare = errors.New("share out of range")
	// ErrBadNotice: a notice period over the contract's cap at deployment.
	ErrBadNotice = errors.New("notice period out of range")
	// ErrReentrant: a call back into the contract during one of its transfers.
	ErrReentrant = errors.New("reentrant call refused")
	// ErrTokenTransfer: the token refused or failed a transfer (allowance or
	// balance short, or a token that returned false).
	ErrTokenTransfer = errors.New("token transfer failed")
	// ErrReverted: a revert this package does not know.
	ErrReverted = errors.New("transaction reverted")
)

// revertSentinels maps each custom error's name, from Settlement and from the
// ERC-20s it calls (OpenZeppelin's IERC6093 errors bubble up through
// SafeERC20), to its sentinel.
var revertSentinels = map[string]error{
	"NotNewer":                     ErrNotNewer,
	"OverEscrow":                   ErrOverEscrow,
	"WrongSigner":                  ErrWrongSigner,
	"BadSignature":                 ErrBadSignature,
	"NoticeNotOver":                ErrNoticeNotOver,
	"NothingPending":               ErrNothingPending,
	"OverBalance":                  ErrOverBalance,
	"NotConflicting":               ErrNotConflicting,
	"DifferentSigners":             ErrDifferentSigners,
	"AlreadySlashed":               ErrAlreadySlashed,
	"NoStake":                      ErrNoStake,
	"AuditsDisagree":               ErrAuditsDisagree,
	"SameAuditor":                  ErrSameAuditor,
	"AuditorIsAccused":             ErrAuditorIsAccused,
	"AuditorNotEligible":           ErrAuditorNotEligible,
	"FeeTooHigh":                   ErrFeeTooHigh,
	"NotOwner":                     ErrNotOwner,
	"WrongToken":                   ErrWrongToken,
	"ZeroAmount":                   ErrZeroAmount,
	"ZeroAddress":                  ErrZeroAddress,
	"BadShare":                     ErrBadShare,
	"BadNotice":                    ErrBadNotice,
	"ReentrancyGuardReentrantCall": ErrReentrant,
	"SafeERC20FailedOperation":     ErrTokenTransfer,
	"NativeTransferFailed":         ErrTokenTransfer,
	"ERC20InsufficientBalance":     ErrTokenTransfer,
	"ERC20InsufficientAllowance":   ErrTokenTransfer,
	"ERC20InvalidSender":           ErrTokenTransfer,
	"ERC20InvalidReceiver":         ErrTokenTransfer,
	"ERC20InvalidApprover":         ErrTokenTransfer,
	"ERC20InvalidSpender":          ErrTokenTransfer,
}

// MaxRevertData bounds the revert data DecodeRevert reads: the chain's
// bytes are hostile like any network input.
const MaxRevertData = 4 << 10

// RevertError is a decoded revert: its custom error's name, its arguments as
// text, and the sentinel it maps to (ErrReverted when unknown).
type RevertError struct {
	Name string
	Args string
	Err  error
}

// Error says what the contract refused and why.
func (e *RevertError) Error() string {
	if e.Args == "" {
		return fmt.Sprintf("%v (%s)", e.Err, e.Name)
	}
	return fmt.Sprintf("%v (%s%s)", e.Err, e.Name, e.Args)
}

// Unwrap returns the sentinel.
func (e *RevertError) Unwrap() error { return e.Err }

// errorABI is every custom error Settlement and the test tokens declare, by
// selector, parsed once.
var errorABI = sync.OnceValue(func() map[[4]byte]abi.Error {
	out := map[[4]byte]abi.Error{}
	for _, md := range []string{SettlementMetaData.ABI, TestTokenMetaData.ABI} {
		parsed, err := abi.JSON(strings.NewReader(md))
		if err != nil { // a generated ABI that does not parse: TestDecodeRevert fails
			continue
		}
		for _, e := range parsed.Errors {
			out[[4]byte(e.ID[:4])] = e
		}
	}
	return out
})

// DecodeRevert turns a revert's data (a 4-byte selector and ABI-encoded
// arguments) into a *RevertError; it never fails: data it cannot read
// becomes a RevertError wrapping ErrReverted that says so.
func DecodeRevert(data []byte) *RevertError {
	if len(data) > MaxRevertData {
		return &RevertError{Name: fmt.Sprintf("revert data of %d bytes (over %d)", len(data), MaxRevertData), Err: ErrReverted}
	}
	if len(data) < 4 {
		return &RevertError{Name: "revert without reason", Err: ErrReverted}
	}
	if reason, err := abi.UnpackRevert(data); err == nil {
		return &RevertError{Name: "Error", Args: fmt.Sprintf("(%q)", reason), Err: ErrReverted}
	}
	e, ok := errorABI()[[4]byte(data[:4])]
	if !ok {
		return &RevertError{Name: "unknown revert 0x" + hex.EncodeToString(data[:4]), Err: ErrReverted}
	}
	sentinel := revertSentinels[e.Name]
	if sentinel == nil {
		sentinel = ErrReverted
	}
	args, err := e.Inputs.Unpack(data[4:])
	if err != nil {
		return &RevertError{Name: e.Name, Args: "(undecodable arguments)", Err: sentinel}
	}
	return &RevertError{Name: e.Name, Args: fmt.Sprintf("%v", args), Err: sentinel}
}

// revertOf returns err's revert as a *RevertError when the node attached
// revert data to it (eth_call and eth_estimateGas do), else err itself.
func revertOf(err error) error {
	var de rpc.DataError
	if !errors.As(err, &de) {
		return err
	}
	s, ok := de.ErrorData().(string)
	if !ok {
		return err
	}
	data, derr := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if derr != nil {
		return err
	}
	return DecodeRevert(data)
}
