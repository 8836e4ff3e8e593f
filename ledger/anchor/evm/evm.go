package evm

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/gpumesh/gpumesh/ledger/anchor"
)

// client is the part of go-ethereum's ethclient.Client the backend uses;
// the in-process devChain implements it too.
type client interface {
	ChainID(ctx context.Context) (*big.Int, error)
	BlockNumber(ctx context.Context) (uint64, error)
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	PendingNonceAt(ctx context.Context, account common.Address) (uint64, error)
	EstimateGas(ctx context.Context, msg ethereum.CallMsg) (uint64, error)
	SuggestGasPrice(ctx context.Context) (*big.Int, error)
	SuggestGasTipCap(ctx context.Context) (*big.Int, error)
	SendTransaction(ctx context.Context, tx *types.Transaction) error
	TransactionByHash(ctx context.Context, hash common.Hash) (*types.Transaction, bool, error)
	TransactionReceipt(ctx context.Context, hash common.Hash) (*types.Receipt, error)
}

// EVM is an anchor.Backend on an EVM chain over JSON-RPC. Each anchor is a
// transaction of 0 wei from the configured account to itself whose calldata
// is the commitment: no contract, so it costs only the intrinsic gas and
// the calldata. Fees follow the node: EIP-1559 (tip from
// eth_maxPriorityFeePerGas, cap of twice the base fee plus the tip) where
// blocks have a base fee, a legacy gas price otherwise.
//
// The private key is held only as a parsed key: it is never logged, printed
// (EVM's String and LogValue show the address) or put in an error.
type EVM struct {
	c       client
	rpc     caller
	key     *ecdsa.PrivateKey
	from    common.Address
	where   string // the redacted URL, or "simulated"
	closeFn func()

	sendMu  sync.Mutex // one send at a time: nonces come from the pool
	idMu    sync.Mutex
	chainID uint64 // configured or learnt; checked against the node once
	checked bool
}

// ErrChainMismatch means the configured chain ID is not the node's.
var ErrChainMismatch = errors.New("chain id mismatch")

// Dial returns a backend on the JSON-RPC node at cfg.RPCURL, paying with the
// key cfg.ResolveKey finds through getenv. It validates cfg and parses the
// key; for http(s) URLs it does not contact the node, so a node that is down
// at start only delays the first anchor.
func Dial(ctx context.Context, cfg anchor.Config, getenv func(string) string) (*EVM, error) {
	if err := cfg.Validate("anchor"); err != nil {
		return nil, err
	}
	if cfg.RPCURL == "" {
		return nil, errors.New("anchor.rpc_url: not set")
	}
	cfg = cfg.WithDefaults()
	key, err := parseKey(cfg, getenv)
	if err != nil {
		return nil, err
	}
	c, err := ethclient.DialContext(ctx, cfg.RPCURL)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", anchor.RedactURL(cfg.RPCURL), caller{url: cfg.RPCURL}.scrub(err))
	}
	e := newEVM(c, key, cfg, anchor.RedactURL(cfg.RPCURL))
	e.rpc.url = cfg.RPCURL
	e.closeFn = c.Close
	return e, nil
}

// parseKey resolves and parses the key, with errors that never quote it.
func parseKey(cfg anchor.Config, getenv func(string) string) (*ecdsa.PrivateKey, error) {
	hexKey, err := cfg.ResolveKey(getenv)
	if err != nil {
		return nil, err
	}
	s := strings.TrimPrefix(strings.TrimPrefix(hexKey.Reveal(), "0x"), "0X")
	key, err := crypto.HexToECDSA(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not a valid secp256k1 private key (value not shown)", anchor.ErrNoKey)
	}
	return key, nil
}

func newEVM(c client, key *ecdsa.PrivateKey, cfg anchor.Config, where string) *EVM {
	return &EVM{
		c:       c,
		rpc:     caller{timeout: time.Duration(cfg.Timeout)},
		key:     key,
		from:    crypto.PubkeyToAddress(key.PublicKey),
		where:   where,
		chainID: cfg.ChainID,
	}
}

// Address is the account that pays for anchors, 0x-prefixed hex.
func (e *EVM) Address() string { return e.from.Hex() }

// String describes the backend without its key.
func (e *EVM) String() string {
	return fmt.Sprintf("evm chain at %s (account %s)", e.where, e.from.Hex())
}

// GoString is String, so %#v does not dump the key either.
func (e *EVM) GoString() string { return e.String() }

// LogValue implements slog.LogValuer.
func (e *EVM) LogValue() slog.Value {
	return slog.GroupValue(slog.String("rpc", e.where), slog.String("account", e.from.Hex()))
}

// Close releases the connection.
func (e *EVM) Close() error {
	if e.closeFn != nil {
		e.closeFn()
	}
	return nil
}

// ChainID implements anchor.Backend: the node's chain ID, asked once. A
// configured chain ID that differs from the node's is an error wrapping
// ErrChainMismatch (then the node is asked again next time).
func (e *EVM) ChainID(ctx context.Context) (uint64, error) {
	e.idMu.Lock()
	defer e.idMu.Unlock()
	if e.checked {
		return e.chainID, nil
	}
	var id *big.Int
	err := e.rpc.call(ctx, "eth_chainId", func(ctx context.Context) (err error) {
		id, err = e.c.ChainID(ctx)
		return err
	})
	if err != nil {
		return 0, err
	}
	if !id.IsUint64() || id.Sign() == 0 {
		return 0, fmt.Errorf("eth_chainId: node reports chain id %s", id)
	}
	if e.chainID != 0 && e.chainID != id.Uint64() {
		return 0, fmt.Errorf("%w: anchor.chain_id is %d but the node at %s serves chain %d", ErrChainMismatch, e.chainID, e.where, id.Uint64())
	}
	e.chainID, e.checked = id.Uint64(), true
	return e.chainID, nil
}

// Send implements anchor.Backend: it signs a transaction to the sender's own
// address carrying data, with the pool's next nonce, the estimated gas and
// the node's fees, and submits it. The hash comes back even when submitting
// failed (the transaction may have reached the node all the same).
func (e *EVM) Send(ctx context.Context, data []byte) (anchor.TxHash, error) {
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	tx, err := e.sign(ctx, data)
	if err != nil {
		return anchor.TxHash{}, err
	}
	err = e.rpc.call(ctx, "eth_sendRawTransaction", func(ctx context.Context) error { return e.c.SendTransaction(ctx, tx) })
	return anchor.TxHash(tx.Hash()), err
}

// Prepare implements anchor.Preparer: it signs the transaction Send would
// send and returns its hash and the func that submits it. The backend
// sends nothing else until submit is called.
func (e *EVM) Prepare(ctx context.Context, data []byte) (anchor.TxHash, func(context.Context) error, error) {
	e.sendMu.Lock()
	tx, err := e.sign(ctx, data)
	if err != nil {
		e.sendMu.Unlock()
		return anchor.TxHash{}, nil, err
	}
	var once sync.Once
	submit := func(ctx context.Context) error {
		err := errors.New("evm: transaction already submitted")
		once.Do(func() {
			defer e.sendMu.Unlock()
			err = e.rpc.call(ctx, "eth_sendRawTransaction", func(ctx context.Context) error { return e.c.SendTransaction(ctx, tx) })
		})
		return err
	}
	return anchor.TxHash(tx.Hash()), submit, nil
}

// sign builds and signs the transaction.
func (e *EVM) sign(ctx context.Context, data []byte) (*types.Transaction, error) {
	chainID, err := e.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	var nonce, gas uint64
	var head *types.Header
	err = e.rpc.call(ctx, "eth_getTransactionCount", func(ctx context.Context) (err error) {
		nonce, err = e.c.PendingNonceAt(ctx, e.from)
		return err
	})
	if err == nil {
		err = e.rpc.call(ctx, "eth_estimateGas", func(ctx context.Context) (err error) {
			gas, err = e.c.EstimateGas(ctx, ethereum.CallMsg{From: e.from, To: &e.from, Data: data})
			return err
		})
	}
	if err == nil {
		err = e.rpc.call(ctx, "eth_getBlockByNumber", func(ctx context.Context) (err error) {
			head, err = e.c.HeaderByNumber(ctx, nil)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	var txdata types.TxData
	if head.BaseFee != nil {
		var tip *big.Int
		err = e.rpc.call(ctx, "eth_maxPriorityFeePerGas", func(ctx context.Context) (err error) {
			tip, err = e.c.SuggestGasTipCap(ctx)
			return err
		})
		if err != nil {
			return nil, err
		}
		feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
		txdata = &types.DynamicFeeTx{
			ChainID: new(big.Int).SetUint64(chainID), Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap,
			Gas: gas, To: &e.from, Value: new(big.Int), Data: data,
		}
	} else {
		var price *big.Int
		err = e.rpc.call(ctx, "eth_gasPrice", func(ctx context.Context) (err error) {
			price, err = e.c.SuggestGasPrice(ctx)
			return err
		})
		if err != nil {
			return nil, err
		}
		txdata = &types.LegacyTx{Nonce: nonce, GasPrice: price, Gas: gas, To: &e.from, Value: new(big.Int), Data: data}
	}
	tx, err := types.SignNewTx(e.key, types.LatestSignerForChainID(new(big.Int).SetUint64(chainID)), txdata)
	if err != nil {
		return nil, fmt.Errorf("sign anchor tx: %w", err)
	}
	return tx, nil
}

// ErrBadNode means the node answered with data that contradicts itself, such
// as a transaction whose hash is not the one asked for.
var ErrBadNode = errors.New("node returned inconsistent data")

// Lookup implements anchor.Backend.
func (e *EVM) Lookup(ctx context.Context, h anchor.TxHash) (anchor.Tx, error) {
	hash := common.Hash(h)
	var tx *types.Transaction
	var pending bool
	err := e.rpc.call(ctx, "eth_getTransactionByHash", func(ctx context.Context) (err error) {
		tx, pending, err = e.c.TransactionByHash(ctx, hash)
		return err
	})
	if err != nil {
		return anchor.Tx{}, err
	}
	if tx.Hash() != hash {
		return anchor.Tx{}, fmt.Errorf("%w: asked for tx %s, got tx %s", ErrBadNode, hash, tx.Hash())
	}
	out := anchor.Tx{Hash: h, Data: tx.Data(), Pending: pending}
	if from, err := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx); err == nil {
		out.From = from.Hex()
	}
	if pending {
		return out, nil
	}
	var rcpt *types.Receipt
	err = e.rpc.call(ctx, "eth_getTransactionReceipt", func(ctx context.Context) (err error) {
		rcpt, err = e.c.TransactionReceipt(ctx, hash)
		return err
	})
	if errors.Is(err, anchor.ErrNotFound) { // mined but not yet indexed
		out.Pending = true
		return out, nil
	} else if err != nil {
		return anchor.Tx{}, err
	}
	if rcpt.TxHash != hash || rcpt.BlockNumber == nil {
		return anchor.Tx{}, fmt.Errorf("%w: receipt of tx %s names tx %s", ErrBadNode, hash, rcpt.TxHash)
	}
	var head, at *types.Header
	err = e.rpc.call(ctx, "eth_getBlockByNumber", func(ctx context.Context) (err error) {
		if at, err = e.c.HeaderByNumber(ctx, rcpt.BlockNumber); err != nil {
			return err
		}
		head, err = e.c.HeaderByNumber(ctx, nil)
		return err
	})
	if errors.Is(err, anchor.ErrNotFound) {
		return anchor.Tx{}, fmt.Errorf("block %s of tx %s: %w", rcpt.BlockNumber, hash, anchor.ErrNotFound)
	} else if err != nil {
		return anchor.Tx{}, err
	}
	if at.Hash() != rcpt.BlockHash {
		return anchor.Tx{}, fmt.Errorf("tx %s: its block %s (%s) is no longer canonical (%s is): %w",
			hash, rcpt.BlockNumber, rcpt.BlockHash, at.Hash(), anchor.ErrNotFound)
	}
	out.Block, out.BlockHash, out.GasUsed = rcpt.BlockNumber.Uint64(), anchor.TxHash(rcpt.BlockHash), rcpt.GasUsed
	out.Failed = rcpt.Status != types.ReceiptStatusSuccessful
	if n := head.Number.Uint64(); n >= out.Block {
		out.Confirmations = n - out.Block + 1
	}
	return out, nil
}
