package settle

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/gpumesh/gpumesh/ledger"
	"github.com/gpumesh/gpumesh/ledger/anchor"
)

// Config is the [settlement] table: which contract and token pay for
// receipts, and when a provider redeems its vouchers. The chain (RPC URL and
// chain ID) is the one [anchor] names. Settlement is off until Contract is set.
type Config struct {
	// Contract is the Settlement contract's address; empty turns settlement off.
	Contract string `toml:"contract" comment:"address (0x...) of the Settlement contract on the anchor chain; empty = settlement off (receipts are recorded, nothing is paid)"`
	// Token is the ERC-20 token jobs are paid in; empty or the zero address is the native coin.
	Token string `toml:"token" comment:"address (0x...) of the ERC-20 token jobs are paid in; empty = the chain's native coin"`
	// TokenDecimals is the token's decimals: 6 maps one micro to one base unit.
	TokenDecimals uint8 `toml:"token_decimals" comment:"decimals of the token (6 for a USD stablecoin; the native coin has 18); base units = micros x 10^(decimals-6)"`
	// ChainID is the chain the contract lives on; 0 takes anchor.chain_id.
	ChainID uint64 `toml:"chain_id" comment:"chain ID of the contract's chain, signed into every voucher; 0 = anchor.chain_id"`
	// RedeemThreshold redeems a requester's latest voucher as soon as it
	// holds at least this much not yet redeemed, in USD; 0 redeems only by interval.
	RedeemThreshold float64 `toml:"redeem_threshold" comment:"redeem a requester's latest voucher once it holds at least this many USD not yet redeemed; 0 = by interval only"`
	// RedeemInterval redeems whatever is held at least this often; 0 redeems only by threshold.
	RedeemInterval anchor.Duration `toml:"redeem_interval" comment:"redeem every voucher holding anything not yet redeemed at least this often; 0 = by threshold only"`
}

// DefaultConfig returns the defaults: settlement off; when on, a 6-decimals
// token, redeemed from 10 USD or once a day.
func DefaultConfig() Config {
	return Config{TokenDecimals: MicrosDecimals, RedeemThreshold: 10, RedeemInterval: anchor.Duration(24 * time.Hour)}
}

// Enabled reports whether c names a contract.
func (c Config) Enabled() bool { return c.Contract != "" }

// OffReason says why settlement is off, or "" when it is on.
func (c Config) OffReason() string {
	if c.Enabled() {
		return ""
	}
	return "settlement off: no contract configured ([settlement] contract)"
}

// ContractAddress is the contract's address (zero when off).
func (c Config) ContractAddress() common.Address { return common.HexToAddress(c.Contract) }

// TokenAddress is the token's address (NativeToken for the native coin).
func (c Config) TokenAddress() common.Address {
	if c.Token == "" {
		return NativeToken
	}
	return common.HexToAddress(c.Token)
}

// Threshold is RedeemThreshold in micros.
func (c Config) Threshold() ledger.Micros {
	return ledger.Micros(math.Round(c.RedeemThreshold * 1e6))
}

// Validate returns every problem with c, each naming its key under prefix.
func (c Config) Validate(prefix string) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, args...)))
	}
	if c.Contract != "" && (!common.IsHexAddress(c.Contract) || c.ContractAddress() == (common.Address{})) {
		bad("contract", "%q is not a non-zero 0x address", clip(c.Contract))
	}
	if c.Token != "" && !common.IsHexAddress(c.Token) {
		bad("token", "%q is not a 0x address", clip(c.Token))
	}
	if err := checkDecimals(c.TokenDecimals); err != nil {
		bad("token_decimals", "%v", err)
	} else if c.TokenAddress() == NativeToken && c.TokenDecimals != NativeDecimals && c.Enabled() {
		bad("token_decimals", "%d, but the native coin has %d", c.TokenDecimals, NativeDecimals)
	}
	if math.IsNaN(c.RedeemThreshold) || c.RedeemThreshold < 0 || c.RedeemThreshold > float64(ledger.MaxAmount)/1e6 {
		bad("redeem_threshold", "%v not in [0, %d]", c.RedeemThreshold, ledger.MaxAmount/1e6)
	}
	if c.RedeemInterval != 0 && time.Duration(c.RedeemInterval) < time.Minute {
		bad("redeem_interval", "%s, want 0 or at least 1m", time.Duration(c.RedeemInterval))
	}
	if c.Enabled() && c.RedeemThreshold == 0 && c.RedeemInterval == 0 {
		bad("redeem_threshold", "0 with redeem_interval 0: nothing would ever be redeemed")
	}
	return errors.Join(errs...)
}

// clip shortens a hostile value before it is quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
