package cli

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/anchor/evm"
	"github.com/gpumesh/gpumesh/ledger/settle"
	"github.com/gpumesh/gpumesh/ledger/settle/contracts"
	"github.com/gpumesh/gpumesh/node"
	"github.com/gpumesh/gpumesh/node/config"
	"github.com/gpumesh/gpumesh/scheduler/market"
)

// The demo's money: test dollars of a 6-decimals stablecoin, one base unit
// a micro.
const (
	// demoDeposit is what the researcher deposits into escrow: 10 USD.
	demoDeposit = 10_000_000
	// demoCPUPrice is the demo providers' ask per CPU-hour, high enough
	// that a one-second rank's 0.25 % fees are whole base units.
	demoCPUPrice = "cpu=3.60"
)

// demoGas is what the demo gives each wallet for gas: 1 ether.
var demoGas = big.NewInt(1e18)

// demoMoney is the demo's settlement: the Settlement contract and a test
// stablecoin deployed on the demo's dev chain.
type demoMoney struct {
	dev      *evm.DevChain
	owner    *contracts.Client // the deployer's client; mints test dollars
	token    common.Address
	treasury common.Address
	out      demoSettlement
}

// demoSettlement is the settlement part of the demo's report (--json): every
// amount in base units of the 6-decimals token (micros), in decimal.
type demoSettlement struct {
	ChainID      uint64           `json:"chain_id"`
	Contract     string           `json:"contract"`
	Token        string           `json:"token"`
	Treasury     string           `json:"treasury"`
	Researcher   string           `json:"researcher_wallet"`
	FeeBP        [2]uint16        `json:"fee_bp"` // requester's side, provider's side
	Deposit      string           `json:"deposit"`
	Vouchers     []demoVoucher    `json:"vouchers"`
	Redemptions  []demoRedemption `json:"redemptions"`
	TreasuryHeld string           `json:"treasury_balance"`
	EscrowLeft   string           `json:"escrow_left"`
	Transactions []demoTx         `json:"transactions"`
	Checked      bool             `json:"checked"`
}

// demoVoucher is one voucher the researcher signed for a receipt of the job.
type demoVoucher struct {
	Receipt    string `json:"receipt"`
	Provider   string `json:"provider"` // the provider's wallet
	Peer       string `json:"peer"`
	Nonce      uint64 `json:"nonce"`
	Amount     string `json:"amount"`
	Cumulative string `json:"cumulative"`
}

// demoRedemption is one provider's redemption and the balances after it.
type demoRedemption struct {
	Provider     string `json:"provider"`
	Peer         string `json:"peer"`
	Amount       string `json:"amount"`
	Paid         string `json:"paid"`
	RequesterFee string `json:"requester_fee"`
	ProviderFee  string `json:"provider_fee"`
	Balance      string `json:"balance"`
	Tx           string `json:"tx"`
	Gas          uint64 `json:"gas"`
}

// demoTx is one transaction the demo sent, with its gas.
type demoTx struct {
	What string `json:"what"`
	Tx   string `json:"tx"`
	Gas  uint64 `json:"gas"`
}

// deployDemoMoney deploys a test stablecoin and the Settlement contract
// (the default 0.25 % fees each side, a fresh treasury) on the simulated
// chain, from a fresh deployer funded for gas.
func deployDemoMoney(ctx context.Context, chain *evm.Simulated) (*demoMoney, error) {
	m := &demoMoney{dev: chain.Chain()}
	deployer, err := ethcrypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	tk, err := ethcrypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	m.treasury = settle.Address(tk)
	if err := m.dev.Fund(ctx, settle.Address(deployer), demoGas); err != nil {
		return nil, fmt.Errorf("fund the deployer: %w", err)
	}
	chainID := big.NewInt(evm.SimulatedChainID)
	rcpt, token, err := contracts.DeployCode(ctx, m.dev, deployer, chainID, common.FromHex(contracts.TestTokenMetaData.Bin), nil)
	if err != nil {
		return nil, fmt.Errorf("deploy the test stablecoin: %w", err)
	}
	m.token = token
	m.note("deploy the test stablecoin", rcpt)
	p := contracts.DefaultParams(m.treasury, settle.Address(deployer))
	p.StakeToken = token
	if m.owner, rcpt, err = contracts.Deploy(ctx, m.dev, deployer, p); err != nil {
		return nil, fmt.Errorf("deploy the Settlement contract: %w", err)
	}
	m.note("deploy Settlement", rcpt)
	rBP, pBP, err := m.owner.Fee(ctx, token)
	if err != nil {
		return nil, fmt.Errorf("read the fees: %w", err)
	}
	m.out = demoSettlement{ChainID: evm.SimulatedChainID, Contract: m.owner.Address().Hex(), Token: token.Hex(),
		Treasury: m.treasury.Hex(), FeeBP: [2]uint16{rBP, pBP}, Transactions: m.out.Transactions}
	return m, nil
}

// note records a transaction the demo sent.
func (m *demoMoney) note(what string, r *types.Receipt) {
	m.out.Transactions = append(m.out.Transactions, demoTx{What: what, Tx: r.TxHash.Hex(), Gas: r.GasUsed})
}

// configure turns settlement on in c: the demo's contract and token, on the
// simulated chain.
func (m *demoMoney) configure(c *config.Config) {
	c.Settlement.Contract = m.owner.Address().Hex()
	c.Settlement.Token = m.token.Hex()
	c.Settlement.TokenDecimals = settle.MicrosDecimals
	c.Settlement.ChainID = evm.SimulatedChainID
	c.Offer.Prices = []string{demoCPUPrice}
}

// nodeChain creates the wallet of the node whose data dir is dir, funds it
// for gas and returns the settlement chain client it sends with: the node
// pays the gas of what it sends (a provider, its redemptions).
func (m *demoMoney) nodeChain(ctx context.Context, dir string) (*contracts.Chain, *ecdsa.PrivateKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	key, _, err := settle.LoadOrCreateWallet(filepath.Join(dir, settle.WalletFile))
	if err != nil {
		return nil, nil, err
	}
	if err := m.dev.Fund(ctx, settle.Address(key), demoGas); err != nil {
		return nil, nil, fmt.Errorf("fund %s: %w", settle.Address(key).Hex(), err)
	}
	cl, err := contracts.New(ctx, m.dev, key, m.owner.Address())
	if err != nil {
		return nil, nil, err
	}
	return contracts.NewChain(cl), key, nil
}

// deposit mints the researcher test dollars, approves the contract and
// deposits them into its escrow: three transactions.
func (m *demoMoney) deposit(ctx context.Context, w io.Writer, researcher *ecdsa.PrivateKey) error {
	who := settle.Address(researcher)
	amount := big.NewInt(demoDeposit)
	rcpt, err := m.owner.Send(ctx, m.token, contracts.NewTestToken().PackMint(who, amount))
	if err != nil {
		return fmt.Errorf("mint test dollars: %w", err)
	}
	m.note("mint the researcher 10 test dollars", rcpt)
	r := m.owner.With(researcher)
	if rcpt, err = r.Send(ctx, m.token, contracts.NewTestToken().PackApprove(m.owner.Address(), amount)); err != nil {
		return fmt.Errorf("approve the contract: %w", err)
	}
	m.note("researcher approves Settlement", rcpt)
	if rcpt, err = r.Deposit(ctx, m.token, amount); err != nil {
		return fmt.Errorf("deposit: %w", err)
	}
	m.note("researcher deposits into escrow", rcpt)
	m.out.Researcher, m.out.Deposit = who.Hex(), amount.String()
	escrow, err := m.owner.Escrow(ctx, who, m.token)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nsettlement on the simulated chain: Settlement %s, test stablecoin %s (6 decimals), treasury %s, fees %d bp from each side\n",
		m.out.Contract, m.out.Token, m.out.Treasury, m.out.FeeBP[0])
	fmt.Fprintf(w, "researcher's wallet %s was minted %s in test dollars (and gas), approved the contract and deposited it all: escrow %s\n",
		who.Hex(), dollars(amount), dollars(escrow))
	fmt.Fprintf(w, "gas:")
	for _, t := range m.out.Transactions {
		fmt.Fprintf(w, " %s %d;", t.What, t.Gas)
	}
	fmt.Fprintf(w, " deposit tx %s\n", rcpt.TxHash.Hex())
	return nil
}

// dollars formats base units of the 6-decimals token as dollars.
func dollars(units *big.Int) string { return "$" + settle.FormatUnits(units, settle.MicrosDecimals) }

// vouchers prints and records the vouchers the researcher signed for the
// job's receipts, and returns what each provider wallet is owed: the sum of
// its receipts.
func (m *demoMoney) vouchers(w io.Writer, researcher *node.Node, v market.JobView) (map[common.Address]*big.Int, map[common.Address]string, error) {
	entries, err := researcher.Ledger().ByJob(v.ID)
	if err != nil {
		return nil, nil, err
	}
	owed, peers := map[common.Address]*big.Int{}, map[common.Address]string{}
	fmt.Fprintf(w, "\nvouchers the researcher signed with the receipts (EIP-712, cumulative per provider; a provider redeems only its latest):\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECEIPT\tPROVIDER WALLET\tPEER\tNONCE\tAMOUNT\tCUMULATIVE")
	for _, e := range entries {
		r, err := e.Receipt()
		if err != nil {
			return nil, nil, err
		}
		rec, err := researcher.Ledger().VoucherFor(ledger.VoucherSigned, r.ID)
		if err != nil {
			return nil, nil, fmt.Errorf("the voucher of receipt %s: %w", r.ID, err)
		}
		sv, err := settle.DecodeSignedVoucher(rec.Voucher)
		if err != nil {
			return nil, nil, fmt.Errorf("the voucher of receipt %s: %w", r.ID, err)
		}
		prov := sv.Voucher.Provider
		if owed[prov] == nil {
			owed[prov] = new(big.Int)
		}
		owed[prov].Add(owed[prov], big.NewInt(int64(r.Amount)))
		peers[prov] = r.Provider
		cum := sv.Voucher.Cumulative
		m.out.Vouchers = append(m.out.Vouchers, demoVoucher{Receipt: r.ID, Provider: prov.Hex(), Peer: r.Provider,
			Nonce: sv.Voucher.Nonce, Amount: big.NewInt(int64(r.Amount)).String(), Cumulative: cum.String()})
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.ID[:12], prov.Hex(), shortPeer(r.Provider), sv.Voucher.Nonce,
			dollars(big.NewInt(int64(r.Amount))), dollars(cum))
	}
	tw.Flush()
	if len(owed) == 0 {
		return nil, nil, fmt.Errorf("no vouchers for job %s", v.ID)
	}
	return owed, peers, nil
}

// redeem has each provider that holds vouchers of the job redeem once
// (its latest voucher, one transaction), prints what moved and checks
// every balance against the receipts' sums.
func (m *demoMoney) redeem(ctx context.Context, w io.Writer, providers []*node.Node, wallets map[*node.Node]common.Address, owed map[common.Address]*big.Int, peers map[common.Address]string) error {
	fmt.Fprintf(w, "\neach provider redeems its latest voucher, one transaction for all its receipts:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER WALLET\tRECEIPTS' SUM\tPAID TO PROVIDER\tPROVIDER FEE\tREQUESTER FEE\tPROVIDER BALANCE\tGAS\tTX")
	for _, p := range providers {
		rs, err := p.Redeem(ctx, true)
		if err != nil {
			return fmt.Errorf("provider %s redeems: %w", p.PeerID(), err)
		}
		for _, r := range rs {
			if !r.Redeemed || r.Tx == "" || r.Paid == nil {
				return fmt.Errorf("provider %s: channel %s not redeemed: %s %s", p.PeerID(), r.Channel, r.Reason, r.Err)
			}
			rcpt, err := m.dev.TransactionReceipt(ctx, common.HexToHash(r.Tx))
			if err != nil {
				return fmt.Errorf("the receipt of redemption %s: %w", r.Tx, err)
			}
			wallet := wallets[p]
			bal, err := m.owner.BalanceOf(ctx, m.token, wallet)
			if err != nil {
				return err
			}
			m.out.Redemptions = append(m.out.Redemptions, demoRedemption{Provider: wallet.Hex(), Peer: peers[wallet],
				Amount: r.Amount.String(), Paid: r.Paid.String(), RequesterFee: r.RequesterFee.String(), ProviderFee: r.ProviderFee.String(),
				Balance: bal.String(), Tx: r.Tx, Gas: rcpt.GasUsed})
			m.out.Transactions = append(m.out.Transactions, demoTx{What: "provider " + wallet.Hex() + " redeems", Tx: r.Tx, Gas: rcpt.GasUsed})
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", wallet.Hex(), dollars(owed[wallet]), dollars(r.Paid), dollars(r.ProviderFee),
				dollars(r.RequesterFee), dollars(bal), rcpt.GasUsed, r.Tx)
		}
	}
	tw.Flush()
	treasury, err := m.owner.BalanceOf(ctx, m.token, m.treasury)
	if err != nil {
		return err
	}
	escrow, err := m.owner.Escrow(ctx, common.HexToAddress(m.out.Researcher), m.token)
	if err != nil {
		return err
	}
	m.out.TreasuryHeld, m.out.EscrowLeft = treasury.String(), escrow.String()
	fmt.Fprintf(w, "treasury %s holds %s in fees; the researcher's escrow holds %s of its %s\n",
		m.out.Treasury, dollars(treasury), dollars(escrow), dollars(big.NewInt(demoDeposit)))
	if err := m.check(owed); err != nil {
		return fmt.Errorf("the money does not add up: %w", err)
	}
	m.out.Checked = true
	fmt.Fprintf(w, "checked: every provider got its receipts' sum less %d bp, the treasury both fees, the escrow the rest, to the base unit\n", m.out.FeeBP[1])
	return nil
}

// check compares what moved with what the receipts say: each provider
// redeemed exactly its receipts' sum and holds it less its fee, the
// treasury holds both fees, and the escrow lost the sums and the
// requester's fees. Every problem is returned.
func (m *demoMoney) check(owed map[common.Address]*big.Int) error {
	var errs []error
	fee := func(x *big.Int, bp uint16) *big.Int {
		return new(big.Int).Div(new(big.Int).Mul(x, big.NewInt(int64(bp))), big.NewInt(10_000))
	}
	fees, charged := new(big.Int), new(big.Int)
	redeemed := map[string]bool{}
	for _, r := range m.out.Redemptions {
		want := owed[common.HexToAddress(r.Provider)]
		if want == nil {
			errs = append(errs, fmt.Errorf("provider %s redeemed %s for no receipt of the job", r.Provider, r.Amount))
			continue
		}
		redeemed[r.Provider] = true
		rFee, pFee := fee(want, m.out.FeeBP[0]), fee(want, m.out.FeeBP[1])
		paid := new(big.Int).Sub(want, pFee)
		got := [4]string{r.Amount, r.Paid, r.ProviderFee, r.Balance}
		if exp := [4]string{want.String(), paid.String(), pFee.String(), paid.String()}; got != exp || r.RequesterFee != rFee.String() {
			errs = append(errs, fmt.Errorf("provider %s: redeemed, paid, fee, balance %v and requester fee %s; the receipts say %v and %s",
				r.Provider, got, r.RequesterFee, exp, rFee))
		}
		fees.Add(fees, rFee).Add(fees, pFee)
		charged.Add(charged, want).Add(charged, rFee)
	}
	for p := range owed {
		if !redeemed[p.Hex()] {
			errs = append(errs, fmt.Errorf("provider %s holds vouchers but redeemed nothing", p.Hex()))
		}
	}
	if m.out.TreasuryHeld != fees.String() {
		errs = append(errs, fmt.Errorf("treasury holds %s, the fees are %s", m.out.TreasuryHeld, fees))
	}
	if left := new(big.Int).Sub(big.NewInt(demoDeposit), charged); m.out.EscrowLeft != left.String() {
		errs = append(errs, fmt.Errorf("escrow holds %s, the deposit less what was charged is %s", m.out.EscrowLeft, left))
	}
	return errors.Join(errs...)
}
