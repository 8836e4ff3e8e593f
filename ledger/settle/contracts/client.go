package contracts

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
)

// Voucher is the requester's cumulative promise to a provider (the spec's
// EIP-712 Voucher type).
type Voucher = SettlementVoucher

// Work is a provider's signed statement of one rank of one job (the spec's
// EIP-712 Work type).
type Work = SettlementWork

// Audit is a staked auditor's signed statement that it ran one rank of one
// job and got Result (EIP-712 Audit(bytes32 job,uint32 rank,bytes32 result)).
type Audit = SettlementAudit

// NativeToken is the token address that means the chain's native coin.
var NativeToken = common.Address{}

// Backend is what the client needs of a chain: go-ethereum's
// ethclient.Client and simulated backend client are both one.
type Backend interface {
	bind.ContractBackend
	bind.DeployBackend
	ChainID(ctx context.Context) (*big.Int, error)
	BalanceAt(ctx context.Context, account common.Address, blockNumber *big.Int) (*big.Int, error)
}

// ErrNoContract: no contract code at the settlement address.
var ErrNoContract = errors.New("no settlement contract at that address")

// ErrTxFailed: a transaction was mined but failed (status 0).
var ErrTxFailed = errors.New("transaction failed on chain")

// Default deployment parameters (spec: 25 bp each side, slash all of the
// stake, half of it to whoever submits the evidence).
const (
	// DefaultFeeBP is the fee on each side, in basis points (0.25 %).
	DefaultFeeBP = 25
	// DefaultSlashBP is the share of the stake one offence slashes (all).
	DefaultSlashBP = 10_000
	// DefaultRewardBP is the share of a slash paid to the submitter (half).
	DefaultRewardBP = 5_000
	// MaxFeeBP is the contract's cap on each side's fee (5 %).
	MaxFeeBP = 500
	// DefaultNotice is the wait for withdrawals and unstaking.
	DefaultNotice = 24 * time.Hour
	// MaxNotice is the contract's cap on the notice period (a year).
	MaxNotice = 365 * 24 * time.Hour
)

// Params are the Settlement contract's deployment parameters.
type Params struct {
	Treasury   common.Address // receives fees and the unrewarded part of slashes
	StakeToken common.Address // NativeToken for the native coin
	MinStake   *big.Int       // stake that makes a provider eligible, in stake-token units
	Notice     time.Duration  // wait for withdrawals and unstaking, whole seconds
	FeeBP      uint16         // default fee on each side
	SlashBP    uint16         // share of the stake one offence slashes
	RewardBP   uint16         // share of a slash paid to the evidence's submitter
	Owner      common.Address // fee governance
}

// DefaultParams returns the spec's defaults for treasury and owner: native
// stake, no minimum, a day's notice, 25 bp each side, slash all, half to the
// submitter.
func DefaultParams(treasury, owner common.Address) Params {
	return Params{
		Treasury: treasury, Owner: owner, MinStake: new(big.Int),
		Notice: DefaultNotice, FeeBP: DefaultFeeBP, SlashBP: DefaultSlashBP, RewardBP: DefaultRewardBP,
	}
}

// Validate returns every problem with p, joined.
func (p Params) Validate() error {
	var errs []error
	if p.Treasury == (common.Address{}) {
		errs = append(errs, fmt.Errorf("treasury: %w", ErrZeroAddress))
	}
	if p.Owner == (common.Address{}) {
		errs = append(errs, fmt.Errorf("owner: %w", ErrZeroAddress))
	}
	if p.MinStake == nil || p.MinStake.Sign() < 0 {
		errs = append(errs, fmt.Errorf("minimum stake %v: must be zero or more", p.MinStake))
	}
	if p.Notice < 0 || p.Notice%time.Second != 0 || p.Notice > MaxNotice {
		errs = append(errs, fmt.Errorf("notice %v: %w (whole seconds, 0 to %v)", p.Notice, ErrBadNotice, MaxNotice))
	}
	if p.FeeBP > MaxFeeBP {
		errs = append(errs, fmt.Errorf("fee %d bp: %w (%d)", p.FeeBP, ErrFeeTooHigh, MaxFeeBP))
	}
	if p.SlashBP == 0 || p.SlashBP > 10_000 {
		errs = append(errs, fmt.Errorf("slash share %d bp: %w (1..10000)", p.SlashBP, ErrBadShare))
	}
	if p.RewardBP > 10_000 {
		errs = append(errs, fmt.Errorf("reward share %d bp: %w (0..10000)", p.RewardBP, ErrBadShare))
	}
	return errors.Join(errs...)
}

// Client sends one key's transactions to one Settlement contract and reads
// its state. Its methods are safe for concurrent use: sends from its key are
// serialized so their nonces never collide.
type Client struct {
	backend    Backend
	key        *ecdsa.PrivateKey
	from       common.Address
	chainID    *big.Int
	addr       common.Address
	stakeToken common.Address
	s          *Settlement
	erc20      *TestToken // its ABI is the standard ERC-20 one
	bound      *bind.BoundContract
	send       sync.Mutex
	close      func() // closes the connection Dial made; nil otherwise
}

// Dial connects to the chain at rpcURL and returns a client for the
// Settlement contract at addr, sending with key.
func Dial(ctx context.Context, rpcURL string, key *ecdsa.PrivateKey, addr common.Address) (*Client, error) {
	ec, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", rpcURL, err)
	}
	c, err := New(ctx, ec, key, addr)
	if err != nil {
		ec.Close()
		return nil, err
	}
	c.close = ec.Close
	return c, nil
}

// Close closes the connection Dial opened (clients made by New or With
// leave their backend to its owner).
func (c *Client) Close() {
	if c.close != nil {
		c.close()
	}
}

// New returns a client for the Settlement contract at addr on backend,
// sending with key. It checks that code is there and reads the chain ID and
// the stake token.
func New(ctx context.Context, backend Backend, key *ecdsa.PrivateKey, addr common.Address) (*Client, error) {
	if key == nil {
		return nil, errors.New("settlement client: no key")
	}
	chainID, err := backend.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("read chain id: %w", err)
	}
	code, err := backend.CodeAt(ctx, addr, nil)
	if err != nil {
		return nil, fmt.Errorf("read code at %s: %w", addr, err)
	}
	if len(code) == 0 {
		return nil, fmt.Errorf("%s on chain %s: %w", addr, chainID, ErrNoContract)
	}
	c := &Client{
		backend: backend, key: key, from: ethcrypto.PubkeyToAddress(key.PublicKey),
		chainID: chainID, addr: addr, s: NewSettlement(), erc20: NewTestToken(),
	}
	c.bound = c.s.Instance(backend, addr)
	if c.stakeToken, err = call(ctx, c, c.s.PackStakeToken(), c.s.UnpackStakeToken); err != nil {
		return nil, fmt.Errorf("read stake token: %w", err)
	}
	return c, nil
}

// Deploy deploys a Settlement contract with p from key's account, waits for
// it, and returns a client for it with the deployment's receipt.
func Deploy(ctx context.Context, backend Backend, key *ecdsa.PrivateKey, p Params) (*Client, *types.Receipt, error) {
	if err := p.Validate(); err != nil {
		return nil, nil, fmt.Errorf("settlement parameters: %w", err)
	}
	chainID, err := backend.ChainID(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read chain id: %w", err)
	}
	s := NewSettlement()
	args := s.PackConstructor(p.Treasury, p.StakeToken, p.MinStake, uint64(p.Notice/time.Second), p.FeeBP, p.SlashBP, p.RewardBP, p.Owner)
	rcpt, addr, err := DeployCode(ctx, backend, key, chainID, common.FromHex(SettlementMetaData.Bin), args)
	if err != nil {
		return nil, nil, fmt.Errorf("deploy settlement: %w", err)
	}
	c, err := New(ctx, backend, key, addr)
	return c, rcpt, err
}

// DeployCode deploys bytecode with ABI-encoded constructor args from key's
// account, waits for it and returns its receipt and address (the test tokens
// are deployed through it).
func DeployCode(ctx context.Context, backend Backend, key *ecdsa.PrivateKey, chainID *big.Int, bytecode, args []byte) (*types.Receipt, common.Address, error) {
	opts := bind.NewKeyedTransactor(key, chainID)
	opts.Context = ctx
	addr, tx, err := bind.DeployContract(opts, bytecode, backend, args)
	if err != nil {
		return nil, common.Address{}, revertOf(err)
	}
	rcpt, err := waitMined(ctx, backend, tx.Hash())
	if err != nil {
		return nil, common.Address{}, fmt.Errorf("wait for %s: %w", tx.Hash(), err)
	}
	if rcpt.Status != types.ReceiptStatusSuccessful {
		return rcpt, common.Address{}, fmt.Errorf("deployment %s: %w", tx.Hash(), ErrTxFailed)
	}
	return rcpt, addr, nil
}

// Address returns the contract's address.
func (c *Client) Address() common.Address { return c.addr }

// From returns the address the client sends from.
func (c *Client) From() common.Address { return c.from }

// ChainID returns the chain's ID.
func (c *Client) ChainID() *big.Int { return new(big.Int).Set(c.chainID) }

// StakeToken returns the token providers stake (NativeToken for the coin).
func (c *Client) StakeToken() common.Address { return c.stakeToken }

// With returns a client for the same contract that sends with key, over the
// same backend. Keep one client per key: sends are serialized per client.
func (c *Client) With(key *ecdsa.PrivateKey) *Client {
	return &Client{
		backend: c.backend, key: key, from: ethcrypto.PubkeyToAddress(key.PublicKey), chainID: c.chainID,
		addr: c.addr, stakeToken: c.stakeToken, s: c.s, erc20: c.erc20, bound: c.bound,
	}
}

// Deposit puts amount of token (NativeToken: the coin) into the sender's
// escrow; for an ERC-20 it first approves the contract for amount when the
// allowance is short (a second receipt, not returned).
func (c *Client) Deposit(ctx context.Context, token common.Address, amount *big.Int) (*types.Receipt, error) {
	if token == NativeToken {
		return c.transact(ctx, "deposit", c.s.PackDepositNative(), amount)
	}
	if err := c.approve(ctx, token, amount); err != nil {
		return nil, err
	}
	return c.transact(ctx, "deposit", c.s.PackDeposit(token, amount), nil)
}

// RequestWithdraw starts the notice period for taking amount of token out
// of the sender's escrow.
func (c *Client) RequestWithdraw(ctx context.Context, token common.Address, amount *big.Int) (*types.Receipt, error) {
	return c.transact(ctx, "request withdrawal", c.s.PackRequestWithdraw(token, amount), nil)
}

// Withdraw pays out the sender's pending withdrawal of token once its
// notice is over (ErrNoticeNotOver before).
func (c *Client) Withdraw(ctx context.Context, token common.Address) (*types.Receipt, error) {
	return c.transact(ctx, "withdraw", c.s.PackWithdraw(token), nil)
}

// Redemption is what one redeem moved.
type Redemption struct {
	Receipt      *types.Receipt
	Paid         *big.Int // to the provider
	RequesterFee *big.Int // to the treasury, charged to the escrow on top
	ProviderFee  *big.Int // to the treasury, out of the provider's part
}

// Redeem submits v with the requester's signature sig: the provider is paid
// what v adds to what was already redeemed, less fees.
func (c *Client) Redeem(ctx context.Context, v Voucher, sig []byte) (*Redemption, error) {
	rcpt, err := c.transact(ctx, "redeem", c.s.PackRedeem(v, sig), nil)
	if err != nil {
		return nil, err
	}
	for _, l := range rcpt.Logs {
		if ev, err := c.s.UnpackRedeemedEvent(l); err == nil && l.Address == c.addr {
			return &Redemption{Receipt: rcpt, Paid: ev.Paid, RequesterFee: ev.RequesterFee, ProviderFee: ev.ProviderFee}, nil
		}
	}
	return nil, fmt.Errorf("redeem %s: no Redeemed event in its receipt", rcpt.TxHash)
}

// Stake stakes amount of the stake token (approving it first when the
// allowance is short), or of the coin when the stake token is native.
func (c *Client) Stake(ctx context.Context, amount *big.Int) (*types.Receipt, error) {
	if c.stakeToken == NativeToken {
		return c.transact(ctx, "stake", c.s.PackStakeNative(), amount)
	}
	if err := c.approve(ctx, c.stakeToken, amount); err != nil {
		return nil, err
	}
	return c.transact(ctx, "stake", c.s.PackStake(amount), nil)
}

// RequestUnstake starts the notice period for taking amount of the sender's
// stake out; it stays slashable until Unstake.
func (c *Client) RequestUnstake(ctx context.Context, amount *big.Int) (*types.Receipt, error) {
	return c.transact(ctx, "request unstaking", c.s.PackRequestUnstake(amount), nil)
}

// Unstake pays out the sender's pending unstaking once its notice is over.
func (c *Client) Unstake(ctx context.Context) (*types.Receipt, error) {
	return c.transact(ctx, "unstake", c.s.PackUnstake(), nil)
}

// Slash is what one slashConflict took.
type Slash struct {
	Receipt  *types.Receipt
	Provider common.Address
	Amount   *big.Int // taken from the stake
	Reward   *big.Int // of it, to the submitter
}

// SlashConflict submits two conflicting Works signed by one provider key;
// the sender gets the reward share.
func (c *Client) SlashConflict(ctx context.Context, a Work, sigA []byte, b Work, sigB []byte) (*Slash, error) {
	rcpt, err := c.transact(ctx, "slash", c.s.PackSlashConflict(a, sigA, b, sigB), nil)
	if err != nil {
		return nil, err
	}
	return c.slashOf(rcpt)
}

// slashOf reads the Slashed event of a slash's receipt.
func (c *Client) slashOf(rcpt *types.Receipt) (*Slash, error) {
	for _, l := range rcpt.Logs {
		if ev, err := c.s.UnpackSlashedEvent(l); err == nil && l.Address == c.addr {
			return &Slash{Receipt: rcpt, Provider: ev.Provider, Amount: ev.Amount, Reward: ev.Reward}, nil
		}
	}
	return nil, fmt.Errorf("slash %s: no Slashed event in its receipt", rcpt.TxHash)
}

// SlashAuditFailure submits a Work the provider signed and two Audits of
// the same job and rank, by two distinct eligible staked providers other
// than it, that agree on a result other than the Work's; the sender gets
// the reward share.
func (c *Client) SlashAuditFailure(ctx context.Context, w Work, sigW []byte, a1 Audit, sig1 []byte, a2 Audit, sig2 []byte) (*Slash, error) {
	rcpt, err := c.transact(ctx, "slash on a failed audit", c.s.PackSlashAuditFailure(w, sigW, a1, sig1, a2, sig2), nil)
	if err != nil {
		return nil, err
	}
	return c.slashOf(rcpt)
}

// SetFee sets token's fee schedule (owner only; at most MaxFeeBP a side).
func (c *Client) SetFee(ctx context.Context, token common.Address, requesterBP, providerBP uint16) (*types.Receipt, error) {
	return c.transact(ctx, "set fee", c.s.PackSetFee(token, requesterBP, providerBP), nil)
}
