// Code generated via abigen V2 - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package contracts

import (
	"bytes"
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = bytes.Equal
	_ = errors.New
	_ = big.NewInt
	_ = common.Big1
	_ = types.BloomLookup
	_ = abi.ConvertType
)

// SettlementAudit is an auto generated low-level Go binding around an user-defined struct.
type SettlementAudit struct {
	Job    [32]byte
	Rank   uint32
	Result [32]byte
}

// SettlementVoucher is an auto generated low-level Go binding around an user-defined struct.
type SettlementVoucher struct {
	Requester  common.Address
	Provider   common.Address
	Token      common.Address
	Cumulative *big.Int
	Nonce      uint64
}

// SettlementWork is an auto generated low-level Go binding around an user-defined struct.
type SettlementWork struct {
	Job       [32]byte
	Rank      uint32
	Result    [32]byte
	Amount    *big.Int
	Token     common.Address
	Requester common.Address
}

// SettlementMetaData contains all meta data concerning the Settlement contract.
var SettlementMetaData = bind.MetaData{
	ABI: "[{\"inputs\":[{\"internalType\":\"address\",\"name\":\"treasury_\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"stakeToken_\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"minStake_\",\"type\":\"uint256\"},{\"internalType\":\"uint64\",\"name\":\"notice_\",\"type\":\"uint64\"},{\"internalType\":\"uint16\",\"name\":\"defaultFeeBP_\",\"type\":\"uint16\"},{\"internalType\":\"uint16\",\"name\":\"slashBP_\",\"type\":\"uint16\"},{\"internalType\":\"uint16\",\"name\":\"rewardBP_\",\"type\":\"uint16\"},{\"internalType\":\"address\",\"name\":\"owner_\",\"type\":\"address\"}],\"stateMutability\":\"nonpayable\",\"type\":\"constructor\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"offence\",\"type\":\"bytes32\"}],\"name\":\"AlreadySlashed\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"auditor\",\"type\":\"address\"}],\"name\":\"AuditorIsAccused\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"auditor\",\"type\":\"address\"}],\"name\":\"AuditorNotEligible\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"AuditsDisagree\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"notice\",\"type\":\"uint64\"}],\"name\":\"BadNotice\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint16\",\"name\":\"bp\",\"type\":\"uint16\"}],\"name\":\"BadShare\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"BadSignature\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"a\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"b\",\"type\":\"address\"}],\"name\":\"DifferentSigners\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint16\",\"name\":\"requesterBP\",\"type\":\"uint16\"},{\"internalType\":\"uint16\",\"name\":\"providerBP\",\"type\":\"uint16\"}],\"name\":\"FeeTooHigh\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"InvalidShortString\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"to\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"NativeTransferFailed\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"}],\"name\":\"NoStake\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"NotConflicting\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"cumulative\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"redeemed\",\"type\":\"uint256\"}],\"name\":\"NotNewer\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"caller\",\"type\":\"address\"}],\"name\":\"NotOwner\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"NothingPending\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"readyAt\",\"type\":\"uint64\"},{\"internalType\":\"uint64\",\"name\":\"now_\",\"type\":\"uint64\"}],\"name\":\"NoticeNotOver\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"balance\",\"type\":\"uint256\"}],\"name\":\"OverBalance\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"charge\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"escrow\",\"type\":\"uint256\"}],\"name\":\"OverEscrow\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"ReentrancyGuardReentrantCall\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"}],\"name\":\"SafeERC20FailedOperation\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"auditor\",\"type\":\"address\"}],\"name\":\"SameAuditor\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"string\",\"name\":\"str\",\"type\":\"string\"}],\"name\":\"StringTooLong\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"signer\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"want\",\"type\":\"address\"}],\"name\":\"WrongSigner\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"}],\"name\":\"WrongToken\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"ZeroAddress\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"ZeroAmount\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"requester\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"Deposited\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[],\"name\":\"EIP712DomainChanged\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint16\",\"name\":\"requesterBP\",\"type\":\"uint16\"},{\"indexed\":false,\"internalType\":\"uint16\",\"name\":\"providerBP\",\"type\":\"uint16\"}],\"name\":\"FeeSet\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"previous\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"next\",\"type\":\"address\"}],\"name\":\"OwnerChanged\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"requester\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"cumulative\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint64\",\"name\":\"nonce\",\"type\":\"uint64\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"paid\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"requesterFee\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"providerFee\",\"type\":\"uint256\"}],\"name\":\"Redeemed\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"submitter\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"job\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"uint32\",\"name\":\"rank\",\"type\":\"uint32\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"reward\",\"type\":\"uint256\"}],\"name\":\"Slashed\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"Staked\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint64\",\"name\":\"readyAt\",\"type\":\"uint64\"}],\"name\":\"UnstakeRequested\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"Unstaked\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"requester\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint64\",\"name\":\"readyAt\",\"type\":\"uint64\"}],\"name\":\"WithdrawRequested\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"requester\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"Withdrawn\",\"type\":\"event\"},{\"inputs\":[],\"name\":\"AUDIT_TYPEHASH\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"MAX_FEE_BP\",\"outputs\":[{\"internalType\":\"uint16\",\"name\":\"\",\"type\":\"uint16\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"MAX_NOTICE\",\"outputs\":[{\"internalType\":\"uint64\",\"name\":\"\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"VOUCHER_TYPEHASH\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"WORK_TYPEHASH\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"job\",\"type\":\"bytes32\"},{\"internalType\":\"uint32\",\"name\":\"rank\",\"type\":\"uint32\"},{\"internalType\":\"bytes32\",\"name\":\"result\",\"type\":\"bytes32\"}],\"internalType\":\"structSettlement.Audit\",\"name\":\"a\",\"type\":\"tuple\"}],\"name\":\"auditDigest\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"defaultFeeBP\",\"outputs\":[{\"internalType\":\"uint16\",\"name\":\"\",\"type\":\"uint16\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"deposit\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"depositNative\",\"outputs\":[],\"stateMutability\":\"payable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"eip712Domain\",\"outputs\":[{\"internalType\":\"bytes1\",\"name\":\"fields\",\"type\":\"bytes1\"},{\"internalType\":\"string\",\"name\":\"name\",\"type\":\"string\"},{\"internalType\":\"string\",\"name\":\"version\",\"type\":\"string\"},{\"internalType\":\"uint256\",\"name\":\"chainId\",\"type\":\"uint256\"},{\"internalType\":\"address\",\"name\":\"verifyingContract\",\"type\":\"address\"},{\"internalType\":\"bytes32\",\"name\":\"salt\",\"type\":\"bytes32\"},{\"internalType\":\"uint256[]\",\"name\":\"extensions\",\"type\":\"uint256[]\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"requester\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"}],\"name\":\"escrow\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"}],\"name\":\"fee\",\"outputs\":[{\"internalType\":\"uint16\",\"name\":\"requesterBP\",\"type\":\"uint16\"},{\"internalType\":\"uint16\",\"name\":\"providerBP\",\"type\":\"uint16\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"}],\"name\":\"isEligible\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"minStake\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"notice\",\"outputs\":[{\"internalType\":\"uint64\",\"name\":\"\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"owner\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"}],\"name\":\"pendingUnstake\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"uint64\",\"name\":\"readyAt\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"requester\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"}],\"name\":\"pendingWithdrawal\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"uint64\",\"name\":\"readyAt\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"components\":[{\"internalType\":\"address\",\"name\":\"requester\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"cumulative\",\"type\":\"uint256\"},{\"internalType\":\"uint64\",\"name\":\"nonce\",\"type\":\"uint64\"}],\"internalType\":\"structSettlement.Voucher\",\"name\":\"v\",\"type\":\"tuple\"},{\"internalType\":\"bytes\",\"name\":\"sig\",\"type\":\"bytes\"}],\"name\":\"redeem\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"paid\",\"type\":\"uint256\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"requester\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"}],\"name\":\"redeemed\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"requestUnstake\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"requestWithdraw\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"rewardBP\",\"outputs\":[{\"internalType\":\"uint16\",\"name\":\"\",\"type\":\"uint16\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"uint16\",\"name\":\"requesterBP\",\"type\":\"uint16\"},{\"internalType\":\"uint16\",\"name\":\"providerBP\",\"type\":\"uint16\"}],\"name\":\"setFee\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"next\",\"type\":\"address\"}],\"name\":\"setOwner\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"job\",\"type\":\"bytes32\"},{\"internalType\":\"uint32\",\"name\":\"rank\",\"type\":\"uint32\"},{\"internalType\":\"bytes32\",\"name\":\"result\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"requester\",\"type\":\"address\"}],\"internalType\":\"structSettlement.Work\",\"name\":\"w\",\"type\":\"tuple\"},{\"internalType\":\"bytes\",\"name\":\"sigW\",\"type\":\"bytes\"},{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"job\",\"type\":\"bytes32\"},{\"internalType\":\"uint32\",\"name\":\"rank\",\"type\":\"uint32\"},{\"internalType\":\"bytes32\",\"name\":\"result\",\"type\":\"bytes32\"}],\"internalType\":\"structSettlement.Audit\",\"name\":\"a1\",\"type\":\"tuple\"},{\"internalType\":\"bytes\",\"name\":\"sig1\",\"type\":\"bytes\"},{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"job\",\"type\":\"bytes32\"},{\"internalType\":\"uint32\",\"name\":\"rank\",\"type\":\"uint32\"},{\"internalType\":\"bytes32\",\"name\":\"result\",\"type\":\"bytes32\"}],\"internalType\":\"structSettlement.Audit\",\"name\":\"a2\",\"type\":\"tuple\"},{\"internalType\":\"bytes\",\"name\":\"sig2\",\"type\":\"bytes\"}],\"name\":\"slashAuditFailure\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"slashBP\",\"outputs\":[{\"internalType\":\"uint16\",\"name\":\"\",\"type\":\"uint16\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"job\",\"type\":\"bytes32\"},{\"internalType\":\"uint32\",\"name\":\"rank\",\"type\":\"uint32\"},{\"internalType\":\"bytes32\",\"name\":\"result\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"requester\",\"type\":\"address\"}],\"internalType\":\"structSettlement.Work\",\"name\":\"a\",\"type\":\"tuple\"},{\"internalType\":\"bytes\",\"name\":\"sigA\",\"type\":\"bytes\"},{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"job\",\"type\":\"bytes32\"},{\"internalType\":\"uint32\",\"name\":\"rank\",\"type\":\"uint32\"},{\"internalType\":\"bytes32\",\"name\":\"result\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"requester\",\"type\":\"address\"}],\"internalType\":\"structSettlement.Work\",\"name\":\"b\",\"type\":\"tuple\"},{\"internalType\":\"bytes\",\"name\":\"sigB\",\"type\":\"bytes\"}],\"name\":\"slashConflict\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"offence\",\"type\":\"bytes32\"}],\"name\":\"slashed\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"stake\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"stakeNative\",\"outputs\":[],\"stateMutability\":\"payable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"}],\"name\":\"stakeOf\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"stakeToken\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"treasury\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"unstake\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"components\":[{\"internalType\":\"address\",\"name\":\"requester\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"provider\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"cumulative\",\"type\":\"uint256\"},{\"internalType\":\"uint64\",\"name\":\"nonce\",\"type\":\"uint64\"}],\"internalType\":\"structSettlement.Voucher\",\"name\":\"v\",\"type\":\"tuple\"}],\"name\":\"voucherDigest\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"}],\"name\":\"withdraw\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"job\",\"type\":\"bytes32\"},{\"internalType\":\"uint32\",\"name\":\"rank\",\"type\":\"uint32\"},{\"internalType\":\"bytes32\",\"name\":\"result\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"requester\",\"type\":\"address\"}],\"internalType\":\"structSettlement.Work\",\"name\":\"w\",\"type\":\"tuple\"}],\"name\":\"workDigest\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"}]",
	ID:  "Settlement",
	Bin: "0x610240604052348015610010575f5ffd5b5060405161340e38038061340e83398101604081905261002f91610349565b604051806040016040528060078152602001660cee0eadacae6d60cb1b815250604051806040016040528060018152602001603160f81b815250610078826102e060201b60201c565b61012052610085816102e0565b61014052815160208084019190912060e052815190820120610100524660a05261011160e05161010051604080517f8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f60208201529081019290925260608201524660808201523060a08201525f9060c00160405160208183030381529060405280519060200120905090565b60805250503060c05260017f9b779b17422d0df92223018b32b4d1fa46e071723d6817e2486d003becc55f00556001600160a01b038816158061015b57506001600160a01b038116155b156101795760405163d92e233d60e01b815260040160405180910390fd5b6101f461ffff851611156101b257604051633c057d7b60e01b815261ffff85166004820181905260248201526044015b60405180910390fd5b6301e133806001600160401b03861611156101eb57604051636a993cd560e01b81526001600160401b03861660048201526024016101a9565b61ffff83161580610201575061271061ffff8416115b1561022557604051633b4fc72760e11b815261ffff841660048201526024016101a9565b61271061ffff8316111561025257604051633b4fc72760e11b815261ffff831660048201526024016101a9565b6001600160a01b0388811661016052878116610180526101a08790526001600160401b0386166101c05261ffff8581166101e05284811661020052831661022052600280546001600160a01b03191691831691821790556040515f907fb532073b38c83145e3e5135377a08bf9aab55bc0fd7c1179cd4fb995d2a5159c908290a3505050505050505061043d565b5f5f829050601f8151111561030a578260405163305a27a960e01b81526004016101a991906103e2565b805161031582610417565b179392505050565b80516001600160a01b0381168114610333575f5ffd5b919050565b805161ffff81168114610333575f5ffd5b5f5f5f5f5f5f5f5f610100898b031215610361575f5ffd5b61036a8961031d565b975061037860208a0161031d565b60408a015160608b015191985096506001600160401b038116811461039b575f5ffd5b94506103a960808a01610338565b93506103b760a08a01610338565b92506103c560c08a01610338565b91506103d360e08a0161031d565b90509295985092959890939650565b602081525f82518060208401528060208501604085015e5f604082850101526040601f19601f83011684010191505092915050565b80516020808301519190811015610437575f198160200360031b1b821691505b50919050565b60805160a05160c05160e05161010051610120516101405161016051610180516101a0516101c0516101e0516102005161022051612ed161053d5f395f8181610232015261242001525f818161063601526123be01525f8181610384015261125601525f81816106f9015281816109780152610c5c01525f81816102fe01526111bb01525f818161042801528181610b7001528181610fc10152818161100501528181611781015281816117ce015281816124b101526124dc01525f818161054f0152818161172f01526124fd01525f6120ba01525f61208a01525f6126a301525f61267b01525f6125d601525f61260001525f61262a0152612ed15ff3fe60806040526004361061021d575f3560e01c80636eb3abe01161011e5780639c94e6c6116100a8578063db351c431161006d578063db351c43146107a7578063db6b5246146107c6578063e47ba178146107ce578063fac958a914610801578063fe4347c314610845575f5ffd5b80639c94e6c6146106e8578063a2e3427814610733578063a694fc3a1461074a578063b943a37914610769578063c2ab127a14610788575f5ffd5b806387a908ca116100ee57806387a908ca14610625578063889de79c146106585780638da5cb5b1461067757806394739e871461069657806397e6170e146106c9575f5ffd5b80636eb3abe0146105905780636fcca69b146105a557806384b0196e146105df5780638629bf7f14610606575f5ffd5b806347e7ef24116101aa578063590fcdda1161016f578063590fcdda146104d9578063605dcbee146104e157806361b143df1461050057806361d027b31461053e57806366e305fd14610571575f5ffd5b806347e7ef24146103a65780634e12aa96146103c557806351cff8d9146103f857806351ed6a301461041757806356d6ea4f14610462575f5ffd5b80633031a853116101f05780633031a853146102c0578063375b3c0a146102ed578063397a1b2814610320578063426233601461033f5780634413229f14610373575f5ffd5b80630c3c904a1461022157806313af40351461026c578063230957211461028d5780632def6620146102ac575b5f5ffd5b34801561022c575f5ffd5b506102547f000000000000000000000000000000000000000000000000000000000000000081565b60405161ffff90911681526020015b60405180910390f35b348015610277575f5ffd5b5061028b610286366004612952565b610864565b005b348015610298575f5ffd5b5061028b6102a736600461296b565b610918565b3480156102b7575f5ffd5b5061028b610a29565b3480156102cb575f5ffd5b506102df6102da366004612982565b610bb1565b604051908152602001610263565b3480156102f8575f5ffd5b506102df7f000000000000000000000000000000000000000000000000000000000000000081565b34801561032b575f5ffd5b5061028b61033a3660046129c2565b610be8565b34801561034a575f5ffd5b506102df610359366004612952565b6001600160a01b03165f9081526006602052604090205490565b34801561037e575f5ffd5b506102547f000000000000000000000000000000000000000000000000000000000000000081565b3480156103b1575f5ffd5b5061028b6103c03660046129c2565b610d26565b3480156103d0575f5ffd5b506102df7f2ebb46ea9a7a3b34549df80ceb63b518a9b6e271e554f5279b32179be37da2e281565b348015610403575f5ffd5b5061028b610412366004612952565b610e02565b348015610422575f5ffd5b5061044a7f000000000000000000000000000000000000000000000000000000000000000081565b6040516001600160a01b039091168152602001610263565b34801561046d575f5ffd5b506104bc61047c366004612952565b6001600160a01b03165f90815260076020908152604091829020825180840190935280548084526001909101546001600160401b03169290910182905291565b604080519283526001600160401b03909116602083015201610263565b61028b610fb7565b3480156104ec575f5ffd5b506102df6104fb366004612a00565b6110c0565b34801561050b575f5ffd5b5061052e61051a36600461296b565b60096020525f908152604090205460ff1681565b6040519015158152602001610263565b348015610549575f5ffd5b5061044a7f000000000000000000000000000000000000000000000000000000000000000081565b34801561057c575f5ffd5b5061052e61058b366004612952565b61118c565b34801561059b575f5ffd5b506102546101f481565b3480156105b0575f5ffd5b506105c46105bf366004612952565b6111fe565b6040805161ffff938416815292909116602083015201610263565b3480156105ea575f5ffd5b506105f3611290565b6040516102639796959493929190612a48565b348015610611575f5ffd5b506102df610620366004612aee565b6112d2565b348015610630575f5ffd5b506102547f000000000000000000000000000000000000000000000000000000000000000081565b348015610663575f5ffd5b506104bc610672366004612b08565b61137e565b348015610682575f5ffd5b5060025461044a906001600160a01b031681565b3480156106a1575f5ffd5b506102df7f3be2901032a01bb2b6b5eec63c7e7d26807ff0397bf270b68f2528f966f99dea81565b3480156106d4575f5ffd5b506102df6106e3366004612b76565b6113d1565b3480156106f3575f5ffd5b5061071b7f000000000000000000000000000000000000000000000000000000000000000081565b6040516001600160401b039091168152602001610263565b34801561073e575f5ffd5b5061071b6301e1338081565b348015610755575f5ffd5b5061028b61076436600461296b565b611777565b348015610774575f5ffd5b506102df610783366004612bd5565b611867565b348015610793575f5ffd5b5061028b6107a2366004612c00565b6118cc565b3480156107b2575f5ffd5b506102df6107c1366004612c37565b6119e8565b61028b611b36565b3480156107d9575f5ffd5b506102df7fdaa23b26df5894b01d186c6404a89da39b0316f1b3081bd5c0002b7ce161bc2281565b34801561080c575f5ffd5b506102df61081b366004612b08565b6001600160a01b039182165f90815260036020908152604080832093909416825291909152205490565b348015610850575f5ffd5b506102df61085f366004612cca565b611bd9565b6002546001600160a01b031633146108965760405163245aecd360e01b81523360048201526024015b60405180910390fd5b6001600160a01b0381166108bd5760405163d92e233d60e01b815260040160405180910390fd5b6002546040516001600160a01b038084169216907fb532073b38c83145e3e5135377a08bf9aab55bc0fd7c1179cd4fb995d2a5159c905f90a3600280546001600160a01b0319166001600160a01b0392909216919091179055565b805f0361093857604051631f2a200560e01b815260040160405180910390fd5b335f908152600660205260409020548082111561097257604051633160dbb760e11b8152600481018390526024810182905260440161088d565b5f61099d7f000000000000000000000000000000000000000000000000000000000000000042612db5565b6040805180820182528581526001600160401b038381166020808401828152335f818152600784528790209551865590516001909501805467ffffffffffffffff19169590941694909417909255835188815291820152929350917f21020437c0e4b58b34bd7ac1f1cef55e7820d1bcd93824ceb273cad96eea704c91015b60405180910390a2505050565b610a31611e4b565b335f908152600760209081526040808320815180830190925280548083526001909101546001600160401b0316928201929092529103610a8457604051630bae0d7560e11b815260040160405180910390fd5b80602001516001600160401b0316421015610acc57602081015160405163f318dfcd60e01b81526001600160401b03918216600482015242909116602482015260440161088d565b335f9081526006602052604081205482519091908211610aec5781610aef565b82515b335f908152600760205260408120908155600101805467ffffffffffffffff191690559050610b1e8183612dd4565b335f81815260066020526040908190209290925590517f0f5bb82176feb1b5e747e28471aa92156a04d9f3ab9f45f28e2d704232b93f7590610b639084815260200190565b60405180910390a2610b967f00000000000000000000000000000000000000000000000000000000000000003383611e66565b505050610baf60015f516020612ea55f395f51905f5255565b565b6001600160a01b038084165f90815260056020908152604080832086851684528252808320938516835292905220545b9392505050565b805f03610c0857604051631f2a200560e01b815260040160405180910390fd5b335f9081526003602090815260408083206001600160a01b038616845290915290205480821115610c5657604051633160dbb760e11b8152600481018390526024810182905260440161088d565b5f610c817f000000000000000000000000000000000000000000000000000000000000000042612db5565b6040805180820182528581526001600160401b038381166020808401828152335f818152600484528781206001600160a01b038e16808352908552908890209651875591516001909601805467ffffffffffffffff191696909516959095179093558451898152908101919091529394509290917f37cfe096bfb86f6d34b6486bcaf1c1513cb7ad34ec77e1cb2c717d6dd0960434910160405180910390a350505050565b610d2e611e4b565b6001600160a01b038216610d605760405163071ee9f560e31b81526001600160a01b038316600482015260240161088d565b5f610d6b8383611f21565b335f9081526003602090815260408083206001600160a01b0388168452909152812080549293508392909190610da2908490612de7565b90915550506040518181526001600160a01b0384169033907f8752a472e571a816aea92eec8dae9baf628e840f4929fbcc2d155e6233ff68a79060200160405180910390a350610dfe60015f516020612ea55f395f51905f5255565b5050565b610e0a611e4b565b335f9081526004602090815260408083206001600160a01b03851684528252808320815180830190925280548083526001909101546001600160401b0316928201929092529103610e6e57604051630bae0d7560e11b815260040160405180910390fd5b80602001516001600160401b0316421015610eb657602081015160405163f318dfcd60e01b81526001600160401b03918216600482015242909116602482015260440161088d565b335f9081526003602090815260408083206001600160a01b038616845290915281205482519091908211610eea5781610eed565b82515b335f9081526004602090815260408083206001600160a01b03891684529091528120908155600101805467ffffffffffffffff191690559050610f308183612dd4565b335f8181526003602090815260408083206001600160a01b038a1680855292529182902093909355517fd1c19fbcd4551a5edfb66d43d2e337c04837afda3482b42bdf569a8fccdae5fb90610f889085815260200190565b60405180910390a3610f9b843383611e66565b505050610fb460015f516020612ea55f395f51905f5255565b50565b610fbf611e4b565b7f00000000000000000000000000000000000000000000000000000000000000006001600160a01b0316156110325760405163071ee9f560e31b81526001600160a01b037f000000000000000000000000000000000000000000000000000000000000000016600482015260240161088d565b345f0361105257604051631f2a200560e01b815260040160405180910390fd5b335f9081526006602052604081208054349290611070908490612de7565b909155505060405134815233907f9e71bc8eea02a63969f509818f2dafb9254532904319f9dbda79b67bd34a5f3d9060200160405180910390a2610baf60015f516020612ea55f395f51905f5255565b5f6111867f3be2901032a01bb2b6b5eec63c7e7d26807ff0397bf270b68f2528f966f99dea6110f26020850185612952565b6111026040860160208701612952565b6111126060870160408801612952565b606087013561112760a0890160808a01612dfa565b6040805160208101979097526001600160a01b039586169087015292841660608601529216608084015260a08301919091526001600160401b031660c082015260e0015b60405160208183030381529060405280519060200120612057565b92915050565b6001600160a01b0381165f90815260066020908152604080832054600790925282205481158015906111f657507f00000000000000000000000000000000000000000000000000000000000000008282106111e757826111e9565b815b6111f39084612dd4565b10155b949350505050565b6001600160a01b0381165f9081526008602090815260408083208151606081018352905461ffff8082168352620100008204169382019390935264010000000090920460ff16151590820181905282919061127e57507f000000000000000000000000000000000000000000000000000000000000000093849350915050565b80516020909101519094909350915050565b5f6060805f5f5f60606112a1612083565b6112a96120b3565b604080515f80825260208201909252600f60f81b9b939a50919850469750309650945092509050565b5f6111867f2ebb46ea9a7a3b34549df80ceb63b518a9b6e271e554f5279b32179be37da2e283356113096040860160208701612e20565b6040860135606087013561132360a0890160808a01612952565b61133360c08a0160a08b01612952565b60408051602081019890985287019590955263ffffffff9093166060860152608085019190915260a08401526001600160a01b0390811660c08401521660e08201526101000161116b565b6001600160a01b038083165f908152600460209081526040808320938516835292815290829020825180840190935280548084526001909101546001600160401b031692909101829052905b9250929050565b5f6113da611e4b565b5f6113e86020860186612952565b6001600160a01b0316148061141457505f6114096040860160208701612952565b6001600160a01b0316145b156114325760405163d92e233d60e01b815260040160405180910390fd5b5f61144661143f866110c0565b85856120de565b90506114556020860186612952565b6001600160a01b0316816001600160a01b0316146114a7578061147b6020870187612952565b60405163366d29f760e01b81526001600160a01b0392831660048201529116602482015260440161088d565b5f6005816114b86020890189612952565b6001600160a01b03166001600160a01b031681526020019081526020015f205f8760200160208101906114eb9190612952565b6001600160a01b03166001600160a01b031681526020019081526020015f205f87604001602081019061151e9190612952565b6001600160a01b03166001600160a01b031681526020019081526020015f20549050808660600135116115715760405163a3051cad60e01b8152606087013560048201526024810182905260440161088d565b5f8061158a88611585856060830135612dd4565b612174565b9092509050606088013560055f6115a460208c018c612952565b6001600160a01b03166001600160a01b031681526020019081526020015f205f8a60200160208101906115d79190612952565b6001600160a01b03166001600160a01b031681526020019081526020015f205f8a604001602081019061160a9190612952565b6001600160a01b0316815260208101919091526040015f2055806116328460608b0135612dd4565b61163c9190612dd4565b945061164e6060890160408a01612952565b6001600160a01b031661166760408a0160208b01612952565b6001600160a01b031661167d60208b018b612952565b6001600160a01b03167f8b26f49e9329e9386a0b0091b4b711337e23b5176621096dab21192cebc048f160608c01356116bc60a08e0160808f01612dfa565b604080519283526001600160401b03909116602083015281018a9052606081018790526080810186905260a00160405180910390a461171a61170460608a0160408b01612952565b61171460408b0160208c01612952565b87611e66565b61175d61172d60608a0160408b01612952565b7f00000000000000000000000000000000000000000000000000000000000000006117588486612de7565b611e66565b50505050610be160015f516020612ea55f395f51905f5255565b61177f611e4b565b7f00000000000000000000000000000000000000000000000000000000000000006001600160a01b03166117c85760405163071ee9f560e31b81525f600482015260240161088d565b5f6117f37f000000000000000000000000000000000000000000000000000000000000000083611f21565b335f90815260066020526040812080549293508392909190611816908490612de7565b909155505060405181815233907f9e71bc8eea02a63969f509818f2dafb9254532904319f9dbda79b67bd34a5f3d9060200160405180910390a250610fb460015f516020612ea55f395f51905f5255565b5f6111867fdaa23b26df5894b01d186c6404a89da39b0316f1b3081bd5c0002b7ce161bc22833561189e6040860160208701612e20565b6040805160208101949094528381019290925263ffffffff166060830152840135608082015260a00161116b565b6002546001600160a01b031633146118f95760405163245aecd360e01b815233600482015260240161088d565b6101f461ffff8316118061191257506101f461ffff8216115b1561193e57604051633c057d7b60e01b815261ffff80841660048301528216602482015260440161088d565b6040805160608101825261ffff848116808352848216602080850182815260018688019081526001600160a01b038b165f81815260088552899020975188549351925115156401000000000264ff0000000019938916620100000263ffffffff199095169190981617929092171694909417909455845191825292810192909252917f7a3fbfd6c5c21ad6eed35b80fb7368b8837401c7b752d3121a031c5dff12efc69101610a1c565b5f6119f1611e4b565b86358435141580611a2c5750611a0d6040850160208601612e20565b63ffffffff16611a236040890160208a01612e20565b63ffffffff1614155b15611a4a5760405163813d59df60e01b815260040160405180910390fd5b83604001358760400135148015611a68575083606001358760600135145b15611a865760405163813d59df60e01b815260040160405180910390fd5b5f611a9a611a93896112d2565b88886120de565b90505f611ab0611aa9876112d2565b86866120de565b9050806001600160a01b0316826001600160a01b031614611af75760405163294c3acf60e21b81526001600160a01b0380841660048301528216602482015260440161088d565b611b12828a35611b0d60408d0160208e01612e20565b6122e3565b92505050611b2c60015f516020612ea55f395f51905f5255565b9695505050505050565b611b3e611e4b565b345f03611b5e57604051631f2a200560e01b815260040160405180910390fd5b335f90815260036020908152604080832083805290915281208054349290611b87908490612de7565b90915550506040513481525f9033907f8752a472e571a816aea92eec8dae9baf628e840f4929fbcc2d155e6233ff68a79060200160405180910390a3610baf60015f516020612ea55f395f51905f5255565b5f611be2611e4b565b86358a35141580611bf5575083358a3514155b80611c2a5750611c0b60408b0160208c01612e20565b63ffffffff16611c216040890160208a01612e20565b63ffffffff1614155b80611c5f5750611c4060408b0160208c01612e20565b63ffffffff16611c566040860160208701612e20565b63ffffffff1614155b15611c7d57604051631870a59960e21b815260040160405180910390fd5b8360400135876040013514611ca557604051631870a59960e21b815260040160405180910390fd5b8960400135876040013503611ccd5760405163813d59df60e01b815260040160405180910390fd5b5f611ce1611cda8c6112d2565b8b8b6120de565b90505f611cf7611cf08a611867565b89896120de565b90505f611d0d611d0688611867565b87876120de565b9050806001600160a01b0316826001600160a01b031603611d4c57604051636423930560e11b81526001600160a01b038316600482015260240161088d565b826001600160a01b0316826001600160a01b03161480611d7d5750826001600160a01b0316816001600160a01b0316145b15611da65760405163fbf27e9f60e01b81526001600160a01b038416600482015260240161088d565b611daf8261118c565b611dd7576040516361311dc160e01b81526001600160a01b038316600482015260240161088d565b611de08161118c565b611e08576040516361311dc160e01b81526001600160a01b038216600482015260240161088d565b611e23838e5f01358f6020016020810190611b0d9190612e20565b9350505050611e3e60015f516020612ea55f395f51905f5255565b9998505050505050505050565b611e53612530565b60025f516020612ea55f395f51905f5255565b805f03611e7257505050565b6001600160a01b038316611f08575f826001600160a01b0316826040515f6040518083038185875af1925050503d805f8114611ec9576040519150601f19603f3d011682016040523d82523d5f602084013e611ece565b606091505b5050905080611f025760405163296c17bb60e21b81526001600160a01b03841660048201526024810183905260440161088d565b50505050565b611f1c6001600160a01b038416838361255f565b505050565b5f815f03611f4257604051631f2a200560e01b815260040160405180910390fd5b6040516370a0823160e01b81523060048201525f906001600160a01b038516906370a0823190602401602060405180830381865afa158015611f86573d5f5f3e3d5ffd5b505050506040513d601f19601f82011682018060405250810190611faa9190612e43565b9050611fc16001600160a01b038516333086612594565b6040516370a0823160e01b81523060048201525f9082906001600160a01b038716906370a0823190602401602060405180830381865afa158015612007573d5f5f3e3d5ffd5b505050506040513d601f19601f8201168201806040525081019061202b9190612e43565b6120359190612dd4565b9050805f036111f657604051631f2a200560e01b815260040160405180910390fd5b5f6111866120636125ca565b8360405161190160f01b8152600281019290925260228201526042902090565b60606120ae7f00000000000000000000000000000000000000000000000000000000000000006126f3565b905090565b60606120ae7f00000000000000000000000000000000000000000000000000000000000000006126f3565b5f5f5f6121208686868080601f0160208091040260200160405190810160405280939291908181526020018383808284375f9201919091525061273092505050565b5090925090505f81600381111561213957612139612e5a565b14158061214d57506001600160a01b038216155b1561216b57604051635cd5d23360e01b815260040160405180910390fd5b50949350505050565b5f80808061218b6105bf6060880160408901612952565b90925090506127106121a161ffff841687612e6e565b6121ab9190612e85565b93506127106121be61ffff831687612e6e565b6121c89190612e85565b92505f6121d58587612de7565b90505f6003816121e860208b018b612952565b6001600160a01b03166001600160a01b031681526020019081526020015f205f89604001602081019061221b9190612952565b6001600160a01b03166001600160a01b031681526020019081526020015f2054905080821115612268576040516333f9e34d60e01b8152600481018390526024810182905260440161088d565b6122728282612dd4565b60035f61228260208c018c612952565b6001600160a01b03166001600160a01b031681526020019081526020015f205f8a60400160208101906122b59190612952565b6001600160a01b03166001600160a01b031681526020019081526020015f2081905550505050509250929050565b604080516001600160a01b038516602082015290810183905263ffffffff821660608201525f90819060800160408051601f1981840301815291815281516020928301205f818152600990935291205490915060ff161561235a576040516316e5043d60e01b81526004810182905260240161088d565b6001600160a01b0385165f908152600660205260408120549081900361239e5760405163089858e760e11b81526001600160a01b038716600482015260240161088d565b5f828152600960205260409020805460ff191660011790556127106123e77f000000000000000000000000000000000000000000000000000000000000000061ffff1683612e6e565b6123f19190612e85565b92506123fd8382612dd4565b6001600160a01b0387165f908152600660205260408120919091556127106124497f000000000000000000000000000000000000000000000000000000000000000061ffff1686612e6e565b6124539190612e85565b6040805163ffffffff8816815260208101879052908101829052909150869033906001600160a01b038a16907f9e9c693b88b1a6380f0fa34fb39bab5b7348bb6cf8bcf6ba170482cd620fdcf99060600160405180910390a46124d77f00000000000000000000000000000000000000000000000000000000000000003383611e66565b6125267f00000000000000000000000000000000000000000000000000000000000000007f00000000000000000000000000000000000000000000000000000000000000006117588488612dd4565b5050509392505050565b5f516020612ea55f395f51905f5254600203610baf57604051633ee5aeb560e01b815260040160405180910390fd5b61256c8383836001612779565b611f1c57604051635274afe760e01b81526001600160a01b038416600482015260240161088d565b6125a28484848460016127db565b611f0257604051635274afe760e01b81526001600160a01b038516600482015260240161088d565b5f306001600160a01b037f00000000000000000000000000000000000000000000000000000000000000001614801561262257507f000000000000000000000000000000000000000000000000000000000000000046145b1561264c57507f000000000000000000000000000000000000000000000000000000000000000090565b6120ae604080517f8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f60208201527f0000000000000000000000000000000000000000000000000000000000000000918101919091527f000000000000000000000000000000000000000000000000000000000000000060608201524660808201523060a08201525f9060c00160405160208183030381529060405280519060200120905090565b60605f6126ff83612848565b6040805160208082528183019092529192505f91906020820181803683375050509182525060208101929092525090565b5f5f5f8351604103612767576020840151604085015160608601515f1a6127598882858561286f565b955095509550505050612772565b505081515f91506002905b9250925092565b60405163a9059cbb60e01b5f8181526001600160a01b038616600452602485905291602083604481808b5af1925060015f511483166127cf5783831516156127c3573d5f823e3d81fd5b5f873b113d1516831692505b60405250949350505050565b6040516323b872dd60e01b5f8181526001600160a01b038781166004528616602452604485905291602083606481808c5af1925060015f5114831661283757838315161561282b573d5f823e3d81fd5b5f883b113d1516831692505b604052505f60605295945050505050565b5f60ff8216601f81111561118657604051632cd44ac360e21b815260040160405180910390fd5b5f80807f7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a08411156128a857505f9150600390508261292d565b604080515f808252602082018084528a905260ff891692820192909252606081018790526080810186905260019060a0016020604051602081039080840390855afa1580156128f9573d5f5f3e3d5ffd5b5050604051601f1901519150506001600160a01b03811661292457505f92506001915082905061292d565b92505f91508190505b9450945094915050565b80356001600160a01b038116811461294d575f5ffd5b919050565b5f60208284031215612962575f5ffd5b610be182612937565b5f6020828403121561297b575f5ffd5b5035919050565b5f5f5f60608486031215612994575f5ffd5b61299d84612937565b92506129ab60208501612937565b91506129b960408501612937565b90509250925092565b5f5f604083850312156129d3575f5ffd5b6129dc83612937565b946020939093013593505050565b5f60a082840312156129fa575f5ffd5b50919050565b5f60a08284031215612a10575f5ffd5b610be183836129ea565b5f81518084528060208401602086015e5f602082860101526020601f19601f83011685010191505092915050565b60ff60f81b8816815260e060208201525f612a6660e0830189612a1a565b8281036040840152612a788189612a1a565b606084018890526001600160a01b038716608085015260a0840186905283810360c0850152845180825260208087019350909101905f5b81811015612acd578351835260209384019390920191600101612aaf565b50909b9a5050505050505050505050565b5f60c082840312156129fa575f5ffd5b5f60c08284031215612afe575f5ffd5b610be18383612ade565b5f5f60408385031215612b19575f5ffd5b612b2283612937565b9150612b3060208401612937565b90509250929050565b5f5f83601f840112612b49575f5ffd5b5081356001600160401b03811115612b5f575f5ffd5b6020830191508360208285010111156113ca575f5ffd5b5f5f5f60c08486031215612b88575f5ffd5b612b9285856129ea565b925060a08401356001600160401b03811115612bac575f5ffd5b612bb886828701612b39565b9497909650939450505050565b5f606082840312156129fa575f5ffd5b5f60608284031215612be5575f5ffd5b610be18383612bc5565b803561ffff8116811461294d575f5ffd5b5f5f5f60608486031215612c12575f5ffd5b612c1b84612937565b9250612c2960208501612bef565b91506129b960408501612bef565b5f5f5f5f5f5f6101c08789031215612c4d575f5ffd5b612c578888612ade565b955060c08701356001600160401b03811115612c71575f5ffd5b612c7d89828a01612b39565b9096509450612c9190508860e08901612ade565b92506101a08701356001600160401b03811115612cac575f5ffd5b612cb889828a01612b39565b979a9699509497509295939492505050565b5f5f5f5f5f5f5f5f5f6101e08a8c031215612ce3575f5ffd5b612ced8b8b612ade565b985060c08a01356001600160401b03811115612d07575f5ffd5b612d138c828d01612b39565b9099509750612d2790508b60e08c01612bc5565b95506101408a01356001600160401b03811115612d42575f5ffd5b612d4e8c828d01612b39565b9096509450612d6390508b6101608c01612bc5565b92506101c08a01356001600160401b03811115612d7e575f5ffd5b612d8a8c828d01612b39565b915080935050809150509295985092959850929598565b634e487b7160e01b5f52601160045260245ffd5b6001600160401b03818116838216019081111561118657611186612da1565b8181038181111561118657611186612da1565b8082018082111561118657611186612da1565b5f60208284031215612e0a575f5ffd5b81356001600160401b0381168114610be1575f5ffd5b5f60208284031215612e30575f5ffd5b813563ffffffff81168114610be1575f5ffd5b5f60208284031215612e53575f5ffd5b5051919050565b634e487b7160e01b5f52602160045260245ffd5b808202811582820484141761118657611186612da1565b5f82612e9f57634e487b7160e01b5f52601260045260245ffd5b50049056fe9b779b17422d0df92223018b32b4d1fa46e071723d6817e2486d003becc55f00a164736f6c6343000825000a",
}

// Settlement is an auto generated Go binding around an Ethereum contract.
type Settlement struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *Settlement) GetABI() abi.ABI {
	return c.abi
}

// NewSettlement creates a new instance of Settlement.
func NewSettlement() *Settlement {
	parsed, err := SettlementMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &Settlement{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *Settlement) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackConstructor is the Go binding used to pack the parameters required for
// contract deployment.
//
// Solidity: constructor(address treasury_, address stakeToken_, uint256 minStake_, uint64 notice_, uint16 defaultFeeBP_, uint16 slashBP_, uint16 rewardBP_, address owner_) returns()
func (settlement *Settlement) PackConstructor(treasury_ common.Address, stakeToken_ common.Address, minStake_ *big.Int, notice_ uint64, defaultFeeBP_ uint16, slashBP_ uint16, rewardBP_ uint16, owner_ common.Address) []byte {
	enc, err := settlement.abi.Pack("", treasury_, stakeToken_, minStake_, notice_, defaultFeeBP_, slashBP_, rewardBP_, owner_)
	if err != nil {
		panic(err)
	}
	return enc
}

// PackAUDITTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe47ba178.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function AUDIT_TYPEHASH() view returns(bytes32)
func (settlement *Settlement) PackAUDITTYPEHASH() []byte {
	enc, err := settlement.abi.Pack("AUDIT_TYPEHASH")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAUDITTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe47ba178.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function AUDIT_TYPEHASH() view returns(bytes32)
func (settlement *Settlement) TryPackAUDITTYPEHASH() ([]byte, error) {
	return settlement.abi.Pack("AUDIT_TYPEHASH")
}

// UnpackAUDITTYPEHASH is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xe47ba178.
//
// Solidity: function AUDIT_TYPEHASH() view returns(bytes32)
func (settlement *Settlement) UnpackAUDITTYPEHASH(data []byte) ([32]byte, error) {
	out, err := settlement.abi.Unpack("AUDIT_TYPEHASH", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackMAXFEEBP is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x6eb3abe0.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function MAX_FEE_BP() view returns(uint16)
func (settlement *Settlement) PackMAXFEEBP() []byte {
	enc, err := settlement.abi.Pack("MAX_FEE_BP")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackMAXFEEBP is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x6eb3abe0.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function MAX_FEE_BP() view returns(uint16)
func (settlement *Settlement) TryPackMAXFEEBP() ([]byte, error) {
	return settlement.abi.Pack("MAX_FEE_BP")
}

// UnpackMAXFEEBP is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x6eb3abe0.
//
// Solidity: function MAX_FEE_BP() view returns(uint16)
func (settlement *Settlement) UnpackMAXFEEBP(data []byte) (uint16, error) {
	out, err := settlement.abi.Unpack("MAX_FEE_BP", data)
	if err != nil {
		return *new(uint16), err
	}
	out0 := *abi.ConvertType(out[0], new(uint16)).(*uint16)
	return out0, nil
}

// PackMAXNOTICE is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa2e34278.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function MAX_NOTICE() view returns(uint64)
func (settlement *Settlement) PackMAXNOTICE() []byte {
	enc, err := settlement.abi.Pack("MAX_NOTICE")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackMAXNOTICE is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa2e34278.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function MAX_NOTICE() view returns(uint64)
func (settlement *Settlement) TryPackMAXNOTICE() ([]byte, error) {
	return settlement.abi.Pack("MAX_NOTICE")
}

// UnpackMAXNOTICE is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xa2e34278.
//
// Solidity: function MAX_NOTICE() view returns(uint64)
func (settlement *Settlement) UnpackMAXNOTICE(data []byte) (uint64, error) {
	out, err := settlement.abi.Unpack("MAX_NOTICE", data)
	if err != nil {
		return *new(uint64), err
	}
	out0 := *abi.ConvertType(out[0], new(uint64)).(*uint64)
	return out0, nil
}

// PackVOUCHERTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x94739e87.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function VOUCHER_TYPEHASH() view returns(bytes32)
func (settlement *Settlement) PackVOUCHERTYPEHASH() []byte {
	enc, err := settlement.abi.Pack("VOUCHER_TYPEHASH")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackVOUCHERTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x94739e87.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function VOUCHER_TYPEHASH() view returns(bytes32)
func (settlement *Settlement) TryPackVOUCHERTYPEHASH() ([]byte, error) {
	return settlement.abi.Pack("VOUCHER_TYPEHASH")
}

// UnpackVOUCHERTYPEHASH is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x94739e87.
//
// Solidity: function VOUCHER_TYPEHASH() view returns(bytes32)
func (settlement *Settlement) UnpackVOUCHERTYPEHASH(data []byte) ([32]byte, error) {
	out, err := settlement.abi.Unpack("VOUCHER_TYPEHASH", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackWORKTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x4e12aa96.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function WORK_TYPEHASH() view returns(bytes32)
func (settlement *Settlement) PackWORKTYPEHASH() []byte {
	enc, err := settlement.abi.Pack("WORK_TYPEHASH")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackWORKTYPEHASH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x4e12aa96.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function WORK_TYPEHASH() view returns(bytes32)
func (settlement *Settlement) TryPackWORKTYPEHASH() ([]byte, error) {
	return settlement.abi.Pack("WORK_TYPEHASH")
}

// UnpackWORKTYPEHASH is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x4e12aa96.
//
// Solidity: function WORK_TYPEHASH() view returns(bytes32)
func (settlement *Settlement) UnpackWORKTYPEHASH(data []byte) ([32]byte, error) {
	out, err := settlement.abi.Unpack("WORK_TYPEHASH", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackAuditDigest is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xb943a379.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function auditDigest((bytes32,uint32,bytes32) a) view returns(bytes32)
func (settlement *Settlement) PackAuditDigest(a SettlementAudit) []byte {
	enc, err := settlement.abi.Pack("auditDigest", a)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAuditDigest is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xb943a379.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function auditDigest((bytes32,uint32,bytes32) a) view returns(bytes32)
func (settlement *Settlement) TryPackAuditDigest(a SettlementAudit) ([]byte, error) {
	return settlement.abi.Pack("auditDigest", a)
}

// UnpackAuditDigest is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xb943a379.
//
// Solidity: function auditDigest((bytes32,uint32,bytes32) a) view returns(bytes32)
func (settlement *Settlement) UnpackAuditDigest(data []byte) ([32]byte, error) {
	out, err := settlement.abi.Unpack("auditDigest", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackDefaultFeeBP is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x4413229f.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function defaultFeeBP() view returns(uint16)
func (settlement *Settlement) PackDefaultFeeBP() []byte {
	enc, err := settlement.abi.Pack("defaultFeeBP")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDefaultFeeBP is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x4413229f.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function defaultFeeBP() view returns(uint16)
func (settlement *Settlement) TryPackDefaultFeeBP() ([]byte, error) {
	return settlement.abi.Pack("defaultFeeBP")
}

// UnpackDefaultFeeBP is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x4413229f.
//
// Solidity: function defaultFeeBP() view returns(uint16)
func (settlement *Settlement) UnpackDefaultFeeBP(data []byte) (uint16, error) {
	out, err := settlement.abi.Unpack("defaultFeeBP", data)
	if err != nil {
		return *new(uint16), err
	}
	out0 := *abi.ConvertType(out[0], new(uint16)).(*uint16)
	return out0, nil
}

// PackDeposit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x47e7ef24.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function deposit(address token, uint256 amount) returns()
func (settlement *Settlement) PackDeposit(token common.Address, amount *big.Int) []byte {
	enc, err := settlement.abi.Pack("deposit", token, amount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDeposit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x47e7ef24.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function deposit(address token, uint256 amount) returns()
func (settlement *Settlement) TryPackDeposit(token common.Address, amount *big.Int) ([]byte, error) {
	return settlement.abi.Pack("deposit", token, amount)
}

// PackDepositNative is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xdb6b5246.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function depositNative() payable returns()
func (settlement *Settlement) PackDepositNative() []byte {
	enc, err := settlement.abi.Pack("depositNative")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDepositNative is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xdb6b5246.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function depositNative() payable returns()
func (settlement *Settlement) TryPackDepositNative() ([]byte, error) {
	return settlement.abi.Pack("depositNative")
}

// PackEip712Domain is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x84b0196e.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function eip712Domain() view returns(bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)
func (settlement *Settlement) PackEip712Domain() []byte {
	enc, err := settlement.abi.Pack("eip712Domain")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackEip712Domain is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x84b0196e.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function eip712Domain() view returns(bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)
func (settlement *Settlement) TryPackEip712Domain() ([]byte, error) {
	return settlement.abi.Pack("eip712Domain")
}

// Eip712DomainOutput serves as a container for the return parameters of contract
// method Eip712Domain.
type Eip712DomainOutput struct {
	Fields            [1]byte
	Name              string
	Version           string
	ChainId           *big.Int
	VerifyingContract common.Address
	Salt              [32]byte
	Extensions        []*big.Int
}

// UnpackEip712Domain is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x84b0196e.
//
// Solidity: function eip712Domain() view returns(bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)
func (settlement *Settlement) UnpackEip712Domain(data []byte) (Eip712DomainOutput, error) {
	out, err := settlement.abi.Unpack("eip712Domain", data)
	outstruct := new(Eip712DomainOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.Fields = *abi.ConvertType(out[0], new([1]byte)).(*[1]byte)
	outstruct.Name = *abi.ConvertType(out[1], new(string)).(*string)
	outstruct.Version = *abi.ConvertType(out[2], new(string)).(*string)
	outstruct.ChainId = abi.ConvertType(out[3], new(big.Int)).(*big.Int)
	outstruct.VerifyingContract = *abi.ConvertType(out[4], new(common.Address)).(*common.Address)
	outstruct.Salt = *abi.ConvertType(out[5], new([32]byte)).(*[32]byte)
	outstruct.Extensions = *abi.ConvertType(out[6], new([]*big.Int)).(*[]*big.Int)
	return *outstruct, nil
}

// PackEscrow is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfac958a9.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function escrow(address requester, address token) view returns(uint256)
func (settlement *Settlement) PackEscrow(requester common.Address, token common.Address) []byte {
	enc, err := settlement.abi.Pack("escrow", requester, token)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackEscrow is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfac958a9.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function escrow(address requester, address token) view returns(uint256)
func (settlement *Settlement) TryPackEscrow(requester common.Address, token common.Address) ([]byte, error) {
	return settlement.abi.Pack("escrow", requester, token)
}

// UnpackEscrow is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xfac958a9.
//
// Solidity: function escrow(address requester, address token) view returns(uint256)
func (settlement *Settlement) UnpackEscrow(data []byte) (*big.Int, error) {
	out, err := settlement.abi.Unpack("escrow", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackFee is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x6fcca69b.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function fee(address token) view returns(uint16 requesterBP, uint16 providerBP)
func (settlement *Settlement) PackFee(token common.Address) []byte {
	enc, err := settlement.abi.Pack("fee", token)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackFee is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x6fcca69b.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function fee(address token) view returns(uint16 requesterBP, uint16 providerBP)
func (settlement *Settlement) TryPackFee(token common.Address) ([]byte, error) {
	return settlement.abi.Pack("fee", token)
}

// FeeOutput serves as a container for the return parameters of contract
// method Fee.
type FeeOutput struct {
	RequesterBP uint16
	ProviderBP  uint16
}

// UnpackFee is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x6fcca69b.
//
// Solidity: function fee(address token) view returns(uint16 requesterBP, uint16 providerBP)
func (settlement *Settlement) UnpackFee(data []byte) (FeeOutput, error) {
	out, err := settlement.abi.Unpack("fee", data)
	outstruct := new(FeeOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.RequesterBP = *abi.ConvertType(out[0], new(uint16)).(*uint16)
	outstruct.ProviderBP = *abi.ConvertType(out[1], new(uint16)).(*uint16)
	return *outstruct, nil
}

// PackIsEligible is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x66e305fd.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function isEligible(address provider) view returns(bool)
func (settlement *Settlement) PackIsEligible(provider common.Address) []byte {
	enc, err := settlement.abi.Pack("isEligible", provider)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackIsEligible is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x66e305fd.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function isEligible(address provider) view returns(bool)
func (settlement *Settlement) TryPackIsEligible(provider common.Address) ([]byte, error) {
	return settlement.abi.Pack("isEligible", provider)
}

// UnpackIsEligible is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x66e305fd.
//
// Solidity: function isEligible(address provider) view returns(bool)
func (settlement *Settlement) UnpackIsEligible(data []byte) (bool, error) {
	out, err := settlement.abi.Unpack("isEligible", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackMinStake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x375b3c0a.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function minStake() view returns(uint256)
func (settlement *Settlement) PackMinStake() []byte {
	enc, err := settlement.abi.Pack("minStake")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackMinStake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x375b3c0a.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function minStake() view returns(uint256)
func (settlement *Settlement) TryPackMinStake() ([]byte, error) {
	return settlement.abi.Pack("minStake")
}

// UnpackMinStake is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x375b3c0a.
//
// Solidity: function minStake() view returns(uint256)
func (settlement *Settlement) UnpackMinStake(data []byte) (*big.Int, error) {
	out, err := settlement.abi.Unpack("minStake", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackNotice is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9c94e6c6.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function notice() view returns(uint64)
func (settlement *Settlement) PackNotice() []byte {
	enc, err := settlement.abi.Pack("notice")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackNotice is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9c94e6c6.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function notice() view returns(uint64)
func (settlement *Settlement) TryPackNotice() ([]byte, error) {
	return settlement.abi.Pack("notice")
}

// UnpackNotice is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x9c94e6c6.
//
// Solidity: function notice() view returns(uint64)
func (settlement *Settlement) UnpackNotice(data []byte) (uint64, error) {
	out, err := settlement.abi.Unpack("notice", data)
	if err != nil {
		return *new(uint64), err
	}
	out0 := *abi.ConvertType(out[0], new(uint64)).(*uint64)
	return out0, nil
}

// PackOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x8da5cb5b.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function owner() view returns(address)
func (settlement *Settlement) PackOwner() []byte {
	enc, err := settlement.abi.Pack("owner")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x8da5cb5b.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function owner() view returns(address)
func (settlement *Settlement) TryPackOwner() ([]byte, error) {
	return settlement.abi.Pack("owner")
}

// UnpackOwner is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x8da5cb5b.
//
// Solidity: function owner() view returns(address)
func (settlement *Settlement) UnpackOwner(data []byte) (common.Address, error) {
	out, err := settlement.abi.Unpack("owner", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackPendingUnstake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x56d6ea4f.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function pendingUnstake(address provider) view returns(uint256 amount, uint64 readyAt)
func (settlement *Settlement) PackPendingUnstake(provider common.Address) []byte {
	enc, err := settlement.abi.Pack("pendingUnstake", provider)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackPendingUnstake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x56d6ea4f.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function pendingUnstake(address provider) view returns(uint256 amount, uint64 readyAt)
func (settlement *Settlement) TryPackPendingUnstake(provider common.Address) ([]byte, error) {
	return settlement.abi.Pack("pendingUnstake", provider)
}

// PendingUnstakeOutput serves as a container for the return parameters of contract
// method PendingUnstake.
type PendingUnstakeOutput struct {
	Amount  *big.Int
	ReadyAt uint64
}

// UnpackPendingUnstake is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x56d6ea4f.
//
// Solidity: function pendingUnstake(address provider) view returns(uint256 amount, uint64 readyAt)
func (settlement *Settlement) UnpackPendingUnstake(data []byte) (PendingUnstakeOutput, error) {
	out, err := settlement.abi.Unpack("pendingUnstake", data)
	outstruct := new(PendingUnstakeOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.Amount = abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	outstruct.ReadyAt = *abi.ConvertType(out[1], new(uint64)).(*uint64)
	return *outstruct, nil
}

// PackPendingWithdrawal is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x889de79c.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function pendingWithdrawal(address requester, address token) view returns(uint256 amount, uint64 readyAt)
func (settlement *Settlement) PackPendingWithdrawal(requester common.Address, token common.Address) []byte {
	enc, err := settlement.abi.Pack("pendingWithdrawal", requester, token)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackPendingWithdrawal is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x889de79c.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function pendingWithdrawal(address requester, address token) view returns(uint256 amount, uint64 readyAt)
func (settlement *Settlement) TryPackPendingWithdrawal(requester common.Address, token common.Address) ([]byte, error) {
	return settlement.abi.Pack("pendingWithdrawal", requester, token)
}

// PendingWithdrawalOutput serves as a container for the return parameters of contract
// method PendingWithdrawal.
type PendingWithdrawalOutput struct {
	Amount  *big.Int
	ReadyAt uint64
}

// UnpackPendingWithdrawal is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x889de79c.
//
// Solidity: function pendingWithdrawal(address requester, address token) view returns(uint256 amount, uint64 readyAt)
func (settlement *Settlement) UnpackPendingWithdrawal(data []byte) (PendingWithdrawalOutput, error) {
	out, err := settlement.abi.Unpack("pendingWithdrawal", data)
	outstruct := new(PendingWithdrawalOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.Amount = abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	outstruct.ReadyAt = *abi.ConvertType(out[1], new(uint64)).(*uint64)
	return *outstruct, nil
}

// PackRedeem is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x97e6170e.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function redeem((address,address,address,uint256,uint64) v, bytes sig) returns(uint256 paid)
func (settlement *Settlement) PackRedeem(v SettlementVoucher, sig []byte) []byte {
	enc, err := settlement.abi.Pack("redeem", v, sig)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRedeem is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x97e6170e.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function redeem((address,address,address,uint256,uint64) v, bytes sig) returns(uint256 paid)
func (settlement *Settlement) TryPackRedeem(v SettlementVoucher, sig []byte) ([]byte, error) {
	return settlement.abi.Pack("redeem", v, sig)
}

// UnpackRedeem is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x97e6170e.
//
// Solidity: function redeem((address,address,address,uint256,uint64) v, bytes sig) returns(uint256 paid)
func (settlement *Settlement) UnpackRedeem(data []byte) (*big.Int, error) {
	out, err := settlement.abi.Unpack("redeem", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackRedeemed is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x3031a853.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function redeemed(address requester, address provider, address token) view returns(uint256)
func (settlement *Settlement) PackRedeemed(requester common.Address, provider common.Address, token common.Address) []byte {
	enc, err := settlement.abi.Pack("redeemed", requester, provider, token)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRedeemed is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x3031a853.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function redeemed(address requester, address provider, address token) view returns(uint256)
func (settlement *Settlement) TryPackRedeemed(requester common.Address, provider common.Address, token common.Address) ([]byte, error) {
	return settlement.abi.Pack("redeemed", requester, provider, token)
}

// UnpackRedeemed is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x3031a853.
//
// Solidity: function redeemed(address requester, address provider, address token) view returns(uint256)
func (settlement *Settlement) UnpackRedeemed(data []byte) (*big.Int, error) {
	out, err := settlement.abi.Unpack("redeemed", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackRequestUnstake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x23095721.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function requestUnstake(uint256 amount) returns()
func (settlement *Settlement) PackRequestUnstake(amount *big.Int) []byte {
	enc, err := settlement.abi.Pack("requestUnstake", amount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRequestUnstake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x23095721.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function requestUnstake(uint256 amount) returns()
func (settlement *Settlement) TryPackRequestUnstake(amount *big.Int) ([]byte, error) {
	return settlement.abi.Pack("requestUnstake", amount)
}

// PackRequestWithdraw is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x397a1b28.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function requestWithdraw(address token, uint256 amount) returns()
func (settlement *Settlement) PackRequestWithdraw(token common.Address, amount *big.Int) []byte {
	enc, err := settlement.abi.Pack("requestWithdraw", token, amount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRequestWithdraw is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x397a1b28.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function requestWithdraw(address token, uint256 amount) returns()
func (settlement *Settlement) TryPackRequestWithdraw(token common.Address, amount *big.Int) ([]byte, error) {
	return settlement.abi.Pack("requestWithdraw", token, amount)
}

// PackRewardBP is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x0c3c904a.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function rewardBP() view returns(uint16)
func (settlement *Settlement) PackRewardBP() []byte {
	enc, err := settlement.abi.Pack("rewardBP")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRewardBP is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x0c3c904a.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function rewardBP() view returns(uint16)
func (settlement *Settlement) TryPackRewardBP() ([]byte, error) {
	return settlement.abi.Pack("rewardBP")
}

// UnpackRewardBP is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x0c3c904a.
//
// Solidity: function rewardBP() view returns(uint16)
func (settlement *Settlement) UnpackRewardBP(data []byte) (uint16, error) {
	out, err := settlement.abi.Unpack("rewardBP", data)
	if err != nil {
		return *new(uint16), err
	}
	out0 := *abi.ConvertType(out[0], new(uint16)).(*uint16)
	return out0, nil
}

// PackSetFee is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xc2ab127a.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function setFee(address token, uint16 requesterBP, uint16 providerBP) returns()
func (settlement *Settlement) PackSetFee(token common.Address, requesterBP uint16, providerBP uint16) []byte {
	enc, err := settlement.abi.Pack("setFee", token, requesterBP, providerBP)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSetFee is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xc2ab127a.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function setFee(address token, uint16 requesterBP, uint16 providerBP) returns()
func (settlement *Settlement) TryPackSetFee(token common.Address, requesterBP uint16, providerBP uint16) ([]byte, error) {
	return settlement.abi.Pack("setFee", token, requesterBP, providerBP)
}

// PackSetOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x13af4035.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function setOwner(address next) returns()
func (settlement *Settlement) PackSetOwner(next common.Address) []byte {
	enc, err := settlement.abi.Pack("setOwner", next)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSetOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x13af4035.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function setOwner(address next) returns()
func (settlement *Settlement) TryPackSetOwner(next common.Address) ([]byte, error) {
	return settlement.abi.Pack("setOwner", next)
}

// PackSlashAuditFailure is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfe4347c3.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function slashAuditFailure((bytes32,uint32,bytes32,uint256,address,address) w, bytes sigW, (bytes32,uint32,bytes32) a1, bytes sig1, (bytes32,uint32,bytes32) a2, bytes sig2) returns(uint256 amount)
func (settlement *Settlement) PackSlashAuditFailure(w SettlementWork, sigW []byte, a1 SettlementAudit, sig1 []byte, a2 SettlementAudit, sig2 []byte) []byte {
	enc, err := settlement.abi.Pack("slashAuditFailure", w, sigW, a1, sig1, a2, sig2)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSlashAuditFailure is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfe4347c3.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function slashAuditFailure((bytes32,uint32,bytes32,uint256,address,address) w, bytes sigW, (bytes32,uint32,bytes32) a1, bytes sig1, (bytes32,uint32,bytes32) a2, bytes sig2) returns(uint256 amount)
func (settlement *Settlement) TryPackSlashAuditFailure(w SettlementWork, sigW []byte, a1 SettlementAudit, sig1 []byte, a2 SettlementAudit, sig2 []byte) ([]byte, error) {
	return settlement.abi.Pack("slashAuditFailure", w, sigW, a1, sig1, a2, sig2)
}

// UnpackSlashAuditFailure is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xfe4347c3.
//
// Solidity: function slashAuditFailure((bytes32,uint32,bytes32,uint256,address,address) w, bytes sigW, (bytes32,uint32,bytes32) a1, bytes sig1, (bytes32,uint32,bytes32) a2, bytes sig2) returns(uint256 amount)
func (settlement *Settlement) UnpackSlashAuditFailure(data []byte) (*big.Int, error) {
	out, err := settlement.abi.Unpack("slashAuditFailure", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackSlashBP is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x87a908ca.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function slashBP() view returns(uint16)
func (settlement *Settlement) PackSlashBP() []byte {
	enc, err := settlement.abi.Pack("slashBP")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSlashBP is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x87a908ca.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function slashBP() view returns(uint16)
func (settlement *Settlement) TryPackSlashBP() ([]byte, error) {
	return settlement.abi.Pack("slashBP")
}

// UnpackSlashBP is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x87a908ca.
//
// Solidity: function slashBP() view returns(uint16)
func (settlement *Settlement) UnpackSlashBP(data []byte) (uint16, error) {
	out, err := settlement.abi.Unpack("slashBP", data)
	if err != nil {
		return *new(uint16), err
	}
	out0 := *abi.ConvertType(out[0], new(uint16)).(*uint16)
	return out0, nil
}

// PackSlashConflict is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xdb351c43.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function slashConflict((bytes32,uint32,bytes32,uint256,address,address) a, bytes sigA, (bytes32,uint32,bytes32,uint256,address,address) b, bytes sigB) returns(uint256 amount)
func (settlement *Settlement) PackSlashConflict(a SettlementWork, sigA []byte, b SettlementWork, sigB []byte) []byte {
	enc, err := settlement.abi.Pack("slashConflict", a, sigA, b, sigB)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSlashConflict is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xdb351c43.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function slashConflict((bytes32,uint32,bytes32,uint256,address,address) a, bytes sigA, (bytes32,uint32,bytes32,uint256,address,address) b, bytes sigB) returns(uint256 amount)
func (settlement *Settlement) TryPackSlashConflict(a SettlementWork, sigA []byte, b SettlementWork, sigB []byte) ([]byte, error) {
	return settlement.abi.Pack("slashConflict", a, sigA, b, sigB)
}

// UnpackSlashConflict is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xdb351c43.
//
// Solidity: function slashConflict((bytes32,uint32,bytes32,uint256,address,address) a, bytes sigA, (bytes32,uint32,bytes32,uint256,address,address) b, bytes sigB) returns(uint256 amount)
func (settlement *Settlement) UnpackSlashConflict(data []byte) (*big.Int, error) {
	out, err := settlement.abi.Unpack("slashConflict", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackSlashed is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x61b143df.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function slashed(bytes32 offence) view returns(bool)
func (settlement *Settlement) PackSlashed(offence [32]byte) []byte {
	enc, err := settlement.abi.Pack("slashed", offence)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSlashed is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x61b143df.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function slashed(bytes32 offence) view returns(bool)
func (settlement *Settlement) TryPackSlashed(offence [32]byte) ([]byte, error) {
	return settlement.abi.Pack("slashed", offence)
}

// UnpackSlashed is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x61b143df.
//
// Solidity: function slashed(bytes32 offence) view returns(bool)
func (settlement *Settlement) UnpackSlashed(data []byte) (bool, error) {
	out, err := settlement.abi.Unpack("slashed", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackStake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa694fc3a.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function stake(uint256 amount) returns()
func (settlement *Settlement) PackStake(amount *big.Int) []byte {
	enc, err := settlement.abi.Pack("stake", amount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackStake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa694fc3a.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function stake(uint256 amount) returns()
func (settlement *Settlement) TryPackStake(amount *big.Int) ([]byte, error) {
	return settlement.abi.Pack("stake", amount)
}

// PackStakeNative is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x590fcdda.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function stakeNative() payable returns()
func (settlement *Settlement) PackStakeNative() []byte {
	enc, err := settlement.abi.Pack("stakeNative")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackStakeNative is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x590fcdda.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function stakeNative() payable returns()
func (settlement *Settlement) TryPackStakeNative() ([]byte, error) {
	return settlement.abi.Pack("stakeNative")
}

// PackStakeOf is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x42623360.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function stakeOf(address provider) view returns(uint256)
func (settlement *Settlement) PackStakeOf(provider common.Address) []byte {
	enc, err := settlement.abi.Pack("stakeOf", provider)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackStakeOf is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x42623360.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function stakeOf(address provider) view returns(uint256)
func (settlement *Settlement) TryPackStakeOf(provider common.Address) ([]byte, error) {
	return settlement.abi.Pack("stakeOf", provider)
}

// UnpackStakeOf is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x42623360.
//
// Solidity: function stakeOf(address provider) view returns(uint256)
func (settlement *Settlement) UnpackStakeOf(data []byte) (*big.Int, error) {
	out, err := settlement.abi.Unpack("stakeOf", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackStakeToken is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x51ed6a30.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function stakeToken() view returns(address)
func (settlement *Settlement) PackStakeToken() []byte {
	enc, err := settlement.abi.Pack("stakeToken")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackStakeToken is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x51ed6a30.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function stakeToken() view returns(address)
func (settlement *Settlement) TryPackStakeToken() ([]byte, error) {
	return settlement.abi.Pack("stakeToken")
}

// UnpackStakeToken is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x51ed6a30.
//
// Solidity: function stakeToken() view returns(address)
func (settlement *Settlement) UnpackStakeToken(data []byte) (common.Address, error) {
	out, err := settlement.abi.Unpack("stakeToken", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackTreasury is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x61d027b3.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function treasury() view returns(address)
func (settlement *Settlement) PackTreasury() []byte {
	enc, err := settlement.abi.Pack("treasury")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTreasury is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x61d027b3.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function treasury() view returns(address)
func (settlement *Settlement) TryPackTreasury() ([]byte, error) {
	return settlement.abi.Pack("treasury")
}

// UnpackTreasury is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x61d027b3.
//
// Solidity: function treasury() view returns(address)
func (settlement *Settlement) UnpackTreasury(data []byte) (common.Address, error) {
	out, err := settlement.abi.Unpack("treasury", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackUnstake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2def6620.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function unstake() returns()
func (settlement *Settlement) PackUnstake() []byte {
	enc, err := settlement.abi.Pack("unstake")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackUnstake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2def6620.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function unstake() returns()
func (settlement *Settlement) TryPackUnstake() ([]byte, error) {
	return settlement.abi.Pack("unstake")
}

// PackVoucherDigest is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x605dcbee.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function voucherDigest((address,address,address,uint256,uint64) v) view returns(bytes32)
func (settlement *Settlement) PackVoucherDigest(v SettlementVoucher) []byte {
	enc, err := settlement.abi.Pack("voucherDigest", v)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackVoucherDigest is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x605dcbee.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function voucherDigest((address,address,address,uint256,uint64) v) view returns(bytes32)
func (settlement *Settlement) TryPackVoucherDigest(v SettlementVoucher) ([]byte, error) {
	return settlement.abi.Pack("voucherDigest", v)
}

// UnpackVoucherDigest is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x605dcbee.
//
// Solidity: function voucherDigest((address,address,address,uint256,uint64) v) view returns(bytes32)
func (settlement *Settlement) UnpackVoucherDigest(data []byte) ([32]byte, error) {
	out, err := settlement.abi.Unpack("voucherDigest", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackWithdraw is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x51cff8d9.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function withdraw(address token) returns()
func (settlement *Settlement) PackWithdraw(token common.Address) []byte {
	enc, err := settlement.abi.Pack("withdraw", token)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackWithdraw is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x51cff8d9.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function withdraw(address token) returns()
func (settlement *Settlement) TryPackWithdraw(token common.Address) ([]byte, error) {
	return settlement.abi.Pack("withdraw", token)
}

// PackWorkDigest is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x8629bf7f.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function workDigest((bytes32,uint32,bytes32,uint256,address,address) w) view returns(bytes32)
func (settlement *Settlement) PackWorkDigest(w SettlementWork) []byte {
	enc, err := settlement.abi.Pack("workDigest", w)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackWorkDigest is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x8629bf7f.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function workDigest((bytes32,uint32,bytes32,uint256,address,address) w) view returns(bytes32)
func (settlement *Settlement) TryPackWorkDigest(w SettlementWork) ([]byte, error) {
	return settlement.abi.Pack("workDigest", w)
}

// UnpackWorkDigest is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x8629bf7f.
//
// Solidity: function workDigest((bytes32,uint32,bytes32,uint256,address,address) w) view returns(bytes32)
func (settlement *Settlement) UnpackWorkDigest(data []byte) ([32]byte, error) {
	out, err := settlement.abi.Unpack("workDigest", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// SettlementDeposited represents a Deposited event raised by the Settlement contract.
type SettlementDeposited struct {
	Requester common.Address
	Token     common.Address
	Amount    *big.Int
	Raw       *types.Log // Blockchain specific contextual infos
}

const SettlementDepositedEventName = "Deposited"

// ContractEventName returns the user-defined event name.
func (SettlementDeposited) ContractEventName() string {
	return SettlementDepositedEventName
}

// UnpackDepositedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Deposited(address indexed requester, address indexed token, uint256 amount)
func (settlement *Settlement) UnpackDepositedEvent(log *types.Log) (*SettlementDeposited, error) {
	event := "Deposited"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != settlement.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(SettlementDeposited)
	if len(log.Data) > 0 {
		if err := settlement.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range settlement.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// SettlementEIP712DomainChanged represents a EIP712DomainChanged event raised by the Settlement contract.
type SettlementEIP712DomainChanged struct {
	Raw *types.Log // Blockchain specific contextual infos
}

const SettlementEIP712DomainChangedEventName = "EIP712DomainChanged"

// ContractEventName returns the user-defined event name.
func (SettlementEIP712DomainChanged) ContractEventName() string {
	return SettlementEIP712DomainChangedEventName
}

// UnpackEIP712DomainChangedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event EIP712DomainChanged()
func (settlement *Settlement) UnpackEIP712DomainChangedEvent(log *types.Log) (*SettlementEIP712DomainChanged, error) {
	event := "EIP712DomainChanged"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != settlement.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(SettlementEIP712DomainChanged)
	if len(log.Data) > 0 {
		if err := settlement.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range settlement.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// SettlementFeeSet represents a FeeSet event raised by the Settlement contract.
type SettlementFeeSet struct {
	Token       common.Address
	RequesterBP uint16
	ProviderBP  uint16
	Raw         *types.Log // Blockchain specific contextual infos
}

const SettlementFeeSetEventName = "FeeSet"

// ContractEventName returns the user-defined event name.
func (SettlementFeeSet) ContractEventName() string {
	return SettlementFeeSetEventName
}

// UnpackFeeSetEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event FeeSet(address indexed token, uint16 requesterBP, uint16 providerBP)
func (settlement *Settlement) UnpackFeeSetEvent(log *types.Log) (*SettlementFeeSet, error) {
	event := "FeeSet"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != settlement.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(SettlementFeeSet)
	if len(log.Data) > 0 {
		if err := settlement.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range settlement.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// SettlementOwnerChanged represents a OwnerChanged event raised by the Settlement contract.
type SettlementOwnerChanged struct {
	Previous common.Address
	Next     common.Address
	Raw      *types.Log // Blockchain specific contextual infos
}

const SettlementOwnerChangedEventName = "OwnerChanged"

// ContractEventName returns the user-defined event name.
func (SettlementOwnerChanged) ContractEventName() string {
	return SettlementOwnerChangedEventName
}

// UnpackOwnerChangedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event OwnerChanged(address indexed previous, address indexed next)
func (settlement *Settlement) UnpackOwnerChangedEvent(log *types.Log) (*SettlementOwnerChanged, error) {
	event := "OwnerChanged"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != settlement.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(SettlementOwnerChanged)
	if len(log.Data) > 0 {
		if err := settlement.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range settlement.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// SettlementRedeemed represents a Redeemed event raised by the Settlement contract.
type SettlementRedeemed struct {
	Requester    common.Address
	Provider     common.Address
	Token        common.Address
	Cumulative   *big.Int
	Nonce        uint64
	Paid         *big.Int
	RequesterFee *big.Int
	ProviderFee  *big.Int
	Raw          *types.Log // Blockchain specific contextual infos
}

const SettlementRedeemedEventName = "Redeemed"

// ContractEventName returns the user-defined event name.
func (SettlementRedeemed) ContractEventName() string {
	return SettlementRedeemedEventName
}

// UnpackRedeemedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Redeemed(address indexed requester, address indexed provider, address indexed token, uint256 cumulative, uint64 nonce, uint256 paid, uint256 requesterFee, uint256 providerFee)
func (settlement *Settlement) UnpackRedeemedEvent(log *types.Log) (*SettlementRedeemed, error) {
	event := "Redeemed"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != settlement.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(SettlementRedeemed)
	if len(log.Data) > 0 {
		if err := settlement.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range settlement.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// SettlementSlashed represents a Slashed event raised by the Settlement contract.
type SettlementSlashed struct {
	Provider  common.Address
	Submitter common.Address
	Job       [32]byte
	Rank      uint32
	Amount    *big.Int
	Reward    *big.Int
	Raw       *types.Log // Blockchain specific contextual infos
}

const SettlementSlashedEventName = "Slashed"

// ContractEventName returns the user-defined event name.
func (SettlementSlashed) ContractEventName() string {
	return SettlementSlashedEventName
}

// UnpackSlashedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Slashed(address indexed provider, address indexed submitter, bytes32 indexed job, uint32 rank, uint256 amount, uint256 reward)
func (settlement *Settlement) UnpackSlashedEvent(log *types.Log) (*SettlementSlashed, error) {
	event := "Slashed"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != settlement.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(SettlementSlashed)
	if len(log.Data) > 0 {
		if err := settlement.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range settlement.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// SettlementStaked represents a Staked event raised by the Settlement contract.
type SettlementStaked struct {
	Provider common.Address
	Amount   *big.Int
	Raw      *types.Log // Blockchain specific contextual infos
}

const SettlementStakedEventName = "Staked"

// ContractEventName returns the user-defined event name.
func (SettlementStaked) ContractEventName() string {
	return SettlementStakedEventName
}

// UnpackStakedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Staked(address indexed provider, uint256 amount)
func (settlement *Settlement) UnpackStakedEvent(log *types.Log) (*SettlementStaked, error) {
	event := "Staked"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != settlement.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(SettlementStaked)
	if len(log.Data) > 0 {
		if err := settlement.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range settlement.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// SettlementUnstakeRequested represents a UnstakeRequested event raised by the Settlement contract.
type SettlementUnstakeRequested struct {
	Provider common.Address
	Amount   *big.Int
	ReadyAt  uint64
	Raw      *types.Log // Blockchain specific contextual infos
}

const SettlementUnstakeRequestedEventName = "UnstakeRequested"

// ContractEventName returns the user-defined event name.
func (SettlementUnstakeRequested) ContractEventName() string {
	return SettlementUnstakeRequestedEventName
}

// UnpackUnstakeRequestedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event UnstakeRequested(address indexed provider, uint256 amount, uint64 readyAt)
func (settlement *Settlement) UnpackUnstakeRequestedEvent(log *types.Log) (*SettlementUnstakeRequested, error) {
	event := "UnstakeRequested"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != settlement.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(SettlementUnstakeRequested)
	if len(log.Data) > 0 {
		if err := settlement.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range settlement.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// SettlementUnstaked represents a Unstaked event raised by the Settlement contract.
type SettlementUnstaked struct {
	Provider common.Address
	Amount   *big.Int
	Raw      *types.Log // Blockchain specific contextual infos
}

const SettlementUnstakedEventName = "Unstaked"

// ContractEventName returns the user-defined event name.
func (SettlementUnstaked) ContractEventName() string {
	return SettlementUnstakedEventName
}

// UnpackUnstakedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Unstaked(address indexed provider, uint256 amount)
func (settlement *Settlement) UnpackUnstakedEvent(log *types.Log) (*SettlementUnstaked, error) {
	event := "Unstaked"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != settlement.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(SettlementUnstaked)
	if len(log.Data) > 0 {
		if err := settlement.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range settlement.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// SettlementWithdrawRequested represents a WithdrawRequested event raised by the Settlement contract.
type SettlementWithdrawRequested struct {
	Requester common.Address
	Token     common.Address
	Amount    *big.Int
	ReadyAt   uint64
	Raw       *types.Log // Blockchain specific contextual infos
}

const SettlementWithdrawRequestedEventName = "WithdrawRequested"

// ContractEventName returns the user-defined event name.
func (SettlementWithdrawRequested) ContractEventName() string {
	return SettlementWithdrawRequestedEventName
}

// UnpackWithdrawRequestedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event WithdrawRequested(address indexed requester, address indexed token, uint256 amount, uint64 readyAt)
func (settlement *Settlement) UnpackWithdrawRequestedEvent(log *types.Log) (*SettlementWithdrawRequested, error) {
	event := "WithdrawRequested"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != settlement.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(SettlementWithdrawRequested)
	if len(log.Data) > 0 {
		if err := settlement.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range settlement.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// SettlementWithdrawn represents a Withdrawn event raised by the Settlement contract.
type SettlementWithdrawn struct {
	Requester common.Address
	Token     common.Address
	Amount    *big.Int
	Raw       *types.Log // Blockchain specific contextual infos
}

const SettlementWithdrawnEventName = "Withdrawn"

// ContractEventName returns the user-defined event name.
func (SettlementWithdrawn) ContractEventName() string {
	return SettlementWithdrawnEventName
}

// UnpackWithdrawnEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Withdrawn(address indexed requester, address indexed token, uint256 amount)
func (settlement *Settlement) UnpackWithdrawnEvent(log *types.Log) (*SettlementWithdrawn, error) {
	event := "Withdrawn"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != settlement.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(SettlementWithdrawn)
	if len(log.Data) > 0 {
		if err := settlement.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range settlement.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// UnpackError attempts to decode the provided error data using user-defined
// error definitions.
func (settlement *Settlement) UnpackError(raw []byte) (any, error) {
	if bytes.Equal(raw[:4], settlement.abi.Errors["AlreadySlashed"].ID.Bytes()[:4]) {
		return settlement.UnpackAlreadySlashedError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["AuditorIsAccused"].ID.Bytes()[:4]) {
		return settlement.UnpackAuditorIsAccusedError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["AuditorNotEligible"].ID.Bytes()[:4]) {
		return settlement.UnpackAuditorNotEligibleError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["AuditsDisagree"].ID.Bytes()[:4]) {
		return settlement.UnpackAuditsDisagreeError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["BadNotice"].ID.Bytes()[:4]) {
		return settlement.UnpackBadNoticeError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["BadShare"].ID.Bytes()[:4]) {
		return settlement.UnpackBadShareError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["BadSignature"].ID.Bytes()[:4]) {
		return settlement.UnpackBadSignatureError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["DifferentSigners"].ID.Bytes()[:4]) {
		return settlement.UnpackDifferentSignersError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["FeeTooHigh"].ID.Bytes()[:4]) {
		return settlement.UnpackFeeTooHighError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["InvalidShortString"].ID.Bytes()[:4]) {
		return settlement.UnpackInvalidShortStringError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["NativeTransferFailed"].ID.Bytes()[:4]) {
		return settlement.UnpackNativeTransferFailedError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["NoStake"].ID.Bytes()[:4]) {
		return settlement.UnpackNoStakeError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["NotConflicting"].ID.Bytes()[:4]) {
		return settlement.UnpackNotConflictingError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["NotNewer"].ID.Bytes()[:4]) {
		return settlement.UnpackNotNewerError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["NotOwner"].ID.Bytes()[:4]) {
		return settlement.UnpackNotOwnerError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["NothingPending"].ID.Bytes()[:4]) {
		return settlement.UnpackNothingPendingError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["NoticeNotOver"].ID.Bytes()[:4]) {
		return settlement.UnpackNoticeNotOverError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["OverBalance"].ID.Bytes()[:4]) {
		return settlement.UnpackOverBalanceError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["OverEscrow"].ID.Bytes()[:4]) {
		return settlement.UnpackOverEscrowError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["ReentrancyGuardReentrantCall"].ID.Bytes()[:4]) {
		return settlement.UnpackReentrancyGuardReentrantCallError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["SafeERC20FailedOperation"].ID.Bytes()[:4]) {
		return settlement.UnpackSafeERC20FailedOperationError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["SameAuditor"].ID.Bytes()[:4]) {
		return settlement.UnpackSameAuditorError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["StringTooLong"].ID.Bytes()[:4]) {
		return settlement.UnpackStringTooLongError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["WrongSigner"].ID.Bytes()[:4]) {
		return settlement.UnpackWrongSignerError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["WrongToken"].ID.Bytes()[:4]) {
		return settlement.UnpackWrongTokenError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["ZeroAddress"].ID.Bytes()[:4]) {
		return settlement.UnpackZeroAddressError(raw[4:])
	}
	if bytes.Equal(raw[:4], settlement.abi.Errors["ZeroAmount"].ID.Bytes()[:4]) {
		return settlement.UnpackZeroAmountError(raw[4:])
	}
	return nil, errors.New("Unknown error")
}

// SettlementAlreadySlashed represents a AlreadySlashed error raised by the Settlement contract.
type SettlementAlreadySlashed struct {
	Offence [32]byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error AlreadySlashed(bytes32 offence)
func SettlementAlreadySlashedErrorID() common.Hash {
	return common.HexToHash("0x16e5043d85531f6d342cbe530661f20425bf0ac095ef636feef1c343193172a7")
}

// UnpackAlreadySlashedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error AlreadySlashed(bytes32 offence)
func (settlement *Settlement) UnpackAlreadySlashedError(raw []byte) (*SettlementAlreadySlashed, error) {
	out := new(SettlementAlreadySlashed)
	if err := settlement.abi.UnpackIntoInterface(out, "AlreadySlashed", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementAuditorIsAccused represents a AuditorIsAccused error raised by the Settlement contract.
type SettlementAuditorIsAccused struct {
	Auditor common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error AuditorIsAccused(address auditor)
func SettlementAuditorIsAccusedErrorID() common.Hash {
	return common.HexToHash("0xfbf27e9f01c7911bf1e2822adf6eaf17431a0d46ab17f4d4a9d9267b50305ebd")
}

// UnpackAuditorIsAccusedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error AuditorIsAccused(address auditor)
func (settlement *Settlement) UnpackAuditorIsAccusedError(raw []byte) (*SettlementAuditorIsAccused, error) {
	out := new(SettlementAuditorIsAccused)
	if err := settlement.abi.UnpackIntoInterface(out, "AuditorIsAccused", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementAuditorNotEligible represents a AuditorNotEligible error raised by the Settlement contract.
type SettlementAuditorNotEligible struct {
	Auditor common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error AuditorNotEligible(address auditor)
func SettlementAuditorNotEligibleErrorID() common.Hash {
	return common.HexToHash("0x61311dc1659f2b0031f24fa60ee44a8de2aa55bb639772ca143f15c7650f9a87")
}

// UnpackAuditorNotEligibleError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error AuditorNotEligible(address auditor)
func (settlement *Settlement) UnpackAuditorNotEligibleError(raw []byte) (*SettlementAuditorNotEligible, error) {
	out := new(SettlementAuditorNotEligible)
	if err := settlement.abi.UnpackIntoInterface(out, "AuditorNotEligible", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementAuditsDisagree represents a AuditsDisagree error raised by the Settlement contract.
type SettlementAuditsDisagree struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error AuditsDisagree()
func SettlementAuditsDisagreeErrorID() common.Hash {
	return common.HexToHash("0x61c296640dcccc19306064a2b060b7dd6d9a12126ccc74eb5d949df75c754910")
}

// UnpackAuditsDisagreeError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error AuditsDisagree()
func (settlement *Settlement) UnpackAuditsDisagreeError(raw []byte) (*SettlementAuditsDisagree, error) {
	out := new(SettlementAuditsDisagree)
	if err := settlement.abi.UnpackIntoInterface(out, "AuditsDisagree", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementBadNotice represents a BadNotice error raised by the Settlement contract.
type SettlementBadNotice struct {
	Notice uint64
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error BadNotice(uint64 notice)
func SettlementBadNoticeErrorID() common.Hash {
	return common.HexToHash("0x6a993cd5ee0d19d0dc2f37f977b747b193bacaec43f729c3a6cdd3e8af2a95d4")
}

// UnpackBadNoticeError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error BadNotice(uint64 notice)
func (settlement *Settlement) UnpackBadNoticeError(raw []byte) (*SettlementBadNotice, error) {
	out := new(SettlementBadNotice)
	if err := settlement.abi.UnpackIntoInterface(out, "BadNotice", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementBadShare represents a BadShare error raised by the Settlement contract.
type SettlementBadShare struct {
	Bp uint16
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error BadShare(uint16 bp)
func SettlementBadShareErrorID() common.Hash {
	return common.HexToHash("0x769f8e4e1112926f171e7f7f7b503e807f2893cf3abc22ff73638a222565c875")
}

// UnpackBadShareError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error BadShare(uint16 bp)
func (settlement *Settlement) UnpackBadShareError(raw []byte) (*SettlementBadShare, error) {
	out := new(SettlementBadShare)
	if err := settlement.abi.UnpackIntoInterface(out, "BadShare", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementBadSignature represents a BadSignature error raised by the Settlement contract.
type SettlementBadSignature struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error BadSignature()
func SettlementBadSignatureErrorID() common.Hash {
	return common.HexToHash("0x5cd5d2335541c4f2ed05fbe44f397e8b79f8e2333157122d2dab06e378ef7685")
}

// UnpackBadSignatureError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error BadSignature()
func (settlement *Settlement) UnpackBadSignatureError(raw []byte) (*SettlementBadSignature, error) {
	out := new(SettlementBadSignature)
	if err := settlement.abi.UnpackIntoInterface(out, "BadSignature", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementDifferentSigners represents a DifferentSigners error raised by the Settlement contract.
type SettlementDifferentSigners struct {
	A common.Address
	B common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error DifferentSigners(address a, address b)
func SettlementDifferentSignersErrorID() common.Hash {
	return common.HexToHash("0xa530eb3c2045aa9d3abf7bd431044bcbb8999ea87280e735ad558f2883b68980")
}

// UnpackDifferentSignersError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error DifferentSigners(address a, address b)
func (settlement *Settlement) UnpackDifferentSignersError(raw []byte) (*SettlementDifferentSigners, error) {
	out := new(SettlementDifferentSigners)
	if err := settlement.abi.UnpackIntoInterface(out, "DifferentSigners", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementFeeTooHigh represents a FeeTooHigh error raised by the Settlement contract.
type SettlementFeeTooHigh struct {
	RequesterBP uint16
	ProviderBP  uint16
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error FeeTooHigh(uint16 requesterBP, uint16 providerBP)
func SettlementFeeTooHighErrorID() common.Hash {
	return common.HexToHash("0x3c057d7beb4fe9a19a13a1a22a6f33cb2fec09d9a38cbb3be52bda9374abe790")
}

// UnpackFeeTooHighError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error FeeTooHigh(uint16 requesterBP, uint16 providerBP)
func (settlement *Settlement) UnpackFeeTooHighError(raw []byte) (*SettlementFeeTooHigh, error) {
	out := new(SettlementFeeTooHigh)
	if err := settlement.abi.UnpackIntoInterface(out, "FeeTooHigh", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementInvalidShortString represents a InvalidShortString error raised by the Settlement contract.
type SettlementInvalidShortString struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error InvalidShortString()
func SettlementInvalidShortStringErrorID() common.Hash {
	return common.HexToHash("0xb3512b0c6163e5f0bafab72bb631b9d58cd7a731b082f910338aa21c83d5c274")
}

// UnpackInvalidShortStringError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error InvalidShortString()
func (settlement *Settlement) UnpackInvalidShortStringError(raw []byte) (*SettlementInvalidShortString, error) {
	out := new(SettlementInvalidShortString)
	if err := settlement.abi.UnpackIntoInterface(out, "InvalidShortString", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementNativeTransferFailed represents a NativeTransferFailed error raised by the Settlement contract.
type SettlementNativeTransferFailed struct {
	To     common.Address
	Amount *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NativeTransferFailed(address to, uint256 amount)
func SettlementNativeTransferFailedErrorID() common.Hash {
	return common.HexToHash("0xa5b05eec8040da65485bf3ab248b47c42271aa50a9234ed8f116e568dc285cc6")
}

// UnpackNativeTransferFailedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NativeTransferFailed(address to, uint256 amount)
func (settlement *Settlement) UnpackNativeTransferFailedError(raw []byte) (*SettlementNativeTransferFailed, error) {
	out := new(SettlementNativeTransferFailed)
	if err := settlement.abi.UnpackIntoInterface(out, "NativeTransferFailed", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementNoStake represents a NoStake error raised by the Settlement contract.
type SettlementNoStake struct {
	Provider common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NoStake(address provider)
func SettlementNoStakeErrorID() common.Hash {
	return common.HexToHash("0x1130b1ce18cb10fbd4d6f64d9f418607abff316a696a3f52066db33473248660")
}

// UnpackNoStakeError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NoStake(address provider)
func (settlement *Settlement) UnpackNoStakeError(raw []byte) (*SettlementNoStake, error) {
	out := new(SettlementNoStake)
	if err := settlement.abi.UnpackIntoInterface(out, "NoStake", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementNotConflicting represents a NotConflicting error raised by the Settlement contract.
type SettlementNotConflicting struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NotConflicting()
func SettlementNotConflictingErrorID() common.Hash {
	return common.HexToHash("0x813d59df26bb2faab4848717b0582780a2d44a071b57f3c4b03858623b7ad5c5")
}

// UnpackNotConflictingError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NotConflicting()
func (settlement *Settlement) UnpackNotConflictingError(raw []byte) (*SettlementNotConflicting, error) {
	out := new(SettlementNotConflicting)
	if err := settlement.abi.UnpackIntoInterface(out, "NotConflicting", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementNotNewer represents a NotNewer error raised by the Settlement contract.
type SettlementNotNewer struct {
	Cumulative *big.Int
	Redeemed   *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NotNewer(uint256 cumulative, uint256 redeemed)
func SettlementNotNewerErrorID() common.Hash {
	return common.HexToHash("0xa3051cadb2230b21b1fe8d85416cf7f3cf3b97691188f1a64ef0b2a20b69f87a")
}

// UnpackNotNewerError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NotNewer(uint256 cumulative, uint256 redeemed)
func (settlement *Settlement) UnpackNotNewerError(raw []byte) (*SettlementNotNewer, error) {
	out := new(SettlementNotNewer)
	if err := settlement.abi.UnpackIntoInterface(out, "NotNewer", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementNotOwner represents a NotOwner error raised by the Settlement contract.
type SettlementNotOwner struct {
	Caller common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NotOwner(address caller)
func SettlementNotOwnerErrorID() common.Hash {
	return common.HexToHash("0x245aecd3fabbd17d6c3c92dc7f0ab916ea8cbf6fc1862c8b56893090ac3fff4c")
}

// UnpackNotOwnerError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NotOwner(address caller)
func (settlement *Settlement) UnpackNotOwnerError(raw []byte) (*SettlementNotOwner, error) {
	out := new(SettlementNotOwner)
	if err := settlement.abi.UnpackIntoInterface(out, "NotOwner", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementNothingPending represents a NothingPending error raised by the Settlement contract.
type SettlementNothingPending struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NothingPending()
func SettlementNothingPendingErrorID() common.Hash {
	return common.HexToHash("0x175c1aea8c453b556720d39e3cb0e313105d00199d98e8a01c1a820f7ffae2f3")
}

// UnpackNothingPendingError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NothingPending()
func (settlement *Settlement) UnpackNothingPendingError(raw []byte) (*SettlementNothingPending, error) {
	out := new(SettlementNothingPending)
	if err := settlement.abi.UnpackIntoInterface(out, "NothingPending", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementNoticeNotOver represents a NoticeNotOver error raised by the Settlement contract.
type SettlementNoticeNotOver struct {
	ReadyAt uint64
	Now     uint64
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NoticeNotOver(uint64 readyAt, uint64 now_)
func SettlementNoticeNotOverErrorID() common.Hash {
	return common.HexToHash("0xf318dfcd009b49095b5b7704f0d59f715c0f29a80aeba6f5756568f77574a12e")
}

// UnpackNoticeNotOverError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NoticeNotOver(uint64 readyAt, uint64 now_)
func (settlement *Settlement) UnpackNoticeNotOverError(raw []byte) (*SettlementNoticeNotOver, error) {
	out := new(SettlementNoticeNotOver)
	if err := settlement.abi.UnpackIntoInterface(out, "NoticeNotOver", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementOverBalance represents a OverBalance error raised by the Settlement contract.
type SettlementOverBalance struct {
	Amount  *big.Int
	Balance *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error OverBalance(uint256 amount, uint256 balance)
func SettlementOverBalanceErrorID() common.Hash {
	return common.HexToHash("0x62c1b76e7129ba523beddd5570a13e8b526b51b5d8c6a9d8a1d46a5f60bcfde1")
}

// UnpackOverBalanceError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error OverBalance(uint256 amount, uint256 balance)
func (settlement *Settlement) UnpackOverBalanceError(raw []byte) (*SettlementOverBalance, error) {
	out := new(SettlementOverBalance)
	if err := settlement.abi.UnpackIntoInterface(out, "OverBalance", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementOverEscrow represents a OverEscrow error raised by the Settlement contract.
type SettlementOverEscrow struct {
	Charge *big.Int
	Escrow *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error OverEscrow(uint256 charge, uint256 escrow)
func SettlementOverEscrowErrorID() common.Hash {
	return common.HexToHash("0x33f9e34d9e67d47348a43c371e65dbe19257f61a73c725c9439af032236e5efd")
}

// UnpackOverEscrowError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error OverEscrow(uint256 charge, uint256 escrow)
func (settlement *Settlement) UnpackOverEscrowError(raw []byte) (*SettlementOverEscrow, error) {
	out := new(SettlementOverEscrow)
	if err := settlement.abi.UnpackIntoInterface(out, "OverEscrow", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementReentrancyGuardReentrantCall represents a ReentrancyGuardReentrantCall error raised by the Settlement contract.
type SettlementReentrancyGuardReentrantCall struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ReentrancyGuardReentrantCall()
func SettlementReentrancyGuardReentrantCallErrorID() common.Hash {
	return common.HexToHash("0x3ee5aeb571de7fc460830b4d0017439a1ca56fb0bc39062227ade4fe4a24c1ca")
}

// UnpackReentrancyGuardReentrantCallError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ReentrancyGuardReentrantCall()
func (settlement *Settlement) UnpackReentrancyGuardReentrantCallError(raw []byte) (*SettlementReentrancyGuardReentrantCall, error) {
	out := new(SettlementReentrancyGuardReentrantCall)
	if err := settlement.abi.UnpackIntoInterface(out, "ReentrancyGuardReentrantCall", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementSafeERC20FailedOperation represents a SafeERC20FailedOperation error raised by the Settlement contract.
type SettlementSafeERC20FailedOperation struct {
	Token common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error SafeERC20FailedOperation(address token)
func SettlementSafeERC20FailedOperationErrorID() common.Hash {
	return common.HexToHash("0x5274afe73c98b4749fc91ffae6b7b574e7842cb2144a159e9377a5f20b32edf9")
}

// UnpackSafeERC20FailedOperationError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error SafeERC20FailedOperation(address token)
func (settlement *Settlement) UnpackSafeERC20FailedOperationError(raw []byte) (*SettlementSafeERC20FailedOperation, error) {
	out := new(SettlementSafeERC20FailedOperation)
	if err := settlement.abi.UnpackIntoInterface(out, "SafeERC20FailedOperation", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementSameAuditor represents a SameAuditor error raised by the Settlement contract.
type SettlementSameAuditor struct {
	Auditor common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error SameAuditor(address auditor)
func SettlementSameAuditorErrorID() common.Hash {
	return common.HexToHash("0xc847260a8edd86c827898d7fb75273a32f7ad3b05b8602f3b510b62038c3c407")
}

// UnpackSameAuditorError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error SameAuditor(address auditor)
func (settlement *Settlement) UnpackSameAuditorError(raw []byte) (*SettlementSameAuditor, error) {
	out := new(SettlementSameAuditor)
	if err := settlement.abi.UnpackIntoInterface(out, "SameAuditor", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementStringTooLong represents a StringTooLong error raised by the Settlement contract.
type SettlementStringTooLong struct {
	Str string
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error StringTooLong(string str)
func SettlementStringTooLongErrorID() common.Hash {
	return common.HexToHash("0x305a27a93f8e33b7392df0a0f91d6fc63847395853c45991eec52dbf24d72381")
}

// UnpackStringTooLongError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error StringTooLong(string str)
func (settlement *Settlement) UnpackStringTooLongError(raw []byte) (*SettlementStringTooLong, error) {
	out := new(SettlementStringTooLong)
	if err := settlement.abi.UnpackIntoInterface(out, "StringTooLong", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementWrongSigner represents a WrongSigner error raised by the Settlement contract.
type SettlementWrongSigner struct {
	Signer common.Address
	Want   common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error WrongSigner(address signer, address want)
func SettlementWrongSignerErrorID() common.Hash {
	return common.HexToHash("0x366d29f7de543b1e5962d6f7315450f1f5ec3d853d28dca80282b4c242185268")
}

// UnpackWrongSignerError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error WrongSigner(address signer, address want)
func (settlement *Settlement) UnpackWrongSignerError(raw []byte) (*SettlementWrongSigner, error) {
	out := new(SettlementWrongSigner)
	if err := settlement.abi.UnpackIntoInterface(out, "WrongSigner", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementWrongToken represents a WrongToken error raised by the Settlement contract.
type SettlementWrongToken struct {
	Token common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error WrongToken(address token)
func SettlementWrongTokenErrorID() common.Hash {
	return common.HexToHash("0x38f74fa8f26996c8fbcaa97a1116dacf9e6e78e43b4c27b955863a12fb6babb8")
}

// UnpackWrongTokenError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error WrongToken(address token)
func (settlement *Settlement) UnpackWrongTokenError(raw []byte) (*SettlementWrongToken, error) {
	out := new(SettlementWrongToken)
	if err := settlement.abi.UnpackIntoInterface(out, "WrongToken", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementZeroAddress represents a ZeroAddress error raised by the Settlement contract.
type SettlementZeroAddress struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ZeroAddress()
func SettlementZeroAddressErrorID() common.Hash {
	return common.HexToHash("0xd92e233df2717d4a40030e20904abd27b68fcbeede117eaaccbbdac9618c8c73")
}

// UnpackZeroAddressError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ZeroAddress()
func (settlement *Settlement) UnpackZeroAddressError(raw []byte) (*SettlementZeroAddress, error) {
	out := new(SettlementZeroAddress)
	if err := settlement.abi.UnpackIntoInterface(out, "ZeroAddress", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// SettlementZeroAmount represents a ZeroAmount error raised by the Settlement contract.
type SettlementZeroAmount struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ZeroAmount()
func SettlementZeroAmountErrorID() common.Hash {
	return common.HexToHash("0x1f2a2005cb66a8e145327e8814e243a0996aec9bfe1e15a495778b1236dbd485")
}

// UnpackZeroAmountError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ZeroAmount()
func (settlement *Settlement) UnpackZeroAmountError(raw []byte) (*SettlementZeroAmount, error) {
	out := new(SettlementZeroAmount)
	if err := settlement.abi.UnpackIntoInterface(out, "ZeroAmount", raw); err != nil {
		return nil, err
	}
	return out, nil
}
